"""Tests of the `kamsim` command line (click CliRunner, plus one real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kamsim import POLICIES
from kamsim.cli.main import cli, parse_set
from kamsim.experiments import load_results, run_experiment
from kamsim.model.params import ParameterError


@pytest.fixture
def runner() -> CliRunner:
    """A click test runner."""
    return CliRunner()


@pytest.mark.parametrize(
    "command", [[], ["run"], ["simulate"], ["policies"], ["report"], ["viz"]]
)
def test_help_has_examples(runner: CliRunner, command: list[str]) -> None:
    """`--help` works on every command and shows an Examples section."""
    res = runner.invoke(cli, [*command, "--help"])
    assert res.exit_code == 0, res.output
    assert "Examples:" in res.output


def test_policies_lists_every_builtin(runner: CliRunner) -> None:
    """`kamsim policies` prints every built-in policy with its one-line summary."""
    res = runner.invoke(cli, ["policies"])
    assert res.exit_code == 0
    lines = res.output.strip().splitlines()
    assert len(lines) == len(POLICIES)
    for line, (name, fn) in zip(lines, POLICIES.items(), strict=True):
        assert line.split()[0] == name
        assert fn.summary in line  # type: ignore[attr-defined]


def test_simulate_prints_summary_and_figure(runner: CliRunner, tmp_path: Path) -> None:
    """`kamsim simulate` prints mean and CI rows and writes a PNG with --figure."""
    fig = tmp_path / "stages.png"
    res = runner.invoke(
        cli,
        [
            "simulate",
            "--replications",
            "60",
            "--accounts",
            "8",
            "--seed",
            "3",
            "--set",
            "budget=50",
            "--set",
            "lose_largest_at=10",
            "--figure",
            str(fig),
        ],
    )
    assert res.exit_code == 0, res.output
    for row in (
        "NPV with terminal value (k€)",
        "NPV over the horizon (k€)",
        "profit (k€)",
        "revenue (k€)",
        "mean market share",
        "ended relationships",
        "final strategic",
        "final HHI of revenue",
        "final largest account share",
        "95% CI low",
    ):
        assert row in res.output
    assert "budget=50" in res.output and "lose_largest_at=10" in res.output
    assert "2 rival(s) with stage_gated" in res.output
    assert res.output.count("rival ") == 2 and "focal" in res.output
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*"))


def test_simulate_rival_options(runner: CliRunner) -> None:
    """--rivals and --rival-policy set the market; a bad rival policy is one clear line."""
    ok = runner.invoke(
        cli,
        ["simulate", "--replications", "5", "--accounts", "5", "--rivals", "2",
         "--rival-policy", "none,greedy_roi"],
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert "2 rival(s) with none, greedy_roi" in ok.output
    bad = runner.invoke(
        cli, ["simulate", "--replications", "5", "--rival-policy", "unifrm"]
    )
    assert bad.exit_code == 2
    assert "'rival_policy'" in bad.output and "did you mean 'uniform'" in bad.output
    assert "Traceback" not in bad.output


def test_simulate_engines_agree(runner: CliRunner) -> None:
    """The summary printed by the mesa engine equals the batched one (same numbers)."""
    args = ["simulate", "--replications", "3", "--accounts", "5", "--quarters", "12"]
    a = runner.invoke(cli, [*args, "--engine", "batched"])
    b = runner.invoke(cli, [*args, "--engine", "mesa"])
    assert a.exit_code == b.exit_code == 0
    assert a.output.splitlines()[1:] == b.output.splitlines()[1:]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--accounts", "0"], "'n_accounts' must be an integer in [1, 500]"),
        (["--accounts", "10000"], "10000"),
        (["--policy", "unifrom"], "did you mean 'uniform'"),
        (["--set", "budgt=5"], "did you mean 'budget'"),
        (["--set", "budget=-5"], "'budget' must be a number in [0.0, 10000000.0]: -5"),
        (["--set", "budget"], "NAME=VALUE"),
        (["--replications", "0"], "'replications'"),
        (["--figure", "out.txt"], ".png"),
    ],
)
def test_simulate_bad_input_exit_2(
    runner: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    needle: str,
) -> None:
    """Bad simulate input gives exit code 2, one clear message, no traceback, no file."""
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(cli, ["simulate", "--replications", "5", *args])
    assert res.exit_code == 2, res.output
    assert needle in res.output
    assert "Traceback" not in res.output
    assert list(tmp_path.iterdir()) == []


def test_parse_set_values() -> None:
    """--set parses numbers, lists and off, and rejects unknown names."""
    got = parse_set(["budget=200", "maintenance=[0, 0, 0.1, 0.2]", "replacement_delay=off"])
    assert got == {
        "budget": 200,
        "maintenance": (0, 0, 0.1, 0.2),
        "replacement_delay": None,
    }
    with pytest.raises(ParameterError, match="did you mean 'hazard'"):
        parse_set(["hazrd=0.1"])


def test_run_writes_results(
    runner: CliRunner, smoke_spec_path: Path, tmp_path: Path
) -> None:
    """`kamsim run` stores the experiment, prints its folder and a headline per cell."""
    out = tmp_path / "res"
    res = runner.invoke(
        cli, ["run", str(smoke_spec_path), "--out", str(out), "--workers", "1"]
    )
    assert res.exit_code == 0, res.output
    assert str(out / "smoke") in res.output
    assert "NPV with TV mean (k€)" in res.output and "uniform" in res.output
    stored = load_results(out / "smoke")
    ref = run_experiment(smoke_spec_path, workers=1, quiet=True)
    assert stored.runs.equals(ref.runs)
    assert len(stored.runs) == 4 * 30


BAD_SPECS = {
    "typo.toml": ('name="x"\nreplications=5\n[factors]\nn_acounts=[5]\n', "n_accounts"),
    "big.toml": ('name="x"\nreplications=5\n[factors]\nn_accounts=[10000]\n', "[1, 500]"),
    "zero.toml": ('name="x"\nreplications=5\n[factors]\nn_accounts=[0]\n', "[1, 500]"),
    "budget.toml": ('name="x"\nreplications=5\n[params]\nbudget=-1.0\n', "params.budget"),
    "policy.toml": ('name="x"\nreplications=5\n[factors]\npolicy=["nope"]\n', "'nope'"),
    "broken.toml": ('name="x"\nreplications=5\n[factors\n', "line 3"),
}


@pytest.mark.parametrize("fname", sorted(BAD_SPECS))
def test_run_bad_spec_exit_2_nothing_written(
    runner: CliRunner, smoke_spec_path: Path, tmp_path: Path, fname: str
) -> None:
    """A bad spec (even after a good one) gives exit 2, a clear message, nothing written."""
    text, needle = BAD_SPECS[fname]
    spec = tmp_path / fname
    spec.write_text(text)
    out = tmp_path / "res"
    res = runner.invoke(cli, ["run", str(smoke_spec_path), str(spec), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert needle in res.output and str(spec) in res.output
    assert "Traceback" not in res.output
    assert not out.exists()


def test_run_refuses_different_spec(
    runner: CliRunner, smoke_spec_path: Path, tmp_path: Path
) -> None:
    """Running a changed spec into a used folder exits 2 and names the conflict."""
    out = tmp_path / "res"
    assert (
        runner.invoke(
            cli, ["run", str(smoke_spec_path), "--out", str(out), "--workers", "1"]
        ).exit_code
        == 0
    )
    changed = tmp_path / "smoke.toml"
    changed.write_text(smoke_spec_path.read_text().replace("seed = 7", "seed = 8"))
    res = runner.invoke(cli, ["run", str(changed), "--out", str(out), "--workers", "1"])
    assert res.exit_code == 2
    assert "different spec" in res.output and "Traceback" not in res.output


def test_run_failed_unit_exit_1(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failing policy makes `kamsim run` exit 1 and report the failure; it is recorded."""
    (tmp_path / "bad_policy.py").write_text(
        "def policy(obs, budget):\n    raise ValueError('policy exploded')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = tmp_path / "fail.toml"
    spec.write_text(
        'name="fail"\nreplications=5\nquarters=4\n'
        '[factors]\npolicy=["uniform", "bad_policy:policy"]\n'
    )
    out = tmp_path / "res"
    res = runner.invoke(cli, ["run", str(spec), "--out", str(out), "--workers", "1"])
    assert res.exit_code == 1
    assert "policy exploded" in res.output
    manifest = json.loads((out / "fail" / "manifest.json").read_text())
    assert [f["cell"] for f in manifest["failures"]] == [1]
    assert (out / "fail" / "runs" / "cell0000-rep000000.parquet").is_file()


def test_python_dash_m(tmp_path: Path) -> None:
    """`python -m kamsim` is the same command (exit code 2 and message on stderr)."""
    ok = subprocess.run(
        [sys.executable, "-m", "kamsim", "policies"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0 and "uniform" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "kamsim", "simulate", "--accounts", "0"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert bad.returncode == 2
    assert "n_accounts" in bad.stderr and "Traceback" not in bad.stderr


def test_a_slow_first_compile_is_announced(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first compile is announced on stderr; a cached engine says nothing.

    When the engine takes over a second to get ready (it is being compiled) the CLI
    says so instead of sitting silent.
    """
    import time

    from kamsim.engine import batch as engine

    args = ["simulate", "--replications", "3", "--quarters", "2"]
    quick = runner.invoke(cli, args)
    assert quick.exit_code == 0 and engine.COMPILING not in quick.output

    real = engine.warm_up

    def slow() -> float:
        time.sleep(1.3)
        return real()

    monkeypatch.setattr(engine, "warm_up", slow)
    res = runner.invoke(cli, args)
    assert res.exit_code == 0
    assert engine.COMPILING in res.stderr
    assert engine.COMPILING not in res.stdout
