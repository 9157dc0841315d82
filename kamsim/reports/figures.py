"""The figures of an experiment report, laid out as small multiples from its design.

Each ``*_figures`` function draws one kind of figure for every cell of the design:
the :class:`~kamsim.experiments.design.Layout` puts one factor on the x axis, one as colours
and the rest as panels (one panel per combination, titled ``factor = level``), and
splits the panels over several figures when there are more than
:data:`~kamsim.experiments.design.MAX_PANELS`, so every cell is shown. Each figure is
added to the :class:`~kamsim.reports.document.ReportDoc` with a record of the cells it drew.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from kamsim.analysis import metrics
from kamsim.analysis.statistics import compare, main_effect, summarize
from kamsim.engine.results import Results
from kamsim.experiments.design import MAX_PANELS, Design, Layout, fmt_level
from kamsim.reports import plots
from kamsim.reports.document import ReportDoc, axes_record

__all__ = ["Context", "all_figures"]

PANEL_W, PANEL_H = 3.5, 2.8


@dataclass(frozen=True)
class Context:
    """What every figure needs: the results, their design and layout, colours."""

    results: Results
    design: Design
    layout: Layout

    @property
    def runs(self) -> pd.DataFrame:
        """The runs frame."""
        return self.results.runs

    def colors(self, factor: str | None) -> dict[Any, Any]:
        """Colours of a factor's levels (shades for quantities, distinct for categories)."""
        if factor is None:
            return {}
        return plots.palette(
            self.design.levels[factor], ordered=self.design.is_numeric(factor)
        )


def _cells(df: pd.DataFrame, factors: Sequence[str]) -> list[dict[str, Any]]:
    if not factors:
        return [{}]
    rows = df[list(factors)].drop_duplicates()
    return [{str(k): fmt_level(v) for k, v in r.items()} for r in rows.to_dict("records")]


def _grid(n: int, ncols: int = 4) -> tuple[Any, list[Any]]:
    import matplotlib.pyplot as plt

    cols = min(ncols, n)
    rows = -(-n // cols)
    scale = 1.9 if n == 1 else 1.4 if n == 2 else 1.0  # few panels: larger ones
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(PANEL_W * scale * cols + 1.2, PANEL_H * scale * rows + 0.6),
        squeeze=False,
        layout="constrained",
    )
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat


def _share_legend(fig: Any, axes: Sequence[Any], title: str | None) -> None:
    """One legend for the whole figure (entries from the first panel that has any)."""
    for ax in axes:
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            fig.legend(
                handles,
                labels,
                title=title,
                loc="outside right upper",
                fontsize="small",
                title_fontsize="small",
            )
            return


def _pages(
    doc: ReportDoc,
    panels: Sequence[Mapping[str, Any]],
    draw: Callable[[Any, Mapping[str, Any]], list[dict[str, Any]]],
    name: str,
    caption: str,
    legend_title: str | None,
    size: int = MAX_PANELS,
    labels: bool = False,
) -> None:
    """Draw ``panels`` in figures of at most ``size`` panels; add each to the doc.

    With ``labels`` the point labels are placed (adjustText) once the layout is
    final, and the figure's record counts any labels that still overlap.
    """
    pages = [list(panels[i : i + size]) for i in range(0, len(panels), size)]
    for i, page in enumerate(pages):
        fig, axes = _grid(len(page))
        records = []
        for ax, key in zip(axes, page, strict=False):
            if key:
                ax.set_title(Layout.title(key), fontsize=8)
            cells = draw(ax, key)
            # long axis labels on lines, not into the neighbours (wider: few panels)
            plots.wrap_labels(ax, 57 if len(page) == 1 else 42 if len(page) == 2 else 26)
            records.append(axes_record(ax, cells))
        if legend_title is not None:
            _share_legend(fig, list(axes)[: len(page)], legend_title)
        extra = {}
        if labels:
            plots.adjust_labels(fig)
            extra["label_overlaps"] = -1  # counted when saved
        suffix = f"_{i + 1}" if len(pages) > 1 else ""
        part = f" (figure {i + 1} of {len(pages)})" if len(pages) > 1 else ""
        doc.figure(fig, f"{name}{suffix}.png", caption + part, records, extra)


def _layout_caption(ctx: Context) -> str:
    lay = ctx.layout
    parts = []
    if lay.hue:
        parts.append(f"one colour per {lay.hue}")
    if lay.facets:
        parts.append(f"one panel per combination of {', '.join(lay.facets)}")
    return (", " + ", ".join(parts)) if parts else ""


