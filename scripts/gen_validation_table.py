"""Generate the stylized-facts table of docs/validation.md from the facts registry.

The table lives between the markers ``<!-- facts:start -->`` and
``<!-- facts:end -->``; everything else in the file is left as it is. It is the same
table ``kamsim validate`` prints, from the same runs (400 replications per
configuration, root seed 2026)::

    .venv/bin/python scripts/gen_validation_table.py          # rewrite the table
    .venv/bin/python scripts/gen_validation_table.py --check  # exit 1 if it is stale

``tests/test_validation.py`` runs the same check.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kamsim.experiments.store import update_generated
from kamsim.validation import check, render_markdown, replace_doc_section
from kamsim.validation.accounts import plot_voi, voi_markdown
from kamsim.validation.facts import stage_table

STAGES_START, STAGES_END = "<!-- stages:start -->\n", "\n<!-- stages:end -->"
VOI_START, VOI_END = "<!-- judgement:start -->\n", "\n<!-- judgement:end -->"


def replace_between(text: str, start: str, end: str, body: str) -> str:
    """``text`` with the part between the markers ``start`` and ``end`` replaced."""
    if start not in text or end not in text:
        return text
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    return f"{head}{start}{body}{end}{tail}"


def replace_stage_table(text: str) -> str:
    """``text`` with the stage-distribution table between its markers rewritten."""
    if STAGES_START not in text or STAGES_END not in text:
        return text
    return replace_between(text, STAGES_START, STAGES_END, stage_table())


DEFAULT_DOC = Path(__file__).resolve().parents[1] / "docs" / "validation.md"


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or with ``--check`` verify) the facts table of the document."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("doc", nargs="?", type=Path, default=DEFAULT_DOC)
    parser.add_argument(
        "--check", action="store_true", help="only check; exit 1 if the table is stale"
    )
    args = parser.parse_args(argv)

    def rewrite(text: str) -> str:
        results = check()
        by_id = {r.fact.id: r.figure for r in results}
        if not args.check:
            img = args.doc.parent / "img"
            img.mkdir(exist_ok=True)
            plot_voi(by_id["16"], img / "value_of_information.png")
        text = replace_between(
            text, VOI_START, VOI_END, voi_markdown(by_id["16"], by_id["15"])
        )
        return replace_stage_table(replace_doc_section(text, render_markdown(results)))

    return update_generated(
        args.doc, rewrite, "facts table", check=args.check, script=__file__
    )


if __name__ == "__main__":
    sys.exit(main())
