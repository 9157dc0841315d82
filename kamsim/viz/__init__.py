"""Interactive teaching page (Mesa SolaraViz) for kamsim.

* In a terminal: ``kamsim viz`` (calls :func:`launch`) starts a local web server and
  prints the address to open.
* In Jupyter: ``from kamsim.viz import page`` and display ``page`` in a cell.

Importing this package does not import Solara or Mesa's visualization; the page is
built on first access of :data:`page` (or ``kamsim.viz.app``).
"""

from __future__ import annotations

import os
import socket
import warnings
from typing import Any

from kamsim.model.params import ParameterError

__all__ = ["APP", "SOLARA_COOKIE_WARNING", "launch", "page", "quiet_solara"]

#: The Solara app the server runs: the ``page`` element of :mod:`kamsim.viz.app`.
APP = "kamsim.viz.app:page"


def _check_address(host: Any, port: Any) -> tuple[str, int]:
    """Validate host and port and make sure the port is free on that host.

    The probe binds as the server will (``SO_REUSEADDR`` on POSIX): connections of a
    server that just stopped, left in TIME_WAIT, do not block a restart, while a
    server still listening on the port does.
    """
    if not isinstance(host, str) or not host.strip():
        raise ParameterError(f"'host' must be a host name or IP address: {host!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ParameterError(f"'port' must be an integer in [1, 65535]: {port!r}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ParameterError(f"'host' {host!r} cannot be resolved: {exc}") from None
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        if os.name != "nt":  # on Windows the option would allow sharing a live port
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as exc:
            raise ParameterError(
                f"'port' {port} is not available on {host} ({exc.strerror}); "
                "choose another port"
            ) from None
    return host, port


#: Start of the warning Solara prints for every page served over plain http on a host
#: other than ``localhost`` (12 lines; the session cookie then falls back to
#: ``samesite=lax``, which the teaching page, not embedded in an iframe, is fine with).
SOLARA_COOKIE_WARNING = "Cookies with samesite=none require https"


def quiet_solara() -> None:
    """Silence Solara's samesite cookie warning (and only it) in this process.

    Solara has no setting for it (``solara/server/starlette.py`` warns whenever the
    page is served over http on a host other than ``localhost``, e.g. the default
    ``127.0.0.1``), so :func:`launch` filters that one warning.
    """
    warnings.filterwarnings(
        "ignore",
        message=SOLARA_COOKIE_WARNING,
        category=UserWarning,
        module=r"solara\.server\.starlette",
    )


def launch(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True) -> None:
    """Serve the teaching page with Solara until interrupted (Ctrl+C).

    Prints the address (``http://host:port``) before the server starts, and opens
    it in the default browser when ``open_browser`` is true.

    Args:
        host: interface to listen on; the default serves this machine only.
        port: TCP port, 1-65535 (must be free).
        open_browser: open the page in the system's web browser.

    Raises:
        ParameterError: if the host cannot be resolved or the port is invalid or
            already in use (nothing is started then).
    """
    host, port = _check_address(host, port)
    # No version check or telemetry: the page must work offline (classrooms, CI).
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    os.environ.setdefault("SOLARA_CHECK_VERSION", "False")
    # no "runs on Solara" banner over the charts
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")
    quiet_solara()  # no 12-line cookie warning per page load in the teacher's terminal
    from solara.__main__ import run as solara_run

    url = f"http://{host}:{port}"
    print(f"kamsim teaching page: {url}  (press Ctrl+C to stop)", flush=True)
    args = [
        APP,
        "--host",
        host,
        "--port",
        str(port),
        "--open" if open_browser else "--no-open",
        "--no-check-version",
        "--production",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    solara_run.main(args=args, standalone_mode=False)


def __getattr__(name: str) -> Any:
    if name == "page":
        from kamsim.viz.app import page

        return page
    raise AttributeError(f"module 'kamsim.viz' has no attribute {name!r}")
