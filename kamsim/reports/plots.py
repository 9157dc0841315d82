"""Matplotlib figures of kamsim results.

Every function takes a tidy DataFrame (computed by :mod:`kamsim.analysis.metrics`,
:mod:`kamsim.analysis` or :mod:`kamsim.sensitivity`) and an optional ``ax``, draws on
it, and returns the Axes. No computation of results happens here; axes carry labels
with units, legends are titled with the factor they show, and categorical levels are
drawn as points or bars, never joined by lines (lines only join the levels of a
quantity such as the number of accounts).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from kamsim.model.records import STAGE_LABELS

__all__ = [
    "LABEL_GID",
    "MAX_POINT_LABELS",
    "STAGE_COLORS",
    "adjust_labels",
    "label_overlaps",
    "palette",
    "plot_best_share",
    "plot_comparison",
    "plot_indices",
    "plot_metric_by",
    "plot_risk_return",
    "plot_stage_distribution",
    "plot_stage_mix",
    "plot_whale_curve",
    "risk_return_labelled",
    "text_clashes",
    "wrap_labels",
]

STAGE_COLORS = ("#c6dbef", "#6baed6", "#2171b5", "#08306b")


def _ax(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=(6.4, 4.0))
    return new


def _text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


#: gid of point labels placed by :func:`adjust_labels`.
LABEL_GID = "kamsim-point-label"


def _thousands(ax: Axes, axis: str) -> None:
    """Tick labels with thousands separators (``10,000``)."""
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _pos: f"{v:,.0f}" if abs(v) >= 1000 else f"{v:g}")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def adjust_labels(fig: Any) -> None:
    """Place every point label of a figure so that labels do not overlap (adjustText).

    Call it once the figure is complete (titles, legends): it draws the figure so
    that the layout is computed and then fixed (no layout engine afterwards, so the
    labels stay where they were placed), then moves each Axes' labels away from each
    other and from the points, keeping them inside the Axes.
    """
    from adjustText import adjust_text

    fig.canvas.draw()
    frozen = [(ax, ax.get_position(original=False)) for ax in fig.axes]
    fig.set_layout_engine("none")
    for ax, pos in frozen:  # keep the positions the layout engine found
        ax.set_position(pos)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    try:
        for ax in shown:
            texts = [t for t in ax.texts if t.get_gid() == LABEL_GID]
            if not texts:
                continue
            for other in shown:  # adjustText redraws the figure: draw this panel only
                other.set_visible(other is ax)
            xs = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections])
            ys = np.concatenate([c.get_offsets()[:, 1] for c in ax.collections])
            adjust_text(
                texts,
                x=xs,
                y=ys,
                ax=ax,
                ensure_inside_axes=True,
                iter_lim=500,
                arrowprops={"arrowstyle": "-", "color": "grey", "lw": 0.5},
            )
    finally:
        for ax in shown:
            ax.set_visible(True)


def label_overlaps(fig: Any) -> int:
    """Number of pairs of point labels whose boxes overlap (0 after adjust_labels)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    count = 0
    for ax in fig.axes:
        boxes = [
            t.get_window_extent(renderer) for t in ax.texts if t.get_gid() == LABEL_GID
        ]
        for i, a in enumerate(boxes):
            count += sum(a.overlaps(b) for b in boxes[i + 1 :])
    return count


def wrap_labels(ax: Axes, width: int = 30) -> None:
    """Break an Axes' x and y labels longer than ``width`` characters into lines.

    A long label (``Δ NPV with terminal value vs uniform (k€, 95 % CI)``) on a small
    panel would otherwise run past the panel into its neighbours or off the figure.
    """
    import textwrap

    for label in (ax.xaxis.label, ax.yaxis.label):
        text = label.get_text()
        if len(text) > width and "\n" not in text:
            label.set_text(textwrap.fill(text, width, break_long_words=False))


