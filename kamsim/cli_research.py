"""Research subcommands of the ``kamsim`` command: ``validate`` and ``sensitivity``.

Importing this module registers them on :data:`kamsim.cli.cli` (``kamsim.cli``
imports it at its end). Like every subcommand, they are thin layers over public
functions, and bad input gives one line and exit code 2.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from kamsim.cli import _CONTEXT, _usage_errors, cli

__all__ = ["validate"]


@cli.command(context_settings=_CONTEXT)
@click.option(
    "--replications",
    default=400,
    show_default=True,
    type=click.IntRange(min=2),
    help="Replications per simulated configuration.",
)
@click.option(
    "--seed", default=2026, show_default=True, type=click.IntRange(min=0), help="Root seed."
)
@click.option(
    "--fact", "only", multiple=True, metavar="ID", help="Check only this fact (repeatable)."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write validation.md and validation.html into this folder.",
)
@_usage_errors
def validate(replications: int, seed: int, only: tuple[str, ...], out: Path | None) -> None:
    """Check the model against the stylized facts of KAM practice.

    Prints one row per fact: the fact, the model's figure, the target, the source,
    whether it held and whether it holds by construction (docs/validation.md
    explains each). Exit code 1 if a fact is not held.

    \b
    Examples:
      kamsim validate
      kamsim validate --out results/validation
      kamsim validate --fact 4c --replications 1000
    """  # noqa: D301
    from kamsim import validation

    started = time.perf_counter()
    sim = validation.Simulator(replications=replications, seed=seed)
    results = validation.check(sim=sim, only=list(only) if only else None)
    seconds = time.perf_counter() - started
    for line in validation.console_lines(results):
        click.echo(line)
    click.echo(f"{validation.summary_line(results, sim)}; {seconds:.1f} s")
    if out is not None:
        md, page = validation.write_files(results, out, sim)
        click.echo(f"written: {page} and {md}")
    if not all(r.held for r in results):
        sys.exit(1)
