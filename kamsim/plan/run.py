"""The plan of a portfolio: which rule, and what each account is likely to become.

:func:`plan` simulates the team's portfolio (:class:`kamsim.Portfolio`; the market
starts where the file says, :mod:`kamsim.portfolio.start`) under every candidate rule
on common random numbers, in two sets of replications of one root seed:

1. **selection**: replications ``0 .. R-1``; the recommended rule is the candidate
   with the highest mean NPV with terminal value (k€) there (with ``optimize``, the
   policy search's rule family is also searched on these replications, and the
   searched rule joins the candidates);
2. **held out**: replications ``R .. 2R-1``, where every number of the plan is
   measured: each candidate's NPV, the recommended rule's paired gain over each
   alternative with a 95 % confidence interval (Student's t over the per-replication
   differences), and per account, from the recommended rule's runs: its investment
   next year, the chances of moving up a stage and of losing the account within two
   and five years, its expected contribution to the NPV and the potential the runs
   imply beside the team's estimate.

Choosing and reporting on different replications keeps the winner's curse out of
the reported gain (the best of several noisy means is biased upwards on the
replications that chose it).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kamsim.agents.model import DEFAULT_RIVAL_POLICY, resolve_rival_policies
from kamsim.engine import run_batch
from kamsim.engine.results import mean_ci
from kamsim.engine.simulate import replication_seeds, simulate
from kamsim.model import growth, rules
from kamsim.model.params import ModelParams, ParameterError
from kamsim.model.records import discount_factors
from kamsim.model.state import EndCause, compiled_params
from kamsim.policies import POLICIES, policy_name, resolve_policy
from kamsim.policies.family import PARAMETERS, SPECIAL_CASES, ScoreRule
from kamsim.portfolio import Portfolio

__all__ = ["SEARCHED", "PlanResult", "plan"]

#: The name of the rule found by the policy search among the candidates.
SEARCHED = "searched rule"
#: Years ahead at which the chances of moving up and of losing an account are given.
HORIZONS = (2, 5)


@dataclass
class PlanResult:
    """What :func:`plan` found (every table on the held-out replications).

    Attributes:
        portfolio: the team's portfolio.
        settings: budget (k€/yr and per quarter), rivals, quarters, replications, seed.
        recommended: the recommended rule's name.
        selection: per candidate, mean NPV with terminal value on the selection
            replications (the choice).
        candidates: per candidate on the held-out replications: mean NPV with its
            95 % CI, NPV without terminal value, P(NPV < 0), and the recommended
            rule's paired gain over it with its CI.
        npv: per candidate, the held-out NPVs with terminal value (k€), one per
            replication (the figure's distributions).
        accounts: one row per account in file order (``plan.csv``).
        risks: the portfolio's risks (dependence on its largest accounts, the
            accounts most at risk).
        rules: the candidates' callables by name (the searched rule included).
        seconds: the run time.
    """

    portfolio: Portfolio
    settings: dict[str, Any]
    recommended: str
    selection: pd.DataFrame
    candidates: pd.DataFrame
    npv: dict[str, np.ndarray]
    accounts: pd.DataFrame
    risks: dict[str, Any]
    rules: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def _candidates(policies: Sequence[Any] | None) -> dict[str, Any]:
    """Candidate rules by name (default: every built-in); each is resolved once."""
    chosen = list(POLICIES) if not policies else list(policies)
    out: dict[str, Any] = {}
    for spec in chosen:
        fn = resolve_policy(spec)
        out[policy_name(spec)] = fn
    return out


def _search(
    market: Mapping[str, Any], replications: int, seed: int, trials: int
) -> ScoreRule:
    """The rule of the policy search's family with the best mean NPV on the seeds.

    Optuna's TPE sampler (seeded from ``seed``) over :data:`PARAMETERS`, starting
    from the family's members that equal built-ins; every trial on the same
    replications (common random numbers).
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=10)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for params in SPECIAL_CASES.values():
        full = {p.name: float(params.get(p.name, p.neutral)) for p in PARAMETERS}
        if all(p.lo <= full[p.name] <= p.hi for p in PARAMETERS):
            study.enqueue_trial(full)

    def objective(trial: Any) -> float:
        values = tuple(trial.suggest_float(p.name, p.lo, p.hi) for p in PARAMETERS)
        res = simulate(
            policy=ScoreRule(values),
            replications=replications,
            seed=seed,
            keep_accounts=False,
            **market,
        )
        return float(res.runs["npv_terminal"].mean())

    study.optimize(objective, n_trials=trials)
    best = study.best_trial.params
    values = tuple(float(best[p.name]) for p in PARAMETERS)
    return ScoreRule(values, name=SEARCHED, origin={"trials": trials, "seed": seed})


