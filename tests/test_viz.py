"""Tests of the teaching page (kamsim.viz): its model, views and Solara components."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import ipyvuetify as v
import ipywidgets
import numpy as np
import pytest
import solara
from hypothesis import given
from hypothesis import strategies as st

import kamsim
from kamsim.model.params import ParameterError
from kamsim.viz import _check_address, launch
from kamsim.viz.app import (
    DEFAULTS,
    HORIZON,
    SLIDERS,
    TeachingModel,
    TeachingPage,
    chart_quarter,
    page,
    parse_seed,
)
from kamsim.viz.views import BOARD_CSS, STAGE_NAMES, market_html, supplier_label

#: Seeds on which the page's defaults are measured (see test_defaults_reach_...).
SEEDS = range(50)
#: Share of SEEDS in which your relationships must reach all four stages.
MOST = 0.7


# ------------------------------------------------------------------ helpers
def render_page(model: TeachingModel | None = None) -> tuple[solara.Reactive[Any], Any]:
    """Render the page inside an AppLayout (as the server and Jupyter do)."""
    shown = solara.reactive(model if model is not None else TeachingModel())
    _, rc = solara.render(
        solara.AppLayout(children=[TeachingPage(model=shown)]), handle_error=False
    )
    return shown, rc


def button(rc: Any, label: str) -> Any:
    return rc.find(v.Btn, children=[label]).widget


def click(rc: Any, label: str) -> None:
    button(rc, label).click()


def board(rc: Any) -> str:
    found = rc.find(solara.widgets.HTML, attributes={"class": "kam-root"})
    return str(found.widget.unsafe_innerHTML)


def shown_quarter(rc: Any) -> int:
    m = re.search(r'data-quarter="(\d+)"', board(rc))
    assert m is not None
    return int(m.group(1))


def chart_bytes(rc: Any) -> list[bytes]:
    return [bytes(w.value) for w in rc.find(ipywidgets.Image).widgets]


def control(rc: Any, kind: type, label_start: str) -> Any:
    found = [w for w in rc.find(kind).widgets if str(w.label).startswith(label_start)]
    assert len(found) == 1, f"no single {kind.__name__} labelled {label_start!r}"
    return found[0]


def type_seed(rc: Any, text: str) -> None:
    """Type into the seed box and press Enter (the box reports on Enter or focus-out)."""
    box = control(rc, v.TextField, "Seed")
    box.v_model = text
    box.fire_event("keyup.enter", None)


def wait_until(condition: Callable[[], bool], seconds: float) -> None:
    """Poll ``condition`` until it holds; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {seconds} s")
        time.sleep(0.05)


def reaches_strategic(seed: int) -> bool:
    """Whether a relationship of yours is strategic by the horizon (page defaults)."""
    m = TeachingModel(rng=seed)
    while m.running:
        m.step()
        if m.record["n_strategic"] > 0:
            return True
    return False


class Rows(HTMLParser):
    """The market board's rows: slot -> segments {supplier: (width %, stage)}."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[int, dict[str, tuple[float, int]]] = {}
        self.vacant: set[int] = set()
        self.starred: set[int] = set()
        self._slot = -1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Record rows, their segments and stars."""
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if "kam-row" in cls:
            self._slot = int(a["data-slot"] or -1)
            self.rows[self._slot] = {}
            if "kam-vacant" in cls:
                self.vacant.add(self._slot)
        elif "kam-seg" in cls:
            width = re.search(r"width:([\d.]+)%", a.get("style") or "")
            assert width is not None
            stage = int(a.get("data-stage") or 0)
            self.rows[self._slot][a["data-supplier"] or ""] = (float(width[1]), stage)
        elif "kam-star" in cls:
            self.starred.add(self._slot)


def parse_board(html: str) -> Rows:
    rows = Rows()
    rows.feed(html)
    return rows


