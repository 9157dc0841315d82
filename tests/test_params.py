"""Validation of ModelParams and of the arguments of KAMModel."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np
import pytest

from kamsim import KAMModel, ModelParams
from kamsim.model.params import ParameterError, describe_params, suggest

FIELDS = dataclasses.fields(ModelParams)
DEFAULTS: dict[str, Any] = ModelParams().to_dict()
SCALAR_FIELDS = [f for f in FIELDS if not f.metadata["per_stage"]]
STAGE_FIELDS = [f for f in FIELDS if f.metadata["per_stage"]]
INCREASING_FIELDS = [f for f in STAGE_FIELDS if f.metadata["increasing"]]
INTEGER_FIELDS = [f for f in FIELDS if f.metadata["integer"]]


def _make(name: str, value: Any) -> ModelParams:
    """ModelParams with one field set (typed loosely: tests pass wrong types on purpose)."""
    kw: dict[str, Any] = {name: value}
    return ModelParams(**kw)


def _bad_values(f: dataclasses.Field[Any]) -> list[Any]:
    """Values outside the field's metadata range, or of the wrong type."""
    meta = f.metadata
    bad: list[Any] = ["1", True, float("nan"), float("inf")]
    if meta["lo"] is not None:
        bad.append(meta["lo"] - 1)
    if meta["hi"] is not None:
        bad.append(meta["hi"] + 1)
    if meta["integer"]:
        lo = meta["lo"] if meta["lo"] is not None else 0
        bad.append(lo + 0.5)
    if not meta["optional"]:
        bad.append(None)
    return bad


def _assert_one_clear_error(exc: pytest.ExceptionInfo[ParameterError], name: str) -> None:
    msg = str(exc.value)
    assert f"'{name}'" in msg
    assert "must be" in msg
    assert "\n" not in msg


@pytest.mark.parametrize("f", SCALAR_FIELDS, ids=lambda f: f.name)
def test_scalar_field_rejects_bad_values(f: dataclasses.Field[Any]) -> None:
    """Every scalar field rejects bad values with one message naming field, value, range."""
    allowed = describe_params()[[r["name"] for r in describe_params()].index(f.name)][
        "allowed"
    ]
    for value in _bad_values(f):
        with pytest.raises(ParameterError) as exc:
            _make(f.name, value)
        _assert_one_clear_error(exc, f.name)
        assert repr(value) in str(exc.value)
        # the allowed range text (without the optional suffix) is in the message
        assert allowed.removesuffix(" or None") in str(exc.value)


@pytest.mark.parametrize("f", STAGE_FIELDS, ids=lambda f: f.name)
def test_stage_field_rejects_bad_values(f: dataclasses.Field[Any]) -> None:
    """Per-stage fields reject a wrong length, a non-sequence and an out-of-range entry."""
    default = list(DEFAULTS[f.name])
    n = len(default)
    bad_entry = list(default)
    lo, hi = f.metadata["lo"], f.metadata["hi"]
    bad_entry[-1] = hi + 1 if hi is not None else lo - 1
    if hi is None:
        bad_entry[0] = lo - 1
    for value in (default[:-1], [*default, default[-1]], 0.5, "abc", bad_entry):
        with pytest.raises(ParameterError) as exc:
            _make(f.name, value)
        _assert_one_clear_error(exc, f.name)
    with pytest.raises(ParameterError, match=f"list of {n} numbers"):
        _make(f.name, default[:-1])


@pytest.mark.parametrize("f", STAGE_FIELDS, ids=lambda f: f.name)
def test_stage_field_accepts_list(f: dataclasses.Field[Any]) -> None:
    """A per-stage field given as a list (TOML/JSON) is stored as a tuple of floats."""
    p = _make(f.name, list(DEFAULTS[f.name]))
    value = getattr(p, f.name)
    assert isinstance(value, tuple)
    assert all(isinstance(v, float) for v in value)
    assert value == tuple(float(v) for v in DEFAULTS[f.name])
    assert p == ModelParams()


@pytest.mark.parametrize("f", INCREASING_FIELDS, ids=lambda f: f.name)
def test_stage_order_is_checked(f: dataclasses.Field[Any]) -> None:
    """Per-stage thresholds must not decrease from stage to stage."""
    reversed_values = list(reversed(DEFAULTS[f.name]))
    with pytest.raises(ParameterError, match="non-decreasing stage order") as exc:
        _make(f.name, reversed_values)
    _assert_one_clear_error(exc, f.name)
    # equal neighbours are allowed
    flat = [DEFAULTS[f.name][0]] * len(DEFAULTS[f.name])
    assert getattr(_make(f.name, flat), f.name) == tuple(map(float, flat))


def test_cross_field_orders() -> None:
    """potential_high below potential_low and sensitivity max below min are rejected."""
    with pytest.raises(ParameterError, match="'potential_high' must be >= 'potential_low'"):
        ModelParams(potential_low=900.0, potential_high=800.0)
    with pytest.raises(ParameterError, match="'price_sensitivity_max' must be >="):
        ModelParams(price_sensitivity_min=2.0, price_sensitivity_max=1.0)


