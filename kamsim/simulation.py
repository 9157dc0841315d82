"""Monte Carlo entry point: :func:`simulate` runs replications on either face.

``engine="batched"`` (default) steps all replications at once in NumPy;
``engine="mesa"`` steps one :class:`kamsim.KAMModel` per replication. Both draw each
replication's environment from the same seed and return identical numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from kamsim._version import __version__
from kamsim.engine import BatchOutput, max_generations, new_ledger, run_batch
from kamsim.metrics import QUARTER_COLUMNS
from kamsim.model import KAMModel, check_n_accounts
from kamsim.params import ModelParams, ParameterError
from kamsim.policies import Observation, policy_name, resolve_policy
from kamsim.results import Results, to_frames

__all__ = ["ENGINES", "MAX_QUARTERS", "replication_seeds", "run_mesa_batch", "simulate"]

ENGINES = ("batched", "mesa")
MAX_QUARTERS = 400
MAX_REPLICATIONS = 10_000_000
#: Replications stepped together by the batched engine (bounds memory, stays in cache).
CHUNK = 250


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
    policy: Callable[[Observation, float], np.ndarray],
    params: ModelParams,
    keep_trajectories: bool = False,
) -> BatchOutput:
    """Run one :class:`KAMModel` per seed and gather the same arrays as the engine."""
    r_count = len(seeds)
    rec = {c: np.empty((r_count, quarters)) for c in QUARTER_COLUMNS}
    reach = {s: (np.zeros(r_count), np.zeros(r_count)) for s in (2, 3, 4)}
    g_max = max_generations(quarters, params.replacement_delay)
    shape = (r_count, n_accounts * g_max)
    led = new_ledger(r_count, n_accounts, g_max)
    traj: dict[str, np.ndarray] = {}
    for r, seed in enumerate(seeds):
        model = KAMModel(n_accounts=n_accounts, policy=policy, params=params, rng=seed)
        for t in range(quarters):
            model.step()
            for c in QUARTER_COLUMNS:
                rec[c][r, t] = model.record[c]
        for s in (2, 3, 4):
            reach[s][0][r] = model.reach[s][0]
            reach[s][1][r] = model.reach[s][1]
        for acc in [*model.supplier.former, *model.supplier.slots]:
            pos = acc.slot * g_max + acc.generation
            if led["exists"][r, pos]:
                continue  # an ended account still holding its slot
            led["exists"][r, pos] = True
            led["revenue"][r, pos] = acc.total_revenue
            led["profit"][r, pos] = acc.total_profit
            led["investment"][r, pos] = acc.total_investment
            led["arrived"][r, pos] = acc.arrived
            led["ended"][r, pos] = acc.ended if acc.ended is not None else -1
            led["end_cause"][r, pos] = int(acc.end_cause)
            led["willing"][r, pos] = acc.willing
            led["potential"][r, pos] = acc.potential
            led["potential_class"][r, pos] = acc.potential_class
            led["max_stage"][r, pos] = acc.max_stage
        if keep_trajectories:
            tr = model.slot_trajectory()
            for k, v in tr.items():
                if k not in traj:
                    traj[k] = np.zeros((r_count, *v.shape), dtype=v.dtype)
                traj[k][r] = v
    led["slot"] = np.broadcast_to(np.repeat(np.arange(n_accounts), g_max), shape).copy()
    led["generation"] = np.broadcast_to(np.tile(np.arange(g_max), n_accounts), shape).copy()
    return BatchOutput(quarters=rec, reach=reach, accounts=led, trajectories=traj)


def simulate(
    *,
    n_accounts: int = 20,
    policy: str | Callable[[Observation, float], np.ndarray] = "uniform",
    replications: int = 1000,
    quarters: int = 40,
    seed: int = 0,
    params: ModelParams | None = None,
    engine: str = "batched",
    keep_accounts: bool = True,
    factors: Mapping[str, Any] | None = None,
    first_replication: int = 0,
) -> Results:
    """Run Monte Carlo replications of one market configuration.

    Args:
        n_accounts: key accounts in the portfolio (1-500; 5-50 studied).
        policy: built-in name, ``"module:function"`` or a callable.
        replications: number of independent markets.
        quarters: horizon in quarters (40 = 10 years).
        seed: root seed; replication i uses ``replication_seeds(seed, ...)[i]``.
        params: model parameters (default ``ModelParams()``).
        engine: ``"batched"`` (fast) or ``"mesa"`` (one KAMModel per replication).
        keep_accounts: also build the per-account frame.
        factors: extra constant columns for every row (used by experiments).
        first_replication: index of the first replication (to run a slice).

    Returns:
        :class:`kamsim.results.Results` with ``runs``, ``quarters``, ``accounts``.

    Raises:
        ParameterError: for an invalid argument (message names field and range).
    """
    n = check_n_accounts(n_accounts)
    reps = _check_int("replications", replications, 1, MAX_REPLICATIONS)
    big_t = _check_int("quarters", quarters, 1, MAX_QUARTERS)
    root = check_seed(seed)
    first = _check_int("first_replication", first_replication, 0, MAX_REPLICATIONS)
    if engine not in ENGINES:
        raise ParameterError(f"'engine' must be one of {list(ENGINES)}: {engine!r}")
    p = params if params is not None else ModelParams()
    if not isinstance(p, ModelParams):
        raise ParameterError(f"'params' must be a ModelParams: {p!r}")
    fn = resolve_policy(policy)
    seeds = replication_seeds(root, reps, start=first)
    cols: dict[str, Any] = {"n_accounts": n, "policy": policy_name(policy)}
    cols.update(factors or {})
    started = time.perf_counter()
    parts = []
    runner = run_batch if engine == "batched" else run_mesa_batch
    for lo in range(0, reps, CHUNK):
        chunk = seeds[lo : lo + CHUNK]
        out = runner(chunk, n_accounts=n, quarters=big_t, policy=fn, params=p)
        frames = to_frames(
            out,
            seeds=chunk,
            replications=range(first + lo, first + lo + len(chunk)),
            factors=cols,
            discount_rate=p.discount_rate,
            keep_accounts=keep_accounts,
        )
        parts.append(
            Results(
                runs=frames["runs"],
                quarters=frames["quarters"],
                accounts=frames["accounts"],
            )
        )
    res = Results.concat(parts)
    res.meta = {
        "root_seed": root,
        "replications": reps,
        "first_replication": first,
        "quarters": big_t,
        "engine": engine,
        "n_accounts": n,
        "policy": policy_name(policy),
        "params": p.to_dict(),
        "kamsim_version": __version__,
        "seconds": time.perf_counter() - started,
    }
    return res