# ------------------------------------------------------------ the model
def test_defaults_reach_all_four_stages_within_the_horizon() -> None:
    """At the page's defaults you reach all four stages by quarter 40 in most seeds.

    True for seed 42 and for at least 70 % of 50 seeds. "Reaching all four" is a
    relationship of yours turning strategic: stages move one at a time.
    """
    assert DEFAULTS["rng"] == "42" and reaches_strategic(42)
    reached = [reaches_strategic(s) for s in SEEDS]
    share = sum(reached) / len(reached)
    print(f"page defaults reach strategic within {HORIZON} quarters: {share:.0%}")
    assert share >= MOST, f"only {share:.0%} of {len(reached)} seeds reach strategic"


def test_teaching_model_stops_running_at_the_horizon() -> None:
    """The model runs through quarter 39 and stops running at quarter 40."""
    m = TeachingModel(n_accounts=5)
    for _ in range(HORIZON - 1):
        m.step()
    assert m.running and m.quarter == HORIZON - 1
    m.step()
    assert not m.running and m.quarter == HORIZON == 40


def test_teaching_model_defaults_are_the_page_defaults() -> None:
    """TeachingModel() builds the market the page starts with (policies, budget, seed)."""
    m = TeachingModel()
    assert [s.policy_name for s in m.suppliers] == ["stage_gated"] * 3
    assert (m.supplier.budget, m.n_accounts, m.seed) == (150.0, 20, 42)
    assert [s.budget for s in m.suppliers[1:]] == [m.params.rival_budget] * 2


@pytest.mark.parametrize("horizon", [0, -4, 2.5, "40", True])
def test_teaching_model_rejects_invalid_horizons(horizon: Any) -> None:
    """A horizon that is not an integer >= 1 raises a ParameterError naming it."""
    with pytest.raises(ParameterError, match=r"'horizon' must be an integer >= 1"):
        TeachingModel(horizon=horizon)


def test_chart_quarter_moves_yearly_while_playing() -> None:
    """While playing, charts show the last year end; stopped, the current quarter."""
    assert [chart_quarter(q, True) for q in range(9)] == [0, 0, 0, 0, 4, 4, 4, 4, 8]
    assert [chart_quarter(q, False) for q in range(9)] == list(range(9))


# ------------------------------------------------------------- the board
def test_board_has_a_bar_per_account_with_a_segment_per_supplier() -> None:
    """Each slot has a row, each account's bar a segment per supplier and the rest.

    A segment's width is that supplier's share of wallet and its colour the stage of
    that supplier's relationship; the widths add up to the whole bar.
    """
    m = TeachingModel(n_accounts=12, rivals=3, hazard=0.25, rng=5)
    for _ in range(6):
        m.step()
    rows = parse_board(market_html(m))
    assert sorted(rows.rows) == list(range(12))
    assert rows.vacant == {j for j, a in enumerate(m.slots) if a is None} != set()
    for acc in m.accounts:
        segs = rows.rows[acc.slot]
        live = {str(k) for k in range(4) if acc.stages[k] > 0}
        assert set(segs) == live | {"rest"}
        for k in map(int, live):
            width, stage = segs[str(k)]
            assert width == pytest.approx(100 * acc.shares[k], abs=0.01)
            assert stage == acc.stages[k]
        assert sum(w for w, _ in segs.values()) == pytest.approx(100.0, abs=0.05)


def test_board_stars_accounts_where_you_hold_the_largest_share() -> None:
    """A row is starred exactly when your share exceeds every rival's."""
    m = TeachingModel(rng=42)
    for _ in range(HORIZON):
        m.step()
    rows = parse_board(market_html(m))
    expected = {
        a.slot for a in m.accounts if a.stages[0] > 0 and a.shares[0] > np.max(a.shares[1:])
    }
    assert rows.starred == expected != set()
    assert len(expected) < len(m.accounts)  # not every row: the star discriminates


def test_board_legend_names_every_supplier_with_its_policy() -> None:
    """The legend names you and each rival with policy and budget, and the stage counts."""
    m = TeachingModel(rivals=2, rival_policy=["quadrant", "uniform"], rival_budget=80.0)
    m.step()
    html = market_html(m)
    for sup in m.suppliers:
        assert supplier_label(sup) in html
    assert "you: stage_gated, 150 k€/quarter" in html
    assert "rival 1: quadrant, 80 k€/quarter" in html
    assert "rival 2: uniform, 80 k€/quarter" in html
    for name in STAGE_NAMES:
        assert f"{name} {m.record[f'n_{name}']}</span>" in html


