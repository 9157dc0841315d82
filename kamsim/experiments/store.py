"""Results store: one folder per experiment with Parquet datasets and a manifest.

Layout of ``<out>/<name>/``::

    manifest.json                 spec, spec hash, versions, cells, units, checksums,
                                  timings, failures
    runs/cell0003-rep000250.parquet
    quarters/cell0003-rep000250.parquet
    accounts/cell0003-rep000250.parquet
    .kamsim.lock, .kamsim.lock.owner   the run's lock and who holds it

One file per work unit (cell x block of replications) and frame. Every file is written
atomically: to a temporary name in the same folder, then ``os.replace``, so a file
either exists complete or not at all; files get the usual permissions (``0666`` less
the umask). The manifest records the SHA-256 of every unit file: a unit counts as
done when all its kept frames exist and match their checksums, so a truncated,
damaged or unrecorded file is recomputed on resume and refused on load.

While a run writes into a folder it holds an exclusive lock on it
(:class:`FolderLock`, an OS file lock that dies with its process), so a second writer
is refused at once and a lock left by a killed run is taken over.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd
from filelock import FileLock, Timeout

from kamsim.engine.results import Results
from kamsim.experiments.spec import FRAMES, SpecError
from kamsim.files import atomic_write, file_checksum, write_json, write_text

__all__ = [
    "FORMAT",
    "LOCK",
    "MANIFEST",
    "SORT_KEYS",
    "FolderBusy",
    "FolderLock",
    "StoreError",
    "atomic_write",
    "file_checksum",
    "load_results",
    "read_manifest",
    "sort_frame",
    "stored_units",
    "unit_file",
    "write_frame",
    "write_json",
    "write_text",
]

MANIFEST = "manifest.json"
#: Format tag of a results manifest.
FORMAT = "kamsim-results/1"
#: Lock file of a results folder (the holder is described in ``LOCK + ".owner"``).
LOCK = ".kamsim.lock"

#: Sort order of each frame (by cell, replication, then time or account).
SORT_KEYS = {
    "runs": ["cell", "replication"],
    "quarters": ["cell", "replication", "quarter"],
    "accounts": ["cell", "replication", "slot", "generation"],
    "suppliers": ["cell", "replication", "supplier"],
}


class StoreError(SpecError):
    """The output folder cannot be used (another spec's or run's, damaged, unwritable)."""


class FolderBusy(StoreError):
    """Another process holds the lock of a results folder."""


def unit_file(cell: int, first_replication: int) -> str:
    """File name of a work unit: ``cell0003-rep000250.parquet``."""
    return f"cell{cell:04d}-rep{first_replication:06d}.parquet"


def write_frame(frame: pd.DataFrame, path: Path) -> str:
    """Write a DataFrame to Parquet atomically and return the file's SHA-256."""
    return atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def update_generated(
    doc: Path,
    rewrite: Callable[[str], str],
    what: str,
    *,
    check: bool,
    script: str,
    detail: str = "",
) -> int:
    """Rewrite the generated part of a document, or with ``check`` only verify it.

    ``rewrite(text)`` returns the document with its ``what`` (e.g. "facts table")
    regenerated; ``detail`` is added to the line saying it was rewritten. Prints one
    line and returns the exit code of ``script``: 0 (done or
    up to date), 1 (``check`` found it stale), 2 (the document could not be read or
    has no such part). The document is written atomically and only if it changed.
    """
    try:
        text = doc.read_text(encoding="utf-8")
        new = rewrite(text)
    except (OSError, ValueError) as exc:
        print(f"error: {doc}: {exc}", file=sys.stderr)
        return 2
    if check:
        if new != text:
            print(f"{doc}: {what} is stale; run {script}", file=sys.stderr)
            return 1
        print(f"{doc}: {what} is up to date")
        return 0
    if new != text:
        write_text(doc, new)
        print(f"{doc}: {what} rewritten{detail}")
    else:
        print(f"{doc}: {what} already up to date")
    return 0


