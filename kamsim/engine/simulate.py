"""Monte Carlo entry point: :func:`simulate` runs replications on either face.

``engine="batched"`` (default) steps all replications at once in compiled loops;
``engine="mesa"`` steps one :class:`kamsim.KAMModel` per replication. Both draw each
replication's environment from the same seed and return identical numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from kamsim._version import __version__
from kamsim.agents.model import (
    HISTORY_KEYS,
    KAMModel,
    check_n_accounts,
    check_rivals,
    resolve_rival_policies,
)
from kamsim.engine.batch import (
    FINAL_FIELDS,
    BatchOutput,
    Ledger,
    max_generations,
    run_batch,
)
from kamsim.engine.results import Results, assemble_frames, frame_columns
from kamsim.model.params import ModelParams, ParameterError, suggest
from kamsim.model.records import QUARTER_COLUMNS, SUPPLIER_QUARTER_COLUMNS
from kamsim.policies.observation import Observation
from kamsim.policies.registry import guard_policy, policy_name, resolve_policy
from kamsim.portfolio import Portfolio
from kamsim.portfolio.start import check_portfolio_size

PolicyFn = Callable[[Observation, float], np.ndarray]

__all__ = ["ENGINES", "MAX_QUARTERS", "replication_seeds", "run_mesa_batch", "simulate"]

ENGINES = ("batched", "mesa")
MAX_QUARTERS = 400
MAX_REPLICATIONS = 10_000_000
#: Replications stepped together by the batched engine: bounds memory and keeps a
#: chunk's state (about 2 MB at 50 accounts and 3 suppliers) in the core's cache;
#: measured: 128 steps the benchmark's work about 20 % faster than 250.
CHUNK = 128


def replication_seeds(root: int, n: int, start: int = 0) -> list[int]:
    """Seeds of replications ``start .. start+n-1`` derived from one root seed.

    Replication i gets ``SeedSequence(root).spawn(start + n)[i]`` reduced to a 63-bit
    integer (stored with every result row). Replication i's seed does not depend on
    how many replications are run, so results of a shorter run are a prefix of a
    longer one and two policies on the same root face the same worlds.
    """
    children = np.random.SeedSequence(root).spawn(start + n)[start:]
    mask = (1 << 63) - 1
    return [int(c.generate_state(1, dtype=np.uint64)[0]) & mask for c in children]


def _check_int(name: str, value: Any, lo: int, hi: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or not (lo <= value <= hi)
    ):
        raise ParameterError(f"'{name}' must be an integer in [{lo}, {hi}]: {value!r}")
    return int(value)


def check_seed(seed: Any) -> int:
    """Validate a root seed: a non-negative integer."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"'seed' must be an integer >= 0: {seed!r}")
    return int(seed)


def run_mesa_batch(
    seeds: Sequence[int],
    *,
    n_accounts: int,
    quarters: int,
    policy: PolicyFn,
    params: ModelParams,
    rival_policies: Sequence[PolicyFn] = (),
    keep_trajectories: bool = False,
    keep_accounts: bool = True,
    portfolio: Portfolio | None = None,
) -> BatchOutput:
    """Run one :class:`KAMModel` per seed and gather the same arrays as the engine.

    ``keep_accounts=False`` skips gathering the focal ledger (its columns are empty).
    """
    r_count, m = len(seeds), 1 + len(rival_policies)
    rec = {c: np.empty((r_count, quarters)) for c in QUARTER_COLUMNS}
    sup = {c: np.empty((r_count, m, quarters)) for c in SUPPLIER_QUARTER_COLUMNS}
    reach = {s: (np.zeros(r_count), np.zeros(r_count)) for s in (2, 3, 4)}
    g_max = max_generations(quarters, params.replacement_delay) if keep_accounts else 0
    led = Ledger(r_count, n_accounts, g_max)
    final = np.zeros((r_count, m, 4), dtype=np.int64)
    tv = np.zeros((r_count, m))
    ints = ("stage", "age")
    horizon = {
        f: np.zeros((r_count, m, n_accounts), dtype=np.int64 if f in ints else np.float64)
        for f in FINAL_FIELDS
    }
    traj: dict[str, np.ndarray] = {}
    for r, seed in enumerate(seeds):
        model = KAMModel(
            n_accounts=n_accounts,
            policy=policy,
            rivals=len(rival_policies),
            rival_policy=list(rival_policies),
            params=params,
            rng=seed,
            portfolio=portfolio,
        )
        for t in range(quarters):
            model.step()
            for c in QUARTER_COLUMNS:
                rec[c][r, t] = model.record[c]
            for su in model.suppliers:
                for c in SUPPLIER_QUARTER_COLUMNS:
                    sup[c][r, su.index, t] = getattr(su, c)
        for k in (2, 3, 4):
            reach[k][0][r] = model.reach[k][0]
            reach[k][1][r] = model.reach[k][1]
        for entry in model.ledger() if keep_accounts else ():
            pos = entry["slot"] * led.g_max + entry["generation"]
            led.cols["exists"][r, pos] = True
            for c in led.cols:
                if c != "exists":
                    led.cols[c][r, pos] = entry[c]
        stages = np.array([a.stages for a in model.accounts]).reshape(-1, m)
        for k in (1, 2, 3, 4):
            final[r, :, k - 1] = np.sum(stages == k, axis=0)
        tv[r] = model.terminal_values
        for f in FINAL_FIELDS:
            horizon[f][r] = model.stacked(f)[0]
        if keep_trajectories:
            _gather_trajectory(traj, model, r, r_count)
    return BatchOutput(
        quarters=rec,
        suppliers=sup,
        final_stages=final,
        terminal_value=tv,
        reach=reach,
        accounts=led.columns(n_accounts),
        final=horizon,
        trajectories=traj,
    )


