"""Validation against the stylized facts of KAM practice (docs/validation.md).

One registry serves the ``kamsim validate`` command, these tests and the table of
``docs/validation.md``: each fact is asserted here with the tolerance it states, and
the document's table must be exactly what the registry renders from the same runs.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import pytest

from kamsim.model.params import ModelParams, ParameterError
from kamsim.validation import (
    Fact,
    FactResult,
    Simulator,
    check,
    doc_section,
    render_html,
    render_markdown,
    replace_doc_section,
    results_table,
)
from kamsim.validation.facts import FACTS, MODEL1_CLASS_CHANGES, stage_table

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "validation.md"


@cache
def checked() -> dict[str, FactResult]:
    """Every fact checked once on the default simulator (400 replications, seed 2026)."""
    return {r.fact.id: r for r in check()}


@pytest.mark.parametrize("fact", FACTS, ids=[f"{f.id}-{f.name}" for f in FACTS])
def test_stylized_fact_holds(fact: Fact) -> None:
    """A claimed fact meets its target; an unclaimed one still does not (page says no)."""
    result = checked()[fact.id]
    assert result.held == fact.claimed, (
        f"{fact.id} {fact.fact}: {result.model_text} (target {fact.target})"
    )


def test_required_properties_of_model_2_are_claimed() -> None:
    """The eight properties the market model must show are facts it claims."""
    required = {
        "exit_every_stage",
        "targeted_reaches_strategic",
        "cost_before_benefit",
        "horizon_robust",
        "misjudgement_persists",
        "trust_not_age",
        "rivals_matter",
        "disruption_diversifies",
    }
    assert required <= {f.name for f in FACTS if f.claimed}


def test_required_properties_of_model_3_are_claimed() -> None:
    """The properties model 3 must show (issue "Model 3") are facts it claims."""
    required = {
        "potential_not_wallet",
        "judgement_pays",
        "value_of_information",
        "learning_partners",
    }
    assert required <= {f.name for f in FACTS if f.claimed}


def test_value_of_information_curve_has_the_whole_range() -> None:
    """The curve spans perfect to poor judgement, a potential- and a revenue-led policy."""
    from kamsim.validation.accounts import REVENUE_LED, VOI_BIASES, VOI_POLICIES

    figure = checked()["16"].figure
    assert VOI_BIASES[0] == 0.0 and VOI_BIASES[-1] == 0.8
    for b in VOI_BIASES:
        assert f"{VOI_POLICIES[0]}_{b}" in figure and f"{REVENUE_LED}_{b}" in figure
    # revenue_proportional reads no estimate: its NPV cannot depend on the bias
    assert len({figure[f"{REVENUE_LED}_{b}"] for b in VOI_BIASES}) == 1


def test_misjudgement_far_below_model_1() -> None:
    """Estimated classes change far less often than in model 1 (9.4 per ten years)."""
    assert checked()["5"].figure["changes"] < MODEL1_CLASS_CHANGES / 3


def test_terminal_retention_matches_measured_survival() -> None:
    """Terminal retention per stage is 1 - the measured exit rate (within 0.5 pp)."""
    rates = checked()["1"].figure
    rho = ModelParams().terminal_retention
    for k, stage in enumerate(("tactical", "cooperative", "interdependent", "strategic")):
        assert abs(rho[k] - (1 - rates[stage])) < 0.005, stage


def test_stage_table_in_docs_is_current() -> None:
    """The stage distribution table of docs/validation.md is what the code computes."""
    text = DOC.read_text(encoding="utf-8")
    start, end = "<!-- stages:start -->\n", "\n<!-- stages:end -->"
    assert text.split(start)[1].split(end)[0] == stage_table()


def test_judgement_section_in_docs_is_current() -> None:
    """The value-of-information section of docs/validation.md is what the facts give."""
    from kamsim.validation.accounts import voi_markdown

    text = DOC.read_text(encoding="utf-8")
    start, end = "<!-- judgement:start -->\n", "\n<!-- judgement:end -->"
    wanted = voi_markdown(checked()["16"].figure, checked()["15"].figure)
    assert text.split(start)[1].split(end)[0] == wanted


def test_registry_is_well_formed() -> None:
    """Fact ids and names are unique and every fact names its source and target."""
    assert len({f.id for f in FACTS}) == len(FACTS)
    assert len({f.name for f in FACTS}) == len(FACTS)
    for f in FACTS:
        assert f.fact and f.source and f.target and f.tolerance, f.id
    assert any(f.by_construction for f in FACTS)  # fact 10 is marked as such


def test_docs_table_is_the_registry_rendered() -> None:
    """docs/validation.md shows exactly the table the registry renders from its runs."""
    text = DOC.read_text(encoding="utf-8")
    assert doc_section(text) == render_markdown(list(checked().values()))


def test_table_has_one_row_per_fact_with_held_and_construction() -> None:
    """The table has one row per fact, says held/by construction, and shows figures."""
    table = results_table(list(checked().values()))
    assert list(table["#"]) == [f.id for f in FACTS]
    claimed = {f.id for f in FACTS if f.claimed}
    assert set(table.loc[table["#"].isin(claimed), "held"]) == {"yes"}
    # an unclaimed fact (none in model 3) is rendered "NO"
    assert set(table.loc[~table["#"].isin(claimed), "held"]) <= {"NO"}
    assert table.set_index("#").loc["10", "by construction"] == "yes"
    assert "years" not in table.set_index("#").loc["10", "model"]
    assert " y" in table.set_index("#").loc["10", "model"]
    page = render_html(list(checked().values()))
    assert page.count("<tr class=") == len(FACTS)


def test_a_failing_fact_is_reported_not_raised() -> None:
    """A fact whose target is missed comes back with held=False and its figure."""
    impossible = Fact(
        id="x",
        name="impossible",
        fact="NPV exceeds a billion",
        source="none",
        target="mean NPV > 1e9 k€",
        tolerance="threshold",
        compute=lambda sim: {"npv": float(sim.run(5).runs["npv"].mean())},
        holds=lambda f: f["npv"] > 1e9,
        show=lambda f: f"mean NPV {f['npv']:.0f} k€",
    )
    [res] = check([impossible], Simulator(replications=20, seed=1, quarters=8))
    assert res.held is False and res.figure["npv"] < 1e9
    assert "NO" in render_markdown([res])


def test_unknown_fact_id_is_a_clear_error() -> None:
    """Asking for an unknown fact names the allowed ids."""
    with pytest.raises(ParameterError, match=r"'--fact' must be one of .*'1'"):
        check(only=["9z"])


def test_doc_markers_are_required() -> None:
    """Replacing the table needs exactly one pair of markers."""
    with pytest.raises(ValueError, match="marker"):
        replace_doc_section("no markers\n", "| a |\n")
    text = "a\n<!-- facts:start -->\nold\n<!-- facts:end -->\nb\n"
    assert doc_section(replace_doc_section(text, "| new |\n")) == "| new |\n"


def test_generator_script_check_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """scripts/gen_validation_table.py --check flags a stale table and rewrites it."""
    spec = importlib.util.spec_from_file_location(
        "gen_validation_table", ROOT / "scripts" / "gen_validation_table.py"
    )
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    monkeypatch.setattr(gen, "check", lambda: list(checked().values()))  # same runs
    doc = tmp_path / "v.md"
    doc.write_text("intro\n<!-- facts:start -->\nold\n<!-- facts:end -->\n")
    assert gen.main([str(doc), "--check"]) == 1
    assert gen.main([str(doc)]) == 0
    assert gen.main([str(doc), "--check"]) == 0
    assert doc.read_text().startswith("intro\n<!-- facts:start -->\n| # |")