def _held_out_table(npv: Mapping[str, np.ndarray], runs: Mapping[str, pd.DataFrame],
                    best: str) -> pd.DataFrame:  # fmt: skip
    """Per candidate: held-out NPV and the recommended rule's paired gain over it."""
    rows = []
    for name, values in npv.items():
        ci = mean_ci(values)
        gain = mean_ci(npv[best] - values) if name != best else None
        rows.append(
            {
                "policy": name,
                "mean": ci["mean"],
                "ci_low": ci["ci_low"],
                "ci_high": ci["ci_high"],
                "npv_without_terminal": float(runs[name]["npv"].mean()),
                "p_loss": float(np.mean(values < 0.0)),
                "gain": np.nan if gain is None else gain["mean"],
                "gain_low": np.nan if gain is None else gain["ci_low"],
                "gain_high": np.nan if gain is None else gain["ci_high"],
            }
        )
    return pd.DataFrame(rows).sort_values("mean", ascending=False, ignore_index=True)


def plan(
    portfolio: Portfolio,
    budget: float,
    *,
    rivals: int = 2,
    rival_policy: Any = None,
    rival_budget: float | None = None,
    quarters: int = 40,
    replications: int = 1000,
    policies: Sequence[Any] | None = None,
    optimize: bool = False,
    trials: int = 30,
    seed: int = 0,
    params: ModelParams | None = None,
    progress: Callable[[str], None] | None = None,
) -> PlanResult:
    """Plan the portfolio: the best candidate rule for the budget, and each account.

    Args:
        portfolio: the team's key accounts.
        budget: the KAM budget in k€ per **year** (the model's ``budget`` is per
            quarter: ``budget / 4``).
        rivals: rival suppliers courting the same accounts.
        rival_policy: the rivals' policy (default ``"stage_gated"``).
        rival_budget: each rival's budget in k€ per year (default: the model's,
            ``4 * params.rival_budget``).
        quarters: horizon (40 = 10 years).
        replications: replications per candidate in each of the two sets.
        policies: candidate rules (names, saved rule files or callables; default
            every built-in).
        optimize: also search the rule family on the selection replications
            and add the searched rule to the candidates.
        trials: trials of that search.
        seed: root seed of both sets of replications.
        params: model parameters (default ``ModelParams()``).
        progress: called with a line before each step (for the CLI).

    Returns:
        A :class:`PlanResult`.

    Raises:
        ParameterError: for an invalid argument.
    """
    started = time.perf_counter()
    say = progress or (lambda _: None)
    if not isinstance(portfolio, Portfolio):
        raise ParameterError(f"'portfolio' must be a kamsim.Portfolio: {portfolio!r}")
    if not (isinstance(budget, (int, float)) and math.isfinite(budget) and budget >= 0):
        raise ParameterError(f"'budget' must be a number >= 0 (k€ per year): {budget!r}")
    base = params if params is not None else ModelParams()
    p = base.evolve(budget=float(budget) / 4.0)
    if rival_budget is not None:
        p = p.evolve(rival_budget=float(rival_budget) / 4.0)
    market = {
        "portfolio": portfolio,
        "rivals": rivals,
        "rival_policy": rival_policy,
        "quarters": quarters,
        "params": p,
    }
    fns = _candidates(policies)
    if optimize:
        say(f"searching the rule family ({trials} trials x {replications} replications)")
        fns[SEARCHED] = _search(market, replications, seed, trials)
    say(f"choosing among {len(fns)} rules on {replications} replications")
    chosen = {
        name: float(
            simulate(policy=fn, replications=replications, seed=seed, keep_accounts=False,
                     **market).runs["npv_terminal"].mean()
        )
        for name, fn in fns.items()
    }  # fmt: skip
    best = max(chosen, key=lambda k: chosen[k])
    say(f"measuring them on {replications} other replications")
    runs = {
        name: simulate(
            policy=fn, replications=replications, seed=seed, first_replication=replications,
            keep_accounts=False, **market,
        ).runs
        for name, fn in fns.items()
    }  # fmt: skip
    npv = {name: r["npv_terminal"].to_numpy() for name, r in runs.items()}
    table = _held_out_table(npv, runs, best)
    say(f"following every account under {best}")
    accounts, risks = _accounts(portfolio, fns[best], market, replications, seed)
    selection = pd.DataFrame({"policy": list(chosen), "mean": list(chosen.values())})
    settings = {
        "budget_per_year": float(budget),
        "budget_per_quarter": p.budget,
        "rivals": rivals,
        "rival_policy": policy_name(rival_policy or DEFAULT_RIVAL_POLICY)
        if not isinstance(rival_policy, (list, tuple))
        else ",".join(policy_name(x) for x in rival_policy),
        "rival_budget_per_year": 4.0 * p.rival_budget,
        "quarters": quarters,
        "replications": replications,
        "seed": seed,
        "selection_replications": [0, replications - 1],
        "heldout_replications": [replications, 2 * replications - 1],
        "optimize": optimize,
        "trials": trials if optimize else 0,
        "params": p,
    }
    return PlanResult(
        portfolio=portfolio,
        settings=settings,
        recommended=best,
        selection=selection.sort_values("mean", ascending=False, ignore_index=True),
        candidates=table,
        npv=npv,
        accounts=accounts,
        risks=risks,
        rules=fns,
        seconds=time.perf_counter() - started,
    )


