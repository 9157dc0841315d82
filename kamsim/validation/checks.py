"""Stylized-fact validation: one registry of facts for the command, the tests and the docs.

A :class:`Fact` says what the model should reproduce (a stylized fact of KAM
practice), where the fact comes from, the target the model's figure must meet and
how to compute that figure from simulations. :func:`check_facts` computes every fact of a
registry on one :class:`Simulator` (cached runs on fixed seeds) and returns one
:class:`FactResult` per fact; :func:`results_table`, :func:`render_markdown` and
:func:`render_html` lay them side by side. ``kamsim validate`` prints the table,
``tests/test_validation.py`` asserts each fact, and ``docs/validation.md`` holds the
rendered Markdown table (``scripts/gen_validation_table.py`` rewrites it).

The facts of the current model live in :mod:`kamsim.validation.facts` (``FACTS``, and
:func:`~kamsim.validation.facts.check`, which checks them); a new model swaps that list
and keeps this machinery, which imports no fact.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kamsim.engine.results import Results
from kamsim.model.params import ModelParams, ParameterError

__all__ = [
    "DEFAULT_REPLICATIONS",
    "DEFAULT_SEED",
    "Fact",
    "FactResult",
    "Figure",
    "Simulator",
    "check_facts",
    "console_lines",
    "doc_section",
    "failed",
    "paired",
    "render_html",
    "render_markdown",
    "replace_doc_section",
    "results_table",
    "summary_line",
    "write_files",
]

#: Replications per configuration of the validation runs.
DEFAULT_REPLICATIONS = 400
#: Root seed of the validation runs.
DEFAULT_SEED = 2026

#: A fact's figures: name -> value (e.g. ``{"top_fifth_uniform": 1.17}``).
Figure = Mapping[str, float]


def paired(a: Any, b: Any) -> tuple[float, float]:
    """Mean and standard error of the paired difference ``b - a`` (the same seeds)."""
    d = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


@dataclass
class Simulator:
    """Cached simulations on fixed seeds, shared by every fact of a check.

    ``run(n, policy, **overrides)`` returns the :class:`kamsim.Results` of ``n``
    accounts under ``policy`` with parameter overrides, ``replications``
    replications of ``quarters`` quarters from root seed ``seed``; the same call
    returns the same object, so facts that need the same configuration share it.

    Attributes:
        replications: replications per configuration.
        seed: root seed (every configuration runs on the same replication seeds).
        quarters: horizon.
        kwargs: extra keyword arguments of :func:`kamsim.simulate` for every run
            (e.g. model settings that are not parameters).
    """

    replications: int = DEFAULT_REPLICATIONS
    seed: int = DEFAULT_SEED
    quarters: int = 40
    kwargs: dict[str, Any] = field(default_factory=dict)
    _cache: dict[Any, Results] = field(default_factory=dict, repr=False)

    def run(self, n: int, policy: str = "uniform", **overrides: Any) -> Results:
        """Results of ``n`` accounts under ``policy`` with parameter ``overrides``."""
        from kamsim.engine.simulate import simulate

        key = (n, policy, tuple(sorted(overrides.items())))
        if key not in self._cache:
            params = ModelParams().evolve(**overrides) if overrides else None
            self._cache[key] = simulate(
                n_accounts=n,
                policy=policy,
                replications=self.replications,
                quarters=self.quarters,
                seed=self.seed,
                params=params,
                **self.kwargs,
            )
        return self._cache[key]


@dataclass(frozen=True)
class Fact:
    """A stylized fact the model should reproduce, with its check.

    Attributes:
        id: short label used in tables and tests (``"1a"``).
        name: identifier (``"whale_heavy_tail"``).
        fact: the stylized fact in words.
        source: where the fact comes from (literature, practice).
        target: what the model's figure must meet, in words, with units.
        tolerance: the margin the check allows (a threshold, standard errors, ...).
        compute: ``compute(sim) -> figure`` runs what it needs on the
            :class:`Simulator` and returns the fact's figures.
        holds: ``holds(figure) -> bool``, the check of the target.
        show: ``show(figure) -> str``, the model's figure in words.
        by_construction: True if the model holds the fact by an assumption rather
            than producing it (it cannot fail, and says little).
        explanation: why the model (re)produces the fact, or what limits it.
        claimed: False for a fact the model does not reproduce: it is reported (its
            "held" is "no") and its test checks that this is still true.
    """

    id: str
    name: str
    fact: str
    source: str
    target: str
    tolerance: str
    compute: Callable[[Simulator], Figure]
    holds: Callable[[Figure], bool]
    show: Callable[[Figure], str]
    by_construction: bool = False
    explanation: str = ""
    claimed: bool = True


@dataclass(frozen=True)
class FactResult:
    """The outcome of one fact's check.

    Attributes:
        fact: the fact checked.
        figure: its figures from the model.
        held: whether the target was met.
        seconds: time to compute (the runs it needed first are included).
    """

    fact: Fact
    figure: Figure
    held: bool
    seconds: float

    @property
    def model_text(self) -> str:
        """The model's figure in words."""
        return self.fact.show(self.figure)