def text_clashes(fig: Any, gap: float = 2.0) -> list[str]:
    """Text of a figure's panels that cannot be read as drawn (empty if none).

    Checks the axis labels, tick labels and titles of every visible Axes: a text
    outside the figure (cut off), two neighbouring tick labels of one axis closer than
    ``gap`` pixels (``5`` and ``8`` read as ``58``), and a text of one panel
    overlapping any text of another (labels and ticks included). Draws the figure to
    measure it.
    """
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    page = fig.bbox
    out: list[str] = []
    texts: list[list[tuple[str, Any]]] = []
    for ax in [a for a in fig.axes if a.get_visible()]:
        mine: list[tuple[str, Any]] = []
        for axis, name in ((ax.xaxis, "x"), (ax.yaxis, "y")):
            ticks = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            boxes = [t.get_window_extent(renderer) for t in ticks]
            lo = axis.get_view_interval()
            inside = [
                (t, b)
                for t, b, pos in zip(ticks, boxes, axis.get_ticklocs(), strict=False)
                if min(lo) - 1e-9 <= pos <= max(lo) + 1e-9
            ]
            for (t1, b1), (t2, b2) in itertools.pairwise(inside):
                slant = t1.get_rotation() % 180
                if name == "x" and 0 < slant < 90:  # slanted: boxes overlap, lines not
                    line = t1.get_fontsize() * fig.dpi / 72
                    step = abs(b2.x1 - b1.x1) * np.sin(np.radians(slant))
                    close = step < line + gap / 2
                elif name == "x":
                    close = b1.x1 + gap > b2.x0 and b2.x1 + gap > b1.x0
                    close = close and b1.y0 < b2.y1 and b2.y0 < b1.y1
                else:
                    close = b1.y1 + gap > b2.y0 and b2.y1 + gap > b1.y0
                    close = close and b1.x0 < b2.x1 and b2.x0 < b1.x1
                if close:
                    pair = f"{t1.get_text()!r} and {t2.get_text()!r}"
                    out.append(f"{name} tick labels {pair} touch")
            mine += [(f"{name} tick label {t.get_text()!r}", b) for t, b in inside]
            if axis.label.get_visible() and axis.label.get_text():
                mine.append((f"{name} label", axis.label.get_window_extent(renderer)))
        if ax.title.get_text():
            mine.append(("title", ax.title.get_window_extent(renderer)))
        for what, box in mine:
            if (
                box.x0 < page.x0 - 1
                or box.y0 < page.y0 - 1
                or box.x1 > page.x1 + 1
                or box.y1 > page.y1 + 1
            ):
                out.append(f"{what} cut off at the figure's edge")
        texts.append(mine)
    for i, mine in enumerate(texts):
        for other in texts[i + 1 :]:
            for what, box in mine:
                for what2, box2 in other:
                    if box.overlaps(box2):
                        out.append(f"{what} overlaps {what2} of another panel")
    return out


def _texts(df: pd.DataFrame, cols: str | Sequence[str]) -> list[str]:
    """One label per row from one column or several (joined with commas)."""
    names = [cols] if isinstance(cols, str) else list(cols)
    parts = [[_text(v) for v in df[c]] for c in names]
    return [", ".join(p) for p in zip(*parts, strict=True)] if parts else [""] * len(df)


def _groups(
    df: pd.DataFrame, by: str | Sequence[str] | None, colors: Mapping[Any, Any] | None
) -> list[tuple[Any, pd.DataFrame]]:
    """Groups of ``df`` by ``by``, in the order of ``colors`` when given.

    Several grouping columns are allowed; their keys are tuples, shown joined.
    """
    if not by:
        return [(None, df)]
    if not isinstance(by, str):
        cols = list(by)
        if len(cols) == 1:
            by = cols[0]
        else:
            key = pd.Series(_texts(df, cols), index=df.index, name=", ".join(cols))
            return [(k, g) for k, g in df.groupby(key, sort=False)]
    groups = dict(list(df.groupby(by, sort=False, observed=True)))
    order = [k for k in (colors or {}) if k in groups]
    order += [k for k in groups if k not in order]
    return [(k, groups[k]) for k in order]


