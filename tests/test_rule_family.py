"""The kamsim.score rule family: special cases, saved rules, resolve_policy from a path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import kamsim
from kamsim import KAMModel
from kamsim.experiments import load_spec, run_experiment
from kamsim.model.params import ParameterError
from kamsim.policies import POLICIES, estimates_read, policy_name, resolve_policy
from kamsim.policies.family import (
    PARAMETERS,
    SPECIAL_CASES,
    ScoreRule,
    load_rule,
    save_rule,
)


def _npv(policy, seed=3, reps=60):
    res = kamsim.simulate(policy=policy, replications=reps, seed=seed, keep_accounts=False)
    return res.runs["npv_terminal"].to_numpy()


@pytest.mark.parametrize(
    "name", ["none", "revenue_proportional", "potential_weighted", "stage_gated"]
)
def test_special_cases_are_bit_for_bit(name):
    """The family with a built-in's parameters gives that built-in's results exactly."""
    assert np.array_equal(_npv(name), _npv(ScoreRule.special_case(name)))


def test_uniform_is_a_member_to_rounding():
    """Equal shares computed as weights / total * budget differ from B / n by an ulp."""
    a, b = _npv("uniform"), _npv(ScoreRule.special_case("uniform"))
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-9)


def test_allocations_equal_builtin_on_one_observation():
    """On a live observation the stage_gated member allocates exactly as StageGated."""
    seen = []

    def spy(obs, budget):
        seen.append(obs)
        return POLICIES["stage_gated"](obs, budget)

    kamsim.simulate(policy=spy, replications=8, quarters=12, seed=1, keep_accounts=False)
    rule = ScoreRule.special_case("stage_gated")
    for obs in seen[::3]:
        assert np.array_equal(rule(obs, 100.0), POLICIES["stage_gated"](obs, 100.0))


def test_a_non_member_differs():
    """A rule with other numbers gives other results (the comparison can fail)."""
    other = ScoreRule.from_params({"class_high": 1.0, "threshold": 0.5, "softmax": 1.0})
    assert not np.array_equal(_npv("stage_gated"), _npv(other))


def test_observes_follows_the_parameters():
    """A rule reads the trust reading and potential only if its numbers use them."""
    assert estimates_read(ScoreRule.special_case("uniform")) == (False, False, False)
    assert estimates_read(ScoreRule.from_params({"trust": 1.0})) == (False, True, False)
    assert estimates_read(ScoreRule.special_case("stage_gated")) == (True, False, False)


def test_allocation_stays_within_budget_and_on_live_slots():
    """Random members of the family never exceed the budget nor fund vacant slots."""
    rng = np.random.default_rng(5)
    seen = []
    kamsim.simulate(
        policy=lambda o, b: (seen.append(o), POLICIES["uniform"](o, b))[1],
        replications=6,
        quarters=10,
        seed=2,
        keep_accounts=False,
    )
    for _ in range(30):
        rule = ScoreRule(tuple(rng.uniform(p.lo, p.hi) for p in PARAMETERS))
        for obs in seen[::4]:
            a = rule(obs, 100.0)
            assert np.all(a >= 0) and np.all(np.isfinite(a))
            assert np.all(a.sum(axis=-1) <= 100.0 + 1e-9)
            assert np.all(a[~obs.active] == 0)


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_saved_rule_round_trip(tmp_path, suffix):
    """A saved rule reads back with the same numbers and records where it came from."""
    rule = ScoreRule.from_params({"class_high": 1.5, "threshold": 0.7, "softmax": 0.3})
    path = save_rule(rule, tmp_path / f"r{suffix}", origin={"spec": "x.toml", "trial": 7})
    back = load_rule(path)
    assert back == rule and back.values == rule.values
    assert back.origin["trial"] == 7
    assert back.name == str(path)


def test_resolve_policy_accepts_a_path_everywhere(tmp_path):
    """simulate, KAMModel and experiment specs take a saved rule's path, same numbers."""
    path = str(save_rule(ScoreRule.special_case("stage_gated"), tmp_path / "sg.toml"))
    assert isinstance(resolve_policy(path), ScoreRule)
    assert policy_name(resolve_policy(path)) == path
    res = kamsim.simulate(policy=path, replications=20, seed=4, keep_accounts=False)
    assert (res.runs["policy"] == path).all()
    ref = kamsim.simulate(
        policy="stage_gated", replications=20, seed=4, keep_accounts=False
    )
    assert np.array_equal(res.runs["npv_terminal"], ref.runs["npv_terminal"])
    model = KAMModel(n_accounts=10, policy=path, rng=3)
    model.step()
    assert model.time == 1
    spec = load_spec(
        {
            "name": "with_rule",
            "replications": 10,
            "quarters": 8,
            "factors": {"policy": ["uniform", path], "rival_policy": ["stage_gated", path]},
            "output": {"keep": ["runs", "suppliers"]},
        }
    )
    assert path in spec.policy_sources()
    out = run_experiment(spec, out=tmp_path / "res", workers=1, quiet=True)
    assert set(out.runs["policy"]) == {"uniform", path}
    assert set(out.suppliers["supplier_policy"]) == {"uniform", "stage_gated", path}


def test_bad_rule_files_are_one_line(tmp_path):
    """A missing, foreign or incomplete rule file is refused naming the file and field."""
    with pytest.raises(ParameterError, match="not found"):
        resolve_policy(str(tmp_path / "missing.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text('family = "other"\nversion = 1\n[parameters]\n')
    with pytest.raises(ParameterError, match="'family' must be"):
        resolve_policy(str(bad))
    bad.write_text('family = "kamsim.score"\nversion = 1\n[parameters]\nthreshold = 1.0\n')
    with pytest.raises(ParameterError, match="is missing"):
        resolve_policy(str(bad))
    params = "\n".join(f"{p.name} = 0.0" for p in PARAMETERS).replace(
        "fallback = 0.0", "fallback = -1.0"
    )
    bad.write_text(f'family = "kamsim.score"\nversion = 1\n[parameters]\n{params}\n')
    with pytest.raises(ParameterError, match="'fallback' must be >= 0"):
        resolve_policy(str(bad))


def test_every_special_case_is_documented():
    """The special cases are built-in names, and the docstring names each."""
    import kamsim.policies.family as fam

    for name in SPECIAL_CASES:
        assert name in POLICIES
        assert f"``{name}``" in (fam.__doc__ or "")


def test_a_saved_rule_plays_in_the_tournament(tmp_path: Path) -> None:
    """A saved rule file is a tournament entrant: in both positions, named by its path."""
    from kamsim import run_experiment
    from kamsim.analysis import tournament

    rule = str(save_rule(ScoreRule.special_case("stage_gated"), tmp_path / "sg.toml"))
    spec = {
        "name": "rule_tournament",
        "replications": 6,
        "quarters": 8,
        "seed": 3,
        "factors": {
            "policy": ["uniform", rule],
            "rival_policy": ["uniform", rule],
            "rivals": [1],
            "n_accounts": [6],
        },
    }
    res = run_experiment(spec, out=tmp_path / "out", workers=1, quiet=True)
    assert tournament.is_tournament(res)
    table = tournament.matchups(res.suppliers)
    assert set(table["policy"]) == {"uniform", rule}
    assert len(table) == 4 and (table["n"] == 6).all()
