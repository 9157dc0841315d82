"""What the teaching page draws: pure functions of a :class:`kamsim.KAMModel`.

Nothing here imports Solara; every function takes a model and returns HTML text or a
Matplotlib :class:`~matplotlib.figure.Figure`, so the views can be tested (and reused
in notebooks) without a browser.

* :func:`market_html` - the market board: one stacked bar per account, one segment
  per supplier (its share of the account's wallet, coloured by the stage of that
  supplier's relationship), then the rest of the market;
* :func:`stage_counts_figure` - your relationships per stage over time, stacked;
* :func:`market_share_figure` - every supplier's market share over time;
* :func:`economics_figure` - your revenue, profit and KAM investment per quarter.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from kamsim.agents.agents import KeyAccount, Supplier
from kamsim.agents.model import KAMModel

__all__ = [
    "BOARD_CSS",
    "COLUMN_HEADER",
    "FOCAL_COLOR",
    "HORIZON",
    "REST_COLOR",
    "RIVAL_COLORS",
    "STAGE_COLORS",
    "STAGE_NAMES",
    "economics_figure",
    "market_html",
    "market_share_figure",
    "stage_counts_figure",
    "supplier_label",
    "supplier_tag",
]

#: Quarters the page runs: 40 quarters = 10 years.
HORIZON = 40

#: Stage names, tactical first (index = stage - 1).
STAGE_NAMES = ("tactical", "cooperative", "interdependent", "strategic")

#: One colour per stage, light (arm's length) to dark (strategic partnership).
STAGE_COLORS = ("#b0bec5", "#4fc3f7", "#1e88e5", "#1a237e")

#: Colour that marks the focal supplier ("you"): segment frame and chart line.
FOCAL_COLOR = "#ef6c00"

#: Line colours of rivals 1, 2, ... in the market-share chart (cycled beyond).
RIVAL_COLORS = ("#6a1b9a", "#00897b", "#5d4037", "#c2185b")

#: Colour of the rest of the market (suppliers not modelled).
REST_COLOR = "#eceff1"

#: Style sheet of :func:`market_html` (the page includes it once).
BOARD_CSS = """
.kam-board {font-family:Roboto, Arial, sans-serif; color:#263238}
.kam-quarter {font-size:20px; font-weight:600}
.kam-when {font-size:13px; font-weight:400; color:#546e7a}
.kam-done {font-size:12px; font-weight:500; color:#fff; background:#2e7d32;
  border-radius:8px; padding:1px 8px; margin-left:8px; vertical-align:middle}
.kam-sub, .kam-note {font-size:11px; color:#607d8b; margin:1px 0 3px 0}
.kam-warn {background:#fff3e0; color:#bf360c; padding:3px 8px; border-radius:4px;
  font-size:12px; margin:3px 0}
.kam-legend {display:flex; flex-wrap:wrap; gap:2px 10px; font-size:11px;
  align-items:center; margin:2px 0}
.kam-suppliers {display:grid; grid-template-columns:repeat(2, minmax(0,1fr))}
.kam-sup {display:inline-flex; align-items:center; gap:4px; white-space:nowrap}
.kam-key {display:inline-block; min-width:22px; height:14px; line-height:14px;
  font-size:9px; text-align:center; background:#b0bec5; border-radius:2px}
.kam-caption {color:#607d8b}
.kam-chip {display:inline-block; padding:0 6px; border-radius:8px; font-size:10px}
.kam-rows {display:grid; gap:2px 14px; margin-top:4px}
.kam-row, .kam-head {display:grid; grid-template-columns:28px minmax(0,1fr) 52px;
  gap:4px; align-items:center; height:20px}
.kam-head {height:auto; font-size:10px; color:#607d8b; line-height:12px;
  border-bottom:1px solid #cfd8dc; padding-bottom:2px}
.kam-head .kam-lead {font-size:10px; color:#607d8b; white-space:normal}
.kam-slot {font-size:11px; color:#607d8b; text-align:right}
.kam-stack {display:flex; height:16px; border-radius:2px; overflow:hidden;
  background:#eceff1}
.kam-unwilling .kam-stack {outline:1px dashed #90a4ae; outline-offset:1px}
.kam-seg {height:100%; font-size:10px; line-height:16px; text-align:center;
  overflow:hidden; white-space:nowrap; border-right:1px solid #fff;
  box-sizing:border-box; container-type:inline-size}
@container (max-width: 24px) {.kam-tag {display:none}}
.kam-you {box-shadow:inset 0 0 0 2px #ef6c00; font-weight:700}
.kam-rest {background:#eceff1; border-right:none}
.kam-empty {font-size:10px; color:#9e9e9e; line-height:14px; padding-left:6px;
  background:#fafafa; border:1px dashed #cfd8dc}
.kam-lead {font-size:11px; color:#455a64; text-align:right; white-space:nowrap}
.kam-star {color:#ef6c00; font-weight:700}
"""

_STAGE_COLUMNS = tuple(f"n_{name}" for name in STAGE_NAMES)

#: The board's column header (one per column of rows): what the bar and the
#: right-hand number are, and what ``-`` there means.
COLUMN_HEADER = (
    '<div class="kam-head"><span class="kam-slot">acct</span>'
    "<span>share of the account's spend: you, rivals, rest of the market</span>"
    '<span class="kam-lead" title="your share of the account\'s spend; ★ the '
    'largest of any supplier; - no relationship with you">your share</span></div>'
)


def supplier_tag(index: int) -> str:
    """Short name of supplier ``index`` on the bars: ``'you'``, ``'R1'``, ``'R2'``..."""
    return "you" if index == 0 else f"R{index}"


def supplier_label(supplier: Supplier) -> str:
    """Legend name of a supplier, e.g. ``'rival 1: stage_gated, 100 k€/quarter'``."""
    who = "you" if supplier.index == 0 else f"rival {supplier.index}"
    return f"{who}: {supplier.policy_name}, {supplier.budget:,.0f} k€/quarter"


def _rival_color(index: int) -> str:
    return RIVAL_COLORS[(index - 1) % len(RIVAL_COLORS)]


def _round_up(value: float) -> float:
    """``value`` rounded up to 1, 2 or 5 times a power of ten (at least 10)."""
    value = max(value, 10.0)
    power = 10.0 ** np.floor(np.log10(value))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= value))


def _revenue_scale(model: KAMModel) -> float:
    """A quarter's revenue at the starting shares, and the budget, whichever is larger.

    The top of the revenue chart before the first quarter (k€).
    """
    revenue = sum(acc.wallet * float(acc.shares[0]) for acc in model.accounts) / 4
    return max(float(revenue), float(model.suppliers[0].budget))


def _horizon(model: KAMModel) -> int:
    return max(int(getattr(model, "horizon", HORIZON)), int(model.quarter))


# ------------------------------------------------------------------ market board
def _segment(acc: KeyAccount, index: int, share: float, stage: int) -> str:
    """One supplier's segment of an account's bar (empty when it has no share)."""
    if stage <= 0 or share <= 0.0:
        return ""
    tag = supplier_tag(index)
    i = stage - 1
    tip = html.escape(
        f"account #{acc.slot + 1} · {tag}: {STAGE_NAMES[i]}, {share:.0%} of the wallet"
    )
    fg = "#fff" if i >= 2 else "#102027"
    you = " kam-you" if index == 0 else ""
    # a rival's colour (as in the Market share chart) along the segment's foot names
    # it when the segment is too narrow for its tag (the tag is hidden below 24 px)
    stripe = "" if index == 0 else f"box-shadow:inset 0 -3px 0 {_rival_color(index)};"
    return (
        f'<div class="kam-seg{you}" data-supplier="{index}" data-stage="{stage}" '
        f'title="{tip}" style="width:{100 * share:.2f}%;background:{STAGE_COLORS[i]};'
        f'color:{fg};{stripe}"><span class="kam-tag">{tag}</span></div>'
    )


def _lead(acc: KeyAccount) -> str:
    """Right-hand cell: your share, starred when it is the largest of any supplier."""
    shares = acc.shares
    mine = float(shares[0])
    if acc.stages[0] <= 0:
        return '<span class="kam-lead kam-none" title="no relationship with you">-</span>'
    star = len(shares) == 1 or mine > float(np.max(shares[1:]))
    mark = "★ " if star and mine > 0 else ""
    cls = "kam-lead kam-star" if mark else "kam-lead"
    return f'<span class="{cls}">{mark}{mine:.0%}</span>'


def _account_row(acc: KeyAccount | None, slot: int) -> str:
    """One account's row: its number, its stacked bar and your share."""
    label = f'<span class="kam-slot">#{slot + 1}</span>'
    if acc is None:
        return (
            f'<div class="kam-row kam-vacant" data-slot="{slot}">{label}'
            '<div class="kam-stack kam-empty" title="the account has gone; a new one '
            'takes the slot after the replacement delay">vacant</div>'
            '<span class="kam-lead"></span></div>'
        )
    shares, stages = acc.shares, acc.stages
    segments = [
        _segment(acc, k, float(shares[k]), int(stages[k])) for k in range(len(shares))
    ]
    rest = max(0.0, 1.0 - float(np.sum(shares[stages > 0])))
    tip = html.escape(f"account #{slot + 1} · rest of the market: {rest:.0%}")
    segments.append(
        f'<div class="kam-seg kam-rest" data-supplier="rest" title="{tip}" '
        f'style="width:{100 * rest:.2f}%"></div>'
    )
    unwilling = " kam-unwilling" if not acc.willing else ""
    return (
        f'<div class="kam-row{unwilling}" data-slot="{slot}">{label}'
        f'<div class="kam-stack">{"".join(segments)}</div>{_lead(acc)}</div>'
    )


def _legend(model: KAMModel) -> str:
    """Supplier names (with policy and budget) and the stage colours."""
    chips = []
    for sup in model.suppliers:
        cls = "kam-key kam-you" if sup.index == 0 else "kam-key"
        stripe = (
            ""
            if sup.index == 0
            else f' style="box-shadow:inset 0 -3px 0 {_rival_color(sup.index)}"'
        )
        chips.append(
            f'<span class="kam-sup" data-supplier="{sup.index}"><span class="{cls}"'
            f"{stripe}>{supplier_tag(sup.index)}</span>"
            f"{html.escape(supplier_label(sup))}</span>"
        )
    chips.append(
        '<span class="kam-sup" data-supplier="rest"><span class="kam-key kam-rest">'
        "</span>rest of the market</span>"
    )
    counts = [int(model.record.get(c, 0)) for c in _STAGE_COLUMNS]
    stages = "".join(
        f'<span class="kam-chip" style="background:{STAGE_COLORS[i]};'
        f'color:{"#fff" if i >= 2 else "#102027"}">{STAGE_NAMES[i]} {counts[i]}</span>'
        for i in range(4)
    )
    return (
        f'<div class="kam-legend kam-suppliers">{"".join(chips)}</div>'
        f'<div class="kam-legend"><span class="kam-caption">your stages:</span>'
        f"{stages}</div>"
    )


def _header(model: KAMModel) -> str:
    """Quarter (with year and horizon) and the market's settings."""
    q, horizon = int(model.quarter), _horizon(model)
    when = "start" if q == 0 else f"year {(q - 1) // 4 + 1}, Q{(q - 1) % 4 + 1}"
    seed = getattr(model, "seed", None)
    seed_text = f"seed {seed}" if seed is not None else "random seed"
    warning = getattr(model, "seed_warning", None)
    warn = f'<div class="kam-warn">{html.escape(warning)}</div>' if warning else ""
    done = '<span class="kam-done">end of the run</span>' if not model.running else ""
    return (
        f'<div class="kam-quarter" data-quarter="{q}" data-horizon="{horizon}">'
        f'Quarter {q} <span class="kam-when">of {horizon} · {when}</span>{done}</div>'
        f'<div class="kam-sub">{model.n_accounts} accounts · '
        f"{model.params.share_willing:.0%} open to partnership · {seed_text}</div>{warn}"
    )


def market_html(model: KAMModel) -> str:
    """HTML of the market board: header, legend, then one stacked bar per slot.

    Each bar is one account's wallet: a segment per supplier with a relationship
    (``you`` framed in orange, rivals ``R1``, ``R2``...), as wide as that supplier's
    share of wallet and coloured by the relationship's stage, then the rest of the
    market in grey. The number on the right is your share, starred (★) when it is
    larger than every rival's. Dashed rows are accounts that never partner beyond
    tactical.
    """
    cols = 1 if model.n_accounts <= 25 else 2
    rows = COLUMN_HEADER * cols + "".join(
        _account_row(acc, j) for j, acc in enumerate(model.slots)
    )
    wide = " kam-two" if cols == 2 else ""
    return (
        f'<div class="kam-board">{_header(model)}{_legend(model)}'
        '<div class="kam-note">Each bar is one account\'s spend: a segment per supplier, '
        "coloured by the stage of its relationship; a rival's colour runs along the "
        "foot of its segments (narrow ones have no tag: hover for details). Right: "
        "your share of the account's spend, ★ when it is the largest, "
        "- no relationship with you. Dashed: never partners.</div>"
        f'<div class="kam-rows{wide}" '
        f'style="grid-template-columns:repeat({cols},minmax(0,1fr))">'
        f"{rows}</div></div>"
    )


# ------------------------------------------------------------------------ charts
def _figure(width: float = 4.0, height: float = 2.1) -> Figure:
    """A chart of ``width`` x ``height`` inches at 100 dpi, room for a legend on the right.

    Fixed margins rather than a layout engine: the page redraws while playing.
    """
    fig = Figure(figsize=(width, height), dpi=100)
    # 4 inches: text stays readable in the page's narrow chart column (about 340 px
    # at 1024x768, where the three charts fit above the fold beside the board)
    fig.subplots_adjust(left=0.15, right=0.73, bottom=0.2, top=0.87)
    return fig


def _style(ax: Any, model: KAMModel, title: str) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#e0e0e0", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=8)
    ax.set_xlim(0, _horizon(model))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("quarter", fontsize=8)
    ax.set_title(title, fontsize=10, loc="left")


def _legend_right(ax: Any, handles: list[Any] | None = None, labels: Any = None) -> None:
    h, lab = ax.get_legend_handles_labels()
    ax.legend(
        handles if handles is not None else h,
        labels if labels is not None else lab,
        fontsize=7.5,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        frameon=False,
        handlelength=1.4,
    )


#: What an empty chart says at quarter 0.
START_HINT = "press Step or Play\nto run the market"


def _hint(ax: Any) -> None:
    """The start hint, centred in an empty chart."""
    ax.text(
        0.5,
        0.5,
        START_HINT,
        ha="center",
        va="center",
        transform=ax.transAxes,
        fontsize=9,
        color="#78909c",
    )


def stage_counts_figure(model: KAMModel) -> Figure:
    """Your relationships in each stage per quarter, stacked (tactical at the bottom)."""
    df = model.datacollector.get_model_vars_dataframe()
    fig = _figure()
    ax = fig.subplots()
    x = np.asarray(df.index, dtype=float)
    ys = [df[c].to_numpy(dtype=float) for c in _STAGE_COLUMNS]
    labels = [n.capitalize() for n in STAGE_NAMES]
    ax.stackplot(x, *ys, labels=labels, colors=STAGE_COLORS, step="post", alpha=0.95)
    _style(ax, model, f"Your relationships per stage · quarter {model.quarter}")
    ax.set_ylim(0, max(model.n_accounts, 1))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.set_ylabel("accounts", fontsize=8)
    if len(x) <= 1:  # quarter 0: one point, nothing to stack yet
        _hint(ax)
    h, lab = ax.get_legend_handles_labels()
    _legend_right(ax, h[::-1], lab[::-1])
    return fig


def market_share_figure(model: KAMModel) -> Figure:
    """Each supplier's share of the accounts' combined spend, and the rest's."""
    df = model.datacollector.get_agenttype_vars_dataframe(Supplier)
    df = df.reset_index()
    df = df[df["Step"] > 0]
    wide = df.pivot_table(index="Step", columns="supplier", values="supplier_market_share")
    fig = _figure()
    ax = fig.subplots()
    x = np.asarray(wide.index, dtype=float)
    for sup in model.suppliers:
        if sup.index not in wide.columns:
            continue
        y = wide[sup.index].to_numpy(dtype=float)
        if sup.index == 0:
            ax.plot(x, y, color=FOCAL_COLOR, lw=2.4, label="you", zorder=3)
        else:
            tag = supplier_tag(sup.index)
            ax.plot(x, y, color=_rival_color(sup.index), lw=1.4, label=tag)
    if len(wide.columns):
        rest = 1.0 - wide.sum(axis=1).to_numpy(dtype=float)
        ax.plot(x, rest, color="#9e9e9e", lw=1.2, ls=":", label="rest of\nmarket")
    _style(ax, model, "Market share (of the accounts' spend)")
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    if len(x) == 0:
        _hint(ax)
    _legend_right(ax)
    return fig


def economics_figure(model: KAMModel) -> Figure:
    """Your revenue, profit and KAM investment per quarter (k€)."""
    df = model.datacollector.get_model_vars_dataframe().iloc[1:]
    fig = _figure()
    ax = fig.subplots()
    x = np.asarray(df.index, dtype=float)
    ax.plot(x, df["revenue"], color="#1e88e5", lw=2, label="revenue")
    ax.plot(x, df["profit"], color="#2e7d32", lw=2, label="profit")
    ax.plot(x, df["investment"], color=FOCAL_COLOR, lw=1.2, ls="--", label="investment")
    ax.axhline(0.0, color="#9e9e9e", lw=0.8)
    total = float(df["profit"].sum()) if len(df) else 0.0
    _style(ax, model, f"Your revenue and profit · total profit {total:,.0f} k€")
    ax.set_ylabel("k€ per quarter", fontsize=8)
    if len(x) == 0:  # quarter 0: no data yet; not a ±0.04 axis but the k€ to come
        ax.set_ylim(0, _round_up(_revenue_scale(model)))
        _hint(ax)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    _legend_right(ax)
    return fig