def palette(levels: Sequence[Any], ordered: bool = False) -> dict[Any, Any]:
    """One distinct colour per level.

    Ordered levels (a quantity such as ``n_accounts``) get shades of a sequential
    map (viridis); categories get a qualitative map with enough colours (tab10 up to
    10 levels, tab20 up to 20, then evenly spaced hues), so no two levels share a
    colour.
    """
    import matplotlib as mpl

    n = len(levels)
    if ordered:
        cmap = mpl.colormaps["viridis"]
        cols = [cmap(x) for x in np.linspace(0.0, 0.9, max(n, 2))][:n]
    elif n <= 10:
        cols = [mpl.colormaps["tab10"](i) for i in range(n)]
    elif n <= 20:
        cols = [mpl.colormaps["tab20"](i) for i in range(n)]
    else:
        cmap = mpl.colormaps["hsv"]
        cols = [cmap(x) for x in np.linspace(0.0, 1.0, n, endpoint=False)]
    return dict(zip(levels, cols, strict=True))


def plot_metric_by(
    df: pd.DataFrame,
    x: str,
    ax: Axes | None = None,
    hue: str | None = None,
    ylabel: str = "mean (95 % CI)",
    xlabel: str | None = None,
    numeric: bool | None = None,
    colors: Mapping[Any, Any] | None = None,
    legend: bool = True,
    x_order: Sequence[Any] | None = None,
) -> Axes:
    """Mean with 95 % CI error bars of one metric against a factor.

    A numeric ``x`` (a quantity) is drawn as lines through the levels; a categorical
    ``x`` as points with error bars, side by side per ``hue`` level, never joined.

    Args:
        df: columns ``x``, ``mean``, ``ci_low``, ``ci_high`` and ``hue``.
        x: the factor on the horizontal axis.
        ax: Axes to draw on.
        hue: factor distinguishing the series (legend titled with its name).
        ylabel: y-axis label (with units).
        xlabel: x-axis label (default ``x``).
        numeric: draw ``x`` as a quantity (default: if its dtype is numeric).
        colors: hue level -> colour.
        legend: draw a legend on the Axes.
        x_order: order of categorical levels (default: order of appearance).
    """
    ax = _ax(ax)
    is_num = pd.api.types.is_numeric_dtype(df[x]) if numeric is None else numeric
    cats = list(x_order) if x_order is not None else list(pd.unique(df[x]))
    groups = _groups(df, hue, colors)
    width = 0.6 / max(1, len(groups))
    for i, (key, g) in enumerate(groups):
        if is_num:
            xs = g[x].to_numpy(dtype=np.float64)
        else:
            offset = (i - (len(groups) - 1) / 2) * width
            xs = np.array([cats.index(v) for v in g[x]], dtype=np.float64) + offset
        order = np.argsort(xs, kind="stable")
        mean = g["mean"].to_numpy(dtype=np.float64)[order]
        lo = g["ci_low"].to_numpy(dtype=np.float64)[order]
        hi = g["ci_high"].to_numpy(dtype=np.float64)[order]
        color = colors.get(key) if colors and hue else None
        ax.errorbar(  # type: ignore[misc]
            xs[order],
            mean,
            yerr=[mean - lo, hi - mean],
            marker="o",
            ms=4,
            capsize=2,
            ls="-" if is_num else "none",
            color=color,
            label=_text(key) if hue else None,
        )
    if not is_num:
        ax.set_xticks(range(len(cats)), [_text(c) for c in cats], rotation=30, ha="right")
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel)
    _thousands(ax, "y")
    if hue and legend:
        ax.legend(title=hue, fontsize="small", title_fontsize="small")
    return ax


