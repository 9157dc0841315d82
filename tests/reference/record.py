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
#: ``stage_gated`` rivals, 40 quarters) and a portfolio above 128 accounts (NumPy's
#: pairwise sums then split into blocks).
EXTRA: list[tuple[Any, ...]] = [
    ("default-20", 20, 40, 7, 6, 2, None, {}),
    ("large-150", 150, 12, 8, 2, 1, None, {}),
]


def cases() -> list[tuple[str, str, tuple[Any, ...]]]:
    """(case id, policy, configuration) of every reference case."""
    configs = [*CONFIGS, *EXTRA]
    return [(f"{p}-{c[0]}", p, c) for p in kamsim.POLICIES for c in configs]


def frames(engine: str) -> dict[str, pd.DataFrame]:
    """Every case's frames on ``engine``, concatenated per kind with a ``case`` column."""
    out: dict[str, list[pd.DataFrame]] = {k: [] for k in KINDS}
    for case, policy, cfg in cases():
        res = kamsim.simulate(engine=engine, **_kwargs(policy, cfg))
        for kind in KINDS:
            df = getattr(res, kind).copy()
            df.insert(0, "case", case)
            out[kind].append(df)
    return {k: pd.concat(v, ignore_index=True) for k, v in out.items()}


def main() -> None:
    """Write the reference files next to this script."""
    for kind, df in frames("batched").items():
        df.to_parquet(HERE / f"{kind}.parquet", index=False)
        print(kind, df.shape)


if __name__ == "__main__":
    main()