# ------------------------------------------------------------ the page
def test_step_advances_one_quarter_and_redraws_board_and_charts() -> None:
    """Step advances the model one quarter; the board and the three charts follow."""
    model, rc = render_page()
    assert model.value.quarter == 0 and shown_quarter(rc) == 0
    before = chart_bytes(rc)
    assert len(before) == 3
    click(rc, "Step")
    assert model.value.quarter == 1 and shown_quarter(rc) == 1
    after = chart_bytes(rc)
    assert all(a != b for a, b in zip(before, after, strict=True))


def test_play_stops_at_the_horizon() -> None:
    """Play runs to quarter 40 and stops there: Play and Step are disabled.

    The run starts at quarter 37, so the three quarters it shows were all played.
    """
    m = TeachingModel(n_accounts=5)
    for _ in range(HORIZON - 3):
        m.step()
    model, rc = render_page(m)
    click(rc, "Play")
    wait_until(lambda: rc.find(v.Btn, children=["Play"]).widgets != [], seconds=60)
    time.sleep(1.0)  # the loop would have stepped again by now if it had not stopped
    assert model.value.quarter == HORIZON and shown_quarter(rc) == HORIZON
    assert button(rc, "Play").disabled and button(rc, "Step").disabled
    assert "end of the run" in board(rc)


def test_reset_returns_to_quarter_zero_with_a_new_market() -> None:
    """Reset replaces the stepped model by a fresh one at quarter 0 with the same seed."""
    model, rc = render_page()
    for _ in range(2):
        click(rc, "Step")
    old = model.value
    click(rc, "Reset")
    assert model.value is not old
    assert model.value.quarter == 0 and shown_quarter(rc) == 0
    click(rc, "Step")
    fresh = TeachingModel()
    fresh.step()
    assert model.value.record == fresh.record


def test_controls_set_the_next_market() -> None:
    """Every control reaches the model that Reset creates.

    Its first quarter equals that of a KAMModel built with those arguments.
    """
    model, rc = render_page()
    control(rc, v.Select, "Your policy").v_model = "quadrant"
    control(rc, v.Slider, "Your KAM budget").v_model = 250.0
    control(rc, v.Slider, "Rival suppliers").v_model = 3
    control(rc, v.Select, "Rivals' policy").v_model = "uniform"
    control(rc, v.Slider, "Key accounts").v_model = 35
    control(rc, v.Slider, "Open to partnership").v_model = 0.3
    type_seed(rc, "7")
    click(rc, "Reset")
    m = model.value
    assert [s.policy_name for s in m.suppliers] == ["quadrant", *["uniform"] * 3]
    assert (m.n_accounts, m.params.budget, m.params.share_willing, m.seed) == (
        35,
        250.0,
        0.3,
        7,
    )
    click(rc, "Step")
    ref = kamsim.KAMModel(
        n_accounts=35,
        policy="quadrant",
        rivals=3,
        rival_policy="uniform",
        budget=250.0,
        share_willing=0.3,
        rng=7,
    )
    ref.step()
    assert m.record == ref.record
    assert sorted(parse_board(board(rc)).rows) == list(range(35))


def test_slider_labels_show_their_values() -> None:
    """Each slider's label shows its current value, and follows it when moved."""
    _, rc = render_page()
    for name, spec in SLIDERS.items():
        slider = control(rc, v.Slider, spec.label)
        assert slider.label == spec.text(DEFAULTS[name])
    assert control(rc, v.Slider, "Key accounts").label == "Key accounts: 20"
    control(rc, v.Slider, "Key accounts").v_model = 33
    assert control(rc, v.Slider, "Key accounts").label == "Key accounts: 33"
    control(rc, v.Slider, "Open to partnership").v_model = 0.45
    assert control(rc, v.Slider, "Open to partnership").label.endswith("45% of accounts")


def test_policy_selects_offer_every_builtin_policy() -> None:
    """Both policy selectors list every name in kamsim.POLICIES."""
    _, rc = render_page()
    for label in ("Your policy", "Rivals' policy"):
        assert list(control(rc, v.Select, label).items) == list(kamsim.POLICIES)


