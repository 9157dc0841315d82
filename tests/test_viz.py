"""Component tests of the SolaraViz teaching page (kamsim.viz) with ``solara.render``."""

from __future__ import annotations

import re
import socket
from typing import Any

import ipyvuetify as v
import ipywidgets
import pytest
import solara
from hypothesis import given
from hypothesis import strategies as st

import kamsim
from kamsim.params import ParameterError
from kamsim.viz import launch
from kamsim.viz.app import (
    DEFAULTS,
    STAGE_NAMES,
    TeachingModel,
    TeachingPage,
    board_html,
    page,
    parse_seed,
)


def render_page(**overrides: Any) -> tuple[solara.Reactive[TeachingModel], Any]:
    """Render the page inside an AppLayout (as the server and Jupyter do)."""
    model = solara.reactive(TeachingModel(**{**DEFAULTS, **overrides}))
    _, rc = solara.render(
        solara.AppLayout(children=[TeachingPage(model=model)]), handle_error=False
    )
    return model, rc


def click(rc: Any, label: str) -> None:
    rc.find(v.Btn, children=[label]).widget.click()


def board(rc: Any) -> str:
    return str(
        rc.find(
            solara.widgets.HTML, attributes={"class": "kam-root"}
        ).widget.unsafe_innerHTML
    )


def shown_quarter(rc: Any) -> int:
    m = re.search(r'data-quarter="(\d+)"', board(rc))
    assert m is not None
    return int(m.group(1))


def chart_bytes(rc: Any) -> list[bytes]:
    return [bytes(w.value) for w in rc.find(ipywidgets.Image).widgets]


def type_seed(rc: Any, text: str) -> None:
    """Type into the seed box and press Enter (the box reports on Enter or focus-out)."""
    box = control(rc, v.TextField, "Seed")
    box.v_model = text
    box.fire_event("keyup.enter", None)


def control(rc: Any, kind: type, label_start: str) -> Any:
    found = [w for w in rc.find(kind).widgets if str(w.label).startswith(label_start)]
    assert len(found) == 1, f"no single {kind.__name__} labelled {label_start!r}"
    return found[0]


def test_step_advances_one_quarter_and_redraws_the_charts() -> None:
    """Pressing Step advances the model one quarter and the page shows the new quarter."""
    model, rc = render_page()
    assert model.value.quarter == 0 and shown_quarter(rc) == 0
    before = chart_bytes(rc)
    assert len(before) == 3
    click(rc, "Step")
    assert model.value.quarter == 1
    assert shown_quarter(rc) == 1
    after = chart_bytes(rc)
    assert all(a != b for a, b in zip(before, after, strict=True))
    click(rc, "Step")
    assert model.value.quarter == 2 and shown_quarter(rc) == 2


def test_reset_returns_to_quarter_zero_with_a_new_market() -> None:
    """Reset replaces the stepped model by a fresh one at quarter 0 with the same seed."""
    model, rc = render_page()
    for _ in range(3):
        click(rc, "Step")
    old = model.value
    assert old.quarter == 3
    click(rc, "Reset")
    assert model.value is not old
    assert model.value.quarter == 0 and shown_quarter(rc) == 0
    # same seed (42) -> the fresh market replays the same first quarter
    click(rc, "Step")
    fresh = TeachingModel(**DEFAULTS)
    fresh.step()
    assert model.value.record == fresh.record


def test_changing_the_policy_changes_the_model() -> None:
    """Choosing the 'none' policy and pressing Reset gives a model that invests nothing."""
    model, rc = render_page()
    select = control(rc, v.Select, "Investment policy")
    assert select.v_model == "uniform"
    select.v_model = "none"
    click(rc, "Reset")
    assert model.value.supplier.policy_name == "none"
    click(rc, "Step")
    assert model.value.record["investment"] == 0.0
    assert "policy <b>none</b>" in board(rc)


