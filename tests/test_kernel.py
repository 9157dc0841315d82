"""The compiled kernel: NumPy's summation order, compiled parameters, one specialization.

The kernel's equivalence with the Mesa face is proved end to end in
``tests/test_equivalence.py``; these tests pin the pieces that make it possible.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kamsim import ModelParams
from kamsim.engine import kernel, run_batch
from kamsim.model import market
from kamsim.model.records import QUARTER_COLUMNS
from kamsim.model.state import Params, StageTables, compiled_params, stage_tables
from kamsim.model.sums import pairwise_sum
from kamsim.policies import resolve_policy
from kamsim.policies.budget import keep_within_budget

FLOATS = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_subnormal=False)


@settings(max_examples=300, deadline=None)
@given(hnp.arrays(np.float64, st.integers(0, 600), elements=FLOATS))
def test_pairwise_sum_is_numpys_sum_to_the_bit(a: np.ndarray) -> None:
    """pairwise_sum equals np.sum to the bit for any array.

    A plain left-to-right loop differs from np.sum in the last bits for most arrays
    longer than 8 (pairwise blocks of 8 and halving above 128).
    """
    assert pairwise_sum(a) == np.sum(a)


def test_pairwise_sum_differs_from_a_plain_loop() -> None:
    """The property above is not vacuous: on such data the order of additions shows."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal(200) * np.exp(rng.standard_normal(200) * 8)
    plain = 0.0
    for x in a:
        plain += x
    assert pairwise_sum(a) == np.sum(a)
    assert plain != np.sum(a)


#: Params fields computed from a ModelParams field of another name.
DERIVED = {"quarterly_discount": "discount_rate"}


def _changed(value: float | int | None) -> float | int:
    """Another valid value of a parameter (integers stay integers, None gets one)."""
    if value is None:
        return 3
    if isinstance(value, int):
        return value + 1
    return value * 0.5 if value else 0.25


def test_every_scalar_parameter_reaches_the_compiled_record() -> None:
    """Each scalar field of state.Params is read from its ModelParams field.

    Changing one ModelParams field changes that field of the compiled record (to the
    new value, or the quarterly rate for ``discount_rate``) and no other scalar; the
    per-stage arrays are the stage tables.
    """
    fields = {f.name for f in dataclasses.fields(ModelParams)}
    base = ModelParams()
    rec = compiled_params(base)
    assert rec.dtype.names == Params._fields + StageTables._fields
    for name in StageTables._fields:
        np.testing.assert_array_equal(rec[name], getattr(stage_tables(base), name))
    for name in Params._fields:
        source = DERIVED.get(name, name)
        assert source in fields, name
        new = _changed(getattr(base, source))
        changed = compiled_params(dataclasses.replace(base, **{source: new}))
        expected = (1.0 + new) ** 0.25 - 1.0 if name in DERIVED else float(new)
        assert changed[name] == expected != rec[name], name
        others = [f for f in Params._fields if f not in (name, *FOLLOWERS.get(name, ()))]
        assert [changed[f] for f in others] == [rec[f] for f in others], name
        for follower in FOLLOWERS.get(name, ()):  # an unset focal value follows
            assert changed[follower] == changed[name], follower


#: Record fields that follow another parameter while theirs is None (the focal
#: supplier's judgement is the market's unless set).
FOLLOWERS = {
    "potential_bias": ("focal_potential_bias",),
    "potential_noise": ("focal_potential_noise",),
}


def test_focal_judgement_is_the_markets_unless_set() -> None:
    """focal_potential_bias/noise None read as the market's values, else their own."""
    rec = compiled_params(ModelParams(potential_bias=0.7, potential_noise=0.2))
    assert rec["focal_potential_bias"] == 0.7 and rec["focal_potential_noise"] == 0.2
    own = compiled_params(ModelParams(potential_bias=0.7, focal_potential_bias=0.0))
    assert own["focal_potential_bias"] == 0.0 and own["potential_bias"] == 0.7


def test_none_parameters_become_minus_one() -> None:
    """Optional parameters left unset (None) read as -1 in the compiled record."""
    p = ModelParams(replacement_delay=None, lose_largest_at=7, disruption_at=None)
    rec = compiled_params(p)
    assert rec["replacement_delay"] == -1
    assert rec["lose_largest_at"] == 7
    assert rec["disruption_at"] == -1
    assert compiled_params(ModelParams(replacement_delay=0))["replacement_delay"] == 0


def test_record_rows_follow_metrics_columns() -> None:
    """The compiled quarter record's rows are QUARTER_COLUMNS, in that order."""
    assert market._RECORD == list(QUARTER_COLUMNS)
    assert QUARTER_COLUMNS[market.Q_TOP_FIFTH] == "top_fifth_share"
    assert QUARTER_COLUMNS[market.Q_DISRUPTION] == "disruption"
    assert QUARTER_COLUMNS[market.Q_TACTICAL] == "n_tactical"
    assert len(QUARTER_COLUMNS) == market.Q_DISRUPTION + 1


def test_one_compiled_specialization_serves_every_run() -> None:
    """Different sizes, rivals, trajectories or renewal do not trigger a new compile.

    Each compile would cost seconds: the kernel sees the same array types every time.
    """
    uniform = resolve_policy("uniform")
    gated = resolve_policy("stage_gated")
    for n, rivals, keep, delay in ((5, 0, False, 1), (12, 2, True, None), (7, 1, True, 0)):
        run_batch(
            [1, 2, 3],
            n_accounts=n,
            quarters=6,
            policy=uniform,
            params=ModelParams(replacement_delay=delay),
            rival_policies=[gated] * rivals,
            keep_trajectories=keep,
        )
    for fn in (kernel.begin_quarter, kernel.observe_quarter, kernel.end_quarter):
        assert len(fn.signatures) == 1, (fn.__name__, fn.signatures)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 4),
    st.integers(1, 300),
    st.floats(min_value=0.0, max_value=1e4),
    st.integers(0, 2**32 - 1),
)
def test_compiled_budget_check_is_the_numpy_reference_to_the_bit(
    rows: int, n: int, budget: float, seed: int
) -> None:
    """keep_within_budget == policies._budget_reference for (R, n) allocations.

    Rows are drawn over, at and under the budget (scaled, rounding excess, unchanged)
    with vacant slots; rows of up to 300 slots take NumPy's pairwise-sum recursion.
    """
    from kamsim.policies.budget import _budget_reference

    rng = np.random.default_rng(seed)
    a = rng.exponential(size=(rows, n)) * rng.choice([0.0, 1e-3, 1.0, 50.0], size=(rows, 1))
    a[rng.random((rows, n)) < 0.1] = 0.0
    active = rng.random((rows, n)) < 0.9
    out = a.copy()
    assert keep_within_budget(out, active, budget) == 0
    ref = _budget_reference(a, active, budget)
    assert np.array_equal(out, ref)
    assert np.all(np.sum(out, axis=-1) <= budget)