def _vanished_at(out: Any, r_count: int, n: int, big_t: int) -> np.ndarray:
    """Quarter each slot's account disappeared (big_t + 1 if it did not), (R, n)."""
    acc = out.accounts
    at = np.full((r_count, n), big_t + 1, dtype=np.int64)
    gone = acc["exists"] & (acc["end_cause"] == EndCause.VANISHED.value)
    rows, cols = np.nonzero(gone)
    np.minimum.at(at, (rows, acc["slot"][rows, cols]), acc["ended"][rows, cols])
    return at


def _terminal(out: Any, at: np.ndarray, p: ModelParams, big_t: int) -> np.ndarray:
    """Each slot's terminal value at the horizon, discounted (k€, (R, n))."""
    tr, compiled = out.trajectories, compiled_params(p)
    stage = tr["stage"][:, -1]
    tv = np.zeros(stage.shape)
    rows, cols = np.nonzero((stage > 0) & (at > big_t))
    for r, j in zip(rows.tolist(), cols.tolist(), strict=True):
        scale = growth.effort_scale(float(tr["wallet"][r, -1, j]), compiled)
        tv[r, j] = rules.terminal_value(
            int(stage[r, j]), float(tr["revenue"][r, -1, j]),
            float(tr["cost_to_serve"][r, -1, j]), scale, compiled,
        )  # fmt: skip
    return tv * discount_factors(big_t, p.discount_rate)[-1]


