"""Validation against the stylized facts of KAM practice.

:mod:`~kamsim.validation.checks` is the machinery (a :class:`Fact`, the
:class:`Simulator`, tables and documents) and imports no fact;
:mod:`~kamsim.validation.facts` holds this model's facts (``FACTS``) and
:func:`check`, which checks them.
"""

from kamsim.validation.checks import (
    DEFAULT_REPLICATIONS,
    DEFAULT_SEED,
    Fact,
    FactResult,
    Figure,
    Simulator,
    check_facts,
    console_lines,
    doc_section,
    failed,
    render_html,
    render_markdown,
    replace_doc_section,
    results_table,
    summary_line,
    write_files,
)
from kamsim.validation.facts import FACTS, check

__all__ = [
    "DEFAULT_REPLICATIONS",
    "DEFAULT_SEED",
    "FACTS",
    "Fact",
    "FactResult",
    "Figure",
    "Simulator",
    "check",
    "check_facts",
    "console_lines",
    "doc_section",
    "failed",
    "render_html",
    "render_markdown",
    "replace_doc_section",
    "results_table",
    "summary_line",
    "write_files",
]
