"""Tests of experiment-spec loading and validation (kamsim.experiments.spec)."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kamsim.experiments import SpecError, load_spec
from kamsim.model.params import ParameterError


def _spec(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "t",
        "replications": 10,
        "quarters": 8,
        "seed": 1,
        "factors": {"n_accounts": [5], "policy": ["uniform"]},
    }
    for k, v in changes.items():
        if v is None:
            base.pop(k, None)
        else:
            base[k] = v
    return base


def test_smoke_spec_loads(smoke_spec_path: Path) -> None:
    """The shipped smoke spec loads into 4 cells covering the full factorial product."""
    sp = load_spec(smoke_spec_path)
    assert sp.name == "smoke"
    assert sp.n_cells == 4
    labels = [(c.n_accounts, c.policy_name) for c in sp.cells]
    assert labels == list(itertools.product([5, 10], ["none", "uniform"]))
    assert all(c.params.budget == 60.0 for c in sp.cells)
    assert sp.keep == ("runs", "quarters", "accounts", "suppliers")


def test_defaults_for_missing_factors() -> None:
    """Without n_accounts/policy factors a cell has 20 accounts and the uniform policy."""
    sp = load_spec(_spec(factors={"budget": [10.0, 20.0]}))
    assert [(c.n_accounts, c.policy_name, c.params.budget) for c in sp.cells] == [
        (20, "uniform", 10.0),
        (20, "uniform", 20.0),
    ]


def test_off_means_none_and_columns_are_uniform() -> None:
    """'off' turns an optional parameter off and mixed levels become one string column."""
    sp = load_spec(_spec(factors={"lose_largest_at": ["off", 5]}))
    assert [c.params.lose_largest_at for c in sp.cells] == [None, 5]
    assert [c.factors["lose_largest_at"] for c in sp.cells] == ["off", "5"]
    assert sp.to_dict()["factors"]["lose_largest_at"] == ["off", 5]


def test_per_stage_factor_levels() -> None:
    """A factor over a per-stage parameter takes a list of lists, one tuple per cell."""
    sp = load_spec(_spec(factors={"maintenance": [[0, 0, 0.01, 0.02], [0, 0, 0.05, 0.1]]}))
    assert [c.params.maintenance for c in sp.cells] == [
        (0.0, 0.0, 0.01, 0.02),
        (0.0, 0.0, 0.05, 0.1),
    ]
    assert sp.cells[1].factors["maintenance"] == "0, 0, 0.05, 0.1"


def test_hash_is_canonical_and_sensitive() -> None:
    """The spec hash ignores key order but changes when any value changes."""
    a = load_spec(_spec())
    b = load_spec(dict(reversed(list(_spec().items()))))
    c = load_spec(_spec(seed=2))
    assert a.spec_hash() == b.spec_hash()
    assert a.spec_hash() != c.spec_hash()
    assert len(a.spec_hash()) == 64


def test_hash_changes_with_model_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """A spec hashes differently under other model defaults, so results never mix."""
    import kamsim.experiments.spec as spec_module

    before = load_spec(_spec()).spec_hash()
    original = spec_module.ModelParams

    meta = original.__dataclass_fields__["fixed_cost_to_serve"].metadata

    @dataclasses.dataclass(frozen=True)
    class OtherDefaults(original):  # type: ignore[misc,valid-type]
        fixed_cost_to_serve: tuple[float, ...] = dataclasses.field(
            default=(1.0, 2.0, 3.0, 4.0), metadata=meta
        )

    monkeypatch.setattr(spec_module, "ModelParams", OtherDefaults)
    assert load_spec(_spec()).spec_hash() != before


BAD = [
    (
        "top-level typo",
        _spec(replicatons=5),
        ["replicatons", "did you mean 'replications'"],
    ),
    ("factor typo", _spec(factors={"n_acounts": [5]}), ["factors.n_acounts", "n_accounts"]),
    ("param typo", _spec(params={"budegt": 5.0}), ["params.budegt", "budget"]),
    (
        "policy typo",
        _spec(factors={"policy": ["unifrom"]}),
        ["factors.policy", "'uniform'"],
    ),
    (
        "policy import",
        _spec(factors={"policy": ["no_such_module_x:fn"]}),
        ["factors.policy", "module:function", "no_such_module_x:fn"],
    ),
    (
        "0 accounts",
        _spec(factors={"n_accounts": [0]}),
        ["factors.n_accounts", "[1, 500]", "0"],
    ),
    (
        "10000 accounts",
        _spec(factors={"n_accounts": [5, 10000]}),
        ["factors.n_accounts", "[1, 500]", "10000"],
    ),
    (
        "negative budget",
        _spec(factors={"budget": [-5.0]}),
        ["factors.budget", "[0.0, 10000000.0]", "-5.0"],
    ),
    ("negative param", _spec(params={"hazard": -0.1}), ["params.hazard", "[0.0, 1.0]"]),
    ("0 replications", _spec(replications=0), ["replications", "1_000_000", "0"]),
    ("missing replications", _spec(replications=None), ["replications", "required"]),
    ("too many quarters", _spec(quarters=401), ["quarters", "[1, 400]", "401"]),
    ("negative seed", _spec(seed=-1), ["seed", ">= 0", "-1"]),
    ("float seed", _spec(seed=1.5), ["seed", "integer", "1.5"]),
    ("empty levels", _spec(factors={"policy": []}), ["factors.policy", "at least one"]),
    ("scalar levels", _spec(factors={"budget": 5.0}), ["factors.budget", "list"]),
    ("duplicate levels", _spec(factors={"budget": [5.0, 5.0]}), ["factors.budget", "once"]),
    (
        "per-stage length",
        _spec(params={"maintenance": [0.0, 0.1]}),
        ["params.maintenance", "4 numbers"],
    ),
    ("off not optional", _spec(params={"budget": "off"}), ["params.budget", "optional"]),
    (
        "bad keep",
        _spec(output={"keep": ["runs", "everything"]}),
        ["output.keep", "accounts"],
    ),
    ("no name", _spec(name=""), ["name", "non-empty"]),
    ("slash in name", _spec(name="a/b"), ["name", "folder"]),
    (
        "cross-field",
        _spec(params={"potential_low": 5000.0}, factors={"potential_high": [100.0]}),
        ["potential_high", "potential_low"],
    ),
    (
        "factor and param",
        _spec(params={"budget": 5.0}, factors={"budget": [5.0]}),
        ["factors.budget", "both"],
    ),
]


@pytest.mark.parametrize(("case", "data", "needles"), BAD, ids=[b[0] for b in BAD])
def test_bad_spec_gives_one_clear_error(
    case: str, data: dict[str, Any], needles: list[str]
) -> None:
    """Each bad spec raises one SpecError naming the field, the value and the range."""
    with pytest.raises(SpecError) as info:
        load_spec(data)
    assert isinstance(info.value, ParameterError)
    msg = str(info.value)
    for needle in needles:
        assert needle in msg, f"{case}: {needle!r} not in {msg!r}"
    assert "\n" not in msg


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    """A malformed TOML file gives a SpecError naming the file and the line."""
    p = tmp_path / "bad.toml"
    p.write_text('name = "x"\nreplications = 10\n[factors\npolicy = ["uniform"]\n')
    with pytest.raises(SpecError) as info:
        load_spec(p)
    assert str(p) in str(info.value)
    assert "line 3" in str(info.value)


def test_missing_file() -> None:
    """A spec path that does not exist gives a SpecError naming it."""
    with pytest.raises(SpecError, match=r"not found: .*nope\.toml"):
        load_spec("nope.toml")


@settings(max_examples=40, deadline=None)
@given(
    n=st.lists(st.integers(1, 60), min_size=1, max_size=3, unique=True),
    budgets=st.lists(
        st.floats(0, 1000, allow_nan=False), min_size=1, max_size=3, unique=True
    ),
    pols=st.lists(
        st.sampled_from(["none", "uniform"]), min_size=1, max_size=2, unique=True
    ),
)
def test_cells_are_the_full_product(
    n: list[int], budgets: list[float], pols: list[str]
) -> None:
    """For any valid levels the cells are exactly the factorial product, numbered 0..k-1."""
    sp = load_spec(_spec(factors={"n_accounts": n, "budget": budgets, "policy": pols}))
    cells = sp.cells
    assert sp.n_cells == len(cells) == len(n) * len(budgets) * len(pols)
    assert [c.index for c in cells] == list(range(len(cells)))
    got = [(c.n_accounts, c.params.budget, c.policy_name) for c in cells]
    assert got == list(itertools.product(n, budgets, pols))


def test_market_factors_rivals_and_rival_policy() -> None:
    """Rivals and rival_policy are factors; a list level gives one policy per rival."""
    mismatch = {
        "name": "m",
        "replications": 2,
        "quarters": 3,
        "seed": 1,
        "factors": {"rivals": [1, 2], "rival_policy": ["none", ["uniform", "greedy_roi"]]},
    }
    with pytest.raises(SpecError, match="one policy per rival"):
        load_spec(mismatch)  # rivals = 1 with a two-policy level
    sp = load_spec(
        {
            "name": "m",
            "replications": 2,
            "quarters": 3,
            "seed": 1,
            "factors": {"rivals": [0, 3], "rival_policy": ["none", "greedy_roi"]},
        }
    )
    assert [(c.rivals, c.rival_policy) for c in sp.cells] == [
        (0, "none"), (0, "greedy_roi"), (3, "none"), (3, "greedy_roi"),
    ]  # fmt: skip
    assert sp.cells[3].label()["rival_policy"] == "greedy_roi"


@pytest.mark.parametrize(
    ("factor", "level", "match"),
    [
        ("rivals", -1, "'factors.rivals' must be an integer in \\[0, 20\\]"),
        ("rivals", 2.5, "'factors.rivals'"),
        ("rival_policy", "unifrom", "did you mean 'uniform'"),
        ("rival_policy", [], "at least one policy"),
    ],
)
def test_bad_market_factor_levels(factor: str, level: object, match: str) -> None:
    """A bad rivals or rival_policy level gets one message naming the field."""
    spec = {"name": "m", "replications": 2, "quarters": 3, "seed": 1,
            "factors": {factor: [level]}}  # fmt: skip
    with pytest.raises(SpecError, match=match):
        load_spec(spec)
