"""Benchmark: the batched engine against the Mesa face and mesa.batch_run, same work.

Work: R replications of a market of 3 suppliers (the focal one with ``uniform``, two
``stage_gated`` rivals) x 50 accounts x 40 quarters (R = 1 000; the Mesa face and
``mesa.batch_run`` run a subset and are extrapolated per replication). Speed is in
relationship-quarters (supplier x account x quarter) per second.
Each timing is repeated and the median reported. The RNG floor is the time to draw
the same work's random numbers alone (the generators' draws, ``draw_many``, and every
quarterly variate by the compiled ``kamsim.model.variates.fill_block``); a profile splits
one engine run into the generators' draws, the compiled kernel (which computes the
quarterly variates itself), policies and Python glue. The
time of the Sobol study of the issue (20 parameters, N = 1024, 200 replications per
point, 20 accounts, 40 quarters, 3 suppliers) is projected from the measured rate.
Then the study "10 portfolio sizes x 8 policies x 1 000 replications x 40 quarters"
runs through ``run_experiment`` with two local workers.

    python benchmarks/bench_engine.py            # full benchmark (a few minutes)
    python benchmarks/bench_engine.py --quick    # a small version (seconds)
"""

from __future__ import annotations

import argparse
import os

# Per-core figures: keep BLAS single-threaded (its idle threads otherwise spin on the
# second core and add noise); set before NumPy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import mesa
import numpy as np
from numba import njit

import kamsim
from kamsim import KAMModel, ModelParams, simulate
from kamsim.engine import batch as engine_module
from kamsim.engine import kernel as kernel_module
from kamsim.engine import simulate as simulation_module
from kamsim.engine.simulate import CHUNK, replication_seeds
from kamsim.experiments import run_experiment
from kamsim.model import rules
from kamsim.model import state as st
from kamsim.model.environment import draw_many
from kamsim.model.variates import fill_block

#: Model 1's batched engine on this machine (account-quarters/s/core = relationship-
#: quarters, one supplier), the floor model 2 must not fall below (issue "Model 2").
MODEL1_RATE = 2_800_000
#: Model 2's NumPy engine before the compiled kernel (kamsim 2.0.0 on this machine).
NUMPY_ENGINE_RATE = 2_820_000


def sobol_relationship_quarters(
    d: int = 20, n_base: int = 1024, reps: int = 200, n: int = 20, t: int = 40, m: int = 3
) -> int:
    """Work of a Sobol study (first and total order, N (D + 2) points, Saltelli)."""
    return n_base * (d + 2) * reps * n * t * m


