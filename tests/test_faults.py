"""Fault tests: bad input, damaged stores, crashed workers and concurrent writers.

Each test checks one way kamsim used to give silently wrong results, hang or print a
traceback (issue 9), and the behaviour that replaced it.
"""

from __future__ import annotations

import subprocess
import sys
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


# --------------------------------------------------------------------------- specs
def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_spec_with_bom_loads(tmp_path: Path) -> None:
    """A spec saved with a UTF-8 byte-order mark loads like one without."""
    text = 'name = "bom"\nreplications = 3\n[params]\nbudget = 60.0\n'
    plain = load_spec(_write(tmp_path / "plain.toml", text))
    p = tmp_path / "bom.toml"
    p.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load_spec(p).spec_hash() == plain.spec_hash()


def test_int_and_float_levels_are_one_spec() -> None:
    """``budget = 60`` and ``60.0`` are the same spec, and ``[10, 10.0]`` is a duplicate."""
    base = {"name": "n", "replications": 3}
    a = load_spec({**base, "params": {"budget": 60}, "factors": {"hazard": [0, 0.1]}})
    b = load_spec({**base, "params": {"budget": 60.0}, "factors": {"hazard": [0.0, 0.1]}})
    assert a.spec_hash() == b.spec_hash()
    assert [c.params.budget for c in a.cells] == [60.0, 60.0]
    with pytest.raises(SpecError, match=r"factors.budget.*more than once"):
        load_spec({**base, "factors": {"budget": [10, 10.0]}})
    with pytest.raises(SpecError, match=r"factors.maintenance.*more than once"):
        load_spec({**base, "factors": {"maintenance": [[0, 0, 1, 2], [0, 0, 1.0, 2.0]]}})


HUGE = "9" * 400


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (f'name = "h"\nreplications = 3\n[params]\nbudget = {HUGE}\n', "params.budget"),
        (f'name = "h"\nreplications = {HUGE}\n', "replications"),
        (f'name = "h"\nreplications = 3\nseed = {HUGE}\n', "seed"),
        (
            f'name = "h"\nreplications = 3\n[factors]\nbudget = [1.0, {HUGE}]\n',
            "factors.budget[1]",
        ),
        ('name = "h"\nreplications = 3\n[params]\nbudget = ' + "9" * 5000, "line"),
        (
            'name = "h"\nreplications = 3\n[params]\nbudget = ' + "[" * 600 + "]" * 600,
            "deep",
        ),
        ('name = "h"\nreplications = 3\n[params]\nbudget = ' + "[" * 40 + "]" * 40, "deep"),
    ],
    ids=["param", "replications", "seed", "level", "5000 digits", "600 deep", "40 deep"],
)
def test_huge_or_deep_spec_values_one_line(tmp_path: Path, text: str, field: str) -> None:
    """400-digit integers and deeply nested arrays give one line and exit 2, no folder."""
    spec = _write(tmp_path / "h.toml", text)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["run", str(spec), "--out", str(out)])
    assert res.exit_code == 2, res.output
    line = _one_error_line(res.output)
    assert str(spec) in line
    if field == "deep":
        assert "nested" in line or "nests" in line
    elif field != "line":
        assert f"'{field}'" in line and "64-bit" in line
    assert HUGE not in line and not out.exists()


@pytest.mark.parametrize(
    "value", [HUGE, "[" * 600 + "]" * 600, "9" * 5000, "[" * 30 + "1" + "]" * 30]
)
def test_huge_or_deep_set_value_one_line(value: str) -> None:
    """``--set`` with a 400-digit integer or a deep array gives one line and exit 2."""
    res = CliRunner().invoke(
        cli, ["simulate", "--replications", "2", "--set", f"budget={value}"]
    )
    assert res.exit_code == 2, res.output
    line = _one_error_line(res.output)
    assert "--set budget" in line and len(line) < 200


def test_long_name_refused_without_leaving_a_folder(tmp_path: Path) -> None:
    """A 300-character experiment name is refused in one line and creates no folder."""
    spec = _write(tmp_path / "long.toml", f'name = "{"a" * 300}"\nreplications = 3\n')
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["run", str(spec), "--out", str(out)])
    assert res.exit_code == 2
    line = _one_error_line(res.output)
    assert "'name'" in line and "at most 100 characters" in line and "300" in line
    assert not out.exists()


def test_too_many_cells_refused_at_once(tmp_path: Path) -> None:
    """6 factors x 50 levels is refused within seconds with the cell count, not hung."""
    names = [
        "budget",
        "hazard",
        "trust_gain",
        "trust_loss",
        "wallet_sigma",
        "discount_rate",
    ]
    levels = ", ".join(f"{0.001 * (i + 1):.3f}" for i in range(50))
    body = "".join(f"{n} = [{levels}]\n" for n in names)
    spec = _write(
        tmp_path / "big.toml", f'name = "big"\nreplications = 3\n[factors]\n{body}'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "kamsim", "run", str(spec), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    line = _one_error_line(proc.stderr)
    assert "15_625_000_000 cells" in line and "at most 10_000" in line


def test_too_much_work_refused() -> None:
    """Cells x replications beyond the documented limit is refused with the count."""
    spec = {
        "name": "w",
        "replications": 1_000_000,
        "factors": {"n_accounts": list(range(1, 22))},
    }
    with pytest.raises(
        SpecError, match=r"21_000_000 replications in all; at most 20_000_000"
    ):
        load_spec(spec)
