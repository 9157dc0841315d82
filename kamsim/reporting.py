"""The report of any results folder: an experiment's, or a sensitivity study's.

:func:`write_reports` finds the experiment folders under a results folder and writes
each one's report: :func:`kamsim.reports.experiment.write_report` for an experiment,
:func:`kamsim.sensitivity.report.write_sensitivity_report` for a sensitivity study
(``kind = "sensitivity"`` in its manifest's spec). A policy search
(``kamsim optimize``) gets
:func:`kamsim.optimize.report.write_optimize_report`. It sits above these packages, so
neither imports the other; ``kamsim report`` calls it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kamsim.engine.results import Results
from kamsim.experiments import load_results
from kamsim.model.params import ParameterError
from kamsim.reports.experiment import missing_results, write_report
from kamsim.sensitivity.report import write_sensitivity_report
from kamsim.sensitivity.run import analyse
from kamsim.sensitivity.spec import load_sensitivity_spec

__all__ = ["find_experiments", "write_reports"]


def _sensitivity_report(res: Results, spec: dict[str, Any], target: Path) -> Path:
    """Rebuild a sensitivity study's spec from its manifest, analyse and report it."""
    sp = load_sensitivity_spec(spec.get("input") or {})
    return write_sensitivity_report(analyse(sp, res), target)


def _is_search(folder: Path) -> bool:
    """Whether a folder holds a policy search (``kamsim optimize``), by its manifest."""
    import json

    try:
        meta = json.loads((Path(folder) / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and str(meta.get("format", "")).startswith(
        "kamsim-optimize/"
    )


def find_experiments(results_root: Path) -> list[Path]:
    """Experiment folders (holding ``manifest.json``) at or under ``results_root``.

    Folders inside another experiment folder (its ``report/``) are not experiments;
    an experiment may itself be named ``report``.
    """
    root = Path(results_root)
    if (root / "manifest.json").is_file():
        return [root]
    found = sorted(p.parent for p in root.rglob("manifest.json"))
    return [f for f in found if not any(o != f and f.is_relative_to(o) for o in found)]


def write_reports(
    results_root: Path,
    out: Path | None = None,
    *,
    warn: Callable[[str], object] | None = None,
) -> list[Path]:
    """Write a report for every experiment folder at or under ``results_root``.

    Each experiment's report goes to ``<folder>/report/``, or to
    ``<out>/<folder name>/report/`` when ``out`` is given. Sensitivity studies
    (``kind = "sensitivity"`` in their manifest's spec) get a sensitivity report. The
    report of a partial or failed run covers what is stored and says first what is
    missing.

    Args:
        results_root: an experiment folder, or a folder holding some.
        out: where to write the reports instead.
        warn: called with one line for each incomplete experiment.

    Returns:
        The paths of the written ``report.md`` files (``report.html`` beside each).

    Raises:
        ParameterError: if no experiment folder is found, or one has no results yet.
    """
    root = Path(results_root)
    folders = find_experiments(root)
    if not folders:
        raise ParameterError(
            f"'RESULTS_DIR' must be an experiment folder (holding manifest.json) or "
            f"contain one: {str(root)!r}"
        )
    written = []
    for folder in folders:
        if _is_search(folder):  # a policy search (kamsim optimize): its own report
            from kamsim.optimize.report import load_optimize_result, write_optimize_report

            target = (Path(out) / folder.name if out is not None else folder) / "report"
            written.append(write_optimize_report(load_optimize_result(folder), target))
            continue
        res = load_results(folder)
        missing = missing_results(folder, res.meta)
        if res.runs.empty:
            why = f": {missing[0]}" if missing else ""
            raise ParameterError(f"'{folder}' has no results to report on yet{why}")
        spec = dict(res.meta.get("spec") or {"name": folder.name})
        target = (Path(out) / folder.name if out is not None else folder) / "report"
        if spec.get("kind") == "sensitivity":
            written.append(_sensitivity_report(res, spec, target))
        else:
            written.append(write_report(res, target, spec=spec, missing=missing))
        if missing and warn is not None:
            warn(f"warning: {folder}: {missing[0]} See {written[-1]}.")
    return written
