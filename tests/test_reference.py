"""Both faces reproduce, to the bit, the recorded reference outputs of model 3.

The reference frames (``tests/reference/*.parquet``) are written by
``tests/reference/record.py``. Every built-in policy runs with 0, 1 and 2 rivals,
with shocks, scripted disruption, the stress test, drops, no renewal, an 85-quarter
horizon, the default market and a 150-account portfolio; each case as it is and with
``potential_bias = 0``. A refactoring must reproduce them exactly; a deliberate change
of the model re-records them (``python tests/reference/record.py``) and says so in
the CHANGELOG.

History: they were first recorded on kamsim 0.4.0 (model 2) to prove that merging the
equations into one compiled implementation changed no number (issue "The science
lives once"); they were re-recorded when model 3 changed the accounts (issue
"Model 3": wallets that grow towards a potential, the focal supplier's own judgement,
the estimate of willingness, a wider variate counter).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "reference"))

from record import KINDS, VARIANTS, cases, frames  # noqa: E402


def _reference(suffix: str) -> dict[str, pd.DataFrame]:
    return {k: pd.read_parquet(HERE / "reference" / f"{k}{suffix}.parquet") for k in KINDS}


def _compare(now: dict[str, pd.DataFrame], ref: dict[str, pd.DataFrame]) -> None:
    for kind in KINDS:
        want, got = ref[kind], now[kind].astype(ref[kind].dtypes.to_dict())
        assert list(got.columns) == list(want.columns), kind
        pd.testing.assert_frame_equal(got, want, check_exact=True, obj=kind)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("engine", ["batched", "mesa"])
def test_reproduces_reference(engine: str, variant: str) -> None:
    """Every frame of every case is the recorded one, exactly, on both faces."""
    assert len({case for case, _, _ in cases()}) >= 20  # a real set of cases
    _compare(frames(engine, VARIANTS[variant]), _reference(variant))