def plot_comparison(
    df: pd.DataFrame,
    ax: Axes | None = None,
    label: str = "policy",
    xlabel: str = "paired difference in NPV vs baseline (k€, 95 % CI)",
) -> Axes:
    """Horizontal bars of paired differences with 95 % CI whiskers, sorted.

    Bars whose interval covers 0 (not distinguishable from noise) are drawn grey.

    Args:
        df: rows of :func:`kamsim.analysis.statistics.compare` for one metric and group
            (columns ``diff``, ``ci_low``, ``ci_high`` and ``label``).
        ax: Axes to draw on.
        label: column naming each bar.
        xlabel: x-axis label (with units).
    """
    ax = _ax(ax)
    d = df.sort_values("diff")
    y = np.arange(len(d))
    diff = d["diff"].to_numpy(dtype=np.float64)
    lo = d["ci_low"].to_numpy(dtype=np.float64)
    hi = d["ci_high"].to_numpy(dtype=np.float64)
    noise = (lo <= 0) & (hi >= 0)
    colors = np.where(noise, "#bdbdbd", "#6baed6")
    ax.barh(y, diff, xerr=[diff - lo, hi - diff], capsize=3, color=list(colors))
    ax.set_yticks(y, [_text(v) for v in d[label]])
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(label)
    _thousands(ax, "x")
    # a panel beside long policy names is narrow: few, well spaced ticks
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=3, steps=[1, 2, 2.5, 5, 10]))
    ax.tick_params(axis="x", labelsize="small")
    return ax


#: Most point labels a risk-return panel shows; beyond, see :func:`risk_return_labelled`.
MAX_POINT_LABELS = 12


def risk_return_labelled(
    df: pd.DataFrame, x: str = "cvar05", y: str = "mean", most: int = MAX_POINT_LABELS
) -> np.ndarray:
    """Which points of a risk-return plot get a label (a boolean mask over ``df``).

    Up to ``most`` points: all. More (a 64-cell tournament): the frontier, the
    points no other point beats on both return ``y`` and downside ``x`` (higher is
    better for both), then the next frontiers (the frontier of the points left) as
    long as they fit within ``most`` labels, and the extremes, the lowest ``y`` and
    the lowest ``x``.
    """
    xs = df[x].to_numpy(dtype=np.float64)
    ys = df[y].to_numpy(dtype=np.float64)
    if len(xs) <= most:
        return np.ones(len(xs), dtype=bool)
    keep = np.zeros(len(xs), dtype=bool)
    left = np.ones(len(xs), dtype=bool)
    while left.any():
        beats = (
            (xs[None, :] >= xs[:, None])
            & (ys[None, :] >= ys[:, None])
            & ((xs[None, :] > xs[:, None]) | (ys[None, :] > ys[:, None]))
        )
        layer = left & ~(beats & left[None, :]).any(axis=1)
        if keep.any() and keep.sum() + layer.sum() > most - 2:
            break
        keep |= layer
        left &= ~layer
    keep[int(np.argmin(ys))] = True
    keep[int(np.argmin(xs))] = True
    return keep


def plot_risk_return(
    df: pd.DataFrame,
    ax: Axes | None = None,
    x: str = "cvar05",
    y: str = "mean",
    label: str | Sequence[str] | None = None,
    hue: str | None = None,
    colors: Mapping[Any, Any] | None = None,
    xlabel: str = "CVaR 5 % of NPV (k€)",
    ylabel: str = "mean NPV (k€)",
    legend: bool = True,
    adjust: bool = True,
    max_labels: int | None = None,
) -> Axes:
    """Risk-return scatter: mean against downside, one labelled point per cell.

    Labels are placed with adjustText so that they do not overlap each other or
    the points. With more than ``max_labels`` points only the frontier and the
    extremes are labelled (:func:`risk_return_labelled`).

    Args:
        df: one row per cell (from :func:`kamsim.analysis.metrics.downside`).
        ax: Axes to draw on.
        x: downside column (``q05`` or ``cvar05``).
        y: return column.
        label: column(s) whose values label each point.
        hue: column whose levels colour the points (legend titled with its name).
        colors: hue level -> colour.
        xlabel: x-axis label (with units).
        ylabel: y-axis label (with units).
        legend: draw a legend on the Axes.
        adjust: place the labels now; pass False when the figure's layout is not
            final yet and call :func:`adjust_labels` on the figure afterwards.
        max_labels: label every point up to this many (None: always every point).
    """
    ax = _ax(ax)
    most = len(df) if max_labels is None else max_labels
    labelled = pd.Series(risk_return_labelled(df, x, y, most), index=df.index)
    for key, g in _groups(df, hue, colors):
        pts = ax.scatter(
            g[x],
            g[y],
            s=22,
            color=colors.get(key) if colors and hue else None,
            label=_text(key) if hue else None,
            zorder=3,
        )
        color = pts.get_facecolor()[0]
        if not label:
            continue
        for xv, yv, name, show in zip(
            g[x], g[y], _texts(g, label), labelled[g.index], strict=True
        ):
            if not show:
                continue
            txt = ax.text(float(xv), float(yv), name, fontsize=7, color=color)
            txt.set_gid(LABEL_GID)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if label:
        ax.margins(0.15)
    _thousands(ax, "x")
    _thousands(ax, "y")
    if label and adjust:
        adjust_labels(ax.figure)
    if hue and legend:
        ax.legend(title=hue, fontsize="small", title_fontsize="small")
    return ax


