"""Benchmark: the batched engine against the Mesa face and mesa.batch_run, same work.

Work: R replications of a market of 3 suppliers (the focal one with ``uniform``, two
``stage_gated`` rivals) x 50 accounts x 40 quarters (R = 1 000; the Mesa face and
``mesa.batch_run`` run a subset and are extrapolated per replication). Speed is in
relationship-quarters (supplier x account x quarter) per second.
Each timing is repeated and the median reported. Then the study "10 portfolio sizes x
8 policies x 1 000 replications x 40 quarters" runs through ``run_experiment`` with
two local workers.

    python benchmarks/bench_engine.py            # full benchmark (a few minutes)
    python benchmarks/bench_engine.py --quick    # a small version (seconds)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import mesa

import kamsim
from kamsim import KAMModel, simulate
from kamsim.experiments import run_experiment
from kamsim.simulation import replication_seeds

#: Model 1's batched engine on this machine (account-quarters/s/core = relationship-
#: quarters, one supplier), the floor model 2 must not fall below (issue "Model 2").
MODEL1_RATE = 2_800_000


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
        f"Mesa faces on {mesa_reps} replications, extrapolated; median of {repeats}\n"
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

    batched()  # warm-up (imports, caches)
    t_b = median_time(batched, repeats)
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
    print(f"model 1's batched engine, for reference (README): {MODEL1_RATE:,.0f}/s")
    print(f"\nbatched / Mesa face speed-up:     {t_m / t_b:8.1f}x")
    print(f"batched / mesa.batch_run speed-up: {t_r / t_b:8.1f}x")

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
