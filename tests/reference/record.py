"""Record the reference outputs that the refactoring must reproduce to the bit.

Run once on the code before a refactoring (``python tests/reference/record.py``): it
writes one Parquet file per frame kind (runs, quarters, accounts, suppliers) with a
``case`` column, and the per-slot trajectories of every case as ``trajectories.npz``.
``tests/test_reference.py`` checks that both faces still produce exactly these.

The cases: every built-in policy as the focal supplier in markets with 0, 1 and 2
rivals, with shocks (downturns, random and scripted disruptions), the stress test,
drops, no renewal and an 85-quarter horizon (the configurations of
``tests/test_equivalence.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from test_equivalence import CONFIGS, _kwargs  # noqa: E402

import kamsim  # noqa: E402

KINDS = ("runs", "quarters", "accounts", "suppliers")


#: Beyond the equivalence configurations: the default market (20 accounts, two
#: ``stage_gated`` rivals, 40 quarters), a portfolio above 128 accounts (NumPy's
#: pairwise sums then split into blocks), and markets whose rivals read no estimate
#: of potential (with shocks, and with the stress test).
EXTRA: list[tuple[Any, ...]] = [
    ("default-20", 20, 40, 7, 6, 2, None, {}),
    ("large-150", 150, 12, 8, 2, 1, None, {}),
    (
        "uniform-rivals",
        12,
        40,
        9,
        3,
        2,
        "uniform",
        {"downturn_probability": 0.15, "disruption_probability": 0.1, "hazard": 0.03},
    ),
    ("uniform-rival-stress", 8, 30, 10, 2, 1, "uniform", {"lose_largest_at": 8}),
]


def cases() -> list[tuple[str, str, tuple[Any, ...]]]:
    """(case id, policy, configuration) of every reference case."""
    configs = [*CONFIGS, *EXTRA]
    return [(f"{p}-{c[0]}", p, c) for p in kamsim.POLICIES for c in configs]


#: Variants of every case: the configurations as they are, and the same with
#: ``potential_bias = 0`` (then the persistent factor of the estimate of potential,
#: ``exp(potential_bias * clarity * b)``, is exactly 1 whichever ``exp`` evaluates it).
VARIANTS: dict[str, dict[str, Any]] = {"": {}, "-bias0": {"potential_bias": 0.0}}


def frames(engine: str, overrides: dict[str, Any] | None = None) -> dict[str, pd.DataFrame]:
    """Every case's frames on ``engine``, concatenated per kind with a ``case`` column.

    ``overrides`` are parameter values applied on top of each case's.
    """
    out: dict[str, list[pd.DataFrame]] = {k: [] for k in KINDS}
    for case, policy, cfg in cases():
        kw = _kwargs(policy, cfg)
        kw["params"] = kw["params"].evolve(**(overrides or {}))
        res = kamsim.simulate(engine=engine, **kw)
        for kind in KINDS:
            df = getattr(res, kind).copy()
            df.insert(0, "case", case)
            out[kind].append(df)
    return {k: pd.concat(v, ignore_index=True) for k, v in out.items()}


def main() -> None:
    """Write the reference files next to this script."""
    for suffix, overrides in VARIANTS.items():
        for kind, df in frames("batched", overrides).items():
            df.to_parquet(HERE / f"{kind}{suffix}.parquet", index=False)
            print(kind + suffix, df.shape)


if __name__ == "__main__":
    main()
