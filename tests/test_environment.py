"""Tests of the random environment: persistent downturns and block boundaries."""

from typing import Any

import numpy as np
import pandas as pd

import kamsim
from kamsim.model.environment import downturn_path


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


# --- event variates (starts and newcomers, computed only where they happen) ----------


def _event_sample(purpose: int, normal: bool) -> np.ndarray:
    from kamsim.model.environment import event_normal, event_uniform

    fn = event_normal if normal else event_uniform
    i = np.arange(200)[:, None, None]
    k = np.arange(5)[:, None]
    j = np.arange(400)
    return np.asarray(fn(np.uint64(2026), i, k, j, purpose)).ravel()


def test_event_uniforms_and_normals_have_their_distributions() -> None:
    """400 000 event variates pass Kolmogorov-Smirnov at the 0.1 % level (key 2026).

    A wrong transform (e.g. the low bits, or a uniform on [0, 2)) fails at once.
    """
    from scipy import stats

    u = _event_sample(0, normal=False)
    z = _event_sample(1, normal=True)
    assert 0.0 <= u.min() and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    assert stats.kstest(z, "norm").pvalue > 1e-3
    # neighbouring slots, quarters and purposes are uncorrelated (|r| < 4 SE)
    se = 1 / np.sqrt(u.size)
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 4 * se
    assert abs(np.corrcoef(u, _event_sample(2, normal=False))[0, 1]) < 4 * se


def test_an_event_has_the_same_variates_alone_or_among_many() -> None:
    """One start or newcomer computed alone equals the same one computed in a grid."""
    from kamsim.model.environment import draw_key, event_accounts, event_starts

    p = kamsim.ModelParams()
    rng = np.random.default_rng(5)
    key = draw_key(rng)
    i = 40 + np.arange(10)
    many = event_starts(key, i[:, None, None], np.arange(3)[:, None], np.arange(7), p)
    one = event_starts(np.array([key]), 44, np.array([2]), np.array([6]), p)
    assert one.trust[0] == many.trust[4, 2, 6]
    assert one.bias_potential[0] == many.bias_potential[4, 2, 6]
    grid = event_accounts(key, i[:, None], np.arange(7), p)
    new = event_accounts(np.array([key]), 49, np.array([3]), p)
    assert new.wallet[0] == grid.wallet[9, 3]
    assert new.tolerance[0] == grid.tolerance[9, 3]


def test_the_engine_arrivals_are_the_event_accounts() -> None:
    """A newcomer placed by the compiled arrival is :func:`event_accounts` of its slot."""
    from kamsim.model import state as st
    from kamsim.model.environment import event_accounts
    from kamsim.model.market import arrive

    p = kamsim.ModelParams()
    keys = np.array([11, 12], dtype=np.uint64)
    af = np.zeros((st.ACC_F, 2, 5))
    ai = np.zeros((st.ACC_I, 2, 5), dtype=np.int64)
    ai[st.PRESENT] = 1
    ai[st.PRESENT, 1, 3] = 0  # vacated in quarter 4: refilled in quarter 7 (delay 2)
    ai[st.VACATED_AT, 1, 3] = 4
    arrive(7, af, ai, keys, st.compiled_params(p))
    want = event_accounts(keys[1:], 6, np.array([3]), p)
    assert ai[st.PRESENT, 1, 3] == 1 and ai[st.VACATED_AT, 1, 3] == -1
    assert af[st.WALLET, 1, 3] == want.wallet[0]
    assert af[st.POTENTIAL, 1, 3] == want.potential[0]
    assert af[st.SCALE, 1, 3] == want.scale[0]
    assert ai[st.WILLING, 1, 3] == int(want.willing[0])
    assert np.count_nonzero(af[st.WALLET]) == 1  # no other slot changed


def test_what_one_supplier_does_never_moves_another_events_numbers() -> None:
    """Common random numbers: the accounts are the same whatever the policy.

    Accounts vanish exogenously, so under ``none`` and ``uniform`` (which end very
    different numbers of relationships, i.e. different numbers of start events) the
    same slots are refilled in the same quarters by the same newcomers, whose wallets
    and potentials then follow the same paths: every slot's wallet, potential and
    willingness, quarter by quarter, must be identical. A lazy draw from one shared
    stream would shift them.
    """
    from kamsim.engine import run_batch
    from kamsim.policies import resolve_policy

    paths = {}
    ends = {}
    for name in ("none", "uniform"):
        out = run_batch(
            [7, 8],
            n_accounts=10,
            quarters=40,
            policy=resolve_policy(name),
            params=kamsim.ModelParams(hazard=0.05),
            keep_trajectories=True,
        )
        paths[name] = {k: out.trajectories[k] for k in ("wallet", "potential", "willing")}
        ends[name] = int(np.sum(out.accounts["ended"] > 0))
    assert ends["none"] != ends["uniform"]  # different numbers of events
    assert np.any(paths["none"]["wallet"] == 0.0)  # slots were vacated and refilled
    for key, value in paths["none"].items():
        np.testing.assert_array_equal(value, paths["uniform"][key], err_msg=key)


