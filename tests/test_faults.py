"""Fault tests: bad input, damaged stores, crashed workers and concurrent writers.

Each test checks one way kamsim used to give silently wrong results, hang or print a
traceback (issue 9), and the behaviour that replaced it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kamsim import simulate
from kamsim.cli import cli
from kamsim.experiments import SpecError, load_spec
from kamsim.params import ParameterError
from kamsim.policies import Observation, enforce_budget

BAD_POLICIES = (
    "import numpy as np\n"
    "def none(obs, budget):\n    return None\n"
    "def text(obs, budget):\n    return 'lots'\n"
    "def mapping(obs, budget):\n    return {'a': 1.0}\n"
    "def cplx(obs, budget):\n    return np.ones(obs.active.shape) * (1 + 1j)\n"
)


def _obs(shape: tuple[int, int]) -> Observation:
    z = np.zeros(shape)
    return Observation(1, np.ones(shape, dtype=bool), z.astype(int), z, z, z, z, z, z)


def _one_error_line(output: str) -> str:
    """The output of a refused command: exactly one non-empty line, no traceback."""
    lines = [ln for ln in output.splitlines() if ln.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


@pytest.fixture
def bad_policies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An importable module ``badpol_mod`` of policies returning the wrong things."""
    (tmp_path / "badpol_mod.py").write_text(BAD_POLICIES)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "badpol_mod"


# --------------------------------------------------------------------------- policies
def test_overflowing_row_sum_keeps_proportions() -> None:
    """Allocations whose row sum overflows are scaled to the budget, not zeroed."""
    obs = _obs((2, 4))
    alloc = np.array([[1e308, 1e308, 1e308, 1e308], [1e308, 5e307, 0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = enforce_budget(alloc, obs, 90.0, "huge")
    np.testing.assert_allclose(out[0], [22.5] * 4)
    np.testing.assert_allclose(out[1], [60.0, 30.0, 0.0, 0.0])
    assert np.all(out.sum(axis=1) <= 90.0)


@pytest.mark.parametrize(
    ("fn", "said"),
    [
        ("none", "returned None"),
        ("text", "returned a str ('lots')"),
        ("mapping", "returned a dict"),
        ("cplx", "returned an array of complex128"),
    ],
)
def test_policy_returning_garbage_is_named(bad_policies: str, fn: str, said: str) -> None:
    """A policy returning None, text, a dict or complex numbers is named with its result."""
    name = f"{bad_policies}:{fn}"
    with pytest.raises(ParameterError) as info:
        simulate(policy=name, replications=2, quarters=2, n_accounts=3)
    assert f"policy '{name}' {said}" in str(info.value)
    res = CliRunner().invoke(
        cli, ["simulate", "--policy", name, "--replications", "2", "--quarters", "2"]
    )
    assert res.exit_code == 2
    line = _one_error_line(res.output)
    assert name in line and said in line


@pytest.mark.parametrize("policy", [":", ".x:y", "a..b:c", "mod:"])
def test_malformed_policy_path_is_one_line(policy: str, tmp_path: Path) -> None:
    """A malformed 'module:function' is refused in a spec and by simulate, in one line."""
    with pytest.raises(SpecError, match="module:function"):
        load_spec({"name": "p", "replications": 2, "factors": {"policy": [policy]}})
    res = CliRunner().invoke(cli, ["simulate", "--policy", policy, "--replications", "2"])
    assert res.exit_code == 2
    assert repr(policy) in _one_error_line(res.output)
