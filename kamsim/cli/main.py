"""The ``kamsim`` command: a thin layer over the public functions.

Subcommands: ``run`` (experiment specs), ``simulate`` (one configuration, summary
table), ``policies`` (the built-in investment policies), ``report`` (reports of a
results folder), ``viz`` (the teaching page); ``validate`` and ``sensitivity`` live in
:mod:`kamsim.cli.research`, and what both modules share (the ``cli`` group, option
decorators, error handling) in :mod:`kamsim.cli.common`. Bad input gives one clear
message and exit code 2, never a traceback; failed work units give exit code 1.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd

from kamsim.cli import plan as _plan  # noqa: F401  (registers plan on cli)
from kamsim.cli import research  # noqa: F401  (registers validate and sensitivity on cli)
from kamsim.cli.common import (
    _CONTEXT,
    _InputError,
    _say,
    _sigterm_as_interrupt,
    _Terminated,
    _usage_errors,
    cli,
    pool_options,
)
from kamsim.model.params import ModelParams, ParameterError, suggest

__all__ = ["cli", "main", "parse_set", "summary_table"]


# --------------------------------------------------------------------------- simulate
def parse_set(items: Sequence[str]) -> dict[str, Any]:
    """Parse ``NAME=VALUE`` parameter overrides (values in TOML syntax).

    ``budget=200``, ``maintenance=[0,0,0.02,0.04]``; ``off`` (or ``none``) switches an
    optional parameter off (``lose_largest_at=off``).

    Raises:
        ParameterError: for a malformed item, an unknown name (with the closest valid
            one) or a value that is not a number or list.
    """
    from kamsim.experiments.spec import check_values

    names = ModelParams.names()
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not name or not text:
            raise ParameterError(f"'--set' must look like NAME=VALUE: {item!r}")
        if name not in names:
            raise ParameterError(
                f"'--set' unknown parameter '{name}'{suggest(name, names)} "
                "(see docs/odd.md for the parameter table)"
            )
        if text.lower() in ("off", "none"):
            out[name] = None
            continue
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except (tomllib.TOMLDecodeError, RecursionError, ValueError):
            shown = text if len(text) <= 60 else f"{text[:50]}... ({len(text)} characters)"
            raise ParameterError(
                f"'--set {name}' must be a number or a list of numbers: {shown!r}"
            ) from None
        check_values(value, field=f"--set {name}")
        out[name] = tuple(value) if isinstance(value, list) else value
    return out


def _ci(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95 % confidence interval (Student t) of a sample."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return math.nan, math.nan, math.nan
    mean = float(np.mean(v))
    if len(v) < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.975, len(v) - 1) * np.std(v, ddof=1) / math.sqrt(len(v)))
    return mean, mean - half, mean + half


#: Rows of the ``simulate`` summary: (label, runs column or callable).
_EXIT_CAUSES = ("switched", "vanished", "dropped", "breach", "faded")

_SUMMARY_ROWS: tuple[tuple[str, Any], ...] = (
    ("NPV with terminal value (k€)", "npv_terminal"),
    ("NPV over the horizon (k€)", "npv"),
    ("profit (k€)", "profit"),
    ("revenue (k€)", "revenue"),
    ("mean market share", "mean_market_share"),
    (
        "ended relationships",
        lambda r: sum(r[f"exits_{c}"] for c in _EXIT_CAUSES),
    ),
    ("  took an outside offer", "exits_switched"),
    ("  account vanished", "exits_vanished"),
    ("  dropped by the supplier", "exits_dropped"),
    ("  breach of trust", "exits_breach"),
    ("  faded out (rivals took it)", "exits_faded"),
    ("final tactical", "final_n_tactical"),
    ("final cooperative", "final_n_cooperative"),
    ("final interdependent", "final_n_interdependent"),
    ("final strategic", "final_n_strategic"),
    ("final HHI of revenue", "final_hhi"),
    ("final largest account share", "final_largest_share"),
)


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % CI of the headline figures over the replications in ``runs``."""
    rows = []
    for _label, col in _SUMMARY_ROWS:
        values = col(runs) if callable(col) else runs[col]
        mean, lo, hi = _ci(np.asarray(values, dtype=float))
        rows.append({"mean": mean, "95% CI low": lo, "95% CI high": hi})
    return pd.DataFrame(rows, index=[label for label, _ in _SUMMARY_ROWS])


