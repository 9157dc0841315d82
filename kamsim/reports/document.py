"""The document of a report: sections rendered as Markdown and self-contained HTML.

:class:`ReportDoc` collects headings, paragraphs, bullet lists, tables and figures;
:meth:`ReportDoc.write` writes ``report.md``, ``report.html`` (figures embedded as
base64 PNG, the figures' data and the findings embedded as JSON for tests and tools)
and ``report.json`` (the same data). Tables longer than a screen are summarised on
the page and written in full as CSV beside the report.
"""

from __future__ import annotations

import base64
import html
import json
import re
import secrets
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kamsim.reports.formatting import column_digits, fmt_number

__all__ = ["MAX_TABLE_ROWS", "ReportDoc", "axes_record", "md_table", "write_folder"]

#: Longest table shown in full on the page; longer ones are summarised.
MAX_TABLE_ROWS = 12


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return v


def _cell_text(v: Any, digits: int) -> str:
    if isinstance(v, float | np.floating):
        return fmt_number(v, digits)
    return str(v)


def md_table(df: pd.DataFrame) -> str:
    """A Markdown table, every numeric column with one number of decimals."""
    cols = [str(c) for c in df.columns]
    digits = [
        column_digits(df[c]) if pd.api.types.is_float_dtype(df[c]) else 0
        for c in df.columns
    ]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        cells = [
            _cell_text(v, dg).replace("|", "\\|") for v, dg in zip(row, digits, strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _html_table(df: pd.DataFrame) -> str:
    digits = [
        column_digits(df[c]) if pd.api.types.is_float_dtype(df[c]) else 0
        for c in df.columns
    ]
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = []
    for row in df.itertuples(index=False):
        cells = "".join(
            f"<td>{html.escape(_cell_text(v, dg))}</td>"
            for v, dg in zip(row, digits, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    return (
        f'<div class="wide"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _md_inline_to_html(text: str) -> str:
    """Escape text; ``**bold**`` becomes bold, a back-quoted span ``<code>``."""
    bold = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text))
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", bold)


def axes_record(ax: Any, cells: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """What a panel shows: title, axis labels, legend title and entries, cells drawn."""
    leg = ax.get_legend()
    return {
        "title": ax.get_title(),
        "xlabel": ax.get_xlabel(),
        "ylabel": ax.get_ylabel(),
        "legend_title": leg.get_title().get_text() if leg is not None else None,
        "legend_labels": [t.get_text() for t in leg.get_texts()] if leg is not None else [],
        "cells": [{str(k): str(v) for k, v in c.items()} for c in cells],
    }


class ReportDoc:
    """Collects report sections and renders them as Markdown and HTML.

    Args:
        folder: where figures, tables and the report files are written.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.md: list[str] = []
        self.html: list[str] = []
        self.figures: list[dict[str, Any]] = []
        self.data: dict[str, Any] = {}

    def heading(self, text: str, level: int = 2, anchor: str | None = None) -> None:
        """A heading (``anchor`` becomes the HTML id)."""
        self.md.append("#" * level + " " + text + "\n")
        ident = f' id="{anchor}"' if anchor else ""
        self.html.append(f"<h{level}{ident}>{html.escape(text)}</h{level}>")

    def text(self, text: str, css: str | None = None) -> None:
        """A paragraph (``**bold**`` allowed)."""
        self.md.append(text + "\n")
        cls = f' class="{css}"' if css else ""
        self.html.append(f"<p{cls}>{_md_inline_to_html(text)}</p>")

    def warning(self, title: str, lines: Sequence[str]) -> None:
        """A boxed notice at this point: a Markdown quote, an HTML ``div.warning``."""
        self.md.append(f"> **{title}**\n>\n" + "\n>\n".join(f"> {t}" for t in lines) + "\n")
        body = "".join(f"<p>{html.escape(t)}</p>" for t in lines)
        self.html.append(f'<div class="warning"><h2>{html.escape(title)}</h2>{body}</div>')

    def bullets(self, items: Sequence[str], anchor: str | None = None) -> None:
        """A bullet list (``**bold**`` allowed)."""
        self.md.append("\n".join(f"* {t}" for t in items) + "\n")
        ident = f' id="{anchor}"' if anchor else ""
        lis = "".join(f"<li>{_md_inline_to_html(t)}</li>" for t in items)
        self.html.append(f"<ul{ident}>{lis}</ul>")

    def table(
        self,
        df: pd.DataFrame,
        csv: str | None = None,
        full: pd.DataFrame | None = None,
        note: str | None = None,
    ) -> None:
        """A table on the page; ``full`` (default ``df``) is written to ``csv``.

        Args:
            df: the table shown (already summarised if the full one is long).
            csv: file name of the full table beside the report.
            full: the full table (default ``df``).
            note: a line under the table (e.g. how it was summarised).
        """
        if csv:
            (full if full is not None else df).to_csv(self.folder / csv, index=False)
        self.md.append(md_table(df) + "\n")
        self.html.append(_html_table(df))
        md_parts = [note] if note else []
        html_parts = [html.escape(note)] if note else []
        if csv:
            md_parts.append(f"Full table: [{csv}]({csv}).")
            html_parts.append(f'Full table: <a href="{csv}">{csv}</a>.')
        if md_parts:
            self.md.append("*" + " ".join(md_parts) + "*\n")
            self.html.append('<p class="note">' + " ".join(html_parts) + "</p>")

    def figure(
        self,
        fig: Any,
        name: str,
        caption: str,
        panels: Sequence[dict[str, Any]],
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Save a figure as PNG, embed it, and record what its panels show.

        Args:
            fig: the matplotlib Figure (closed afterwards).
            name: PNG file name.
            caption: the caption (says what is shown and what is left out).
            panels: one :func:`axes_record` per panel.
            extra: more facts about the figure for its record (e.g. label overlaps).
        """
        import matplotlib.pyplot as plt

        from kamsim.reports.plots import label_overlaps, text_clashes

        path = self.folder / name
        fig.savefig(path, dpi=110)
        if extra and "label_overlaps" in extra:  # count on the layout as saved
            extra = {**extra, "label_overlaps": label_overlaps(fig)}
        # axis text cut off, touching or overlapping, as saved (tests read it)
        extra = {**dict(extra or {}), "text_clashes": text_clashes(fig)}
        legends = [
            {
                "title": leg.get_title().get_text(),
                "labels": [t.get_text() for t in leg.get_texts()],
            }
            for leg in fig.legends
        ]
        plt.close(fig)
        self.figures.append(
            {
                "file": name,
                "caption": caption,
                "panels": list(panels),
                "legends": legends,
                **dict(extra or {}),
            }
        )
        self.md.append(f"![{caption}]({name})\n\n*{caption}*\n")
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        self.html.append(
            f'<figure data-file="{name}"><img src="data:image/png;base64,{data}" '
            f'alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}'
            "</figcaption></figure>"
        )

    def write(self, title: str) -> Path:
        """Write ``report.md``, ``report.html`` and ``report.json``; return the md path."""
        data = _jsonable({**self.data, "figures": self.figures})
        (self.folder / "report.json").write_text(json.dumps(data, indent=1), "utf-8")
        md_path = self.folder / "report.md"
        md_path.write_text("\n".join(self.md), encoding="utf-8")
        style = (
            "body{font-family:sans-serif;max-width:1150px;margin:1.5em auto;padding:0 1em;"
            "line-height:1.4}h1{margin-bottom:0.2em}p.question{font-size:1.05em;color:#333}"
            "#findings li{margin:0.35em 0}p.setup,p.note{font-size:0.85em;color:#555}"
            "table{border-collapse:collapse;font-size:0.85em;margin:0.6em 0}"
            ".warning{border:3px solid #c00;background:#fee;padding:0 1em;margin:1em 0}"
            "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
            "th{background:#f3f3f3}img{max-width:100%}"
            "div.wide{max-width:100%;overflow-x:auto}"
            "figcaption{font-style:italic;font-size:0.9em}"
        )
        blob = json.dumps(data).replace("</", "<\\/")
        page = (
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{style}</style></head><body>"
            + "\n".join(self.html)
            + f'<script type="application/json" id="kamsim-report-data">{blob}</script>'
            + "</body></html>"
        )
        (self.folder / "report.html").write_text(page, encoding="utf-8")
        return md_path


def _new_temp_dir(target: Path) -> Path:
    """Create an empty sibling folder of ``target`` with the umask's permissions."""
    while True:
        tmp = target.parent / f".{target.name}-{secrets.token_hex(6)}"
        try:
            tmp.mkdir()
        except FileExistsError:
            continue
        return tmp


def write_folder(out_dir: Path, build: Callable[[Path], object]) -> Path:
    """Build a report folder in a temporary sibling and move it into place when complete.

    ``build(folder)`` writes the report into ``folder``; ``out_dir`` is replaced as a
    whole, so a failed report never leaves a half-written folder behind.

    Returns:
        The path of ``report.md`` in ``out_dir``.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temp_dir(out_dir)
    try:
        build(tmp)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir / "report.md"
