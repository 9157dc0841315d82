"""End-to-end tests of the teaching page in a real headless Chromium (Debian's package).

One server and one browser page serve the whole module; the tests run in file order
on that page (the play test, which ends the run, comes after the tests that need
its first quarters; the small-screen test opens a page of its own). The screenshot
of the finished run is saved to ``build/test-artifacts/teaching_page.png`` (or to the
directory in ``KAMSIM_ARTIFACTS``).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("KAMSIM_ARTIFACTS", ROOT / "build" / "test-artifacts"))
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
VIEWPORT = {"width": 1280, "height": 800}  # a classroom projector
SERVER_START_TIMEOUT = 90.0  # s, a cold Solara start on a busy 2-core machine
PAGE_TIMEOUT_MS = 60_000
PLAY_TIMEOUT_MS = 120_000  # 40 quarters take about 15 s here
N_ACCOUNTS, N_SUPPLIERS, HORIZON = 20, 3, 40  # the page's defaults
SMALL_SCREEN = {"width": 1024, "height": 768}  # an old classroom projector
#: The server's log file by URL (see the server fixture).
SERVER_LOGS: dict[str, Path] = {}


#: JavaScript listing what would make the page hard to read (see Session).
LAYOUT_CHECK = """() => {
    const out = [];
    const panels = [...document.querySelectorAll('.kam-side > *, .kam-card')]
        .map(e => e.getBoundingClientRect());
    panels.forEach((a, i) => panels.slice(i + 1).forEach((b, j) => {
        if (a.left < b.right - 1 && b.left < a.right - 1 &&
            a.top < b.bottom - 1 && b.top < a.bottom - 1) {
            out.push(`panels ${i} and ${i + 1 + j} overlap`);
        }
    }));
    if (document.documentElement.scrollWidth > window.innerWidth) {
        out.push('the page is wider than the window');
    }
    document.querySelectorAll('.kam-seg').forEach(s => {
        if (s.scrollWidth > s.clientWidth + 1) out.push(`clipped label: ${s.title}`);
    });
    return out;
}"""


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
    SERVER_LOGS[url] = log
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


class Session:
    """The page open in Chromium and the problems seen so far.

    Problems are console errors, uncaught page errors and failed requests.
    """

    def __init__(self, page: Any) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url}"))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(f"console error: {message.text}")

    def quarter(self) -> int:
        """The quarter the board shows."""
        return int(self.page.locator(".kam-quarter").get_attribute("data-quarter"))

    def layout_problems(self) -> list[str]:
        """Overlapping panels, a page wider than the window, or clipped bar labels."""
        return list(self.page.evaluate(LAYOUT_CHECK))

    def chart_sources(self) -> list[str]:
        """The data URLs of the three chart images."""
        charts = self.page.locator(".kam-chart img")
        return list(charts.evaluate_all("is => is.map(i => i.src)"))


@pytest.fixture(scope="module")
def session(server: str) -> Iterator[Session]:
    """The teaching page loaded in headless Chromium at 1280x800, charts decoded."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pg = browser.new_page(viewport=VIEWPORT)
            pg.set_default_timeout(PAGE_TIMEOUT_MS)
            s = Session(pg)
            pg.goto(server)
            pg.locator(".kam-quarter").wait_for()
            pg.wait_for_function(
                "() => [...document.querySelectorAll('.kam-chart img')]"
                ".filter(i => i.complete && i.naturalWidth > 300).length === 3"
            )
            yield s
        finally:
            browser.close()


def test_bars_show_every_supplier_in_every_account(session: Session) -> None:
    """Each account has one bar of supplier segments; the legend names the suppliers.

    At quarter 0 every account deals with you and both rivals: each bar holds their
    three segments and the rest of the market, side by side, filling the bar. No
    panel overlaps another and no label is clipped.
    """
    pg = session.page
    assert session.quarter() == 0
    rows = pg.locator(".kam-row").evaluate_all(
        """rs => rs.map(r => {
            const stack = r.querySelector('.kam-stack').getBoundingClientRect();
            const segs = [...r.querySelectorAll('.kam-seg')];
            return {
                suppliers: segs.map(s => s.dataset.supplier),
                width: segs.reduce((w, s) => w + s.getBoundingClientRect().width, 0),
                stack: stack.width,
                top: new Set(segs.map(s => Math.round(s.getBoundingClientRect().top))).size,
            };
        })"""
    )
    assert len(rows) == N_ACCOUNTS
    for row in rows:
        assert row["suppliers"] == [*map(str, range(N_SUPPLIERS)), "rest"]
        assert row["width"] == pytest.approx(row["stack"], abs=1.5)
        assert row["top"] == 1  # one line: segments are stacked, not wrapped
    legend = pg.locator(".kam-suppliers").inner_text()
    assert "you: stage_gated, 150 k€/quarter" in legend
    assert "rival 1: stage_gated, 100 k€/quarter" in legend
    assert "rival 2: stage_gated, 100 k€/quarter" in legend
    assert "rest of the market" in legend
    assert session.layout_problems() == []


def test_slider_values_are_shown_and_follow_the_slider(session: Session) -> None:
    """Every slider's label shows its value on the page and changes when it moves."""
    pg = session.page
    for text in (
        "Your KAM budget: 150 k€/quarter",
        "Rival suppliers: 2",
        "Key accounts: 20",
        "Open to partnership: 60% of accounts",
    ):
        assert pg.get_by_text(text, exact=True).is_visible(), text
    slider = pg.get_by_role("slider", name=re.compile("^Key accounts"))
    slider.focus()
    slider.press("ArrowRight")
    pg.get_by_text("Key accounts: 21", exact=True).wait_for()
    slider.press("ArrowLeft")
    pg.get_by_text("Key accounts: 20", exact=True).wait_for()


