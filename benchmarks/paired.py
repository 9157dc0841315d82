"""Paired benchmark: this checkout's batched engine against another, run alternately.

The machines we measure on are shared and noisy (the same run takes 0.7 s one minute
and 1.1 s the next), so two versions timed a few minutes apart cannot be compared.
This script keeps one worker process per checkout (each imports its own ``kamsim``,
compiled and warmed up), then times the benchmark's work (1 000 replications of 3
suppliers x 50 accounts x 40 quarters, focal ``uniform``, rivals ``stage_gated``)
in alternating order, ``--rounds`` times, and reports each side's minimum and median
and the median of the paired ratios: a slow minute slows both sides of a pair.

    git worktree add /tmp/kamsim-0.4.0 c2b92ff       # v0.4.0, or any other commit
    python benchmarks/paired.py /tmp/kamsim-0.4.0 --rounds 15
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

_WORKER = """
import os, sys, time
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
from kamsim import simulate
work = dict(n_accounts=50, quarters=40, policy="uniform", replications={reps}, seed=0,
            keep_accounts=False)
simulate(**{{**work, "replications": 20}})  # imports, compiled code from its cache
print("ready", flush=True)
for line in sys.stdin:
    t0 = time.perf_counter()
    simulate(**work)
    print(time.perf_counter() - t0, flush=True)
"""


def _worker(tree: Path, reps: int) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(tree), OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen(
        [sys.executable, "-c", _WORKER.format(reps=reps)],
        cwd=tree,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise SystemExit(f"the worker for {tree} did not start")
    return proc


def _time(proc: subprocess.Popen[str]) -> float:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()
    return float(proc.stdout.readline())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("other", type=Path, help="the other checkout (a git worktree)")
    ap.add_argument("--rounds", type=int, default=15, help="pairs of timings")
    ap.add_argument("--replications", type=int, default=1000)
    args = ap.parse_args()
    trees = {"this": HERE, "other": args.other.resolve()}
    procs = {name: _worker(tree, args.replications) for name, tree in trees.items()}
    times: dict[str, list[float]] = {name: [] for name in trees}
    for r in range(args.rounds):
        for name in trees if r % 2 == 0 else reversed(trees):
            times[name].append(_time(procs[name]))
    for proc in procs.values():
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait()
    print(f"{args.rounds} alternating pairs, {args.replications} replications each")
    for name, tree in trees.items():
        t = times[name]
        print(f"{name:<6} {tree}: min {min(t):.3f} s, median {statistics.median(t):.3f} s")
    ratios = [a / b for a, b in zip(times["this"], times["other"], strict=True)]
    print(
        f"this / other, paired: median {statistics.median(ratios):.2f} "
        f"(from {min(ratios):.2f} to {max(ratios):.2f})"
    )


if __name__ == "__main__":
    main()
