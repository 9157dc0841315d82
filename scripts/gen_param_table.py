"""Generate the parameter table of docs/odd.md from kamsim.model.params.describe_params().

The table lives between the markers ``<!-- params:start -->`` and
``<!-- params:end -->`` of ``docs/odd.md``; everything else in the file is left as it
is. Run it after changing :class:`kamsim.ModelParams`::

    .venv/bin/python scripts/gen_param_table.py          # rewrite docs/odd.md
    .venv/bin/python scripts/gen_param_table.py --check  # exit 1 if the table is stale

``tests/test_docs.py`` runs the same check, so a parameter change that is not in the
document fails the test suite.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kamsim.experiments.store import update_generated
from kamsim.model.params import describe_params

START = "<!-- params:start -->"
END = "<!-- params:end -->"
DEFAULT_DOC = Path(__file__).resolve().parents[1] / "docs" / "odd.md"
COLUMNS = ("name", "default", "unit", "allowed", "meaning", "source")
HEADER = ("Parameter", "Default", "Unit", "Allowed", "Meaning", "Source")


def _cell(value: Any) -> str:
    """Format one table cell: tuples as lists, pipes escaped, one line."""
    if isinstance(value, tuple):
        text = "(" + ", ".join(f"{v:g}" for v in value) + ")"
    elif isinstance(value, float):
        text = f"{value:g}"
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def render_table() -> str:
    """Return the Markdown parameter table (no markers), one row per parameter."""
    lines = [
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join("---" for _ in HEADER) + "|",
    ]
    for row in describe_params():
        cells = [_cell(row[c]) for c in COLUMNS]
        cells[0] = f"`{cells[0]}`"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def replace_section(text: str, table: str) -> str:
    """Return ``text`` with the part between the markers replaced by ``table``.

    Raises:
        ValueError: if the markers are missing, repeated or out of order.
    """
    if text.count(START) != 1 or text.count(END) != 1:
        raise ValueError(f"expected exactly one '{START}' and one '{END}' marker")
    head, rest = text.split(START)
    if END not in rest:
        raise ValueError(f"'{END}' must come after '{START}'")
    _, tail = rest.split(END)
    return f"{head}{START}\n{table}\n{END}{tail}"


def current_section(text: str) -> str:
    """Return the text between the markers (without them), stripped of edge newlines."""
    _, rest = text.split(START, 1)
    return rest.split(END, 1)[0].strip("\n")


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or with ``--check`` verify) the parameter table of the document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("doc", nargs="?", type=Path, default=DEFAULT_DOC)
    parser.add_argument(
        "--check", action="store_true", help="only check; exit 1 if the table is stale"
    )
    args = parser.parse_args(argv)
    return update_generated(
        args.doc,
        lambda text: replace_section(text, render_table()),
        "parameter table",
        check=args.check,
        script=__file__,
        detail=f" ({len(describe_params())} parameters)",
    )


if __name__ == "__main__":
    sys.exit(main())