def test_rival_policy_is_disabled_without_rivals() -> None:
    """With 0 rivals the rivals' policy selector is disabled (nothing to choose for)."""
    _, rc = render_page()
    assert not control(rc, v.Select, "Rivals' policy").disabled
    control(rc, v.Slider, "Rival suppliers").v_model = 0
    assert control(rc, v.Select, "Rivals' policy").disabled


def texts(widget: Any) -> list[str]:
    """Every string in a widget tree: labels, values, HTML and text children."""
    if isinstance(widget, str):
        return [widget]
    found = [
        value
        for name in ("label", "value", "unsafe_innerHTML", "v_model")
        if isinstance(value := getattr(widget, name, None), str)
    ]
    children = list(getattr(widget, "children", None) or [])
    for slot in getattr(widget, "v_slots", None) or []:
        got = slot.get("children")
        children += got if isinstance(got, list) else [got]
    for child in children:
        if child is not None:
            found += texts(child)
    return found


def test_page_shows_no_mesa_internal_controls() -> None:
    """No play/render interval, thread switch, raw time or page tab on the page."""
    root, rc = solara.render(
        solara.AppLayout(children=[TeachingPage()]), handle_error=False
    )
    shown = texts(root)
    assert {"Reset", "Play", "Step"} <= set(shown)  # the walk reaches the sidebar
    for internal in ("Interval", "Use Threads", "Page 0"):
        assert not [t for t in shown if internal in t], internal
    assert not [t for t in shown if t.startswith("Time:")]
    assert rc.find(v.Checkbox).widgets == [] and rc.find(v.Tab).widgets == []


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


def test_module_page_is_a_teaching_page_element() -> None:
    """kamsim.viz.page is the TeachingPage element that Jupyter and the server display."""
    import kamsim.viz

    assert kamsim.viz.page is page
    assert page.component.f is TeachingPage.f  # type: ignore[attr-defined]


# ------------------------------------------------------------ seed box
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


