"""Tests of the random environment: persistent downturns and block boundaries."""

import numpy as np
import pandas as pd

import kamsim
from kamsim.environment import downturn_path


def _run_lengths(path: np.ndarray) -> list[int]:
    lengths, run = [], 0
    for x in path:
        if x:
            run += 1
        elif run:
            lengths.append(run)
            run = 0
    return lengths


def test_downturns_last_one_over_one_minus_persistence_quarters() -> None:
    """Downturns last 1/(1-persistence) quarters on average and cover p/(p+1-rho).

    Both within 5 % over 200 000 quarters (seed 1).
    """
    p = kamsim.ModelParams(downturn_probability=0.05, downturn_persistence=0.8)
    u = np.random.default_rng(1).random(200_000)
    path = downturn_path(u, False, p)
    mean_len = np.mean(_run_lengths(path))
    assert abs(mean_len - 5.0) / 5.0 < 0.05
    share = path.mean()
    expected = 0.05 / (0.05 + 0.2)
    assert abs(share - expected) / expected < 0.05


def test_downturn_path_is_the_same_for_one_row_or_many() -> None:
    """A replication's downturn path does not depend on how many rows are computed."""
    p = kamsim.ModelParams(downturn_probability=0.1, downturn_persistence=0.7)
    u = np.random.default_rng(2).random((50, 120))
    together = downturn_path(u, False, p)
    for r in (0, 17, 49):
        np.testing.assert_array_equal(together[r], downturn_path(u[r], False, p))


def test_zero_persistence_gives_independent_quarters() -> None:
    """With persistence 0 a downturn never lasts two quarters."""
    p = kamsim.ModelParams(downturn_probability=0.3, downturn_persistence=0.0)
    path = downturn_path(np.random.default_rng(3).random(10_000), False, p)
    assert max(_run_lengths(path)) == 1


def test_downturns_carry_across_block_boundaries_identically_in_both_faces() -> None:
    """Downturns spanning block boundaries are identical in the Mesa face and engine.

    120 quarters (three blocks of 40) with long downturns; some downturn spans 40/41
    or 80/81.
    """
    params = kamsim.ModelParams(downturn_probability=0.1, downturn_persistence=0.95)
    kw = dict(n_accounts=6, policy="uniform", replications=4, quarters=120, seed=11)
    a = kamsim.simulate(params=params, **kw)
    b = kamsim.simulate(params=params, engine="mesa", **kw)
    pd.testing.assert_frame_equal(a.quarters, b.quarters, check_exact=True)
    pd.testing.assert_frame_equal(a.runs, b.runs, check_exact=True)
    q = a.quarters.set_index(["replication", "quarter"])["downturn"].unstack()
    spans = ((q[40] == 1.0) & (q[41] == 1.0)) | ((q[80] == 1.0) & (q[81] == 1.0))
    assert spans.any()
