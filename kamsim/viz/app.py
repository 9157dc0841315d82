"""The teaching page: a market of suppliers courting the same key accounts.

The page shows a :class:`TeachingModel` (a :class:`kamsim.KAMModel` that stops at a
horizon of 40 quarters and accepts its seed as text) in the layout of Mesa's
SolaraViz: a sidebar with Reset / Play / Step and the controls of the next market,
and four live views (see :mod:`kamsim.viz.views`):

* **Market board** - one stacked bar per account: every supplier's share of its
  wallet, coloured by the stage of that supplier's relationship;
* **Your relationships per stage** over time, stacked;
* **Market share** of every supplier over time;
* **Your revenue and profit** per quarter (k€), with the KAM investment.

The page is composed from Solara directly rather than with ``mesa.visualization.
SolaraViz``, whose sidebar always shows Mesa's own controls (play and render
intervals, threads, raw time, a page tab) and labels its play button with a glyph;
it keeps SolaraViz's conventions (controls apply on *Reset*, views redraw through
Mesa's ``update_counter``).

Run it with ``kamsim viz`` (or :func:`kamsim.viz.launch`), or display :data:`page`
in a Jupyter cell.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import solara
import solara.lab
from matplotlib.figure import Figure
from mesa.visualization.utils import force_update, update_counter

from kamsim.agents.model import KAMModel
from kamsim.model.params import ParameterError
from kamsim.policies.registry import POLICIES
from kamsim.viz.views import (
    BOARD_CSS,
    HORIZON,
    economics_figure,
    market_html,
    market_share_figure,
    stage_counts_figure,
)

__all__ = [
    "DEFAULTS",
    "HORIZON",
    "PLAY_INTERVAL",
    "SLIDERS",
    "SPEEDS",
    "TITLE",
    "SliderSpec",
    "TeachingModel",
    "TeachingPage",
    "chart_quarter",
    "page",
    "parse_seed",
    "selects",
]

#: Title shown in the page's app bar.
TITLE = "kamsim · key accounts in a market of suppliers"

#: Pause between two quarters while playing (seconds).
PLAY_INTERVAL = 0.15
#: Play's speeds: label -> seconds between quarters (the page's "Speed" buttons).
SPEEDS = {"slow": 1.0, "normal": 0.5, "fast": PLAY_INTERVAL}
#: The speed Play starts with.
DEFAULT_SPEED = "normal"

#: The page's starting market. ``stage_gated`` with 150 k€ a quarter against two
#: ``stage_gated`` rivals with the model's 100 k€: your relationships reach all four
#: stages within the 40 quarters with seed 42 and with most seeds
#: (tests/test_viz.py measures the share).
DEFAULTS: dict[str, Any] = {
    "policy": "stage_gated",
    "budget": 150.0,
    "rivals": 2,
    "rival_policy": "stage_gated",
    "n_accounts": 20,
    "share_willing": 0.6,
    "rng": "42",
}


def parse_seed(text: Any) -> tuple[int | None, str | None]:
    """Turn the seed box's content into a seed.

    Args:
        text: what the user typed (a string), an int, or None.

    Returns:
        ``(seed, warning)``: the seed (an int >= 0, or None for a fresh random seed
        when the box is empty) and None, or ``(None, message)`` when the text is not a
        whole number >= 0; the page shows the message and runs with a random seed.
    """
    if text is None:
        return None, None
    if isinstance(text, (int, np.integer)) and not isinstance(text, bool):
        if text >= 0:
            return int(text), None
        return None, f"'seed' must be a whole number >= 0: {text!r}; using a random seed"
    s = str(text).strip().replace("_", "")
    if s == "":
        return None, None
    if s.isdigit():
        return int(s), None
    return None, f"'seed' must be a whole number >= 0: {text!r}; using a random seed"


class TeachingModel(KAMModel):
    """A :class:`kamsim.KAMModel` for the page: it stops at a horizon, seeds from text.

    Its defaults are the page's starting market (:data:`DEFAULTS`).

    Args:
        policy: your (the focal supplier's) policy name or callable.
        budget: your KAM budget (k€ per quarter).
        rivals: number of rival suppliers.
        rival_policy: the rivals' policy.
        n_accounts: number of key accounts.
        rng: the seed: an int, a string of digits, ``""``/None for a random seed.
            Anything else runs with a random seed and sets :attr:`seed_warning`.
        horizon: quarters after which the model stops (``running`` becomes False).
        **kwargs: any other :class:`kamsim.KAMModel` argument or
            :class:`kamsim.ModelParams` field, e.g. ``share_willing``.

    Attributes:
        seed: the seed used (None when random).
        seed_warning: message shown on the page when the seed text was invalid.
        horizon: the last quarter of the run.

    Raises:
        ParameterError: for a horizon that is not an integer >= 1, or any invalid
            model argument.
    """

    def __init__(
        self,
        *,
        policy: Any = DEFAULTS["policy"],
        budget: float = DEFAULTS["budget"],
        rivals: int = DEFAULTS["rivals"],
        rival_policy: Any = DEFAULTS["rival_policy"],
        n_accounts: int = DEFAULTS["n_accounts"],
        rng: Any = DEFAULTS["rng"],
        horizon: int = HORIZON,
        **kwargs: Any,
    ) -> None:
        if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
            raise ParameterError(f"'horizon' must be an integer >= 1: {horizon!r}")
        seed, warning = parse_seed(rng)
        super().__init__(
            n_accounts=n_accounts,
            policy=policy,
            rivals=rivals,
            rival_policy=rival_policy,
            rng=seed,
            budget=budget,
            **kwargs,
        )
        self.seed = seed
        self.seed_warning = warning
        self.horizon = horizon

    def step(self) -> None:
        """Advance one quarter; stop running once the horizon is reached."""
        super().step()
        if self.quarter >= self.horizon:
            self.running = False


# ---------------------------------------------------------------------- controls
@dataclass(frozen=True)
class SliderSpec:
    """A slider of the page: its label, range and how its value is shown.

    Attributes:
        label: text before the value, e.g. ``"Key accounts"``.
        lo: smallest value.
        hi: largest value.
        step: increment.
        fmt: format of the value shown next to the label, e.g. ``"{:.0%}"``.
        integer: whether the value is an int (else a float).
    """

    label: str
    lo: float
    hi: float
    step: float
    fmt: str
    integer: bool = False

    def text(self, value: Any) -> str:
        """The slider's label with its current value, e.g. ``'Key accounts: 20'``."""
        return f"{self.label}: {self.fmt.format(value)}"


#: The page's sliders by :class:`TeachingModel` argument, in sidebar order.
SLIDERS: dict[str, SliderSpec] = {
    "budget": SliderSpec("Your KAM budget", 0, 500, 10, "{:.0f} k€/quarter"),
    "rivals": SliderSpec("Rival suppliers", 0, 4, 1, "{:d}", integer=True),
    "n_accounts": SliderSpec("Key accounts", 5, 50, 1, "{:d}", integer=True),
    "share_willing": SliderSpec("Open to partnership", 0, 1, 0.05, "{:.0%} of accounts"),
}


def selects() -> dict[str, tuple[str, list[str]]]:
    """The page's policy selectors: argument -> (label, choices).

    The choices are read from :data:`kamsim.POLICIES` when the page is rendered, so
    policies registered before then appear too.
    """
    names = list(POLICIES)
    return {"policy": ("Your policy", names), "rival_policy": ("Rivals' policy", names)}


@solara.component
def MarketControls(settings: solara.Reactive[dict[str, Any]]) -> None:
    """Controls of the next market: selectors, sliders (value shown) and the seed."""

    def setter(name: str) -> Callable[[Any], None]:
        return lambda value: settings.set({**settings.value, name: value})

    values = settings.value
    (policy_label, names) = selects()["policy"]
    solara.Select(
        policy_label, values=names, value=values["policy"], on_value=setter("policy")
    )
    _slider("budget", values, setter)
    _slider("rivals", values, setter)
    rival_label, rival_names = selects()["rival_policy"]
    solara.Select(
        rival_label,
        values=rival_names,
        value=values["rival_policy"],
        on_value=setter("rival_policy"),
        disabled=values["rivals"] == 0,
    )
    _slider("n_accounts", values, setter)
    _slider("share_willing", values, setter)
    solara.InputText(
        "Seed (whole number, empty = random)",
        value=str(values["rng"]),
        on_value=setter("rng"),
    )


def _slider(
    name: str, values: dict[str, Any], setter: Callable[[str], Callable[[Any], None]]
) -> None:
    spec = SLIDERS[name]
    label, value, on_value = spec.text(values[name]), values[name], setter(name)
    if spec.integer:
        lo, hi, step = int(spec.lo), int(spec.hi), int(spec.step)
        solara.SliderInt(label, value, lo, hi, step, on_value, thumb_label=False)
    else:
        lo_f, hi_f, step_f = spec.lo, spec.hi, spec.step
        solara.SliderFloat(label, value, lo_f, hi_f, step_f, on_value, thumb_label=False)


@solara.component
def RunControls(
    model: solara.Reactive[TeachingModel],
    settings: solara.Reactive[dict[str, Any]],
    playing: solara.Reactive[bool],
) -> None:
    """Reset / Play-Pause / Step and Play's speed; Play stops when the model stops."""
    update_counter.get()
    error = solara.use_reactive(cast(str | None, None))
    speed = solara.use_reactive(DEFAULT_SPEED)

    def play() -> None:
        # A Pause then Play starts a new call; an older one stops at its next check.
        try:
            while playing.value and model.value.running and task.is_current():
                time.sleep(SPEEDS.get(speed.value, PLAY_INTERVAL))
                if not (playing.value and task.is_current()):
                    return
                model.value.step()
                force_update()
        except Exception as exc:  # shown on the page, as Mesa's controller does
            error.set(f"error in step: {exc}")
        if task.is_current():
            playing.set(False)

    task = solara.lab.use_task(play, dependencies=[playing.value], prefer_threaded=True)

    def step() -> None:
        model.value.step()
        force_update()

    def reset() -> None:
        playing.set(False)
        error.set(None)
        try:
            model.set(TeachingModel(**settings.value))
        except ParameterError as exc:
            error.set(str(exc))
        force_update()

    running = model.value.running
    with solara.Row(justify="space-between", classes=["kam-run"]):
        solara.Button("Reset", color="primary", outlined=True, on_click=reset)
        solara.Button(
            "Pause" if playing.value else "Play",
            color="primary",
            on_click=lambda: playing.set(not playing.value),
            disabled=not running,
        )
        solara.Button(
            "Step", color="primary", on_click=step, disabled=playing.value or not running
        )
    with solara.Row(classes=["kam-speed"]):
        solara.Text("Speed")
        solara.ToggleButtonsSingle(value=speed, values=list(SPEEDS), dense=True)
    if not running:
        solara.Info(
            f"Run complete: {model.value.quarter} quarters. Press Reset for a new market.",
            dense=True,
            icon=False,
        )
    if error.value:
        solara.Error(error.value)


# ------------------------------------------------------------------------- views
@solara.component
def MarketBoard(model: KAMModel) -> None:
    """The market board: one stacked share-of-wallet bar per account."""
    update_counter.get()
    solara.HTML(tag="div", unsafe_innerHTML=market_html(model), classes=["kam-root"])


def chart_quarter(quarter: int, playing: bool) -> int:
    """The quarter the charts show: the current one, or the last year end while playing.

    While playing, the board moves every quarter and the charts (slower to draw)
    every four quarters; when stopped they always show the current quarter.
    """
    return quarter - quarter % 4 if playing else quarter


def _png(figure: Figure) -> bytes:
    buf = io.BytesIO()
    figure.savefig(buf, format="png")
    return buf.getvalue()


@solara.component
def Chart(model: KAMModel, make: Callable[[KAMModel], Figure], name: str, key: int) -> None:
    """One chart as a PNG, redrawn when the model or ``key`` changes (a live view)."""
    png = solara.use_memo(lambda: _png(make(model)), [model, key])
    with solara.Div(classes=["kam-chart", f"kam-{name}"]):
        solara.Image(png, format="png")


_CSS = """
.kam-page {font-family:Roboto, Arial, sans-serif}
.kam-appbar {background:#1976d2; color:#fff; font-size:19px; font-weight:500;
  padding:12px 18px; border-radius:4px; box-shadow:0 2px 4px rgba(0,0,0,.2)}
.kam-body {display:flex; align-items:flex-start; gap:10px; padding:10px}
.kam-side {flex:0 0 270px; display:flex; flex-direction:column; gap:10px}
.kam-side .v-card__title {font-size:16px; padding:10px 12px 4px 12px}
.kam-side .v-card__subtitle {padding:0 12px 4px 12px}
.kam-main {flex:1 1 auto; min-width:0; display:grid;
  grid-template-columns:minmax(0,1.25fr) minmax(0,1fr); gap:10px; align-items:start}
.kam-col {display:flex; flex-direction:column; gap:10px; min-width:0}
.kam-chart img {width:100%; max-width:480px; height:auto; display:block; margin:auto}
.kam-card {background:#fff; border-radius:6px; box-shadow:0 1px 3px rgba(0,0,0,.15);
  padding:6px}
.kam-controls .v-input__slot {flex-wrap:wrap}
.kam-controls .v-input__slot > .v-label {flex:0 0 100%; margin-bottom:-4px;
  font-size:13px}
.kam-controls .v-input {margin-top:2px}
.kam-run .v-btn {min-width:72px !important}
@media (max-width: 1100px) {.kam-side {flex-basis:250px}
  .kam-main {grid-template-columns:minmax(0,1fr) minmax(0,1fr)}
  .kam-rows.kam-two {grid-template-columns:minmax(0,1fr) !important}
  .kam-rows.kam-two > .kam-head:nth-child(2) {display:none}
  .kam-suppliers {grid-template-columns:minmax(0,1fr)}}
@media (max-width: 860px) {.kam-main {grid-template-columns:minmax(0,1fr)}}
@media (max-width: 700px) {.kam-body {flex-direction:column} .kam-side {flex:none}}
"""


@solara.component
def TeachingPage(model: solara.Reactive[KAMModel] | KAMModel | None = None) -> None:
    """The teaching page: title bar, sidebar with the controls, and the live views.

    Args:
        model: the model to show, or a ``solara.Reactive`` holding it (tests pass one
            to watch the model that *Reset* creates). By default each browser session
            gets its own fresh :class:`TeachingModel` with the page's defaults.
    """

    def initial() -> KAMModel | None:
        if isinstance(model, solara.Reactive):
            return None
        return TeachingModel() if model is None else model

    own = solara.use_reactive(solara.use_memo(initial, []))
    shown: Any = model if isinstance(model, solara.Reactive) else own
    settings = solara.use_reactive(dict(DEFAULTS))
    playing = solara.use_reactive(False)
    solara.Title("kamsim teaching page")
    solara.Style(BOARD_CSS + _CSS)
    with solara.Div(classes=["kam-page"]):
        solara.HTML(tag="header", unsafe_innerHTML=TITLE, classes=["kam-appbar"])
        with solara.Div(classes=["kam-body"]):
            with solara.Div(classes=["kam-side"]):
                with solara.Card("Run", margin=0):
                    RunControls(shown, settings, playing)
                with solara.Card(
                    "Next market",
                    subtitle="applies on Reset",
                    margin=0,
                    classes=["kam-controls"],
                ):
                    MarketControls(settings)
            Views(shown.value, playing.value)


@solara.component
def Views(model: KAMModel, playing: bool) -> None:
    """The board on the left, the three charts on the right (one column if narrow)."""
    update_counter.get()
    key = chart_quarter(int(model.quarter), playing)
    with solara.Div(classes=["kam-main"]):
        with solara.Div(classes=["kam-col"]):
            with solara.Div(classes=["kam-card"]):
                MarketBoard(model)
        with solara.Div(classes=["kam-col"]):
            for make, name in (
                (stage_counts_figure, "stages"),
                (market_share_figure, "shares"),
                (economics_figure, "economics"),
            ):
                with solara.Div(classes=["kam-card"]):
                    Chart(model, make, name, key)


#: The page element: ``solara run kamsim.viz.app:page``, or display it in Jupyter.
page = TeachingPage()
