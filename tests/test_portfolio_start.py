"""A market that starts where the team is (kamsim.portfolio.start, issue 21)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kamsim import KAMModel, ModelParams, ParameterError, Portfolio, simulate
from kamsim.engine import run_batch
from kamsim.engine.batch import MarketState
from kamsim.engine.simulate import replication_seeds, run_mesa_batch
from kamsim.model import state as st
from kamsim.model.environment import draw_many
from kamsim.model.state import compiled_params
from kamsim.policies import resolve_policy
from kamsim.portfolio.start import willing_probability

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "portfolio.csv"


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    return Portfolio.from_file(EXAMPLE)


def _check_quarter_zero(
    ri: np.ndarray, rf: np.ndarray, af: np.ndarray, pf: Portfolio
) -> None:
    """Every market's focal relationships have the file's stage, share and revenue."""
    for r in range(ri.shape[1]):
        np.testing.assert_array_equal(ri[st.STAGE, r, 0], pf.stage)
        np.testing.assert_array_equal(ri[st.MAX_STAGE, r, 0], pf.stage)
        np.testing.assert_array_equal(rf[st.SHARE, r, 0], pf.share_of_wallet)
        np.testing.assert_array_equal(rf[st.LAST_REVENUE, r, 0], pf.revenue / 4.0)
        np.testing.assert_array_equal(af[st.WALLET, r], pf.wallet)
        assert (ri[st.STAGE, r, 1:] == 1).all()  # rivals tactical
        total = rf[st.SHARE, r].sum(axis=0)
        assert (total <= 1.0 + 1e-12).all()


def test_quarter_zero_is_the_file_on_both_faces(portfolio: Portfolio) -> None:
    """At quarter 0 stage, our revenue and share are the file's on both faces."""
    p = ModelParams()
    seeds = replication_seeds(5, 3)
    env = draw_many(seeds, 3, len(portfolio), 4, p)
    s = MarketState.initial(env, 3, p, portfolio)
    _check_quarter_zero(s.rel_int, s.rel_float, s.acc_float, portfolio)
    for r, seed in enumerate(seeds):
        model = KAMModel(portfolio=portfolio, rivals=2, rng=seed)
        _check_quarter_zero(model.rel_int, model.rel_float, model.acc_float, portfolio)
        np.testing.assert_array_equal(model.rel_float[:, 0], s.rel_float[:, r])
        np.testing.assert_array_equal(model.rel_int[:, 0], s.rel_int[:, r])
        np.testing.assert_array_equal(model.acc_float[:, 0], s.acc_float[:, r])
        np.testing.assert_array_equal(model.acc_int[:, 0], s.acc_int[:, r])
        counts = [model.record[c] for c in ("n_tactical", "n_cooperative")]
        assert counts == [int((portfolio.stage == k).sum()) for k in (1, 2)]


def test_what_the_file_does_not_say_differs_by_replication(portfolio: Portfolio) -> None:
    """Trust, joint investment and potential are drawn per replication in their priors."""
    p = ModelParams()
    env = draw_many(replication_seeds(1, 200), 2, len(portfolio), 4, p)
    s = MarketState.initial(env, 2, p, portfolio)
    trust, stage = s.rel_float[st.TRUST, :, 0], portfolio.stage
    up = p.trust_to_advance
    for k, (lo, hi) in zip(
        (2, 3, 4), ((up[0], up[1]), (up[1], up[2]), (up[2], 1.0)), strict=True
    ):
        t = trust[:, stage == k]
        assert t.min() >= lo and t.max() <= hi and t.std() > 0.01
    joint = (s.rel_float[st.STOCK, :, 0] + s.rel_float[st.ADAPTATION, :, 0]) / s.acc_float[
        st.SCALE
    ]
    assert (joint[:, stage == 3] >= p.joint_to_advance[1] - 1e-12).all()
    assert (s.rel_float[st.ADAPTATION, :, 0][:, stage == 1] == 0).all()
    assert (s.acc_int[st.WILLING][:, stage >= 2] == 1).all()
    pot = s.acc_float[st.POTENTIAL]
    assert pot.std(axis=0).min() > 0
    # a point estimate: the model's focal supplier sees it (its persistent factor)
    given = np.isfinite(portfolio.potential)
    seen = pot[:, given] * s.rel_float[st.MISJUDGED, :, 0][:, given]
    np.testing.assert_allclose(
        seen, np.broadcast_to(portfolio.potential[given], seen.shape)
    )
    # a range is an 80 % interval of the truth
    ranged = np.isfinite(portfolio.potential_low)
    inside = (pot[:, ranged] >= portfolio.potential_low[ranged]) & (
        pot[:, ranged] <= portfolio.potential_high[ranged]
    )
    assert 0.72 < inside.mean() < 0.88