def plot_stage_distribution(
    df: pd.DataFrame, ax: Axes | None = None, title: str | None = None
) -> Axes:
    """Stacked area of the mean number of relationships per stage over time.

    Args:
        df: one row per quarter with columns ``quarter`` and the four stage names
            (from :func:`kamsim.analysis.metrics.stage_distribution`, one group).
        ax: Axes to draw on (a new figure if None).
        title: optional title.
    """
    ax = _ax(ax)
    d = df.sort_values("quarter")
    ax.stackplot(
        d["quarter"].to_numpy(),
        *[d[s].to_numpy(dtype=np.float64) for s in STAGE_LABELS],
        labels=list(STAGE_LABELS),
        colors=STAGE_COLORS,
    )
    ax.set_xlabel("quarter")
    ax.set_ylabel("relationships (mean count)")
    ax.legend(title="stage", loc="upper right", fontsize="small", title_fontsize="small")
    if title:
        ax.set_title(title)
    return ax


def plot_stage_mix(
    df: pd.DataFrame,
    y: str,
    ax: Axes | None = None,
    legend: bool = True,
    xlabel: str = "share of live relationships at the end (%)",
) -> Axes:
    """Horizontal stacked bars: the stage mix at the end of the horizon, one bar per level.

    Args:
        df: one row per level of ``y`` with the four stage columns (mean counts) and
            ``n_active`` (from :func:`kamsim.analysis.metrics.stage_distribution`, last
            quarter).
        y: the factor naming the bars (its name labels the axis).
        ax: Axes to draw on.
        legend: draw the stage legend.
        xlabel: x-axis label.
    """
    ax = _ax(ax)
    total = df[list(STAGE_LABELS)].sum(axis=1).to_numpy(dtype=np.float64)
    total = np.where(total > 0, total, 1.0)
    pos = np.arange(len(df))
    left = np.zeros(len(df))
    for stage, color in zip(STAGE_LABELS, STAGE_COLORS, strict=True):
        share = 100 * df[stage].to_numpy(dtype=np.float64) / total
        ax.barh(pos, share, left=left, color=color, label=stage, height=0.7)
        left += share
    ax.set_yticks(pos, [_text(v) for v in df[y]])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(y)
    if legend:
        ax.legend(title="stage", fontsize="small", title_fontsize="small", ncols=2)
    return ax