def test_mesa_internal_controls_are_hidden(session: Session) -> None:
    """No play or render interval, thread switch, raw time or page tab is shown."""
    pg = session.page
    for text in ("Play Interval", "Render Interval", "Use Threads", "Page 0"):
        assert pg.get_by_text(text).count() == 0, text
    assert pg.get_by_text(re.compile(r"^Time: ")).count() == 0
    assert pg.get_by_role("tab").count() == 0
    assert pg.get_by_role("checkbox").count() == 0


def test_controls_have_accessible_names(session: Session) -> None:
    """Every button, slider and text box has an accessible name; Reset, Play, Step exist."""
    snapshot = session.page.locator("body").aria_snapshot()
    kinds = ("button", "slider", "textbox", "combobox", "checkbox")
    controls = [
        line.strip(" -'")
        for line in snapshot.splitlines()
        if line.strip(" -'").split(" ")[0].rstrip(":") in kinds
    ]
    assert len(controls) >= 10
    unnamed = [c for c in controls if not re.match(r'^\w+ "[^"]+"', c)]
    assert unnamed == []
    for name in ("Reset", "Play", "Step"):
        assert session.page.get_by_role("button", name=name, exact=True).count() == 1


def test_play_runs_to_the_horizon_and_stops(session: Session) -> None:
    """Play runs the quarters and stops at 40, with Play and Step disabled.

    While playing the button reads Pause; the charts have been redrawn at the end.
    The final page is saved as a screenshot.
    """
    pg = session.page
    first = session.chart_sources()
    pg.get_by_role("button", name="Play", exact=True).click()
    pg.get_by_role("button", name="Pause", exact=True).wait_for()
    pg.wait_for_function(
        f"() => document.querySelector('.kam-quarter')?.dataset.quarter === '{HORIZON}'",
        timeout=PLAY_TIMEOUT_MS,
    )
    play = pg.get_by_role("button", name="Play", exact=True)
    play.wait_for()
    time.sleep(1.0)  # several play intervals: it would have stepped again by now
    assert session.quarter() == HORIZON
    assert play.is_disabled()
    assert pg.get_by_role("button", name="Step", exact=True).is_disabled()
    assert pg.get_by_text("end of the run").is_visible()
    pg.wait_for_function(
        "() => [...document.querySelectorAll('.kam-chart img')]"
        ".every(i => i.complete && i.naturalWidth > 300)"
    )
    last = session.chart_sources()
    assert all(a != b for a, b in zip(first, last, strict=True))
    assert session.layout_problems() == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "teaching_page.png"
    pg.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000  # a real picture, not a blank page


def test_small_screen_shows_the_charts_without_scrolling(
    server: str, session: Session
) -> None:
    """At 1024x768 the three charts are beside the board, above the fold.

    With the largest market of the sliders (50 accounts, 4 rivals) nothing overlaps,
    the page is not wider than the window and no segment shows a bare number or a
    clipped tag. The page is saved as a screenshot.
    """
    pg = session.page.context.browser.new_page(viewport=SMALL_SCREEN)
    try:
        pg.set_default_timeout(PAGE_TIMEOUT_MS)
        pg.goto(server)
        charts_ready = (
            "() => [...document.querySelectorAll('.kam-chart img')]"
            ".filter(i => i.complete && i.naturalWidth > 300).length === 3"
        )
        pg.wait_for_function(charts_ready)
        for name in ("^Key accounts", "^Rival suppliers"):
            slider = pg.get_by_role("slider", name=re.compile(name))
            slider.focus()
            slider.press("End")
        pg.get_by_text("Key accounts: 50", exact=True).wait_for()
        pg.get_by_text("Rival suppliers: 4", exact=True).wait_for()
        pg.get_by_role("button", name="Reset", exact=True).click()
        pg.wait_for_function("() => document.querySelectorAll('.kam-row').length === 50")
        for _ in range(4):
            pg.get_by_role("button", name="Step", exact=True).click()
        pg.wait_for_function(
            "() => document.querySelector('.kam-quarter')?.dataset.quarter === '4'"
        )
        pg.wait_for_function(charts_ready)
        boxes = pg.locator(".kam-chart img").evaluate_all(
            "is => is.map(i => i.getBoundingClientRect().toJSON())"
        )
        assert len(boxes) == 3
        for box in boxes:
            assert box["bottom"] <= SMALL_SCREEN["height"]
            assert box["right"] <= SMALL_SCREEN["width"]
            assert box["width"] >= 300  # not shrunk to a thumbnail
        tags = pg.locator(".kam-tag").evaluate_all(
            "ts => ts.filter(t => t.offsetParent !== null).map(t => t.textContent)"
        )
        assert tags and set(tags) <= {"you", "R1", "R2", "R3", "R4"}
        assert pg.get_by_text("your share", exact=True).first.is_visible()
        assert list(pg.evaluate(LAYOUT_CHECK)) == []
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "teaching_page_1024x768.png"))
    finally:
        pg.close()


def test_server_prints_no_cookie_warning(server: str, session: Session) -> None:
    """Loading the page (twice, in two tabs) printed no Solara cookie warning."""
    log = SERVER_LOGS[server].read_text()
    assert "samesite" not in log.lower(), log
    assert "Warning" not in log, log


def test_no_errors_in_the_browser(session: Session) -> None:
    """Loading, moving a slider and playing caused no console error or failed request."""
    assert session.problems == []