class FolderLock:
    """Exclusive lock of a results folder, held for the whole of a run.

    An OS file lock (``flock`` through the ``filelock`` package) on ``.kamsim.lock``:
    the operating system releases it when its process ends, however it ends, so the
    lock of a killed run is simply taken over by the next one. The holder writes its
    process id, host and start time to ``.kamsim.lock.owner`` for the message a
    refused writer prints. Use as a context manager; the folder must exist.

    Raises:
        StoreError: on entry, if another process holds the lock (naming the folder
            and that process) or the lock file cannot be created.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._lock = FileLock(str(self.folder / LOCK), thread_local=False)

    def owner(self) -> str:
        """Who holds (or last held) the lock: ``process 123 on host h since t``."""
        try:
            info = json.loads((self.folder / (LOCK + ".owner")).read_text("utf-8"))
            return f"process {info['pid']} on host {info['host']} since {info['since']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"

    def held_elsewhere(self) -> bool:
        """Whether another process holds the lock now (False if it is free)."""
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return True
        except OSError:
            return False
        self._lock.release()
        return False

    def __enter__(self) -> FolderLock:
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise FolderBusy(
                f"'{self.folder}' is being written by another kamsim run "
                f"({self.owner()}); wait for it to finish or stop it, then run again"
            ) from None
        except OSError as exc:
            raise StoreError(
                f"cannot lock '{self.folder}': {exc.strerror or exc}"
            ) from None
        try:
            me = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            write_json(me, self.folder / (LOCK + ".owner"))
        except OSError as exc:
            self._lock.release()
            raise StoreError(
                f"cannot write in '{self.folder}': {exc.strerror or exc}"
            ) from None
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._lock.release()


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
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        tag = data.get("format") if isinstance(data, dict) else None
        raise StoreError(
            f"'{path}' is not a kamsim results manifest (format {tag!r}, expected "
            f"{FORMAT!r})"
        )
    return data


def sort_frame(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Sort a frame by cell, replication and quarter / slot, with a fresh index."""
    keys = [k for k in SORT_KEYS[kind] if k in frame.columns]
    if not len(frame) or not keys:
        return frame.reset_index(drop=True)
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def _read_unit(path: Path, expected: str | None) -> pd.DataFrame:
    """Read one unit file, checking its SHA-256 when ``expected`` is given."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StoreError(f"cannot read '{path}': {exc.strerror or exc}") from None
    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
        raise StoreError(
            f"'{path}' is damaged (its SHA-256 does not match the manifest): run the "
            "same `kamsim run` command again to recompute it, or load with "
            "verify=False to skip the check"
        )
    try:
        return pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
        first = (str(exc).splitlines() or [""])[0]
        raise StoreError(
            f"'{path}' is not a readable Parquet file ({type(exc).__name__}: {first}): "
            "run the same `kamsim run` command again to recompute it"
        ) from None


def stored_units(
    folder: Path, manifest: Mapping[str, Any], kind: str
) -> list[tuple[Path, str | None]]:
    """Unit files of one frame that count as stored, with their recorded checksums.

    A file counts when it exists and, for manifests that record checksums, when one
    is recorded for it (a file written just before a run was killed has none, and is
    recomputed on resume). Older manifests without checksums list every file found.
    """
    sums = manifest.get("checksums")
    out: list[tuple[Path, str | None]] = []
    for u in manifest.get("units", []):
        path = folder / kind / u["file"]
        rel = f"{kind}/{u['file']}"
        if sums is None:
            if path.is_file():
                out.append((path, None))
        elif rel in sums and path.is_file():
            out.append((path, str(sums[rel])))
    return out


def load_results(
    folder: str | Path, frames: Sequence[str] | None = None, *, verify: bool = True
) -> Results:
    """Load an experiment's results folder (written by ``run_experiment``/``kamsim run``).

    Args:
        folder: the experiment's folder, ``<out>/<name>`` (the one holding
            ``manifest.json``).
        frames: which frames to read (default: all stored ones).
        verify: check every unit file against the SHA-256 recorded in the manifest
            (default). ``verify=False`` skips the check (a damaged file may then
            still fail to parse, with the same kind of error).

    Returns:
        :class:`kamsim.Results` with ``runs``, ``quarters``, ``accounts`` and
        ``suppliers`` sorted by
        cell, replication and quarter / slot / generation; ``meta`` is the manifest.
        Only the units recorded as done in the manifest are read, so stray temporary
        files never leak in; units still missing (a partial or failed run) are left
        out: compare ``meta["units"]`` with what was loaded, or see the report.

    Raises:
        StoreError: if ``folder`` is not a kamsim results folder, a frame is unknown,
            or a unit file is damaged (naming the file; rerunning the same
            ``kamsim run`` command recomputes it).
    """
    root = Path(folder)
    manifest = read_manifest(root)
    wanted = list(frames) if frames is not None else list(FRAMES)
    for f in wanted:
        if f not in FRAMES:
            raise StoreError(f"'frames' must be drawn from {list(FRAMES)}: {f!r}")
    out: dict[str, pd.DataFrame] = {}
    for kind in FRAMES:
        if kind not in wanted:
            out[kind] = pd.DataFrame()
            continue
        parts = [
            _read_unit(path, digest if verify else None)
            for path, digest in stored_units(root, manifest, kind)
        ]
        parts = [p for p in parts if len(p)]
        frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        out[kind] = sort_frame(frame, kind)
    return Results(
        runs=out["runs"],
        quarters=out["quarters"],
        accounts=out["accounts"],
        suppliers=out["suppliers"],
        meta=manifest,
    )