# --------------------------------------------------------------------------- value
def value_figures(doc: ReportDoc, ctx: Context) -> None:
    """Mean value (95 % CI) and its CVaR 5 % by cell, as small multiples."""
    d, lay = ctx.design, ctx.layout
    if lay.x is None:
        return
    x, hue = lay.x, lay.hue
    summ = summarize(ctx.runs, by=list(d.factors), metrics=[d.value])
    risk = metrics.downside(ctx.runs, by=list(d.factors), metric=d.value)
    risk = risk.assign(mean=risk["cvar05"], ci_low=risk["cvar05"], ci_high=risk["cvar05"])
    colors = ctx.colors(hue)
    for frame, name, ylabel, what in (
        (
            summ,
            "value_by_cell",
            f"mean {d.value_label} (k€, 95 % CI)",
            f"Mean {d.value_label}",
        ),
        (
            risk,
            "downside_by_cell",
            f"CVaR 5 % of {d.value_label} (k€)",
            "Downside (CVaR 5 %)",
        ),
    ):

        def draw(
            ax: Any,
            key: Mapping[str, Any],
            frame: pd.DataFrame = frame,
            ylabel: str = ylabel,
        ) -> list[dict[str, Any]]:
            g = Layout.select(frame, key)
            plots.plot_metric_by(
                g,
                x,
                ax=ax,
                hue=hue,
                ylabel=ylabel,
                numeric=d.is_numeric(x),
                colors=colors,
                legend=False,
                x_order=d.levels[x],
            )
            return _cells(g, d.factors)

        _pages(
            doc,
            lay.panels,
            draw,
            name,
            f"{what} by {x}{_layout_caption(ctx)}; every cell shown.",
            hue,
        )


def main_effect_figure(doc: ReportDoc, ctx: Context) -> None:
    """One panel per factor: its main effect on the value metric (95 % CI)."""
    d = ctx.design
    if len(d.factors) < 2:
        return
    fig, axes = _grid(len(d.factors))
    records = []
    for ax, f in zip(axes, d.factors, strict=False):
        me = main_effect(ctx.runs, f, d.value)
        plots.plot_metric_by(
            me,
            f,
            ax=ax,
            ylabel=f"mean {d.value_label} (k€)",
            numeric=d.is_numeric(f),
            x_order=d.levels[f],
        )
        ax.set_title(f"main effect of {f}", fontsize=9)
        plots.wrap_labels(ax, 42 if len(d.factors) == 2 else 26)  # not past the panel
        records.append(axes_record(ax, [{f: fmt_level(v)} for v in me[f]]))
    doc.figure(
        fig,
        "main_effects.png",
        f"Main effects: mean {d.value_label} per level of each factor, averaged over the "
        "other factors (95 % CI over replications).",
        records,
    )


# --------------------------------------------------------------------------- compare
def comparison_figures(doc: ReportDoc, ctx: Context) -> pd.DataFrame | None:
    """Paired differences against the baseline policy; returns the comparison table."""
    d = ctx.design
    if "policy" not in d.factors:
        return None
    base = d.baseline
    others = [f for f in d.factors if f != "policy"]
    comp = compare(ctx.runs, baseline=base, by=others, metrics=[d.value])
    label = f"Δ {d.value_label} vs {base} (k€, 95 % CI)"
    pols = [p for p in d.levels["policy"] if p != base]
    colors = {k: v for k, v in ctx.colors("policy").items() if k in pols}
    if "n_accounts" in others:
        facets = [f for f in others if f != "n_accounts"]
        panels = d.combinations(facets)
        g_all = comp.assign(mean=comp["diff"])

        def draw(ax: Any, key: Mapping[str, Any]) -> list[dict[str, Any]]:
            g = Layout.select(g_all, key)
            plots.plot_metric_by(
                g,
                "n_accounts",
                ax=ax,
                hue="policy",
                ylabel=label,
                numeric=d.is_numeric("n_accounts"),
                x_order=d.levels["n_accounts"],
                colors=colors,
                legend=False,
            )
            ax.axhline(0, color="grey", lw=0.8)
            return _cells(g, d.factors)

        what = (
            "budget adds over no investment"
            if base == "none"
            else f"policies gain over {base}"
        )
        _pages(
            doc,
            panels,
            draw,
            "comparisons",
            f"What the {what}: paired difference in {d.value_label} by portfolio size, one "
            f"colour per policy, 95 % CI on common random numbers.",
            "policy",
        )
    else:
        panels = d.combinations(others)

        def draw_bars(ax: Any, key: Mapping[str, Any]) -> list[dict[str, Any]]:
            g = Layout.select(comp, key)
            plots.plot_comparison(g, ax=ax, xlabel=label)
            return _cells(g, d.factors)

        _pages(
            doc,
            panels,
            draw_bars,
            "comparisons",
            f"Paired difference in {d.value_label} against {base}, 95 % CI on common "
            "random numbers; grey bars are not distinguishable from noise.",
            None,
        )
    return comp