def test_willingness_prior_reads_the_answer_as_the_models_judgement() -> None:
    """Yes raises, no lowers the chance of willing; both sharpen with years as customer."""
    p = compiled_params(ModelParams())
    base = ModelParams().share_willing
    assert willing_probability(-1, 0.0, p) == base
    yes0, no0 = willing_probability(1, 0.0, p), willing_probability(0, 0.0, p)
    assert no0 < base < yes0
    assert abs(yes0 - 0.726) < 0.005 and abs(no0 - 0.338) < 0.005
    assert willing_probability(1, 10.0, p) > yes0 and willing_probability(0, 10.0, p) < no0


def test_n_accounts_must_match_the_portfolio(portfolio: Portfolio) -> None:
    """An explicit n_accounts different from the portfolio's is refused on both faces."""
    with pytest.raises(ParameterError, match=r"portfolio's number of accounts"):
        simulate(portfolio=portfolio, n_accounts=10, replications=1, quarters=1)
    with pytest.raises(ParameterError, match=r"portfolio's number of accounts"):
        KAMModel(portfolio=portfolio, n_accounts=10)
    with pytest.raises(ParameterError, match=r"must be a kamsim\.Portfolio"):
        simulate(portfolio="examples/portfolio.csv", replications=1, quarters=1)
    res = simulate(
        portfolio=portfolio, n_accounts=len(portfolio), replications=1, quarters=2
    )
    assert res.meta["n_accounts"] == len(portfolio)


def test_faces_identical_with_a_portfolio(portfolio: Portfolio) -> None:
    """The frames of simulate and the per-slot trajectories agree exactly on both faces."""
    kw = {
        "portfolio": portfolio,
        "policy": "stage_gated",
        "rivals": 2,
        "replications": 2,
        "quarters": 24,
        "seed": 7,
        "params": ModelParams(budget=150.0, hazard=0.03, disruption_probability=0.05),
    }
    a = simulate(engine="batched", **kw)
    b = simulate(engine="mesa", **kw)
    for kind in ("runs", "quarters", "accounts", "suppliers"):
        pd.testing.assert_frame_equal(getattr(a, kind), getattr(b, kind), check_exact=True)
    seeds = replication_seeds(7, 2)
    args = {
        "n_accounts": len(portfolio),
        "quarters": 24,
        "policy": resolve_policy("greedy_roi"),
        "params": kw["params"],
        "rival_policies": [resolve_policy("stage_gated")],
        "keep_trajectories": True,
        "portfolio": portfolio,
    }
    batched, mesa = run_batch(seeds, **args), run_mesa_batch(seeds, **args)
    for key, value in mesa.trajectories.items():
        np.testing.assert_array_equal(batched.trajectories[key], value, err_msg=key)
    np.testing.assert_array_equal(batched.terminal_value, mesa.terminal_value)
    # the file's strategic accounts are strategic in the first quarter's record
    first = a.quarters[a.quarters["quarter"] == 1]
    assert (first["n_strategic"] >= 1).all()