@pytest.mark.parametrize("f", INTEGER_FIELDS, ids=lambda f: f.name)
def test_integer_fields_accept_integral_numbers(f: dataclasses.Field[Any]) -> None:
    """Integer fields accept 3, 3.0 and np.int64(3) and store a Python int."""
    for value in (3, 3.0, np.int64(3)):
        stored = getattr(_make(f.name, value), f.name)
        assert stored == 3
        assert type(stored) is int


def test_numpy_scalars_accepted() -> None:
    """NumPy floats (e.g. from a sampling design) are accepted; np.bool_ is not."""
    p = ModelParams(budget=np.float32(50.0), hazard=np.float64(0.02))  # type: ignore[arg-type]
    assert p.budget == 50.0
    assert type(p.budget) is float
    with pytest.raises(ParameterError, match="'hazard'"):
        _make("hazard", np.True_)


def test_float_replacement_delay_runs() -> None:
    """An integral float replacement delay no longer breaks the engine's array sizes."""
    from kamsim import simulate

    res = simulate(
        n_accounts=3,
        replications=2,
        quarters=6,
        params=_make("replacement_delay", 1.0).evolve(hazard=0.3),
    )
    assert len(res.runs) == 2


def test_evolve_revalidates() -> None:
    """Evolve applies changes, validates them again and leaves the original intact."""
    p = ModelParams()
    q = p.evolve(budget=250.0, trust_to_advance=[0.4, 0.5, 0.6])
    assert q.budget == 250.0
    assert q.trust_to_advance == (0.4, 0.5, 0.6)
    assert p.budget == 100.0
    with pytest.raises(
        ParameterError, match=r"'budget' must be a number in \[0\.0, .*\]: -5\.0"
    ):
        p.evolve(budget=-5.0)
    with pytest.raises(ParameterError, match="'hazard'"):
        p.evolve(hazard=1.5)


def test_evolve_suggests_names() -> None:
    """A typo in evolve names the closest valid parameter."""
    with pytest.raises(
        ParameterError, match=r"unknown parameter 'budegt' \(did you mean 'budget'\?\)"
    ):
        ModelParams().evolve(budegt=5.0)
    with pytest.raises(ParameterError, match="did you mean 'trust_loss'"):
        ModelParams().evolve(trust_los=0.3)


def test_negative_budget_message_format() -> None:
    """The message has the documented form: field, allowed range, value."""
    with pytest.raises(ParameterError) as exc:
        ModelParams(budget=-5.0)
    assert str(exc.value) == "'budget' must be a number in [0.0, 10000000.0]: -5.0"


def test_params_are_frozen() -> None:
    """Parameters cannot be changed after construction."""
    p = ModelParams()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.budget = 5.0  # type: ignore[misc]


def test_describe_params_covers_every_field() -> None:
    """describe_params has one complete row per field, with unit, range and source."""
    rows = describe_params()
    assert [r["name"] for r in rows] == ModelParams.names()
    for r in rows:
        assert set(r) == {"name", "default", "unit", "allowed", "meaning", "source"}
        assert r["unit"] and r["meaning"] and r["source"] and r["allowed"]


def test_suggest() -> None:
    """Suggest proposes a close name and nothing for a distant one."""
    assert suggest("unifrom", ["none", "uniform"]) == " (did you mean 'uniform'?)"
    assert suggest("zzzzzz", ["none", "uniform"]) == ""


@pytest.mark.parametrize("n", [0, 501, 2.5, -1, True, "5"])
def test_model_rejects_bad_n_accounts(n: Any) -> None:
    """KAMModel rejects portfolio sizes outside 1-500 or not integers, naming the field."""
    with pytest.raises(ParameterError) as exc:
        KAMModel(n_accounts=n)
    msg = str(exc.value)
    assert "'n_accounts'" in msg
    assert "[1, 500]" in msg
    assert repr(n) in msg


def test_model_accepts_bounds() -> None:
    """KAMModel accepts the smallest and largest allowed portfolios."""
    assert KAMModel(n_accounts=1, rng=0).n_accounts == 1
    assert KAMModel(n_accounts=500, rng=0).n_accounts == 500


def test_model_rejects_unknown_keyword() -> None:
    """An unknown KAMModel keyword is named with the closest valid argument."""
    with pytest.raises(ParameterError, match=r"unknown KAMModel argument 'budgte'") as exc:
        KAMModel(budgte=5.0)
    assert "did you mean 'budget'" in str(exc.value)


def test_model_rejects_unknown_policy() -> None:
    """An unknown policy name lists the built-ins and suggests the closest."""
    with pytest.raises(ParameterError) as exc:
        KAMModel(policy="unifrom")
    msg = str(exc.value)
    assert "'policy'" in msg
    assert "'unifrom'" in msg
    assert "did you mean 'uniform'" in msg


def test_model_rejects_bad_override_value() -> None:
    """A keyword override is validated like a ModelParams field."""
    with pytest.raises(ParameterError, match=re.escape("'hazard'")):
        KAMModel(hazard=2.0)
    with pytest.raises(ParameterError, match="'params' must be a ModelParams"):
        KAMModel(params={"budget": 5.0})  # type: ignore[arg-type]


def test_model_overrides_apply() -> None:
    """Keyword overrides are applied on top of params."""
    m = KAMModel(params=ModelParams(budget=70.0), hazard=0.2, rng=0)
    assert m.params.budget == 70.0
    assert m.params.hazard == 0.2
    assert m.supplier.budget == 70.0