def test_policy_select_offers_every_builtin_policy() -> None:
    """The policy Select lists every name registered in kamsim.POLICIES."""
    _, rc = render_page()
    assert list(control(rc, v.Select, "Investment policy").items) == list(kamsim.POLICIES)


def test_sliders_and_seed_set_the_next_market() -> None:
    """Accounts, budget, willingness and seed controls reach the model created by Reset."""
    model, rc = render_page()
    control(rc, v.Slider, "Key accounts").v_model = 35
    control(rc, v.Slider, "Budget").v_model = 250.0
    control(rc, v.Slider, "Share willing").v_model = 0.3
    type_seed(rc, "7")
    click(rc, "Reset")
    m = model.value
    assert (m.n_accounts, m.params.budget, m.params.share_willing, m.seed) == (
        35,
        250.0,
        0.3,
        7,
    )
    click(rc, "Step")
    ref = kamsim.KAMModel(n_accounts=35, budget=250.0, share_willing=0.3, rng=7)
    ref.step()
    assert m.record == ref.record
    assert board(rc).count('class="kam-tile') == 35


def test_invalid_seed_text_is_reported_on_the_page() -> None:
    """A seed that is not a whole number is named in a message; a random seed is used."""
    model, rc = render_page()
    type_seed(rc, "forty-two")
    click(rc, "Reset")
    assert model.value.seed is None
    html = board(rc)
    assert "&#x27;seed&#x27; must be a whole number &gt;= 0: &#x27;forty-two&#x27;" in html
    click(rc, "Step")
    assert model.value.quarter == 1


def test_board_counts_match_the_quarter_record() -> None:
    """The board's stage chips and tiles agree with the model's stage counts."""
    m = TeachingModel(n_accounts=30, rng=3)
    for _ in range(16):
        m.step()
    html = board_html(m)
    for name in STAGE_NAMES:
        assert f"{name} {m.record[f'n_{name}']}</span>" in html
    assert html.count('class="kam-tile"') == m.record["n_active"]
    assert html.count('class="kam-tile kam-vacant"') == 30 - m.record["n_active"]


def test_module_page_is_a_teaching_page_element() -> None:
    """kamsim.viz.page is the TeachingPage element that Jupyter and the server display."""
    import kamsim.viz

    assert kamsim.viz.page is page
    assert page.component.f is TeachingPage.f  # type: ignore[attr-defined]


@given(st.integers(min_value=0, max_value=2**63))
def test_parse_seed_reads_whole_numbers(seed: int) -> None:
    """Digit strings (with spaces or underscores) and ints >= 0 are read as that seed."""
    assert parse_seed(str(seed)) == (seed, None)
    assert parse_seed(f"  {seed:_} ") == (seed, None)
    assert parse_seed(seed) == (seed, None)


@pytest.mark.parametrize("text", ["-3", "4.5", "abc", "1e3", -1])
def test_parse_seed_rejects_other_text(text: Any) -> None:
    """Anything but a whole number >= 0 gives no seed and a message naming the value."""
    seed, msg = parse_seed(text)
    assert seed is None
    assert msg is not None and "'seed'" in msg and repr(text) in msg


@pytest.mark.parametrize("text", ["", "   ", None])
def test_parse_seed_empty_means_random(text: Any) -> None:
    """An empty seed box means a fresh random seed, without a message."""
    assert parse_seed(text) == (None, None)


def test_launch_rejects_a_busy_port_before_starting() -> None:
    """launch() names the port in a ParameterError when it is already taken."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(ParameterError, match=rf"'port' {port} is not available"):
            launch(port=port, open_browser=False)


@pytest.mark.parametrize("port", [0, 70000, "8765", True])
def test_launch_rejects_invalid_ports(port: Any) -> None:
    """launch() rejects ports outside 1-65535 or not integers, naming the value."""
    with pytest.raises(ParameterError, match=r"'port' must be an integer in \[1, 65535\]"):
        launch(port=port, open_browser=False)
