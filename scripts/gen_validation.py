"""Write the facts table of docs/validation.md from kamsim.facts (figures computed, not typed).

Usage: ``python scripts/gen_validation.py [DOC] [--check]``. The table between the
``<!-- facts:start -->`` and ``<!-- facts:end -->`` markers is replaced by
:func:`kamsim.facts.table` of :func:`kamsim.facts.figures`; ``--check`` only compares
and exits 1 when the page is stale. Takes about 20 s.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kamsim import facts

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = {"facts": lambda: facts.table(facts.figures()), "stages": facts.stage_table}


def render(text: str, table: str, name: str = "facts") -> str:
    """``text`` with the section between the ``name`` markers replaced by ``table``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    return f"{head}{start}\n{table}\n{end}{tail}"


def render_all(text: str) -> str:
    """``text`` with every generated section rewritten."""
    for name, make in SECTIONS.items():
        text = render(text, make(), name)
    return text


def main(argv: list[str]) -> int:
    """Rewrite (or with --check, verify) the facts table; return the exit code."""
    check = "--check" in argv
    paths = [a for a in argv if a != "--check"]
    doc = Path(paths[0]) if paths else ROOT / "docs" / "validation.md"
    text = doc.read_text(encoding="utf-8")
    for name in SECTIONS:
        if f"<!-- {name}:start -->" not in text or f"<!-- {name}:end -->" not in text:
            print(f"{doc}: markers <!-- {name}:start/end --> not found", file=sys.stderr)
            return 2
    new = render_all(text)
    if check:
        return 0 if new == text else 1
    doc.write_text(new, encoding="utf-8")
    print(f"{doc}: facts table rewritten ({len(facts.FACTS)} facts)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