def supplier_table(suppliers: pd.DataFrame) -> pd.DataFrame:
    """Each supplier's mean NPV (with terminal value) and mean market share."""
    g = suppliers.groupby(["supplier", "supplier_policy"], sort=True)
    out = g.agg(
        npv_terminal=("npv_terminal", "mean"),
        market_share=("mean_market_share", "mean"),
        strategic=("final_n_strategic", "mean"),
    ).reset_index()
    out.insert(1, "role", np.where(out["supplier"] == 0, "focal", "rival"))
    return out.rename(
        columns={
            "supplier_policy": "policy",
            "npv_terminal": "NPV with TV (k€)",
            "market_share": "market share",
            "strategic": "final strategic",
        }
    ).set_index("supplier")


def _format_table(df: pd.DataFrame, by_row: bool = False) -> str:
    """A table as text, every column (or row) with one number of decimals.

    The decimals follow the largest magnitude of the column (row): money in k€
    without decimals, counts with one or two, shares with three
    (:func:`kamsim.reports.formatting.column_digits`), so a column's figures line up.
    """
    from kamsim.reports.formatting import column_digits, fmt_number

    if by_row:
        out = df.astype(object)
        for idx, row in df.iterrows():
            dg = column_digits(row.to_numpy())
            out.loc[idx] = [fmt_number(v, dg) for v in row]
        return out.to_string()

    def formatter(digits: int) -> Callable[[Any], str]:
        return lambda v: fmt_number(v, digits)

    formatters = {
        c: formatter(column_digits(df[c]))
        for c in df.columns
        if pd.api.types.is_float_dtype(df[c])
    }
    return df.to_string(formatters=formatters)