def _accounts(
    pf: Portfolio, fn: Any, market: Mapping[str, Any], replications: int, seed: int
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per account under the recommended rule on the held-out replications."""
    p, big_t, n = market["params"], market["quarters"], len(pf)
    rival_fns = resolve_rival_policies(market["rivals"], market["rival_policy"])
    seeds = replication_seeds(seed, replications, start=replications)
    out = run_batch(
        seeds, n_accounts=n, quarters=big_t, policy=fn, params=p,
        rival_policies=rival_fns, keep_trajectories=True, portfolio=pf,
    )  # fmt: skip
    tr = out.trajectories
    at = _vanished_at(out, replications, n, big_t)
    q = np.arange(1, big_t + 1)[None, :, None]
    here = q <= at[:, None, :]  # the account is (still) in its slot
    stage = np.where(here, tr["stage"], 0)
    lost_q = np.where(
        (stage == 0).any(axis=1), np.argmax(stage == 0, axis=1) + 1, big_t + 1
    )
    live = q < lost_q[:, None, :]
    df = discount_factors(big_t, p.discount_rate)[None, :, None]
    value = (tr["profit"] * df * here).sum(axis=1) + _terminal(out, at, p, big_t)
    rows: dict[str, Any] = {
        "account": list(pf.names),
        "stage": pf.stage,
        "revenue": pf.revenue,
        "share_of_wallet": pf.share_of_wallet,
        "invest_next_year": tr["investment"][:, :4].sum(axis=1).mean(axis=0),
    }
    for years in HORIZONS:
        h = min(4 * years, big_t)
        up = (np.where(live[:, :h], stage[:, :h], 0) > pf.stage[None, None, :]).any(axis=1)
        rows[f"p_up_{years}y"] = up.mean(axis=0)
        rows[f"p_lost_{years}y"] = (lost_q <= h).mean(axis=0)
    rows["npv_contribution"] = value.mean(axis=0)
    rows["team_potential"] = _team_potential(pf)
    first = np.arange(n) * (out.accounts["potential"].shape[1] // n)
    truth = out.accounts["potential"][:, first]
    rows["model_potential"] = np.median(truth, axis=0)
    rows["model_potential_p10"] = np.quantile(truth, 0.1, axis=0)
    rows["model_potential_p90"] = np.quantile(truth, 0.9, axis=0)
    h3 = min(12, big_t)
    spend = np.where(here[:, h3 - 1], tr["wallet"][:, h3 - 1], np.nan)
    rows["model_spend_3y"] = np.nanmedian(spend, axis=0)
    table = pd.DataFrame(rows)
    causes = _first_end_causes(out, n)
    return table, _risks(pf, table, lost_q, causes, big_t)


def _team_potential(pf: Portfolio) -> list[str]:
    """The team's potential as written: a number, a range ``low-high``, or blank."""
    out = []
    for x, lo, hi in zip(pf.potential, pf.potential_low, pf.potential_high, strict=True):
        if math.isfinite(x):
            out.append(f"{x:.0f}")
        elif math.isfinite(lo):
            out.append(f"{lo:.0f}-{hi:.0f}")
        else:
            out.append("")
    return out


def _first_end_causes(out: Any, n: int) -> np.ndarray:
    """End cause of each account's first (the file's) relationship, (R, n); 0 = kept."""
    g = out.accounts["end_cause"].shape[1] // n
    return out.accounts["end_cause"][:, np.arange(n) * g]


def _risks(
    pf: Portfolio, table: pd.DataFrame, lost_q: np.ndarray, causes: np.ndarray,
    big_t: int,
) -> dict[str, Any]:  # fmt: skip
    """Dependence on the largest accounts and the accounts most at risk."""
    order = np.argsort(-pf.revenue, kind="stable")
    total = float(pf.revenue.sum())
    top3 = order[:3]
    h5 = min(20, big_t)
    any_top3 = float((lost_q[:, top3] <= h5).any(axis=1).mean())
    npv_total = float(table["npv_contribution"].sum())
    top3_value = float(table["npv_contribution"].iloc[top3].sum())
    names = {c.value: c.name.lower() for c in EndCause}
    at_risk = table.sort_values("p_lost_5y", ascending=False).head(5)
    main = []
    for j in at_risk.index:
        ended = causes[:, j][causes[:, j] > 0]
        main.append(names[int(np.bincount(ended).argmax())] if ended.size else "-")
    return {
        "largest": pf.names[order[0]],
        "largest_share": float(pf.revenue[order[0]] / total),
        "top3": [pf.names[j] for j in top3],
        "top3_share": float(pf.revenue[top3].sum() / total),
        "p_lose_top3_5y": any_top3,
        "top3_value_share": top3_value / npv_total if npv_total > 0 else math.nan,
        "at_risk": pd.DataFrame(
            {
                "account": at_risk["account"].to_numpy(),
                "stage": at_risk["stage"].to_numpy(),
                "revenue": at_risk["revenue"].to_numpy(),
                "p_lost_2y": at_risk["p_lost_2y"].to_numpy(),
                "p_lost_5y": at_risk["p_lost_5y"].to_numpy(),
                "main_cause": main,
            }
        ),
    }
