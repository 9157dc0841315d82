"""Optimisation specs: the market, the objective, the search and the evaluation.

A spec is a TOML file (every key but ``name`` has a default)::

    name = "optimize"                      # folder name under --out
    description = "..."                    # the question, first line of the report
    seed = 20261201                        # root of every seed (training, held-out, ...)
    quarters = 40
    [market]                               # the market the rule is searched for
    n_accounts = 20
    rivals = 2
    rival_policy = "stage_gated"           # or a list, one per rival
    [params]                               # model parameter overrides (optional)
    budget = 100.0
    [objective]
    value = "value"                        # maximised: the mean NPV with terminal value
    risk = "value:cvar05"                  # optional second objective (NSGA-II)
    constraint = "value:p_loss <= 0.05"    # optional constraint on the training seeds
    [search]
    sampler = "tpe"                        # tpe, cmaes, nsga2 (two objectives), random
    trials = 300
    replications = 400                     # training replications per trial
    batch = 4                              # trials proposed together (the parallelism)
    [evaluation]
    replications = 4000                    # held-out replications per policy
    policies = ["uniform", ...]            # the built-ins compared (default: all)
    front = 5                              # two objectives: Pareto rules held out
    [robustness]
    replications = 500
    rival_policies = ["uniform", ...]      # the chosen rule against each (default: all)
    points = 12                            # parameter sets from the sensitivity ranges
    parameters = ["per_stage"]             # which parameters vary (as a sensitivity spec)

An output is ``column[:stat]`` of the ``runs`` frame, ``value`` standing for the value
column (``npv_terminal``); ``stat`` is ``mean`` (default), ``q05``, ``cvar05``,
``p_loss`` or ``sd``. Means, ``q05`` and ``cvar05`` are maximised, ``p_loss`` and
``sd`` minimised. :func:`load_optimize_spec` checks everything before anything runs
and raises one :class:`~kamsim.experiments.spec.SpecError` naming the field, the
value and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kamsim.experiments.spec import (
    MAX_NAME,
    Cell,
    SpecError,
    check_values,
    load_spec,
    read_toml,
)
from kamsim.model.params import ParameterError, suggest
from kamsim.policies import POLICIES

__all__ = [
    "SAMPLERS",
    "Objective",
    "OptimizeSpec",
    "load_optimize_spec",
    "parse_output",
]

#: Optuna samplers by name (``nsga2`` searches two objectives).
SAMPLERS = ("tpe", "cmaes", "nsga2", "random")
#: Statistics an output may take over replications.
STATS = ("mean", "q05", "cvar05", "p_loss", "sd")
#: Statistics that are better when smaller.
MINIMISED = ("p_loss", "sd")
MAX_TRIALS = 100_000
MAX_REPLICATIONS = 1_000_000

_TOP = (
    "name",
    "description",
    "seed",
    "quarters",
    "market",
    "params",
    "objective",
    "search",
    "evaluation",
    "robustness",
)
_MARKET = ("n_accounts", "rivals", "rival_policy")
_OBJECTIVE = ("value", "risk", "constraint")
_SEARCH = ("sampler", "trials", "replications", "batch")
_EVALUATION = ("replications", "policies", "front")
_ROBUSTNESS = ("replications", "rival_policies", "points", "parameters", "ranges")
_CONSTRAINT = re.compile(r"^\s*([\w.]+(?::\w+)?)\s*(<=|>=)\s*([-+0-9.eE_]+)\s*$")


@dataclass(frozen=True)
class Objective:
    """An output to optimise: ``column`` and ``stat`` over replications.

    Attributes:
        text: as written in the spec (``value:cvar05``).
        column: the runs column (``npv_terminal``).
        stat: ``mean``, ``q05``, ``cvar05``, ``p_loss`` or ``sd``.
    """

    text: str
    column: str
    stat: str

    @property
    def maximise(self) -> bool:
        """True when larger is better."""
        return self.stat not in MINIMISED

    @property
    def direction(self) -> str:
        """Optuna's direction."""
        return "maximize" if self.maximise else "minimize"

    def of(self, values: np.ndarray) -> float:
        """The statistic of a sample (NaN ignored)."""
        from kamsim.analysis import metrics

        v = np.asarray(values, dtype=np.float64)
        v = v[~np.isnan(v)]
        if not v.size:
            return math.nan
        if self.stat == "mean":
            return float(np.mean(v))
        if self.stat == "sd":
            return float(np.std(v, ddof=1)) if v.size > 1 else math.nan
        if self.stat == "q05":
            return float(metrics.quantile_lower(v, 0.05))
        if self.stat == "cvar05":
            return float(metrics.cvar(v, 0.05))
        return float(np.mean(v < 0))

    def label(self) -> str:
        """Words for the output: ``CVaR 5 % of NPV with terminal value``."""
        col = {"npv_terminal": "NPV with terminal value", "npv": "NPV"}.get(
            self.column, self.column
        )
        stat = {
            "mean": "mean",
            "q05": "5 % quantile of",
            "cvar05": "CVaR 5 % of",
            "p_loss": "P(loss) of",
            "sd": "standard deviation of",
        }[self.stat]
        return f"{stat} {col}"


