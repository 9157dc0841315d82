"""End-to-end test of the teaching page in a real headless Chromium (Debian's package)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT = 90.0  # s, a cold Solara start on a busy 2-core machine
PAGE_TIMEOUT_MS = 60_000


def require_chromium() -> None:
    """Skip without Chromium locally; in CI (env CI set) its absence is a failure."""
    if os.path.exists(CHROMIUM):
        return
    msg = f"{CHROMIUM} not found; install it with `bash scripts/ensure_chromium.sh`"
    if os.environ.get("CI"):
        pytest.fail(msg)
    pytest.skip(msg)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The teaching page served by ``kamsim.viz.launch`` in a subprocess."""
    require_chromium()
    port = free_port()
    log = tmp_path_factory.mktemp("viz-server") / "server.log"
    code = f"from kamsim.viz import launch; launch(port={port}, open_browser=False)"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", code], stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited ({proc.returncode}): {log.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server did not answer within {SERVER_START_TIMEOUT} s")
            time.sleep(0.5)
        printed = log.read_text()
        assert f"http://127.0.0.1:{port}" in printed  # launch() prints the address
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_page_steps_and_renders_in_headless_chromium(server: str, tmp_path: Path) -> None:
    """In Chromium the page loads, Step advances the quarter, charts render, no errors."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    shot = tmp_path / "teaching_page.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pg = browser.new_page(viewport={"width": 1500, "height": 1000})
            pg.set_default_timeout(PAGE_TIMEOUT_MS)
            pg.on(
                "console",
                lambda m: (
                    problems.append(f"console {m.type}: {m.text}")
                    if m.type == "error"
                    else None
                ),
            )
            pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            pg.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            pg.goto(server)

            quarter = pg.locator(".kam-quarter")
            quarter.wait_for()
            assert quarter.get_attribute("data-quarter") == "0"
            assert "Quarter 0" in quarter.inner_text()

            # the three matplotlib charts arrive as decoded PNG images
            charts = pg.locator(".vue-grid-item img")
            pg.wait_for_function(
                "() => [...document.querySelectorAll('.vue-grid-item img')]"
                ".filter(i => i.complete && i.naturalWidth > 300).length >= 3"
            )
            assert charts.count() == 3
            first_src = charts.first.get_attribute("src")

            # one tile per account in the board (20 by default)
            assert pg.locator(".kam-tile").count() == 20

            step = pg.get_by_role("button", name="Step")
            step.click()
            pg.wait_for_function(
                "() => document.querySelector('.kam-quarter')?.dataset.quarter === '1'"
            )
            step.click()
            pg.wait_for_function(
                "() => document.querySelector('.kam-quarter')?.dataset.quarter === '2'"
            )
            assert "Quarter 2" in quarter.inner_text()
            pg.wait_for_function(
                "(src) => document.querySelector('.vue-grid-item img')?.src !== src",
                arg=first_src,
            )
            pg.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 20_000  # a real picture, not a blank page
    assert problems == []