def plot_whale_curve(
    df: pd.DataFrame,
    ax: Axes | None = None,
    group: str | Sequence[str] | None = None,
    colors: Mapping[Any, Any] | None = None,
    legend: bool = True,
    cap: float | None = None,
) -> Axes:
    """Customer-profitability (whale) curve, one line per level of ``group``.

    Where total profit is near zero the cumulative share of the most profitable
    accounts is many times the total (a peak of 1 000 % or more), which flattens every
    other curve: ``cap`` (in %) stops the y axis there and the panel says so, with
    the highest peak it cut.

    Args:
        df: columns ``account_share``, ``cum_profit_share`` (from
            :func:`kamsim.analysis.metrics.whale_curve`) and ``group``.
        ax: Axes to draw on.
        group: the factor(s) distinguishing the lines (legend titled with their
            names).
        colors: group level -> colour.
        legend: draw a legend on the Axes.
        cap: top of the y axis (% of total profit); None: the highest point.
    """
    ax = _ax(ax)
    peak = 100 * float(df["cum_profit_share"].max()) if len(df) else 0.0
    for key, g in _groups(df, group, colors):
        g = g.sort_values("account_share")
        ax.plot(
            100 * g["account_share"],
            100 * g["cum_profit_share"],
            marker=".",
            ms=3,
            color=colors.get(key) if colors and group else None,
            label=_text(key) if group else None,
        )
    ax.axhline(100, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("accounts ranked by lifetime profit (%)")
    ax.set_ylabel("cumulative profit (% of total)")
    if cap is not None and peak > cap:
        ax.set_ylim(top=cap)
        ax.text(
            0.98,
            0.98,
            f"axis cut at {cap:,.0f} %; peak {peak:,.0f} %",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=7,
            color="#555",
        )
    if group and legend:
        title = group if isinstance(group, str) else ", ".join(group)
        ax.legend(title=title, fontsize="small", title_fontsize="small")
    return ax


def plot_indices(
    df: pd.DataFrame,
    ax: Axes | None = None,
    first: str | None = "S1",
    total: str = "ST",
    xlabel: str = "Sobol index (95 % CI)",
) -> Axes:
    """Ranked horizontal bars of sensitivity indices with confidence intervals.

    Args:
        df: one row per parameter with columns ``parameter``, ``first``, ``total``
            and their ``_conf`` half-widths (e.g. ``S1_conf``); drawn in the order
            given (rank it first), the most important at the top.
        ax: Axes to draw on.
        first: column of the first-order (or main) index; None to leave it out.
        total: column of the total-order (or overall) index.
        xlabel: x-axis label.
    """
    ax = _ax(ax)
    pos = np.arange(len(df))
    h = 0.38
    ax.barh(
        pos - h / 2,
        df[total],
        height=h,
        xerr=df.get(f"{total}_conf"),
        capsize=2,
        color="#2171b5",
        label=total,
    )
    if first:
        ax.barh(
            pos + h / 2,
            df[first],
            height=h,
            xerr=df.get(f"{first}_conf"),
            capsize=2,
            color="#9ecae1",
            label=first,
        )
    ax.set_yticks(pos, [str(p) for p in df["parameter"]])
    ax.invert_yaxis()
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("parameter")
    ax.legend(title="index", fontsize="small", title_fontsize="small")
    return ax


def plot_best_share(
    df: pd.DataFrame,
    label: str,
    ax: Axes | None = None,
    xlabel: str = "share of sampled parameter sets where it is best (%)",
    ordered: bool = False,
) -> Axes:
    """Bars: how often each option (policy, portfolio size) is best across samples.

    Args:
        df: one row per option with columns ``label`` and ``share`` (0-1).
        label: the column naming the options (its name labels the axis).
        ax: Axes to draw on.
        xlabel: x-axis label.
        ordered: the options are a quantity (e.g. sizes): keep their order.
    """
    ax = _ax(ax)
    d = df if ordered else df.sort_values("share", ascending=False)
    pos = np.arange(len(d))
    ax.barh(pos, 100 * d["share"].to_numpy(dtype=np.float64), color="#6baed6")
    for p, s in zip(pos, d["share"], strict=True):
        ax.text(100 * s + 1, float(p), f"{100 * s:.0f} %", va="center", fontsize=7)
    ax.set_yticks(pos, [_text(v) for v in d[label]])
    ax.invert_yaxis()
    ax.set_xlim(0, 110)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(label)
    return ax
