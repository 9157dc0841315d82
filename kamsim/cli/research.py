"""Research subcommands of the ``kamsim`` command: ``validate`` and ``sensitivity``.

Importing this module registers them on :data:`kamsim.cli.common.cli`
(:mod:`kamsim.cli.main` imports it). Like every subcommand, they are thin layers over public
functions, and bad input gives one line and exit code 2.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from kamsim.cli.common import (
    _CONTEXT,
    _say,
    _sigterm_as_interrupt,
    _Terminated,
    _usage_errors,
    cli,
    pool_options,
)

__all__ = ["sensitivity", "validate"]


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
    explains each). Exit code 1 if a fact the model claims is not held (a fact it
    documents as not reproduced is shown as "not claimed").

    \b
    Examples:
      kamsim validate
      kamsim validate --out results/validation
      kamsim validate --fact 4 --replications 1000
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
    if validation.failed(results):
        sys.exit(1)


@cli.command(context_settings=_CONTEXT)
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    default=Path("results"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Parent folder; the study goes to OUT/<name>/, its report to OUT/<name>/report/.",
)
@pool_options
@_usage_errors
@_sigterm_as_interrupt
def sensitivity(
    spec: Path, out: Path, workers: int | None, scheduler: str | None, quiet: bool
) -> None:
    """Run a global sensitivity analysis (Sobol or Morris, SALib) and write its report.

    SPEC is a TOML file naming the parameters to vary, the method, the sample size,
    the replications per point, the outputs and the fixed settings (see
    experiments/sensitivity.toml). Points run through the experiment runner: a
    study interrupted (Ctrl-C, SIGTERM, a kill) resumes when the same command runs
    again. Prints the most important parameters per output and the report.html path.

    \b
    Examples:
      kamsim sensitivity experiments/sensitivity.toml
      kamsim sensitivity experiments/sensitivity.toml --out results --workers 2
    """  # noqa: D301
    from kamsim.engine.batch import ensure_compiled
    from kamsim.experiments import ExperimentError
    from kamsim.sensitivity.report import output_label, write_sensitivity_report
    from kamsim.sensitivity.run import sensitivity as run
    from kamsim.sensitivity.spec import load_sensitivity_spec

    started = time.perf_counter()
    sp = load_sensitivity_spec(spec)
    ensure_compiled(None if quiet else _say)
    try:
        res = run(sp, out=out, workers=workers, scheduler=scheduler, quiet=quiet)
    except ExperimentError as exc:
        click.echo(f"{sp.name}: {exc}", err=True)
        click.echo("fix the cause and run the same command again to retry them.", err=True)
        sys.exit(1)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (_Terminated)
        why = "terminated" if isinstance(exc, _Terminated) else "interrupted"
        click.echo(
            f"\n{why}; finished points are kept in {out / sp.name}. Run the same "
            "command again to resume.",
            err=True,
        )
        sys.exit(143 if isinstance(exc, _Terminated) else 130)
    report = write_sensitivity_report(res, out / sp.name / "report")
    session = (res.results.meta.get("sessions") or [{}])[-1]
    if session.get("units_to_run") == 0:
        click.echo(f"{sp.name}: nothing left to run; every point was already complete.")
    click.echo(
        f"{sp.name}: {sp.method}, {len(sp.parameters)} parameters, {sp.n_cells} points x "
        f"{sp.replications} replications, {time.perf_counter() - started:.1f} s"
    )
    for name in sp.outputs:
        top = res.top(name)
        if top:
            click.echo(f"  {output_label(name, list(sp.columns))}: {', '.join(top)}")
    for note in res.notes:
        click.echo(f"  not analysed: {note}")
    click.echo(f"report: {report.with_name('report.html')}")
