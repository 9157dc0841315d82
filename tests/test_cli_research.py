"""The research subcommands of the CLI: validate, sensitivity, and report output."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from kamsim.cli import cli


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
            "3",
            "--replications",
            "60",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith("2  held") and "target" in lines[0] and "source" in lines[0]
    assert lines[1].startswith("3  held") and "(by construction)" in lines[1]
    assert "2 of 2 stylized facts held (60 replications" in lines[2]
    assert (out / "validation.md").read_text().count("\n| ") == 3  # header + 2 facts
    assert "<table>" in (out / "validation.html").read_text()


def test_validate_unknown_fact_is_a_usage_error() -> None:
    """An unknown fact id gives one line naming the allowed ids and exit code 2."""
    res = CliRunner().invoke(cli, ["validate", "--fact", "9z"])
    assert res.exit_code == 2
    assert "'--fact' must be one of" in res.output and "Traceback" not in res.output
