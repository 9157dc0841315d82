"""Both faces reproduce, to the bit, the outputs recorded before the refactoring.

The reference frames (``tests/reference/*.parquet``) were written by
``tests/reference/record.py`` on kamsim 0.4.0 before the model's equations were
merged into one compiled implementation. Every built-in policy runs with 0, 1 and 2
rivals, with shocks, scripted disruption, the stress test, drops, no renewal, an
85-quarter horizon, the default market and a 150-account portfolio; each case as it
is and with ``potential_bias = 0``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "reference"))

from record import KINDS, VARIANTS, frames  # noqa: E402


def _reference(suffix: str) -> dict[str, pd.DataFrame]:
    return {k: pd.read_parquet(HERE / "reference" / f"{k}{suffix}.parquet") for k in KINDS}


@pytest.mark.parametrize("suffix", list(VARIANTS))
@pytest.mark.parametrize("engine", ["batched", "mesa"])
def test_reproduces_reference(engine: str, suffix: str) -> None:
    """Every frame of every reference case is exactly the recorded one on ``engine``."""
    reference = _reference(suffix)
    now = frames(engine, VARIANTS[suffix])
    for kind in KINDS:
        got = now[kind].astype(reference[kind].dtypes.to_dict())
        assert list(got.columns) == list(reference[kind].columns), kind
        pd.testing.assert_frame_equal(got, reference[kind], check_exact=True, obj=kind)