def profile_run(reps: int, n: int, quarters: int) -> dict[str, float]:
    """Seconds of one batched run by part: draws, kernel, policies, glue, frames."""
    parts = dict.fromkeys(("draws", "kernel", "policies", "frames"), 0.0)
    patched: list[tuple[object, str, Any]] = []

    def timed(owner: object, name: str, part: str) -> None:
        original = getattr(owner, name)

        def wrapper(*a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(*a, **k)
            finally:
                parts[part] += time.perf_counter() - t0

        patched.append((owner, name, original))
        setattr(owner, name, wrapper)

    timed(engine_module, "draw_many", "draws")
    for fn in ("begin_quarter", "observe_quarter", "end_quarter"):
        timed(kernel_module, fn, "kernel")
    timed(engine_module, "enforce_budget", "policies")
    timed(simulation_module, "frame_columns", "frames")
    timed(simulation_module, "assemble_frames", "frames")
    policy = kamsim.policies.resolve_policy("uniform")
    rival = kamsim.policies.resolve_policy("stage_gated")

    def timed_policy(fn: Any) -> Any:
        def call(obs: Any, budget: float) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(obs, budget)
            finally:
                parts["policies"] += time.perf_counter() - t0

        call.__name__ = getattr(fn, "__name__", "policy")
        return call

    try:
        t0 = time.perf_counter()
        simulate(
            n_accounts=n,
            policy=timed_policy(policy),
            rival_policy=[timed_policy(rival)] * 2,
            replications=reps,
            quarters=quarters,
            seed=0,
            keep_accounts=False,
        )
        total = time.perf_counter() - t0
    finally:
        for owner, name, original in patched:
            setattr(owner, name, original)
    parts["python glue"] = total - sum(parts.values())
    parts["total"] = total
    return parts


@njit(cache=False)
def _grow_all(
    keys: np.ndarray,
    wallet: np.ndarray,
    potential: np.ndarray,
    quarters: int,
    params: np.ndarray,
) -> float:  # pragma: no cover - compiled
    """Model 3's step 5a alone: ``rules.grow_accounts`` of every account and quarter.

    ``wallet`` and ``potential`` (R, n) are the replications' initial accounts; returns
    a checksum (so that the work is not optimised away).
    """
    p = params[0]
    r_count, n = wallet.shape
    af = np.zeros((st.ACC_F, 1, n))
    acc_out = np.empty((rules.ACCOUNT_OUT, n))
    total = 0.0
    for r in range(r_count):
        af[st.WALLET, 0] = wallet[r]
        af[st.POTENTIAL, 0] = potential[r]
        for i in range(quarters):
            rules.grow_accounts(af, 0, 0, n, 0.0, keys[r], i, p, acc_out)
        total += af[st.WALLET, 0, 0]
    return total


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small version for a smoke run")
    ap.add_argument("--repeats", type=int, default=None, help="timings per measurement")
    ap.add_argument("--no-study", action="store_true", help="skip the 10x8 study")
    args = ap.parse_args()

    n, quarters = 50, 40
    reps = 100 if args.quick else 1000
    mesa_reps = 3 if args.quick else 10
    repeats = args.repeats or (2 if args.quick else 3)
    seeds = replication_seeds(0, mesa_reps)
    m = 3  # suppliers: the focal one and the two default rivals
    aq = reps * m * n * quarters  # relationship-quarters of the full work

    print(
        f"kamsim {kamsim.__version__}, mesa {mesa.__version__}, Python "
        f"{platform.python_version()}, {os.cpu_count()} cores"
    )
    print(
        f"work: {reps} replications x {m} suppliers x {n} accounts x {quarters} quarters "
        "(focal uniform, rivals stage_gated); "
        f"Mesa faces on {mesa_reps} replications, extrapolated; median of {repeats} "
        f"(batched engine and RNG floor: median of {max(repeats, 5)})\n"
    )

    def batched() -> None:
        simulate(
            n_accounts=n,
            policy="uniform",
            replications=reps,
            quarters=quarters,
            seed=0,
            keep_accounts=False,
        )

    def mesa_face() -> None:
        simulate(
            n_accounts=n,
            policy="uniform",
            replications=mesa_reps,
            quarters=quarters,
            seed=0,
            engine="mesa",
            keep_accounts=False,
        )

    def batch_run() -> None:
        mesa.batch_run(
            KAMModel,
            parameters={"n_accounts": n, "policy": "uniform"},
            rng=seeds,
            max_steps=quarters,
            number_processes=1,
            display_progress=False,
        )

    p0 = ModelParams()
    all_seeds = replication_seeds(0, reps)

    def rng_floor() -> None:
        # every variate the work can use: the generators' draws (initial market,
        # keys, shocks) and each replication's quarterly variates for every supplier,
        # slot and quarter, by the compiled functions the engine and the Mesa face use
        rel = [np.empty((quarters, m, n)) for _ in range(4)]
        acc = np.empty((quarters, n))
        for lo in range(0, reps, CHUNK):
            env = draw_many(all_seeds[lo : lo + CHUNK], m, n, quarters, p0)
            for key in env.keys:
                fill_block(key, 0, *rel, acc)

    # model 3's wallet growth alone (step 5a: the compiled rules.grow_accounts, with
    # its variates and transcendental functions) for every account and quarter of the
    # work, from each replication's initial accounts (drawn here, outside the timing)
    grow_inputs = []
    for lo in range(0, reps, CHUNK):
        env = draw_many(all_seeds[lo : lo + CHUNK], m, n, quarters, p0)
        grow_inputs.append((env.keys, env.initial.wallet, env.initial.potential))

    def growth_floor() -> None:
        params = st.params_array(p0)
        for keys, wallet, potential in grow_inputs:
            _grow_all(keys, wallet, potential, quarters, params)

    def batched_20() -> None:
        simulate(n_accounts=20, replications=reps, quarters=quarters, seed=0)

    batched()  # warm-up (imports, compiled kernel from its cache)
    simulate(n_accounts=n, replications=1, quarters=2, seed=0, engine="mesa")
    fast_repeats = max(repeats, 5)  # seconds each: more repeats, a steadier median
    t_b = median_time(batched, fast_repeats)
    t_floor = median_time(rng_floor, fast_repeats)
    growth_floor()  # compiles the floor's loop
    t_growth = median_time(growth_floor, fast_repeats)
    t_b20 = median_time(batched_20, fast_repeats)
    t_m = median_time(mesa_face, repeats) * reps / mesa_reps
    t_r = median_time(batch_run, repeats) * reps / mesa_reps

    rows = [
        ("batched engine (simulate)", t_b),
        ("Mesa face (simulate, engine='mesa')", t_m),
        ("mesa.batch_run(KAMModel)", t_r),
    ]
    print(f"{'face':<38}{'seconds':>10}{'ms/replication':>16}{'rel.-quarters/s/core':>22}")
    for name, t in rows:
        print(f"{name:<38}{t:>10.2f}{1000 * t / reps:>16.3f}{aq / t:>22,.0f}")
    print(
        f"{'RNG floor (draws only)':<38}{t_floor:>10.2f}{1000 * t_floor / reps:>16.3f}",
        end="",
    )
    print(f"{aq / t_floor:>22,.0f}")
    print(f"{'wallet growth floor (model 3, step 5a)':<38}{t_growth:>10.2f}", end="")
    print(f"{1000 * t_growth / reps:>16.3f}{aq / t_growth:>22,.0f}")
    print(
        f"for reference: model 1's batched engine {MODEL1_RATE:,.0f}/s, model 2's NumPy "
        f"engine before the kernel {NUMPY_ENGINE_RATE:,.0f}/s (README)"
    )
    print(f"\nbatched / Mesa face speed-up:     {t_m / t_b:8.1f}x")
    print(f"batched / mesa.batch_run speed-up: {t_r / t_b:8.1f}x")
    print(f"batched / NumPy engine (model 2):  {aq / t_b / NUMPY_ENGINE_RATE:8.1f}x")
    print(
        f"RNG floor {aq / t_floor / 1e6:.1f} M relationship-quarters/s: drawing the "
        f"random numbers is {100 * t_floor / t_b:.0f} % of the batched engine's time"
    )
    print(
        f"wallet growth floor: model 3's growth of every account and quarter alone (its "
        f"variates, logarithms, powers and exponentials) is {100 * t_growth / t_b:.0f} "
        "% of the batched engine's time"
    )

    prof = profile_run(reps, n, quarters)
    print(f"\nwhere one batched run's {prof['total']:.2f} s go:")
    labels = {
        "draws": "generators' draws (draw_many)",
        "kernel": "compiled kernel (with its variates)",
    }
    for part in ("draws", "kernel", "policies", "python glue", "frames"):
        share = 100 * prof[part] / prof["total"]
        print(f"  {labels.get(part, part):<38}{prof[part]:>8.2f} s {share:>5.0f} %")

    rate20 = reps * 3 * 20 * quarters / t_b20
    work = sobol_relationship_quarters()
    print(
        f"\nSobol study (20 parameters, N = 1024, 200 replications per point, 20 "
        f"accounts, 3 suppliers, 40 quarters = {work / 1e9:.1f} G relationship-quarters)"
    )
    print(
        f"  at {rate20 / 1e6:.2f} M relationship-quarters/s/core (measured at 20 "
        f"accounts): {work / rate20 / 3600:.2f} h on one core, "
        f"{work / rate20 / 3600 / 2:.2f} h on two workers"
    )

    if args.no_study:
        return
    sizes = [5, 10, 15, 20, 25, 30, 35, 40, 45, 50]
    pols = list(kamsim.POLICIES)
    policies = [pols[i % len(pols)] for i in range(8)]
    study_reps = 100 if args.quick else 1000
    # cycling gives duplicates when fewer than 8 built-ins exist: vary the budget so
    # every cell is distinct while the work stays the same
    cells = {"n_accounts": sizes, "policy": sorted(set(policies))}
    copies = len(policies) // len(set(policies))
    spec = {
        "name": "bench_study",
        "replications": study_reps,
        "quarters": 40,
        "seed": 1,
        "factors": {**cells, "budget": [100.0 + i for i in range(copies)]},
    }
    n_cells = len(sizes) * len(set(policies)) * copies
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        res = run_experiment(spec, out=d, workers=2, quiet=True, frames=["runs"])
        wall = time.perf_counter() - t0
    study_aq = study_reps * 40 * 3 * sum(sizes) * len(set(policies)) * copies
    print(
        f"\nstudy: {len(sizes)} portfolio sizes x {len(policies)} policies "
        f"({', '.join(sorted(set(policies)))}"
        f"{'; cycled' if len(set(policies)) < 8 else ''}) x {study_reps} replications "
        f"x 40 quarters = {n_cells} cells, {len(res.runs):,} runs, stored as Parquet"
    )
    print(
        f"study wall time with run_experiment(workers=2): {wall:.1f} s "
        f"({study_aq / wall:,.0f} relationship-quarters/s)"
    )


if __name__ == "__main__":
    main()