def check_facts(
    facts: Sequence[Fact],
    sim: Simulator | None = None,
    only: Sequence[str] | None = None,
) -> list[FactResult]:
    """Compute and check every fact of a registry on one simulator.

    Args:
        facts: the registry (:func:`kamsim.validation.check` passes this model's
            :data:`~kamsim.validation.facts.FACTS`).
        sim: the simulator (default: 400 replications, seed 2026, 40 quarters).
        only: ids or names of the facts to check (default: all).

    Raises:
        ParameterError: if ``only`` names an unknown fact.
    """
    sim = sim if sim is not None else Simulator()
    chosen = list(facts)
    if only is not None:
        known = {f.id for f in chosen} | {f.name for f in chosen}
        for o in only:
            if o not in known:
                raise ParameterError(
                    f"'--fact' must be one of {sorted(f.id for f in chosen)} or a fact "
                    f"name: {o!r}"
                )
        chosen = [f for f in chosen if f.id in only or f.name in only]
    out = []
    for f in chosen:
        started = time.perf_counter()
        fig = dict(f.compute(sim))
        out.append(
            FactResult(
                fact=f,
                figure=fig,
                held=bool(f.holds(fig)),
                seconds=time.perf_counter() - started,
            )
        )
    return out


#: Columns of :func:`results_table`.
COLUMNS = ("#", "stylized fact", "source", "target", "model", "held", "by construction")


def results_table(results: Sequence[FactResult]) -> pd.DataFrame:
    """One row per fact: id, fact, source, target, model's figure, held, by construction."""
    rows = [
        {
            "#": r.fact.id,
            "stylized fact": r.fact.fact,
            "source": r.fact.source,
            "target": r.fact.target,
            "model": r.model_text,
            "held": "yes" if r.held else "NO",
            "by construction": "yes" if r.fact.by_construction else "no",
        }
        for r in results
    ]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(results: Sequence[FactResult]) -> str:
    """The facts as a Markdown table (the table of ``docs/validation.md``)."""
    table = results_table(results)
    lines = [
        "| " + " | ".join(table.columns) + " |",
        "|" + "|".join("---" for _ in table.columns) + "|",
    ]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(_md_cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def render_html(
    results: Sequence[FactResult],
    title: str = "kamsim validation",
    summary: str | None = None,
) -> str:
    """A self-contained HTML page with the facts table and each fact's explanation.

    Args:
        results: the checked facts.
        title: the page title.
        summary: the line under the title (default: how many facts held).
    """
    table = results_table(results)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = []
    for r, row in zip(results, table.itertuples(index=False), strict=True):
        cls = "held" if r.held else "failed"
        cells = "".join(f"<td>{html.escape(str(v))}</td>" for v in row)
        body.append(f'<tr class="{cls}">{cells}</tr>')
    notes = "".join(
        f"<li><b>{html.escape(r.fact.id)}</b> {html.escape(r.fact.explanation)}</li>"
        for r in results
        if r.fact.explanation
    )
    style = (
        "body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;font-size:0.9em}"
        "td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}"
        "tr.failed td{background:#fdd}"
    )
    held = sum(r.held for r in results)
    summary = summary or f"{held} of {len(results)} stylized facts held"
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{style}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(summary)}.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f"<h2>Why</h2><ul>{notes}</ul></body></html>"
    )