# ------------------------------------------------------------------ launch
def test_launch_rejects_a_busy_port_before_starting() -> None:
    """launch() names the port in a ParameterError when a server listens on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(ParameterError, match=rf"'port' {port} is not available"):
            launch(port=port, open_browser=False)


def test_port_of_a_stopped_server_is_free_again_at_once() -> None:
    """A port whose server just closed (connections left in TIME_WAIT) is accepted."""
    with socket.socket() as srv:
        # as Solara's server (uvicorn, asyncio) does on POSIX
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as cli:
            conn, _ = srv.accept()
            conn.close()  # the server side closes first: its end waits in TIME_WAIT
            cli.recv(1)
    assert _check_address("127.0.0.1", port) == ("127.0.0.1", port)


@pytest.mark.parametrize("port", [0, 70000, "8765", True])
def test_launch_rejects_invalid_ports(port: Any) -> None:
    """launch() rejects ports outside 1-65535 or not integers, naming the value."""
    with pytest.raises(ParameterError, match=r"'port' must be an integer in \[1, 65535\]"):
        launch(port=port, open_browser=False)


def test_play_has_a_speed_control_and_still_stops_at_the_horizon() -> None:
    """Slow plays at most one quarter a second; fast then runs on and stops at 40."""
    from kamsim.viz.app import DEFAULT_SPEED, SPEEDS

    assert SPEEDS["slow"] > SPEEDS[DEFAULT_SPEED] > SPEEDS["fast"]
    m = TeachingModel(n_accounts=5)
    for _ in range(HORIZON - 6):
        m.step()
    model, rc = render_page(m)
    toggle = rc.find(v.BtnToggle).widget
    labels = [b.children[0] for b in toggle.children]
    assert labels == list(SPEEDS)
    toggle.v_model = labels.index("slow")
    click(rc, "Play")
    time.sleep(1.5)
    assert model.value.quarter <= HORIZON - 6 + 1  # one quarter a second at most
    toggle.v_model = labels.index("fast")
    wait_until(lambda: model.value.quarter == HORIZON, seconds=60)
    wait_until(lambda: rc.find(v.Btn, children=["Play"]).widgets != [], seconds=60)
    time.sleep(0.5)
    assert model.value.quarter == HORIZON and button(rc, "Play").disabled


# ------------------------------------------------- issue 22: a calmer page
def test_board_labels_your_share_column_and_its_dash() -> None:
    """The board says what the right-hand number is and what "-" there means.

    A column header names the bar and "your share" (one per column of rows); the
    note and the dash's tooltip say that "-" is an account with no relationship
    with you.
    """
    m = TeachingModel(n_accounts=12, rivals=3, hazard=0.25, rng=0)
    for _ in range(7):
        m.step()
    html = market_html(m)
    assert html.count('<div class="kam-head">') == 1
    assert ">your share</span>" in html
    assert "- no relationship with you" in html  # the note under the legend
    no_rel = [a for a in m.accounts if a.stages[0] <= 0]
    assert no_rel, "seed 0 has accounts without you at quarter 7: dashes shown"
    assert html.count('title="no relationship with you">-</span>') == len(no_rel)
    big = market_html(TeachingModel(n_accounts=50))
    assert big.count('<div class="kam-head">') == 2  # one per column of rows


def test_narrow_segments_have_no_bare_number_tags() -> None:
    """With 50 accounts and 4 rivals a segment's tag is "you" or "R1".."R4", never "1".

    A narrow segment hides its tag (CSS) and its rival is named by a stripe of that
    rival's colour, the colour of its line in the market-share chart and its legend key.
    """
    from kamsim.viz.views import RIVAL_COLORS

    m = TeachingModel(n_accounts=50, rivals=4, rng=3)
    m.step()
    html = market_html(m)
    tags = set(re.findall(r'<span class="kam-tag">([^<]*)</span>', html))
    assert tags <= {"you", "R1", "R2", "R3", "R4"}
    assert "kam-short" not in html
    for k in range(1, 5):
        segs = re.findall(rf'data-supplier="{k}"[^>]*style="([^"]*)"', html)
        assert segs and all(f"inset 0 -3px 0 {RIVAL_COLORS[k - 1]}" in s for s in segs)
    assert "@container (max-width: 24px) {.kam-tag {display:none}}" in BOARD_CSS


def test_charts_at_quarter_zero_show_a_hint_and_a_sane_revenue_axis() -> None:
    """Before the first step every chart says how to start; k€ are not ±0.04.

    The revenue chart's axis runs from 0 to at least the first quarter's revenue at
    the starting shares (rounded up), not matplotlib's ±0.04 of an empty plot.
    """
    from kamsim.viz.views import (
        START_HINT,
        economics_figure,
        market_share_figure,
        stage_counts_figure,
    )

    m = TeachingModel()
    for make in (stage_counts_figure, market_share_figure, economics_figure):
        ax = make(m).axes[0]
        assert START_HINT in [t.get_text() for t in ax.texts], make.__name__
    lo, hi = economics_figure(m).axes[0].get_ylim()
    revenue = sum(a.wallet * a.shares[0] for a in m.accounts) / 4
    assert lo == 0 and revenue <= hi <= 4 * revenue
    m.step()
    for make in (stage_counts_figure, market_share_figure, economics_figure):
        assert START_HINT not in [t.get_text() for t in make(m).axes[0].texts]


def test_launch_silences_solaras_cookie_warning_only() -> None:
    """quiet_solara() drops Solara's samesite warning and no other warning."""
    import warnings

    from kamsim.viz import SOLARA_COOKIE_WARNING, quiet_solara

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        quiet_solara()
        for text in (f"{SOLARA_COOKIE_WARNING}, but ...", "another warning"):
            warnings.warn_explicit(
                text, UserWarning, "starlette.py", 621, module="solara.server.starlette"
            )
        warnings.warn_explicit(
            f"{SOLARA_COOKIE_WARNING}, but ...", UserWarning, "x.py", 1, module="other"
        )
    assert [str(w.message) for w in seen] == [
        "another warning",
        f"{SOLARA_COOKIE_WARNING}, but ...",
    ]
