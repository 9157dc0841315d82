"""The SolaraViz teaching page: one market of key accounts, quarter by quarter.

The page shows a :class:`TeachingModel` (a :class:`kamsim.KAMModel` that accepts the
seed as text from an input box) with Mesa's SolaraViz: controls for the number of
accounts, the KAM budget, the investment policy, the share of accounts willing to
partner and the seed (they take effect on *Reset*, as in every Mesa page); Step /
Play / Reset; and four live views:

* **Portfolio board** - one tile per account slot, coloured by stage, with its trust
  bar, share of wallet and quarterly revenue, and the current quarter on top;
* **Stage counts** - accounts per stage over time, stacked;
* **Stage ladder** - every account at (trust, share of wallet): share of wallet is set
  by the stage, so the accounts sit on four rungs; ticks mark the trust an account
  needs to climb to the next rung and the trust below which it falls back;
* **Revenue and profit** per quarter (k€), with the KAM investment.

Run it with ``kamsim viz`` (or :func:`kamsim.viz.launch`), or display :data:`page`
in a Jupyter cell.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import numpy as np
import solara
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from mesa.visualization import SolaraViz
from mesa.visualization.user_param import Slider

from kamsim import rules
from kamsim.model import KAMModel
from kamsim.policies import POLICIES, Observation

__all__ = [
    "COMPONENTS",
    "DEFAULTS",
    "STAGE_COLORS",
    "STAGE_NAMES",
    "TITLE",
    "TeachingModel",
    "TeachingPage",
    "model_params",
    "page",
    "parse_seed",
]

#: Title shown in the page's app bar.
TITLE = "kamsim · the four stages of key account management"

#: Stage names, tactical first (index = stage - 1).
STAGE_NAMES = ("tactical", "cooperative", "interdependent", "strategic")

#: One colour per stage, light (arm's length) to dark (strategic partnership).
STAGE_COLORS = ("#b0bec5", "#4fc3f7", "#1e88e5", "#1a237e")

#: Colour of vacant slots (the relationship has ended).
VACANT_COLOR = "#eeeeee"

#: Initial values of the page's controls.
DEFAULTS: dict[str, Any] = {
    "n_accounts": 20,
    "budget": 100.0,
    "policy": "uniform",
    "share_willing": 0.6,
    "rng": "42",
}

_STAGE_COLUMNS = tuple(f"n_{name}" for name in STAGE_NAMES)


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
    """A :class:`kamsim.KAMModel` whose seed may come as text from the page's seed box.

    Args:
        n_accounts: number of key accounts (the page offers 5-50).
        policy: investment policy name (any key of :data:`kamsim.POLICIES`) or callable.
        rng: the seed: an int, a string of digits, ``""``/None for a random seed.
            Anything else runs with a random seed and sets :attr:`seed_warning`.
        scenario: accepted and ignored (Mesa's SolaraViz passes a default scenario on
            Reset; kamsim's parameters are ``param_overrides``).
        **param_overrides: any :class:`kamsim.ModelParams` field, e.g. ``budget``.

    Attributes:
        seed: the seed used (None when random).
        seed_warning: message shown on the page when the seed text was invalid.
    """

    def __init__(
        self,
        *,
        n_accounts: int = DEFAULTS["n_accounts"],
        policy: str | Callable[[Observation, float], np.ndarray] = DEFAULTS["policy"],
        rng: Any = DEFAULTS["rng"],
        scenario: Any = None,
        **param_overrides: Any,
    ) -> None:
        # SolaraViz's Reset passes Mesa's default ``scenario``; kamsim keeps all its
        # parameters in ModelParams and the seed in ``rng``, so it is not used.
        del scenario
        seed, warning = parse_seed(rng)
        super().__init__(n_accounts=n_accounts, policy=policy, rng=seed, **param_overrides)
        self.seed = seed
        self.seed_warning = warning


def model_params() -> dict[str, Any]:
    """The page's controls, in SolaraViz's ``model_params`` format.

    The policy list is read from :data:`kamsim.POLICIES` when the page is built, so
    policies registered later (before the page is built) appear too.
    """
    return {
        "n_accounts": Slider(
            "Key accounts (5-50)", DEFAULTS["n_accounts"], 5, 50, 1, dtype=int
        ),
        "budget": Slider(
            "Budget, k€/quarter",
            DEFAULTS["budget"],
            0.0,
            500.0,
            10.0,
            dtype=float,
        ),
        "policy": {
            "type": "Select",
            "value": DEFAULTS["policy"],
            "values": list(POLICIES),
            "label": "Investment policy",
        },
        "share_willing": Slider(
            "Share willing (0-1)",
            DEFAULTS["share_willing"],
            0.0,
            1.0,
            0.05,
            dtype=float,
        ),
        "rng": {
            "type": "InputText",
            "value": DEFAULTS["rng"],
            "label": "Seed (whole number, empty = random)",
        },
    }


# ------------------------------------------------------------------ helpers
def _figure(width: float = 5.6, height: float = 3.3) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return fig


def _style(ax: Any) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#e0e0e0", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=9)


def _history(model: KAMModel) -> Any:
    return model.datacollector.get_model_vars_dataframe()


def _horizon(model: KAMModel) -> int:
    """Right end of the time axis: at least 40 quarters, growing in steps of 20."""
    q = int(model.quarter)
    return max(40, 20 * (q // 20 + 1))


# --------------------------------------------------------------- components
def stage_counts_figure(model: KAMModel) -> Figure:
    """Stacked area of the number of accounts in each stage per quarter."""
    df = _history(model)
    fig = _figure()
    ax = fig.subplots()
    x = np.asarray(df.index, dtype=float)
    ys = [df[c].to_numpy(dtype=float) for c in _STAGE_COLUMNS]
    ax.stackplot(
        x,
        *ys,
        labels=[n.capitalize() for n in STAGE_NAMES],
        colors=STAGE_COLORS,
        step="post",
        alpha=0.95,
    )
    _style(ax)
    ax.set_xlim(0, _horizon(model))
    ax.set_ylim(0, max(model.n_accounts, 1))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("quarter", fontsize=9)
    ax.set_ylabel("accounts", fontsize=9)
    ax.set_title(f"Accounts per stage · quarter {model.quarter}", fontsize=11, loc="left")
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(
        handles[::-1],
        labels[::-1],
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        frameon=False,
    )
    return fig


def economics_figure(model: KAMModel) -> Figure:
    """Revenue, profit and KAM investment per quarter (k€)."""
    df = _history(model).iloc[1:]
    fig = _figure()
    ax = fig.subplots()
    x = np.asarray(df.index, dtype=float)
    ax.plot(x, df["revenue"], color="#1e88e5", lw=2, label="revenue")
    ax.plot(x, df["profit"], color="#2e7d32", lw=2, label="profit")
    ax.plot(x, df["investment"], color="#ef6c00", lw=1.2, ls="--", label="KAM investment")
    ax.axhline(0.0, color="#9e9e9e", lw=0.8)
    _style(ax)
    ax.set_xlim(0, _horizon(model))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("quarter", fontsize=9)
    ax.set_ylabel("k€ per quarter", fontsize=9)
    total = float(df["profit"].sum()) if len(df) else 0.0
    ax.set_title(
        f"Revenue and profit · cumulative profit {total:,.0f} k€", fontsize=11, loc="left"
    )
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return fig


def ladder_figure(model: KAMModel) -> Figure:
    """Every live account at (trust, share of wallet), coloured by stage.

    Share of wallet is fixed per stage, so accounts sit on four rungs. On each rung a
    dark tick marks the trust needed to climb (``trust_to_advance``) and a red tick
    the trust below which the account falls back (threshold minus ``hysteresis``).
    Marker area grows with the account's quarterly revenue; hollow markers are
    accounts that will never partner (unwilling), whatever is invested.
    """
    p = model.params
    t = rules.stage_tables(p)
    fig = _figure()
    ax = fig.subplots()
    sow = np.asarray(p.share_of_wallet, dtype=float)
    for i, name in enumerate(STAGE_NAMES):
        y = sow[i]
        ax.axhline(y, color=STAGE_COLORS[i], lw=6, alpha=0.18, zorder=0)
        ax.text(
            1.01,
            y,
            name,
            va="center",
            ha="left",
            fontsize=8,
            color="#424242",
            transform=ax.get_yaxis_transform(),
        )
        up, down = t.trust_up[i], t.trust_down[i]
        if np.isfinite(up):
            ax.plot([up, up], [y - 0.05, y + 0.05], color="#212121", lw=1.5, zorder=1)
        if np.isfinite(down):
            ax.plot([down, down], [y - 0.05, y + 0.05], color="#c62828", lw=1.5, zorder=1)
    accounts = model.accounts
    if accounts:
        trust = np.array([a.trust for a in accounts], dtype=float)
        stage = np.array([int(a.stage) for a in accounts])
        share = sow[stage - 1]
        revenue = np.array([a.revenue for a in accounts], dtype=float)
        willing = np.array([bool(a.willing) for a in accounts])
        ref = max(float(np.max(revenue)), 1e-9)
        size = 25.0 + 260.0 * np.sqrt(np.maximum(revenue, 0.0) / ref)
        colors = np.array(STAGE_COLORS)[stage - 1]
        ax.scatter(
            trust[willing],
            share[willing],
            s=size[willing],
            c=colors[willing],
            edgecolors="#263238",
            linewidths=0.6,
            zorder=3,
        )
        ax.scatter(
            trust[~willing],
            share[~willing],
            s=size[~willing],
            facecolors="white",
            edgecolors=colors[~willing],
            linewidths=1.6,
            zorder=3,
        )
    _style(ax)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("trust", fontsize=9)
    ax.set_ylabel("share of wallet", fontsize=9)
    ax.set_title(
        "Stage ladder · black tick: climb, red tick: fall back", fontsize=11, loc="left"
    )
    return fig


def board_html(model: TeachingModel | KAMModel) -> str:
    """HTML of the portfolio board: header with the quarter, then one tile per slot."""
    counts = [sum(1 for a in model.accounts if int(a.stage) == s) for s in range(1, 5)]
    ended = len(model.ended_accounts)
    seed = getattr(model, "seed", None)
    warning = getattr(model, "seed_warning", None)
    legend = "".join(
        f'<span class="kam-chip" style="background:{STAGE_COLORS[i]};'
        f'color:{"#fff" if i >= 2 else "#102027"}">{STAGE_NAMES[i]} {counts[i]}</span>'
        for i in range(4)
    )
    tiles = []
    for acc in model.supplier.slots:
        if not acc.active:
            tiles.append(
                f'<div class="kam-tile kam-vacant" title="slot {acc.slot}: relationship '
                f'ended ({acc.end_cause.name.lower()})"><div class="kam-top">'
                f"<b>#{acc.slot + 1}</b><span>ended</span></div></div>"
            )
            continue
        i = int(acc.stage) - 1
        fg = "#fff" if i >= 2 else "#102027"
        unwilling = "" if acc.willing else " · never partners"
        tip = html.escape(
            f"account #{acc.slot + 1}: {STAGE_NAMES[i]}, trust {acc.trust:.2f}, "
            f"share of wallet {acc.share_of_wallet:.0%}, revenue {acc.revenue:,.0f} k€"
            f"/quarter{unwilling}"
        )
        tiles.append(
            f'<div class="kam-tile" title="{tip}" style="background:{STAGE_COLORS[i]};'
            f'color:{fg}{";border:2px dashed #546e7a" if not acc.willing else ""}">'
            f'<div class="kam-top"><b>#{acc.slot + 1}</b>'
            f"<span>{acc.revenue:,.0f} k€</span></div>"
            f'<div class="kam-bar"><div style="width:{100 * acc.trust:.0f}%"></div></div>'
            f"<span>trust {acc.trust:.2f} · SoW {acc.share_of_wallet:.0%}</span></div>"
        )
    seed_text = f"seed {seed}" if seed is not None else "random seed"
    q = int(model.quarter)
    when = "(start)" if q == 0 else f"(year {(q - 1) // 4 + 1}, Q{(q - 1) % 4 + 1})"
    warn = f'<div class="kam-warn">{html.escape(warning)}</div>' if warning else ""
    return f"""
<style>
.kam-root {{height:100%; overflow-y:auto}}
.kam-board {{font-family: Roboto, Arial, sans-serif; color:#263238; padding-right:4px}}
.kam-quarter {{font-size:22px; font-weight:600; margin:0 0 2px 0}}
.kam-sub {{font-size:12px; color:#546e7a; margin-bottom:6px}}
.kam-chip {{display:inline-block; padding:1px 8px; margin:0 4px 4px 0; border-radius:10px;
  font-size:12px}}
.kam-grid {{display:grid; grid-template-columns:repeat(auto-fill, minmax(104px, 1fr));
  gap:4px; margin-top:4px}}
.kam-tile {{border-radius:6px; padding:3px 5px; font-size:10px; line-height:1.25;
  display:flex; flex-direction:column; box-sizing:border-box}}
.kam-tile b {{font-size:11px}}
.kam-top {{display:flex; justify-content:space-between}}
.kam-vacant {{background:{VACANT_COLOR}; color:#9e9e9e; border:1px dashed #bdbdbd}}
.kam-bar {{height:4px; background:rgba(255,255,255,.45); border-radius:2px; margin:2px 0}}
.kam-bar div {{height:4px; background:#ffb300; border-radius:2px}}
.kam-note {{font-size:11px; color:#78909c; margin:2px 0}}
.kam-warn {{background:#fff3e0; color:#bf360c; padding:4px 8px; border-radius:4px;
  font-size:12px; margin-bottom:4px}}
</style>
<div class="kam-board">
  <div class="kam-quarter" data-quarter="{model.quarter}">Quarter {model.quarter}
    <span style="font-size:14px;font-weight:400;color:#546e7a">{when}</span></div>
  <div class="kam-sub">policy <b>{html.escape(model.supplier.policy_name)}</b> · budget
    {model.params.budget:,.0f} k€/quarter · {model.n_accounts} accounts ·
    {model.params.share_willing:.0%} willing · {seed_text} · {ended} ended</div>
  {warn}
  <div>{legend}</div>
  <div class="kam-note">Tiles: yellow bar = trust; dashed border = never partners.
    Move a control on the left, then press Reset to start a new market.</div>
  <div class="kam-grid">{"".join(tiles)}</div>
</div>"""


def PortfolioBoard(model: KAMModel) -> Any:
    """Board of all account slots with the current quarter (a SolaraViz component)."""
    return solara.HTML(tag="div", unsafe_innerHTML=board_html(model), classes=["kam-root"])


def StageCounts(model: KAMModel) -> Any:
    """Stacked stage counts over time (a SolaraViz component)."""
    return solara.FigureMatplotlib(stage_counts_figure(model), format="png")


def StageLadder(model: KAMModel) -> Any:
    """Accounts on the trust / share-of-wallet ladder (a SolaraViz component)."""
    return solara.FigureMatplotlib(ladder_figure(model), format="png")


def Economics(model: KAMModel) -> Any:
    """Revenue, profit and investment over time (a SolaraViz component)."""
    return solara.FigureMatplotlib(economics_figure(model), format="png")


#: The page's views as SolaraViz ``(component, page)`` pairs, two per row.
COMPONENTS: list[tuple[Callable[[KAMModel], Any], int]] = [
    (PortfolioBoard, 0),
    (StageCounts, 0),
    (StageLadder, 0),
    (Economics, 0),
]


@solara.component
def TeachingPage(model: solara.Reactive[KAMModel] | KAMModel | None = None) -> Any:
    """The teaching page: SolaraViz with kamsim's controls and views.

    Args:
        model: the model to show, or a ``solara.Reactive`` holding it (tests pass one
            to watch the model that *Reset* creates). By default each browser session
            gets its own fresh :class:`TeachingModel` with the controls' defaults.
    """
    fresh = solara.use_memo(lambda: TeachingModel(**DEFAULTS), [])
    shown: Any = fresh if model is None else model
    return SolaraViz(
        shown,
        components=COMPONENTS,
        model_params=model_params(),
        name=TITLE,
        play_interval=250,
    )


#: The page element: ``solara run kamsim.viz.app:page``, or display it in Jupyter.
page = TeachingPage()
