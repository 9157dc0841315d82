"""Results store: one folder per experiment with Parquet datasets and a manifest.

Layout of ``<out>/<name>/``::

    manifest.json                 spec, spec hash, versions, cells, units, timings, failures
    runs/cell0003-rep000250.parquet
    quarters/cell0003-rep000250.parquet
    accounts/cell0003-rep000250.parquet

One file per work unit (cell x block of replications) and frame. Every file is written
atomically: to a temporary name in the same folder, then ``os.replace``, so a file
either exists complete or not at all, and an interrupted run can resume by running
only the units whose files are missing. A unit counts as done when all its kept
frames exist (``runs`` is written last).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from kamsim.experiments.spec import FRAMES, SpecError
from kamsim.results import Results

__all__ = [
    "MANIFEST",
    "SORT_KEYS",
    "StoreError",
    "load_results",
    "read_manifest",
    "sort_frame",
    "unit_file",
    "write_frame",
    "write_json",
]

MANIFEST = "manifest.json"

#: Sort order of each frame (by cell, replication, then time or account).
SORT_KEYS = {
    "runs": ["cell", "replication"],
    "quarters": ["cell", "replication", "quarter"],
    "accounts": ["cell", "replication", "slot", "generation"],
    "suppliers": ["cell", "replication", "supplier"],
}


class StoreError(SpecError):
    """The output folder cannot be used (another spec's results, or unreadable)."""


def unit_file(cell: int, first_replication: int) -> str:
    """File name of a work unit: ``cell0003-rep000250.parquet``."""
    return f"cell{cell:04d}-rep{first_replication:06d}.parquet"


def _atomic_write(path: Path, write: Any, suffix: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame to Parquet atomically (temp file in the same folder + rename)."""
    _atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False), ".tmp")


def write_json(data: Mapping[str, Any], path: Path) -> None:
    """Write JSON atomically (indented, keys in insertion order)."""

    def write(tmp: str) -> None:
        Path(tmp).write_text(json.dumps(data, indent=2, default=str) + "\n", "utf-8")

    _atomic_write(path, write, ".tmp")


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """Read ``manifest.json`` of a results folder.

    Raises:
        StoreError: if the folder has no readable manifest.
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise StoreError(f"'{folder}' is not a kamsim results folder (no {MANIFEST})")
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise StoreError(f"cannot read '{path}': {exc}") from None
    if not isinstance(data, dict):
        raise StoreError(f"'{path}' is not a kamsim manifest")
    return data


def sort_frame(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Sort a frame by cell, replication and quarter / slot, with a fresh index."""
    keys = [k for k in SORT_KEYS[kind] if k in frame.columns]
    if not len(frame) or not keys:
        return frame.reset_index(drop=True)
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def _read_files(files: Iterable[Path]) -> pd.DataFrame:
    parts = [pd.read_parquet(f) for f in files]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True)


def load_results(folder: str | Path, frames: Sequence[str] | None = None) -> Results:
    """Load an experiment's results folder (written by ``run_experiment``/``kamsim run``).

    Args:
        folder: the experiment's folder, ``<out>/<name>`` (the one holding
            ``manifest.json``).
        frames: which frames to read (default: all stored ones).

    Returns:
        :class:`kamsim.Results` with ``runs``, ``quarters``, ``accounts`` and
        ``suppliers`` sorted by
        cell, replication and quarter / slot / generation; ``meta`` is the manifest.
        Only the units listed as done in the manifest's unit list are read, so stray
        temporary files never leak in.

    Raises:
        StoreError: if ``folder`` is not a results folder or a frame is unknown.
    """
    root = Path(folder)
    manifest = read_manifest(root)
    wanted = list(frames) if frames is not None else list(FRAMES)
    for f in wanted:
        if f not in FRAMES:
            raise StoreError(f"'frames' must be drawn from {list(FRAMES)}: {f!r}")
    units = manifest.get("units", [])
    out: dict[str, pd.DataFrame] = {}
    for kind in FRAMES:
        if kind not in wanted:
            out[kind] = pd.DataFrame()
            continue
        files = [root / kind / u["file"] for u in units]
        files = [f for f in files if f.is_file()]
        out[kind] = sort_frame(_read_files(files), kind)
    return Results(
        runs=out["runs"],
        quarters=out["quarters"],
        accounts=out["accounts"],
        suppliers=out["suppliers"],
        meta=manifest,
    )