def _gather_trajectory(
    traj: dict[str, np.ndarray], model: KAMModel, r: int, r_count: int
) -> None:
    """Copy one model's focal trajectories into the stacked arrays (R, T, n)."""
    tr = model.slot_trajectory()
    for key in HISTORY_KEYS:
        tr[key] = model.trajectory(key)
    for k, v in tr.items():
        if k not in traj:
            traj[k] = np.zeros((r_count, *v.shape), dtype=v.dtype)
        traj[k][r] = v


def simulate(
    *,
    n_accounts: int | None = None,
    policy: str | Callable[[Observation, float], np.ndarray] = "uniform",
    rivals: int = 2,
    rival_policy: Any = None,
    replications: int = 1000,
    quarters: int = 40,
    seed: int = 0,
    params: ModelParams | None = None,
    engine: str = "batched",
    keep_accounts: bool = True,
    factors: Mapping[str, Any] | None = None,
    first_replication: int = 0,
    portfolio: Portfolio | None = None,
    **param_overrides: Any,
) -> Results:
    """Run Monte Carlo replications of one market configuration.

    Any :class:`ModelParams` field can be given by name, as for :class:`KAMModel`:
    ``simulate(budget=150.0, rival_budget=80.0)`` is
    ``simulate(params=ModelParams(budget=150.0, rival_budget=80.0))``, and with
    ``params`` it overrides those fields of ``params``.

    Args:
        n_accounts: key accounts in the portfolio (1-500; 5-50 studied); default 20,
            or the portfolio's number of accounts (any other number is refused).
        policy: the focal supplier's policy: built-in name, ``"module:function"`` or
            a callable.
        rivals: number of rival suppliers courting the same accounts (0-20).
        rival_policy: the rivals' policy: a name, a callable or a list with one per
            rival (default ``"stage_gated"``); their budget is
            ``params.rival_budget``.
        replications: number of independent markets.
        quarters: horizon in quarters (40 = 10 years).
        seed: root seed; replication i uses ``replication_seeds(seed, ...)[i]``.
        params: model parameters (default ``ModelParams()``).
        engine: ``"batched"`` (fast) or ``"mesa"`` (one KAMModel per replication).
        keep_accounts: also build the per-account frame (the focal supplier's
            ledger of relationships); ``False`` skips the ledger altogether, about
            15 % of a run's time, and leaves every other frame unchanged.
        factors: extra constant columns for every row (used by experiments).
        first_replication: index of the first replication (to run a slice).
        portfolio: a :class:`kamsim.Portfolio`: every replication's focal
            relationships start where the team's file says they are, and what it does
            not say is drawn replication by replication from documented priors
            (:mod:`kamsim.portfolio.start`).
        **param_overrides: model parameters by name (``budget``, ``rival_budget``,
            ...; see ``docs/odd.md``), validated as in :class:`ModelParams`; an
            unknown name is refused with the closest valid one.

    Returns:
        :class:`kamsim.engine.results.Results` with ``runs``, ``quarters``, ``accounts``.

    Raises:
        ParameterError: for an invalid argument (message names field and range).
    """
    sized = check_portfolio_size(portfolio, n_accounts)
    n = check_n_accounts(
        (20 if n_accounts is None else n_accounts) if sized is None else sized
    )
    reps = _check_int("replications", replications, 1, MAX_REPLICATIONS)
    big_t = _check_int("quarters", quarters, 1, MAX_QUARTERS)
    root = check_seed(seed)
    first = _check_int("first_replication", first_replication, 0, MAX_REPLICATIONS)
    if engine not in ENGINES:
        raise ParameterError(f"'engine' must be one of {list(ENGINES)}: {engine!r}")
    p = _with_overrides(params, param_overrides)
    fn = resolve_policy(policy)
    n_rivals = check_rivals(rivals)
    rival_fns = resolve_rival_policies(n_rivals, rival_policy)
    seeds = replication_seeds(root, reps, start=first)
    rival_names = [policy_name(f) for f in rival_fns]
    # a user's policy that raises or returns garbage stops the run in one line
    # naming it and the quarter (PolicyError); kamsim's own policies run as they are
    fn = guard_policy(fn, policy_name(policy))
    rival_fns = [guard_policy(f, n) for f, n in zip(rival_fns, rival_names, strict=True)]
    cols: dict[str, Any] = {
        "n_accounts": n,
        "policy": policy_name(policy),
        "rivals": n_rivals,
        "rival_policy": _joined(rival_names),
    }
    cols.update(factors or {})
    started = time.perf_counter()
    parts = []
    runner = run_batch if engine == "batched" else run_mesa_batch
    for lo in range(0, reps, CHUNK):
        chunk = seeds[lo : lo + CHUNK]
        out = runner(
            chunk,
            n_accounts=n,
            quarters=big_t,
            policy=fn,
            params=p,
            rival_policies=rival_fns,
            keep_accounts=keep_accounts,
            portfolio=portfolio,
        )
        # each chunk's columns (its raw arrays are freed), the frames built once
        parts.append(
            frame_columns(
                out,
                seeds=chunk,
                replications=range(first + lo, first + lo + len(chunk)),
                params=p,
                supplier_policies=[policy_name(policy), *rival_names],
                keep_accounts=keep_accounts,
            )
        )
    frames = assemble_frames(parts, cols)
    res = Results(
        runs=frames["runs"],
        quarters=frames["quarters"],
        accounts=frames["accounts"],
        suppliers=frames["suppliers"],
    )
    res.meta = _meta(
        root=root, reps=reps, first=first, big_t=big_t, engine=engine, n=n,
        policy=policy_name(policy), rival_names=rival_names, p=p, started=started,
    )  # fmt: skip
    if portfolio is not None:
        res.meta["portfolio"] = portfolio.source or f"{len(portfolio)} accounts"
    return res


