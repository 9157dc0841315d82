"""The research subcommands of the CLI: validate, sensitivity, and report output."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from kamsim.cli.main import cli


def test_validate_prints_one_row_per_fact_and_writes_files(tmp_path: Path) -> None:
    """`kamsim validate --fact` prints the fact's row and summary and writes md/html."""
    out = tmp_path / "val"
    res = CliRunner().invoke(
        cli,
        [
            "validate",
            "--fact",
            "2",
            "--fact",
            "10",
            "--replications",
            "60",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].split()[:2] == ["2", "held"]
    assert "target" in lines[0] and "source" in lines[0]
    assert lines[1].split()[:2] == ["10", "held"] and "(by construction)" in lines[1]
    assert (
        "2 of 2 claimed stylized facts held" in lines[2] and "(60 replications" in lines[2]
    )
    assert (out / "validation.md").read_text().count("\n| ") == 3  # header + 2 facts
    assert "<table>" in (out / "validation.html").read_text()


def test_validate_unknown_fact_is_a_usage_error() -> None:
    """An unknown fact id gives one line naming the allowed ids and exit code 2."""
    res = CliRunner().invoke(cli, ["validate", "--fact", "9z"])
    assert res.exit_code == 2
    assert "'--fact' must be one of" in res.output and "Traceback" not in res.output


def test_simulate_summary_has_one_format_per_row() -> None:
    """Each row of the simulate summary has one number of decimals for all its figures."""
    res = CliRunner().invoke(cli, ["simulate", "--replications", "60", "--quarters", "12"])
    assert res.exit_code == 0, res.output
    lines = [ln.split() for ln in res.output.splitlines()[2:] if ln.strip()]
    rows = {" ".join(p[:-3]): p[-3:] for p in lines if len(p) > 3}
    npv = rows["NPV with terminal value (k€)"]
    assert all("." not in v for v in npv)  # money without decimals
    share = rows["final largest account share"]
    assert all(len(v.split(".")[1]) == 3 for v in share)  # shares with three
    dropped = rows["dropped by the supplier"]  # indented under "ended relationships"
    assert dropped == ["0", "0", "0"]


def test_resumed_run_with_nothing_left_says_so(
    tmp_path: Path, smoke_spec_path: Path
) -> None:
    """Running a finished spec again reports that nothing was left to run."""
    args = [
        "run",
        str(smoke_spec_path),
        "--out",
        str(tmp_path),
        "--workers",
        "1",
        "--quiet",
    ]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0 and "nothing left to run" not in first.output
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0
    assert (
        "smoke: nothing left to run; every work unit was already complete." in again.output
    )