#: Markers of the generated facts table in ``docs/validation.md``.
DOC_START = "<!-- facts:start -->"
DOC_END = "<!-- facts:end -->"


def doc_section(text: str) -> str:
    """The text between the facts markers of a document (without the markers).

    Raises:
        ValueError: if the markers are missing, repeated or out of order.
    """
    if text.count(DOC_START) != 1 or text.count(DOC_END) != 1:
        raise ValueError(f"expected exactly one '{DOC_START}' and one '{DOC_END}' marker")
    _, rest = text.split(DOC_START)
    if DOC_END not in rest:
        raise ValueError(f"'{DOC_END}' must come after '{DOC_START}'")
    return rest.split(DOC_END)[0].strip("\n") + "\n"


def replace_doc_section(text: str, table: str) -> str:
    """``text`` with the part between the facts markers replaced by ``table``."""
    doc_section(text)  # validates the markers
    head, rest = text.split(DOC_START)
    _, tail = rest.split(DOC_END)
    return f"{head}{DOC_START}\n{table.rstrip(chr(10))}\n{DOC_END}{tail}"


def summary_line(results: Sequence[FactResult], sim: Simulator) -> str:
    """``"12 of 12 claimed stylized facts held; 1 documented as not reproduced (...)"``."""
    claimed = [r for r in results if r.fact.claimed]
    held = sum(r.held for r in claimed)
    others = len(results) - len(claimed)
    extra = f"; {others} documented as not reproduced" if others else ""
    return (
        f"{held} of {len(claimed)} claimed stylized facts held{extra} "
        f"({sim.replications} replications per configuration, {sim.quarters} quarters, "
        f"root seed {sim.seed})"
    )


def failed(results: Sequence[FactResult]) -> list[FactResult]:
    """The claimed facts whose targets were missed (the model does not do what it says)."""
    return [r for r in results if r.fact.claimed and not r.held]


def console_lines(results: Sequence[FactResult]) -> list[str]:
    """One line per fact for the console: id, held, fact, model, target, source."""
    width = max((len(r.fact.id) for r in results), default=1)
    out = []
    for r in results:
        if r.fact.claimed:
            held = "held" if r.held else "NOT HELD"
        else:
            held = "not claimed" if not r.held else "HOLDS (unclaimed)"
        construction = " (by construction)" if r.fact.by_construction else ""
        out.append(
            f"{r.fact.id:<{width}}  {held:<11}  {r.fact.fact}{construction}: "
            f"model {r.model_text}; target {r.fact.target}; source {r.fact.source}"
        )
    return out


def write_files(
    results: Sequence[FactResult], out_dir: str | Path, sim: Simulator
) -> tuple[Path, Path]:
    """Write ``validation.md`` and ``validation.html`` into ``out_dir`` (atomically).

    Returns:
        The paths of the Markdown and HTML files.
    """
    from kamsim.experiments.store import write_text

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    notes = "\n".join(
        f"* **{r.fact.id}** {r.fact.explanation}" for r in results if r.fact.explanation
    )
    md = (
        f"# kamsim validation\n\n{summary_line(results, sim)}.\n\n"
        f"{render_markdown(results)}\n## Why\n\n{notes}\n"
    )
    page = render_html(results, summary=summary_line(results, sim))
    paths = []
    for name, text in (("validation.md", md), ("validation.html", page)):
        write_text(folder / name, text)
        paths.append(folder / name)
    return paths[0], paths[1]