def _meta(
    *,
    root: int,
    reps: int,
    first: int,
    big_t: int,
    engine: str,
    n: int,
    policy: str,
    rival_names: list[str],
    p: ModelParams,
    started: float,
) -> dict[str, Any]:
    """What :func:`simulate` records about a run (``Results.meta``)."""
    return {
        "root_seed": root,
        "replications": reps,
        "first_replication": first,
        "quarters": big_t,
        "engine": engine,
        "n_accounts": n,
        "policy": policy,
        "rivals": len(rival_names),
        "rival_policy": rival_names,
        "suppliers": 1 + len(rival_names),
        "params": p.to_dict(),
        "kamsim_version": __version__,
        "seconds": time.perf_counter() - started,
    }


#: The arguments of :func:`simulate` other than model parameters (for "did you mean").
_ARGUMENTS = (
    "n_accounts",
    "policy",
    "rivals",
    "rival_policy",
    "replications",
    "quarters",
    "seed",
    "params",
    "engine",
    "keep_accounts",
    "factors",
    "first_replication",
    "portfolio",
)


def _with_overrides(
    params: ModelParams | None, overrides: Mapping[str, Any]
) -> ModelParams:
    """``params`` (default ``ModelParams()``) with the fields named in ``overrides``.

    Raises:
        ParameterError: for a ``params`` that is not a ModelParams, an unknown name
            (with the closest argument or parameter) or an invalid value.
    """
    base = params if params is not None else ModelParams()
    if not isinstance(base, ModelParams):
        raise ParameterError(f"'params' must be a ModelParams: {base!r}")
    names = ModelParams.names()
    for key in overrides:
        if key not in names:
            raise ParameterError(
                f"unknown simulate argument '{key}'{suggest(key, [*_ARGUMENTS, *names])}; "
                "it takes the arguments of its signature and any ModelParams field"
            )
    return base.evolve(**overrides) if overrides else base


def _joined(names: Sequence[str]) -> str:
    """One label for the rivals' policies: the name if they share one, else a list."""
    if not names:
        return "n/a"
    return names[0] if len(set(names)) == 1 else ",".join(names)