# --------------------------------------------------------------------------- risk
def risk_return_figures(doc: ReportDoc, ctx: Context) -> pd.DataFrame:
    """Mean value against CVaR 5 %, one labelled point per cell; returns the table."""
    d, lay = ctx.design, ctx.layout
    risk = metrics.downside(ctx.runs, by=list(d.factors) or None, metric=d.value)
    if lay.x is None:
        return risk
    colors = ctx.colors(lay.hue)

    def draw(ax: Any, key: Mapping[str, Any]) -> list[dict[str, Any]]:
        g = Layout.select(risk, key)
        plots.plot_risk_return(
            g,
            ax=ax,
            label=lay.x,
            hue=lay.hue,
            colors=colors,
            legend=False,
            adjust=False,
            max_labels=plots.MAX_POINT_LABELS,
            xlabel=f"CVaR 5 % of {d.value_label} (k€)",
            ylabel=f"mean {d.value_label} (k€)",
        )
        return _cells(g, d.factors)

    most = plots.MAX_POINT_LABELS
    crowded = any(len(Layout.select(risk, key)) > most for key in lay.panels)
    subset = (
        f" So that labels stay readable, a panel of more than {most} cells labels at "
        f"most {most}: the frontier (the cells no other cell beats on both mean and "
        "CVaR), the next frontiers as far as they fit, and the cells of lowest mean and "
        "lowest CVaR; risk_return.csv lists every cell."
        if crowded
        else ""
    )
    _pages(
        doc,
        lay.panels,
        draw,
        "risk_return",
        f"Risk and return: mean {d.value_label} against its CVaR 5 %, one point per cell "
        f"labelled with its {lay.x}{_layout_caption(ctx)}; up and to the right is better."
        + subset,
        lay.hue,
        labels=True,
    )
    return risk


# --------------------------------------------------------------------------- stages
def _split_panels(ctx: Context) -> list[dict[str, Any]]:
    """Panels for one-line-per-x-level figures: facets x hue levels."""
    lay, d = ctx.layout, ctx.design
    keys = [*lay.facets, *([lay.hue] if lay.hue else [])]
    return d.combinations(keys)


def stage_figures(doc: ReportDoc, ctx: Context) -> pd.DataFrame | None:
    """Stage mix at the end (every cell) and over time (up to 12 cells)."""
    quarters = ctx.results.quarters
    d, lay = ctx.design, ctx.layout
    if quarters is None or quarters.empty:
        return None
    dist = metrics.stage_distribution(quarters, by=list(d.factors) or None)
    last = dist[dist["quarter"] == dist["quarter"].max()]
    y = lay.x

    def draw(ax: Any, key: Mapping[str, Any]) -> list[dict[str, Any]]:
        g = Layout.select(last, key)
        if y is None:
            g = g.assign(cell="all")
        plots.plot_stage_mix(g, y=y or "cell", ax=ax, legend=False)
        return _cells(g, d.factors)

    _pages(
        doc,
        _split_panels(ctx),
        draw,
        "stage_mix",
        "Stage mix at the end of the horizon: share of live relationships per stage, one "
        f"bar per {y or 'cell'}"
        + (", one panel per combination of the other factors" if len(d.factors) > 1 else "")
        + "; every cell shown.",
        "stage",
        size=16,
    )
    if d.n_cells <= 12:
        cells = d.cells()

        def draw_t(ax: Any, key: Mapping[str, Any]) -> list[dict[str, Any]]:
            g = Layout.select(dist, key)
            plots.plot_stage_distribution(g, ax=ax)
            ax.get_legend().remove()
            return _cells(g, d.factors)

        _pages(
            doc,
            cells,
            draw_t,
            "stage_distribution",
            "Mean relationships per stage over time, one panel per cell.",
            "stage",
        )
    return dist


#: Top of the whale curves' y axis (% of total profit), see :func:`whale_figures`.
WHALE_CAP = 300.0


def whale_figures(doc: ReportDoc, ctx: Context) -> pd.DataFrame | None:
    """Whale curves: one line per x level, one panel per other-factor combination."""
    accounts = ctx.results.accounts
    d, lay = ctx.design, ctx.layout
    if accounts is None or accounts.empty:
        return None
    whale = metrics.whale_curve(accounts, by=list(d.factors) or None)
    colors = ctx.colors(lay.x)

    def draw(ax: Any, key: Mapping[str, Any]) -> list[dict[str, Any]]:
        g = Layout.select(whale, key)
        plots.plot_whale_curve(
            g, ax=ax, group=lay.x, colors=colors, legend=False, cap=WHALE_CAP
        )
        return _cells(g, d.factors)

    _pages(
        doc,
        _split_panels(ctx),
        draw,
        "whale_curve",
        "Customer profitability (whale curve): cumulative share of lifetime profit by "
        f"account rank, one line per {lay.x or 'cell'}; every cell shown. The y axis "
        f"stops at {WHALE_CAP:.0f} %: where a cell's total profit is near zero its "
        "most profitable accounts earn many times the total (the losses of the others "
        "cancel it), a peak that would flatten every other curve; whale_curve.csv "
        "has every point.",
        lay.x,
    )
    return whale


def all_figures(doc: ReportDoc, ctx: Context) -> dict[str, pd.DataFrame | None]:
    """Every figure of a report, in reading order; returns the tables computed."""
    value_figures(doc, ctx)
    main_effect_figure(doc, ctx)
    out: dict[str, pd.DataFrame | None] = {"comparisons": comparison_figures(doc, ctx)}
    out["risk"] = risk_return_figures(doc, ctx)
    out["stages"] = stage_figures(doc, ctx)
    out["whale"] = whale_figures(doc, ctx)
    return out