# --- quarterly variates (compiled, counter-based) -------------------------------------


def _quarterly_sample(key: int, quarters: int = 200, m: int = 5, n: int = 400) -> tuple:
    from kamsim.model.variates import fill_block

    rel = tuple(np.empty((quarters, m, n)) for _ in range(4))
    u_vanish = np.empty((quarters, n))
    fill_block(np.uint64(key), 0, *rel, u_vanish)
    return (*rel, u_vanish)


def _numpy_uniform(key: object, i: object, k: object, j: object, purpose: int) -> Any:
    from kamsim.model.environment import event_bits

    return (event_bits(key, i, k, j, purpose) >> np.uint64(11)).astype(float) * 2.0**-53


def test_compiled_uniforms_are_the_numpy_counter_uniforms_bit_for_bit() -> None:
    """The compiled uniforms equal SplitMix64 in NumPy uint64 arithmetic (exact)."""
    from kamsim.model import variates as vr
    from kamsim.model.environment import event_uniform

    i = np.arange(30)[:, None, None]
    k = np.arange(4)[:, None]
    j = np.arange(50)
    for key in (np.uint64(0), np.uint64(2**64 - 1), np.uint64(123456789)):
        assert np.array_equal(
            event_uniform(key, i, k, j, vr.START_TRUST),
            _numpy_uniform(key, i, k, j, vr.START_TRUST),
        )
    # the quarterly variates against the same reference
    u_fail, u_offer, _, _, u_vanish = _quarterly_sample(11, quarters=80, m=3, n=9)
    i = np.arange(80)[:, None, None]
    k = np.arange(3)[:, None]
    j = np.arange(9)
    key = np.uint64(11)
    assert np.array_equal(u_fail, _numpy_uniform(key, i, k, j, vr.FAILURE))
    assert np.array_equal(u_offer, _numpy_uniform(key, i, k, j, vr.OFFER))
    assert np.array_equal(u_vanish, _numpy_uniform(key, i[:, 0], 0, j, vr.VANISH))


def test_quarterly_normals_are_standard_normal_in_body_and_tails() -> None:
    """800 000 ziggurat normals (key 2026): KS at the 0.1 % level, tails within 4 SE.

    The tail beyond r = 3.654 (Marsaglia's tail method) and the wedges (exp test)
    are the ziggurat's error-prone parts: the share beyond 3, 3.654 and 4 must match
    2 * Phi(-c) within 4 binomial standard errors.
    """
    from scipy import stats

    _, _, z_p, z_t, _ = _quarterly_sample(2026)
    z = np.concatenate([z_p.ravel(), z_t.ravel()])
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(z.mean()) < 4 / np.sqrt(z.size)
    assert abs(z.var() - 1.0) < 4 * np.sqrt(2 / z.size)
    for c in (1.0, 3.0, 3.6541528853610088, 4.0):
        expected = 2 * stats.norm.sf(c)
        se = np.sqrt(expected * (1 - expected) / z.size)
        assert abs(np.mean(np.abs(z) > c) - expected) < 4 * se, c
    # the two noises of a relationship and neighbouring slots are uncorrelated
    se = 1 / np.sqrt(z_p.size)
    assert abs(np.corrcoef(z_p.ravel(), z_t.ravel())[0, 1]) < 4 * se
    assert abs(np.corrcoef(z_p.ravel()[:-1], z_p.ravel()[1:])[0, 1]) < 4 * se


def test_a_quarter_has_the_same_variates_in_any_block() -> None:
    """A block starting at quarter 3 repeats quarter 3 of a block drawn from 0 on."""
    from kamsim.model.environment import BLOCK, draw_block
    from kamsim.model.variates import fill_block

    p = kamsim.ModelParams(disruption_probability=0.3)
    key = np.uint64(7)

    def quarterly(first: int) -> tuple:
        rel = tuple(np.empty((BLOCK, 2, 5)) for _ in range(4))
        fill_block(key, first, *rel, np.empty((BLOCK, 5)))
        return rel

    (_, offer0, potential0, trust0), (_, offer3, _, trust3) = quarterly(0), quarterly(3)
    assert np.array_equal(trust0[3:], trust3[: BLOCK - 3])
    assert np.array_equal(offer0[3:], offer3[: BLOCK - 3])
    assert not np.array_equal(trust0[3:], potential0[3:])
    first = draw_block(key, 2, p, first_quarter=0)
    again = draw_block(key, 2, p, first_quarter=3)
    assert first.disruption.any()
    assert np.array_equal(first.disruption[3:], again.disruption[: BLOCK - 3])
