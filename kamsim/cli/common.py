"""What the ``kamsim`` subcommands share: the ``cli`` group, options and error handling.

:mod:`kamsim.cli.main` and :mod:`kamsim.cli.research` register their subcommands on
:data:`cli`. Bad input gives one clear message and exit code 2, never a traceback
(:func:`_usage_errors`); SIGTERM stops a run like Ctrl-C (:func:`_sigterm_as_interrupt`).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from kamsim._version import __version__
from kamsim.model.params import ParameterError

__all__ = ["cli", "pool_options"]

_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _InputError(click.ClickException):
    """Bad input or an unusable folder: printed as one ``Error: ...`` line, exit code 2."""

    exit_code = 2


def _say(message: str) -> None:
    """A one-line notice on stderr (results stay alone on stdout)."""
    click.echo(message, err=True)


def pool_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--workers``, ``--scheduler`` and ``--quiet`` to a command.

    Shared by the commands that run work units through the experiment runner
    (``run`` and ``sensitivity``).
    """
    fn = click.option("--quiet", is_flag=True, help="No progress bar.")(fn)
    fn = click.option(
        "--scheduler",
        metavar="ADDR",
        help="Dask scheduler address, e.g. tcp://host:8786 (instead of local processes).",
    )(fn)
    return click.option(
        "--workers",
        type=click.IntRange(min=1),
        help="Local worker processes (default: all cores; 1 = no pool).",
    )(fn)


def _usage_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn ParameterError/SpecError into one ``Error:`` line and exit 2, no traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ParameterError as exc:
            raise _InputError(" ".join(str(exc).split("\n"))) from None

    return wrapper


@click.group(context_settings=_CONTEXT)
@click.version_option(__version__, prog_name="kamsim")
def cli() -> None:
    """kamsim: simulate a supplier's portfolio of key accounts through the four KAM stages.

    \b
    Examples:
      kamsim simulate                                  # a quick demo
      kamsim run experiments/smoke.toml --out results  # an experiment spec
      kamsim policies                                  # built-in investment policies
      kamsim optimize experiments/optimize.toml        # search for a better rule
      kamsim plan examples/portfolio.csv --budget 600  # plan your own portfolio
    """  # noqa: D301


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that a run stops the same clean way."""


def _sigterm_as_interrupt(fn: Callable[..., Any]) -> Callable[..., Any]:
    """While ``fn`` runs, SIGTERM stops it like Ctrl-C (the manifest: interrupted)."""

    def stop(signum: int, frame: Any) -> None:
        raise _Terminated

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is not threading.main_thread():
            return fn(*args, **kwargs)
        previous = signal.signal(signal.SIGTERM, stop)
        try:
            return fn(*args, **kwargs)
        finally:
            signal.signal(signal.SIGTERM, previous)

    return wrapper
