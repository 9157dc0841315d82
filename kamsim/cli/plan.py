"""``kamsim plan``: where the team's KAM budget should go (issue 21).

Importing this module registers the subcommand on :data:`kamsim.cli.common.cli`
(:mod:`kamsim.cli.main` imports it). A thin layer over :func:`kamsim.plan.plan` and
:func:`kamsim.plan.write_plan_report`; a bad file gives its problems one per line and
exit code 2, with nothing written.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from kamsim.cli.common import _CONTEXT, _InputError, _say, _usage_errors, cli

__all__ = ["plan_command"]


@cli.command("plan", context_settings=_CONTEXT)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--budget",
    required=True,
    type=click.FloatRange(min=0),
    help="KAM budget in k€ per YEAR (the model spends it per quarter: budget / 4).",
)
@click.option(
    "--out",
    default=Path("results/plan"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the report (report.html, report.md) and plan.csv; replaced whole.",
)
@click.option(
    "--rivals", default=2, show_default=True, type=click.IntRange(0, 20),
    help="Rival suppliers courting the same accounts.",
)  # fmt: skip
@click.option(
    "--rival-policy",
    default="stage_gated",
    show_default=True,
    help="The rivals' policy; a comma-separated list gives one per rival.",
)
@click.option(
    "--rival-budget",
    type=click.FloatRange(min=0),
    help="Each rival's budget in k€ per year (default: the model's, 400).",
)
@click.option(
    "--quarters", default=40, show_default=True, type=click.IntRange(1, 400),
    help="Horizon in quarters (40 = 10 years).",
)  # fmt: skip
@click.option(
    "--replications", default=1000, show_default=True, type=click.IntRange(2, 100_000),
    help="Replications per rule to choose, and as many others to measure.",
)  # fmt: skip
@click.option(
    "--policy",
    "policies",
    multiple=True,
    metavar="RULE",
    help="A candidate rule (built-in name, saved rule file, module:function); "
    "repeatable. Default: every built-in.",
)
@click.option(
    "--optimize",
    is_flag=True,
    help="Also search the rule family (the policy search) on the choosing replications.",
)
@click.option(
    "--trials", default=30, show_default=True, type=click.IntRange(1, 10_000),
    help="Trials of the search with --optimize.",
)  # fmt: skip
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--quiet", is_flag=True, help="No progress lines.")
@_usage_errors
def plan_command(
    file: Path,
    budget: float,
    out: Path,
    rivals: int,
    rival_policy: str,
    rival_budget: float | None,
    quarters: int,
    replications: int,
    policies: tuple[str, ...],
    optimize: bool,
    trials: int,
    seed: int,
    quiet: bool,
) -> None:
    """Plan your own portfolio: which rule should spend the budget, and each account.

    FILE is a CSV or Excel file with one row per key account (README, "For strategy
    teams": account, revenue, stage, share_of_wallet or category_spend, and
    optionally years_in_stage, years_as_customer, potential or potential_low and
    potential_high, willing_to_partner, gross_margin, kam_spend). The market starts
    where the file says; what it does not say is drawn per replication from the
    priors of docs/odd.md §3.2. Every candidate rule runs on the same replications;
    the best by mean NPV with terminal value is recommended, and its gain over the
    others is measured on as many other replications. Writes OUT/report.html,
    OUT/report.md and OUT/plan.csv (one row per account).

    \b
    Examples:
      kamsim plan examples/portfolio.csv --budget 600 --out results/plan
      kamsim plan accounts.xlsx --budget 800 --rivals 3 --policy quadrant --policy uniform
      kamsim plan accounts.csv --budget 600 --optimize --replications 400
    """  # noqa: D301
    from kamsim.engine import ensure_compiled
    from kamsim.plan import plan, write_plan_report
    from kamsim.portfolio import Portfolio, PortfolioError

    started = time.perf_counter()
    try:
        pf = Portfolio.from_file(file)
    except PortfolioError as exc:  # every problem on its own line
        raise _InputError(
            "the portfolio cannot be used:\n" + "\n".join(exc.problems)
        ) from None
    rp = [x.strip() for x in rival_policy.split(",")]
    ensure_compiled(None if quiet else _say)
    res = plan(
        pf,
        budget,
        rivals=rivals,
        rival_policy=rp if len(rp) > 1 else rp[0],
        rival_budget=rival_budget,
        quarters=quarters,
        replications=replications,
        policies=list(policies) or None,
        optimize=optimize,
        trials=trials,
        seed=seed,
        progress=None if quiet else _say,
    )
    report = write_plan_report(res, out)
    t = res.candidates
    best = t[t["policy"] == res.recommended].iloc[0]
    click.echo(pf.summary())
    click.echo(
        f"recommended rule: {res.recommended}, mean NPV with terminal value "
        f"{best['mean']:,.0f} k€ [{best.ci_low:,.0f}, {best.ci_high:,.0f}] on "
        f"{replications:,} held-out replications"
    )
    for r in t[t["policy"] != res.recommended].itertuples():
        click.echo(
            f"  gain over {r.policy}: {r.gain:+,.0f} k€ [{r.gain_low:+,.0f}, "
            f"{r.gain_high:+,.0f}]"
        )
    click.echo(f"{time.perf_counter() - started:.1f} s")
    click.echo(f"report: {report.with_suffix('.html')}")
    click.echo(f"plan: {report.parent / 'plan.csv'}")