def _stage_figure(quarters: pd.DataFrame, path: Path, title: str) -> None:
    """Write a PNG of the mean number of accounts per stage over time (atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = ["n_tactical", "n_cooperative", "n_interdependent", "n_strategic"]
    mean = quarters.groupby("quarter")[cols].mean()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    ax.stackplot(
        mean.index,
        *[mean[c] for c in cols],
        labels=["tactical", "cooperative", "interdependent", "strategic"],
        alpha=0.85,
    )
    ax.set_xlabel("quarter")
    ax.set_ylabel("mean number of accounts")
    ax.set_title(title)
    ax.set_xlim(mean.index.min(), mean.index.max())
    ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    from kamsim.experiments.store import atomic_write

    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)


def _check_writable(path: Path, option: str) -> None:
    """Refuse an output file that could not be written, before any work is done.

    Probes the nearest existing folder on the way to ``path`` by creating (and
    removing) a temporary file or folder in it, as writing would.
    """
    if path.is_dir():
        raise ParameterError(f"'{option}' must be a file, not a folder: {str(path)!r}")
    probe = path.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        if not probe.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, f"{probe} is not a folder")
        if probe == path.parent:
            with tempfile.TemporaryFile(dir=probe):
                pass
        else:
            os.rmdir(tempfile.mkdtemp(dir=probe))
    except OSError as exc:
        raise ParameterError(
            f"'{option}' cannot be written to {str(path)!r}: {exc.strerror or exc}"
        ) from None


#: Replications of the trial run that measures the memory of one replication.
_PROBE = 4
#: Peak memory of building the result frames, as a multiple of their final size.
_PEAK = 3.0


def _available_memory() -> int:
    """Bytes of memory available to a new allocation (free + reclaimable)."""
    import psutil

    return int(psutil.virtual_memory().available)


def _check_memory(replications: int, probe: Any) -> None:
    """Refuse a simulation whose results would not fit in the available memory.

    The need is estimated from a trial run of :data:`_PROBE` replications: the
    memory of its result frames per replication, times ``replications``, times
    :data:`_PEAK` for the copies made while the frames are built and joined.
    """
    per_rep = sum(
        int(df.memory_usage(deep=True).sum())
        for df in (probe.runs, probe.quarters, probe.suppliers)
    ) / max(len(probe.runs), 1)
    need = per_rep * replications * _PEAK
    free = _available_memory()
    if need > free:
        fits = int(free / (per_rep * _PEAK))
        raise ParameterError(
            f"'--replications' {replications:_} would need about {need / 2**30:,.1f} GiB "
            f"of memory for the results, {free / 2**30:,.1f} GiB are available: use at "
            f"most about {fits:_} replications, or run them as an experiment spec "
            "(`kamsim run`), which streams results to disk"
        )


@cli.command(context_settings=_CONTEXT)
@click.option(
    "--accounts",
    "n_accounts",
    default=20,
    show_default=True,
    type=int,
    help="Key accounts in the portfolio (1-500).",
)
@click.option(
    "--policy",
    default="uniform",
    show_default=True,
    help="Investment policy: a built-in name (see `kamsim policies`), module:function "
    "(module.py looked up in the current folder, then on the Python path) or a saved "
    "rule file (.toml/.json, from `kamsim optimize`).",
)
@click.option(
    "--rivals",
    default=2,
    show_default=True,
    type=int,
    help="Rival suppliers courting the same accounts (0-20).",
)
@click.option(
    "--rival-policy",
    "rival_policy",
    default="stage_gated",
    show_default=True,
    help="The rivals' policy (a built-in name or module:function); a comma-separated "
    "list gives one per rival.",
)
@click.option(
    "--replications",
    default=1000,
    show_default=True,
    type=int,
    help="Independent markets (replications).",
)
@click.option(
    "--quarters",
    default=40,
    show_default=True,
    type=int,
    help="Horizon in quarters (40 = 10 years).",
)
@click.option(
    "--seed",
    default=0,
    show_default=True,
    type=int,
    help="Root seed of the replication seeds.",
)
@click.option(
    "--engine",
    default="batched",
    show_default=True,
    type=click.Choice(["batched", "mesa"]),
    help="batched (fast compiled engine) or mesa (one KAMModel per replication); "
    "identical numbers.",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a model parameter (repeatable), e.g. --set budget=200, "
    "--set lose_largest_at=20, --set replacement_delay=off.",
)
@click.option(
    "--figure",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a PNG of the mean stage counts over time.",
)
@click.option(
    "--debug", is_flag=True, help="Show the traceback of a failing policy (else one line)."
)
@_usage_errors
def simulate(
    n_accounts: int,
    policy: str,
    rivals: int,
    rival_policy: str,
    replications: int,
    quarters: int,
    seed: int,
    engine: str,
    sets: tuple[str, ...],
    figure: Path | None,
    debug: bool,
) -> None:
    """Simulate one market configuration and print the focal supplier's summary.

    The focal supplier (your policy) and its rivals court the same key accounts.
    Prints the mean and 95 % confidence interval over the replications of the focal
    supplier's NPV (with and without the terminal value of the relationships in
    place at the horizon), profit, revenue, market share, ended relationships by
    cause, final stage counts, the Herfindahl index of revenue and the largest
    account's share; then each supplier's mean NPV and market share. Money in k€.

    \b
    Examples:
      kamsim simulate
      kamsim simulate --accounts 40 --policy stage_gated --rivals 3
      kamsim simulate --rivals 2 --rival-policy uniform,greedy_roi
      kamsim simulate --rivals 0 --policy none --replications 2000
      kamsim simulate --set budget=200 --set lose_largest_at=20 --figure stages.png
      kamsim simulate --engine mesa --replications 20
      kamsim simulate --policy results/optimize/rule.toml    # a saved rule

    A module:function policy is imported from the current folder first (no
    PYTHONPATH needed); --figure must name a .png in a folder that exists.
    """  # noqa: D301
    with _policy_errors(debug):
        _simulate(
            n_accounts, policy, rivals, rival_policy, replications, quarters, seed, engine,
            sets, figure,
        )  # fmt: skip


@contextlib.contextmanager
def _policy_errors(debug: bool) -> Iterator[None]:
    """A failing policy is one ``Error:`` line (exit 2); ``debug`` shows its traceback."""
    from kamsim.policies import PolicyError

    try:
        yield
    except PolicyError as exc:
        if debug:
            import traceback

            cause = exc.__cause__ or exc
            traceback.print_exception(type(cause), cause, cause.__traceback__)
        raise _InputError(" ".join(str(exc).split("\n"))) from None


def _simulate(
    n_accounts: int,
    policy: str,
    rivals: int,
    rival_policy: str,
    replications: int,
    quarters: int,
    seed: int,
    engine: str,
    sets: tuple[str, ...],
    figure: Path | None,
) -> None:
    from kamsim.engine.batch import ensure_compiled
    from kamsim.engine.simulate import simulate as run

    params = ModelParams().evolve(**parse_set(sets)) if sets else ModelParams()
    if figure is not None:
        if figure.suffix.lower() != ".png":
            raise ParameterError(f"'--figure' must be a .png file: {str(figure)!r}")
        if not figure.parent.is_dir() and not figure.parent.is_file():
            raise ParameterError(
                f"'--figure' cannot be written to {str(figure)!r}: its folder "
                f"{str(figure.parent)!r} does not exist (create it first)"
            )
        _check_writable(figure, "--figure")
    if engine == "batched":
        ensure_compiled(_say)
    rival_spec: str | list[str] = rival_policy
    if "," in rival_policy:
        rival_spec = [x.strip() for x in rival_policy.split(",")]
    _check_memory(
        replications,
        run(
            n_accounts=n_accounts,
            policy=policy,
            rivals=rivals,
            rival_policy=rival_spec,
            replications=_PROBE,
            quarters=quarters,
            seed=seed,
            params=params,
            keep_accounts=False,
        ),
    )
    res = run(
        n_accounts=n_accounts,
        policy=policy,
        rivals=rivals,
        rival_policy=rival_spec,
        replications=replications,
        quarters=quarters,
        seed=seed,
        params=params,
        engine=engine,
        keep_accounts=False,
    )
    changed = {k: v for k, v in params.to_dict().items() if v != ModelParams().to_dict()[k]}
    rivals_text = (
        f"{rivals} rival(s) with {', '.join(res.meta['rival_policy'])}"
        if rivals
        else "no rivals"
    )
    head = (
        f"{n_accounts} accounts, focal policy {res.meta['policy']}, {rivals_text}, "
        f"{replications} replications x {quarters} quarters, seed {seed}, {engine} "
        f"engine ({res.meta['seconds']:.2f} s)"
    )
    click.echo(head)
    if changed:
        click.echo(
            "parameters changed: " + ", ".join(f"{k}={v}" for k, v in changed.items())
        )
    click.echo(_format_table(summary_table(res.runs), by_row=True))
    click.echo("")
    click.echo(_format_table(supplier_table(res.suppliers)))
    if figure is not None:
        _stage_figure(res.quarters, figure, f"{n_accounts} accounts, {res.meta['policy']}")
        click.echo(f"figure: {figure}")


# --------------------------------------------------------------------------- run
#: The value metric of the console headline, as in the reports: (column, heading).
_VALUE_METRICS = (("npv_terminal", "NPV with TV"), ("npv", "NPV"))


def headline(runs: pd.DataFrame) -> pd.DataFrame:
    """Per-cell headline: mean NPV with its 95 % CI, final strategic accounts, HHI.

    The NPV is the reports' value metric: with the terminal value of the
    relationships in place at the horizon (``npv_terminal``) when the runs have it,
    else over the horizon only (``npv``); its heading says which.
    """
    cols = list(runs.columns)
    factor_cols = cols[: cols.index("npv")] if "npv" in cols else cols
    by = [c for c in factor_cols if c not in ("replication", "seed")]
    metric, label = next((m for m in _VALUE_METRICS if m[0] in cols), _VALUE_METRICS[1])
    rows = []
    for key, g in runs.groupby(by, sort=True, dropna=False):
        mean, lo, hi = _ci(g[metric].to_numpy())
        row = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
        row.update(
            {
                "reps": len(g),
                f"{label} mean (k€)": mean,
                "95% CI": f"[{lo:,.0f}, {hi:,.0f}]",
                "strategic": float(g["final_n_strategic"].mean()),
                "HHI": float(g["final_hhi"].mean()),
            }
        )
        rows.append(row)
    return pd.DataFrame(rows).set_index("cell") if rows else pd.DataFrame()


#: Cells of the console headline shown in full; longer tables show the best and worst.
_HEADLINE_ROWS = 12


def _shortened(table: pd.DataFrame, rows: int = _HEADLINE_ROWS) -> str:
    """The headline as text, only its best and worst ``rows // 2`` cells if longer.

    Cells are ranked by mean NPV; a last line says how many are left out and where
    the full table is (``headline.csv`` of the report, ``kamsim report``).
    """
    if len(table) <= rows:
        return _format_table(table)
    from kamsim.reports.formatting import column_digits, fmt_number

    value = next(c for c in table.columns if str(c).endswith("mean (k€)"))
    text = table.astype(object)
    for c in table.columns:
        if pd.api.types.is_float_dtype(table[c]):
            digits = column_digits(table[c])
            text[c] = [fmt_number(v, digits) for v in table[c]]
    order = table[value].sort_values(ascending=False).index
    half = rows // 2
    gap = pd.DataFrame([dict.fromkeys(table.columns, "...")], index=["..."])
    shown = pd.concat([text.loc[order[:half]], gap, text.loc[order[-half:]]])
    shown.index.name = table.index.name
    return (
        f"{shown.to_string()}\n({half} best and {half} worst of {len(table)} cells by "
        "mean NPV; every cell in headline.csv of the report: kamsim report)"
    )


@cli.command(context_settings=_CONTEXT)
@click.argument(
    "specs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path)
)
@click.option(
    "--out",
    default=Path("results"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Parent folder; each experiment goes to OUT/<name>/.",
)
@pool_options
@_usage_errors
@_sigterm_as_interrupt
def run(
    specs: tuple[Path, ...],
    out: Path,
    workers: int | None,
    scheduler: str | None,
    quiet: bool,
) -> None:
    """Run experiment specs (TOML) and store their results as Parquet.

    Every spec is validated before anything runs. Results go to OUT/<name>/
    (manifest.json + runs/, quarters/, accounts/ Parquet datasets, with the SHA-256
    of every file). An interrupted run (Ctrl-C, SIGTERM, a kill) resumes: run the
    same command again and only the missing or damaged work units run. A folder
    another run is writing is refused; so is a different spec, or an edited policy
    file, into the same folder: delete the folder to start over. Exit code 1 if any
    work unit failed (its error is in manifest.json), 2 for an invalid spec or an
    unusable folder.

    \b
    Examples:
      kamsim run experiments/smoke.toml
      kamsim run experiments/*.toml --out results --workers 2
      kamsim run experiments/portfolio_size.toml --scheduler tcp://10.0.0.5:8786
    """  # noqa: D301
    from kamsim.engine.batch import ensure_compiled
    from kamsim.experiments import ExperimentError, load_spec, run_experiment
    from kamsim.experiments.runner import describe_run

    loaded = [load_spec(p) for p in specs]
    names = [s.name for s in loaded]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ParameterError(f"'name' must differ between specs run together: {dup}")
    ensure_compiled(None if quiet else _say)
    failed = 0
    for sp in loaded:
        folder = out / sp.name
        try:
            res = run_experiment(
                sp,
                out=out,
                workers=workers,
                scheduler=scheduler,
                quiet=quiet,
                frames=["runs"],
            )
        except ExperimentError as exc:
            failed += 1
            click.echo(f"{sp.name}: {exc}", err=True)
            for f in exc.failures[:10]:
                first = f["error"].splitlines()[0] if f["error"] else ""
                click.echo(
                    f"  cell {f['cell']}, replications {f['first_replication']}-"
                    f"{f['first_replication'] + f['replications'] - 1}: {first}",
                    err=True,
                )
            continue
        except KeyboardInterrupt as exc:
            why = "terminated" if isinstance(exc, _Terminated) else "interrupted"
            click.echo(
                f"\n{why}; finished work units are kept in {folder}. Run the same "
                "command again to resume.",
                err=True,
            )
            sys.exit(143 if isinstance(exc, _Terminated) else 130)
        if (res.meta.get("sessions") or [{}])[-1].get("units_to_run") == 0:
            click.echo(
                f"{sp.name}: nothing left to run; every work unit was already complete."
            )
        click.echo(f"{sp.name}: results in {folder} ({describe_run(res)})")
        if len(res.runs):
            click.echo(_shortened(headline(res.runs)))
        click.echo("")
    if failed:
        click.echo(
            f"{failed} experiment(s) had failed work units; fix the cause and run the "
            "same command again to retry them.",
            err=True,
        )
        sys.exit(1)


# --------------------------------------------------------------------------- others
@cli.command(context_settings=_CONTEXT)
def policies() -> None:
    """List the built-in investment policies with one line each.

    A policy of your own is a plain function ``policy(obs, budget) -> allocation``;
    use it as ``module:function`` wherever a policy name is accepted. The module is
    looked up in the spec file's folder first (for a spec), then in the current
    folder, then on the Python path.

    \b
    Examples:
      kamsim policies
      kamsim simulate --policy mypolicies:greedy
    """  # noqa: D301
    from kamsim.policies.registry import POLICIES

    width = max(len(n) for n in POLICIES)
    for name, fn in POLICIES.items():
        summary = getattr(fn, "summary", None) or (fn.__doc__ or "").strip().split("\n")[0]
        click.echo(f"{name:<{width}}  {summary}")


@cli.command(context_settings=_CONTEXT)
@click.argument(
    "results_dir", type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the reports (default: inside RESULTS_DIR).",
)
@_usage_errors
def report(results_dir: Path, out: Path | None) -> None:
    """Write Markdown/HTML reports, figures and CSV tables for stored results.

    Prints the path of each report.html (report.md, the PNG figures and the CSV
    tables are beside it).

    \b
    Examples:
      kamsim report results
      kamsim report results/portfolio_size --out reports
    """  # noqa: D301
    from kamsim.reporting import write_reports

    for path in write_reports(results_dir, out=out, warn=lambda m: click.echo(m, err=True)):
        click.echo(str(path.with_name("report.html")))


@cli.command(context_settings=_CONTEXT)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port to serve on.",
)
@click.option("--no-browser", is_flag=True, help="Do not open a web browser.")
@_usage_errors
def viz(host: str, port: int, no_browser: bool) -> None:
    """Launch the interactive teaching page (Mesa SolaraViz).

    \b
    Examples:
      kamsim viz
      kamsim viz --port 9000 --no-browser
    """  # noqa: D301
    from kamsim.viz import launch

    launch(host=host, port=port, open_browser=not no_browser)


@cli.command(context_settings=_CONTEXT)
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    default=Path("results"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Parent folder; the search goes to OUT/<name>/, its report to OUT/<name>/report/.",
)
@pool_options
@click.option(
    "--debug", is_flag=True, help="Show the traceback of a failing policy (else one line)."
)
@_usage_errors
@_sigterm_as_interrupt
def optimize(
    spec: Path,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    quiet: bool,
    debug: bool,
) -> None:
    """Search for the investment rule that earns most, and prove it on held-out seeds.

    SPEC is a TOML file naming the market (accounts, rivals and their policies,
    parameter overrides), the objective (default: mean NPV with terminal value), an
    optional risk objective or constraint (value:cvar05, "value:p_loss <= 0.05"),
    the search (Optuna sampler, trials, training replications) and the held-out and
    robustness evaluations (see experiments/optimize.toml). Rules of the family in
    kamsim/rule_family.py are scored on the same training seeds; the chosen rule and
    every built-in are then compared on fresh seeds. Writes OUT/<name>/rule.toml
    (usable as --policy anywhere), the Optuna storage, the held-out and robustness
    runs and the report. Interrupted (Ctrl-C, SIGTERM, a kill), the same command
    continues to the same result. Exit code 2 for an invalid spec, an unusable
    folder or a failing policy.

    \b
    Examples:
      kamsim optimize experiments/optimize.toml
      kamsim optimize experiments/optimize.toml --out results --workers 2
      kamsim optimize my_search.toml --scheduler tcp://10.0.0.5:8786
      kamsim simulate --policy results/optimize/rule.toml
    """  # noqa: D301
    from kamsim.engine import ensure_compiled
    from kamsim.optimize import load_optimize_spec
    from kamsim.optimize import optimize as run
    from kamsim.optimize.report import findings, heldout_table, robustness_table
    from kamsim.policies.family import describe_rule

    started = time.perf_counter()
    sp = load_optimize_spec(spec)
    ensure_compiled(None if quiet else _say)
    folder = out / sp.name
    try:
        with _policy_errors(debug):
            res = run(sp, out=out, workers=workers, scheduler=scheduler, quiet=quiet)
    except KeyboardInterrupt as exc:
        why = "terminated" if isinstance(exc, _Terminated) else "interrupted"
        click.echo(
            f"\n{why}; finished trials are kept in {folder}. Run the same command again "
            "to continue.",
            err=True,
        )
        sys.exit(143 if isinstance(exc, _Terminated) else 130)
    click.echo(
        f"{sp.name}: {len(res.trials)} trials ({sp.sampler}) x {sp.replications} training "
        f"replications, held out on {sp.eval_replications} fresh replications per policy, "
        f"{time.perf_counter() - started:.1f} s"
    )
    for line in describe_rule(res.rule):
        click.echo(f"  {line}")
    table = heldout_table(res)
    for item in findings(res, table, robustness_table(res)):
        click.echo("* " + item["text"].replace("**", ""))
    click.echo(f"rule: {folder / 'rule.toml'}")
    click.echo(f"report: {folder / 'report' / 'report.html'}")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``kamsim`` console script."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="kamsim")
