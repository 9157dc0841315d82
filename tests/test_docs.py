"""docs/odd.md stays true to the code: generated parameter table, every rule described."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from kamsim import ModelParams
from kamsim.model import endings, growth, judgement, rules
from kamsim.model.environment import BLOCK
from kamsim.model.state import Stage

ROOT = Path(__file__).resolve().parents[1]
ODD = ROOT / "docs" / "odd.md"
SCRIPT = ROOT / "scripts" / "gen_param_table.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_param_table", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


GEN = _load_script()
TEXT = ODD.read_text(encoding="utf-8")


def test_parameter_table_is_current() -> None:
    """The table between the params markers equals what the script generates now."""
    assert GEN.current_section(TEXT) == GEN.render_table()
    assert GEN.replace_section(TEXT, GEN.render_table()) == TEXT


def test_parameter_table_has_every_field() -> None:
    """Every ModelParams field has exactly one row in the table."""
    table = GEN.current_section(TEXT)
    for name in ModelParams.names():
        assert len(re.findall(rf"^\| `{name}` \|", table, flags=re.M)) == 1, name
    assert len(table.splitlines()) == len(ModelParams.names()) + 2


def test_table_shows_defaults_and_sources() -> None:
    """Rows show the default, the allowed range and the source (spot checks)."""
    table = GEN.current_section(TEXT)
    row = next(line for line in table.splitlines() if line.startswith("| `trust_loss` |"))
    assert f"| {ModelParams().trust_loss:g} |" in row and "[0.0, 1.0]" in row
    assert "Slovic (1993)" in row
    row = next(line for line in table.splitlines() if line.startswith("| `adaptation` |"))
    assert "Burnham, Frels & Mahajan (2003)" in row


def test_check_mode_detects_stale_table(tmp_path: Path) -> None:
    """The script's --check exits 1 on a stale table, and a rewrite makes it pass."""
    doc = tmp_path / "odd.md"
    doc.write_text("intro\n<!-- params:start -->\nold\n<!-- params:end -->\ntail\n")
    assert GEN.main([str(doc), "--check"]) == 1
    assert GEN.main([str(doc)]) == 0
    assert GEN.main([str(doc), "--check"]) == 0
    text = doc.read_text()
    assert text.startswith("intro\n") and text.endswith("tail\n")
    assert GEN.current_section(text) == GEN.render_table()


def test_missing_markers_are_an_error(tmp_path: Path) -> None:
    """A document without markers is reported (exit 2) and left untouched."""
    doc = tmp_path / "odd.md"
    doc.write_text("no markers here\n")
    assert GEN.main([str(doc)]) == 2
    assert doc.read_text() == "no markers here\n"
    assert list(tmp_path.iterdir()) == [doc]  # no temporary file left behind


def test_script_runs_as_command() -> None:
    """`python scripts/gen_param_table.py --check` succeeds on the shipped document."""
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr


PUBLIC_RULES = sorted(
    name
    for module in (rules, growth, judgement, endings)
    for name in module.__all__
    if getattr(getattr(module, name), "py_func", None) is not None
    and module.__dict__[name].py_func.__module__ == module.__name__
)


def test_rules_functions_are_listed() -> None:
    """The list of public rules is the expected one (guards the next test)."""
    assert "account_quarter" in PUBLIC_RULES
    assert "update_trust" in PUBLIC_RULES
    assert {"grow_wallet", "estimate_willingness"} <= set(PUBLIC_RULES)
    assert len(PUBLIC_RULES) >= 15


@pytest.mark.parametrize("name", PUBLIC_RULES)
def test_every_rule_is_described(name: str) -> None:
    """Every public function of rules, growth, judgement and endings is in the ODD."""
    assert f"`{name}`" in TEXT


@pytest.mark.parametrize(
    "name",
    ["observe_account", "enforce_budget", "run_batch", "record_quarter", "npv", "settle"],
)
def test_other_submodels_are_described(name: str) -> None:
    """Observation, budget, the engine's schedule and the metrics are described."""
    assert name in TEXT


def test_odd_sections_present() -> None:
    """Every element of the ODD protocol has its heading."""
    for heading in (
        "Purpose and patterns",
        "Entities, state variables and scales",
        "Process overview and scheduling",
        "Basic principles",
        "Emergence",
        "Adaptation",
        "Objectives",
        "Learning",
        "Prediction",
        "Sensing",
        "Interaction",
        "Stochasticity",
        "Collectives",
        "Observation",
        "Initialisation",
        "Input data",
        "Submodels",
    ):
        assert re.search(rf"^#+ [\d.]+ {re.escape(heading)}", TEXT, flags=re.M), heading


@pytest.mark.parametrize(
    "source",
    [
        "McDonald & Woodburn (2007)",
        "Millman & Wilson (1995)",
        "Dwyer, Schurr & Oh (1987)",
        "Ford (1980)",
        "Morgan & Hunt (1994)",
        "Slovic (1993)",
        "Burnham, Frels & Mahajan (2003)",
        "Williamson",
        "Klein, Crawford & Alchian (1978)",
        "Klos & Nooteboom (2001)",
        "Vanneste, Puranam & Kretschmer (2014)",
        "Cooper & Nakanishi (1988)",
        "Kirman & Vriend (2001)",
    ],
)
def test_sources_cited(source: str) -> None:
    """Each source of DESIGN.md section 6 is cited in the text (author names and year)."""
    authors, _, year = source.partition(" (")
    year = year.rstrip(")")
    assert authors in TEXT
    if year:
        assert re.search(rf"{re.escape(authors)},? \(?{year}", TEXT), source


def test_draw_order_matches_environment() -> None:
    """The documented draw order and counter layout are the code's."""
    from kamsim.model import variates

    assert f"`BLOCK = {BLOCK}`" in TEXT
    assert "rng.random((1, M, n))" in TEXT
    assert "rng.standard_normal((3, M, n))" in TEXT
    assert "rng.integers(0, 2**64, dtype=np.uint64)" in TEXT
    assert "*i*·2³⁶ + *k*·2²⁸ + *j*·2⁵ + purpose" in TEXT
    assert f"one of {len(variates.PURPOSES)} purposes" in TEXT
    assert "256-layer ziggurat" in TEXT and len(variates._ZK) == 256
    assert variates.counter(1, 2, 3, 4) == (1 << 36) | (2 << 28) | (3 << 5) | 4


def test_stage_names_match_code() -> None:
    """The four stages are documented with the codes of kamsim.Stage."""
    for stage in Stage:
        assert f"{stage.value} {stage.name.lower()}" in TEXT


def test_assumptions_are_marked() -> None:
    """The document says which parameter values are assumptions."""
    assert "assumption" in GEN.current_section(TEXT)
    assert "are assumptions" in TEXT or "assumption" in TEXT.split("### 3.4")[1]