@dataclass(frozen=True)
class OptimizeSpec:
    """A validated optimisation spec (build it with :func:`load_optimize_spec`).

    Attributes:
        name: folder name of the search under ``--out``.
        description: the question, first line of the report.
        seed: root seed: training seeds are ``replication_seeds(seed, ...)``; held-out
            and robustness seeds come from roots derived from it (:meth:`root`).
        quarters: horizon in quarters.
        market: the validated market (n_accounts, rivals, rival_policy, params).
        objective: the output maximised (or minimised).
        risk: a second objective, or None.
        constraint: ``(output, "<=" or ">=", bound)``, or None.
        sampler: Optuna sampler name.
        trials: number of trials.
        replications: training replications per trial.
        batch: trials proposed together (evaluated in parallel).
        eval_replications: held-out replications per policy.
        policies: the built-in policies compared.
        front: with two objectives, how many Pareto rules are held out.
        robust_replications: replications per robustness cell.
        rival_policies: the rivals' policies of the robustness check.
        points: parameter sets drawn over the sensitivity ranges.
        ranges: the varied parameters and their ranges.
        data: the spec as given (JSON-friendly).
        source: the file it was read from.
    """

    name: str
    description: str
    seed: int
    quarters: int
    market: Cell
    objective: Objective
    risk: Objective | None
    constraint: tuple[Objective, str, float] | None
    sampler: str
    trials: int
    replications: int
    batch: int
    eval_replications: int
    policies: tuple[str, ...]
    front: int
    robust_replications: int
    rival_policies: tuple[str, ...]
    points: int
    ranges: tuple[Any, ...]
    data: dict[str, Any]
    source: str | None = None

    @property
    def objectives(self) -> list[Objective]:
        """The objectives searched (one or two)."""
        return [self.objective] if self.risk is None else [self.objective, self.risk]

    def spec_hash(self) -> str:
        """SHA-256 of the spec as given and the market's full parameters."""
        data = {"spec": self.data, "params": self.market.params.to_dict()}
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def root(self, purpose: int) -> int:
        """A root seed derived from ``seed`` for one purpose (1 held-out, 2 robustness).

        ``SeedSequence(seed, spawn_key=(2**32 - 2, purpose))``: independent of the
        training seeds (children ``0 .. n-1`` of ``seed``) and of each other.
        """
        ss = np.random.SeedSequence(self.seed, spawn_key=(2**32 - 2, purpose))
        return int(ss.generate_state(1, dtype=np.uint64)[0] & ((1 << 63) - 1))

    def market_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``simulate`` for the market (without policy and seeds)."""
        m = self.market
        rp = m.rival_policy
        return {
            "n_accounts": m.n_accounts,
            "rivals": m.rivals,
            "rival_policy": list(rp) if isinstance(rp, tuple) else rp,
            "quarters": self.quarters,
            "params": m.params,
        }


def _err(where: str | None, field: str, msg: str) -> SpecError:
    return SpecError(f"{where + ': ' if where else ''}'{field}' {msg}")


def _table(where: str | None, data: Mapping[str, Any], key: str, allowed: Sequence[str]):  # type: ignore[no-untyped-def]
    raw = data.get(key, {})
    if not isinstance(raw, Mapping):
        raise _err(where, key, f"must be a table: {raw!r}")
    for k in raw:
        if k not in allowed:
            raise _err(
                where,
                f"{key}.{k}",
                f"is not a key{suggest(str(k), list(allowed))}; allowed: "
                f"{', '.join(allowed)}",
            )
    return raw


def _int(where: str | None, field: str, v: Any, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise _err(where, field, f"must be an integer in [{lo}, {hi:_}]: {v!r}")
    return int(v)


def _builtin_list(where: str | None, field: str, v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not v or not all(isinstance(x, str) for x in v):
        raise _err(
            where, field, f"must be a non-empty list of built-in policy names: {v!r}"
        )
    for x in v:
        if x not in POLICIES:
            raise _err(
                where,
                field,
                f"must list built-in policies ({', '.join(POLICIES)}): "
                f"{x!r}{suggest(x, list(POLICIES))}",
            )
    if len(set(v)) != len(v):
        raise _err(where, field, f"lists a policy more than once: {v!r}")
    return tuple(v)


def parse_output(
    where: str | None, field: str, text: Any, columns: Sequence[str]
) -> Objective:
    """Check an output ``column[:stat]`` against the runs columns.

    Raises:
        SpecError: naming the field, the value and what is allowed.
    """
    if not isinstance(text, str) or not text.strip():
        raise _err(
            where,
            field,
            f"must be an output 'column[:stat]' such as 'value:cvar05': {text!r}",
        )
    col, _, stat = text.strip().partition(":")
    column = "npv_terminal" if col == "value" and "npv_terminal" in columns else col
    if col == "value" and column == "value":
        column = "npv"
    if column not in columns:
        raise _err(
            where,
            field,
            f"must name a column of the results (or 'value'): {col!r}"
            f"{suggest(col, ['value', *columns])}",
        )
    stat = stat or "mean"
    if stat not in STATS:
        raise _err(
            where,
            field,
            f"statistic must be one of {', '.join(STATS)}: {stat!r}"
            f"{suggest(stat, list(STATS))}",
        )
    return Objective(text.strip(), column, stat)


def _market(where: str | None, data: Mapping[str, Any]) -> Cell:
    raw = _table(where, data, "market", _MARKET)
    params = data.get("params", {})
    if not isinstance(params, Mapping):
        raise _err(where, "params", f"must be a table of parameter values: {params!r}")
    spec = {
        "name": "market",
        "replications": 1,
        "factors": {k: [v] for k, v in raw.items()},
        "params": dict(params),
    }
    try:
        return load_spec(spec).cells[0]
    except SpecError as exc:
        text = str(exc).replace("'factors.", "'market.")
        raise SpecError(f"{where + ': ' if where else ''}{text}") from None


def _probe_columns(market: Cell) -> list[str]:
    """Columns of the ``runs`` frame this model produces (a one-quarter run)."""
    from kamsim.engine.simulate import simulate

    res = simulate(
        n_accounts=market.n_accounts,
        policy="none",
        rivals=0,
        replications=1,
        quarters=1,
        params=market.params,
        keep_accounts=False,
    )
    return list(res.runs.columns)


def load_optimize_spec(spec: str | Path | Mapping[str, Any] | OptimizeSpec) -> OptimizeSpec:
    """Read and validate an optimisation spec (a TOML path, a dict, or a spec).

    Raises:
        SpecError: one line naming the field, the value and what is allowed; nothing
            has run and nothing is written.
    """
    from kamsim.sensitivity.spec import _parameters

    if isinstance(spec, OptimizeSpec):
        return spec
    where: str | None = None
    if isinstance(spec, str | Path):
        where = str(spec)
        data: Mapping[str, Any] = read_toml(Path(spec))
    elif isinstance(spec, Mapping):
        data = spec
    else:
        raise SpecError(f"a spec must be a path, a dict or an OptimizeSpec: {spec!r}")
    for k in data:
        if k not in _TOP:
            raise _err(
                where,
                str(k),
                f"is not a spec key{suggest(str(k), list(_TOP))}; allowed: "
                f"{', '.join(_TOP)}",
            )
    check_values(data, where=where)
    name = data.get("name", "optimize")
    bad = set('/\\:*?"<>|') | {"\0"}
    if (
        not isinstance(name, str)
        or not name.strip()
        or any(c in bad for c in name)
        or name in (".", "..")
        or name != name.strip()
        or len(name) > MAX_NAME
    ):
        raise _err(
            where,
            "name",
            f'must be a folder name of at most {MAX_NAME} characters (no / \\ : * ? " < > |): '  # noqa: E501
            f"{name!r}",
        )
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _err(where, "description", f"must be a string: {description!r}")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise _err(where, "seed", f"must be an integer >= 0: {seed!r}")
    quarters = _int(where, "quarters", data.get("quarters", 40), 1, 400)
    market = _market(where, data)

    obj = _table(where, data, "objective", _OBJECTIVE)
    search = _table(where, data, "search", _SEARCH)
    ev = _table(where, data, "evaluation", _EVALUATION)
    rob = _table(where, data, "robustness", _ROBUSTNESS)

    columns = _probe_columns(market)
    objective = parse_output(where, "objective.value", obj.get("value", "value"), columns)
    risk = None
    if "risk" in obj:
        risk = parse_output(where, "objective.risk", obj["risk"], columns)
        if risk == objective:
            raise _err(
                where,
                "objective.risk",
                f"must differ from objective.value: {obj['risk']!r}",
            )
    constraint = None
    if "constraint" in obj:
        c = obj["constraint"]
        m = _CONSTRAINT.match(c) if isinstance(c, str) else None
        if m is None:
            raise _err(
                where,
                "objective.constraint",
                f"must look like 'value:p_loss <= 0.05' (an output, <= or >=, a number): {c!r}",  # noqa: E501
            )
        try:
            bound = float(m.group(3))
        except ValueError:
            raise _err(
                where, "objective.constraint", f"bound must be a number: {c!r}"
            ) from None
        if not math.isfinite(bound):
            raise _err(where, "objective.constraint", f"bound must be finite: {c!r}")
        constraint = (
            parse_output(where, "objective.constraint", m.group(1), columns),
            m.group(2),
            bound,
        )

    default_sampler = "nsga2" if risk is not None else "tpe"
    sampler = search.get("sampler", default_sampler)
    if sampler not in SAMPLERS:
        raise _err(
            where,
            "search.sampler",
            f"must be one of {', '.join(SAMPLERS)}: {sampler!r}{suggest(str(sampler), list(SAMPLERS))}",  # noqa: E501
        )
    if risk is not None and sampler in ("cmaes",):
        raise _err(
            where,
            "search.sampler",
            f"must be nsga2, tpe or random with two objectives (objective.risk): {sampler!r}",  # noqa: E501
        )
    if risk is None and sampler == "nsga2":
        raise _err(
            where,
            "search.sampler",
            "nsga2 searches two objectives: give objective.risk, or use tpe or cmaes",
        )
    if constraint is not None and sampler == "cmaes":
        raise _err(
            where,
            "search.sampler",
            "cmaes cannot take objective.constraint: use tpe, nsga2 or random",
        )
    trials = _int(where, "search.trials", search.get("trials", 200), 1, MAX_TRIALS)
    replications = _int(
        where, "search.replications", search.get("replications", 400), 2, MAX_REPLICATIONS
    )
    batch = _int(where, "search.batch", search.get("batch", 4), 1, 256)

    eval_reps = _int(
        where, "evaluation.replications", ev.get("replications", 4000), 2, MAX_REPLICATIONS
    )
    policies = _builtin_list(
        where, "evaluation.policies", ev.get("policies", list(POLICIES))
    )
    front = _int(where, "evaluation.front", ev.get("front", 5), 1, 50)

    robust_reps = _int(
        where, "robustness.replications", rob.get("replications", 500), 2, MAX_REPLICATIONS
    )
    rivals_list = rob.get("rival_policies", list(POLICIES) if market.rivals else [])
    rival_policies: tuple[str, ...] = ()
    if rivals_list:
        if not market.rivals:
            raise _err(
                where,
                "robustness.rival_policies",
                "needs rivals in the market (market.rivals >= 1)",
            )
        rival_policies = _builtin_list(where, "robustness.rival_policies", rivals_list)
    points = _int(where, "robustness.points", rob.get("points", 12), 0, 1000)
    ranges: tuple[Any, ...] = ()
    if points:
        try:
            ranges = _parameters(
                where,
                {
                    "parameters": rob.get("parameters", ["per_stage"]),
                    "ranges": rob.get("ranges", {}),
                },
            )
        except SpecError as exc:
            text = (
                str(exc)
                .replace("'parameters'", "'robustness.parameters'")
                .replace("'ranges.", "'robustness.ranges.")
            )
            raise SpecError(text) from None
        except ParameterError as exc:
            raise _err(where, "robustness.parameters", str(exc)) from None
    return OptimizeSpec(
        name=name,
        description=description,
        seed=int(seed),
        quarters=quarters,
        market=market,
        objective=objective,
        risk=risk,
        constraint=constraint,
        sampler=str(sampler),
        trials=trials,
        replications=replications,
        batch=batch,
        eval_replications=eval_reps,
        policies=policies,
        front=front,
        robust_replications=robust_reps,
        rival_policies=rival_policies,
        points=points,
        ranges=ranges,
        data=json.loads(json.dumps(dict(data), default=str)),
        source=where,
    )
