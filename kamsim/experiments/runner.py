"""Experiment runner: work units on local processes or a Dask cluster, resumable.

An experiment is split into **work units**: one cell of the design times one block of
at most :data:`CHUNK` replications (about 0.1-1 s of work each). A unit carries
everything it needs (cell parameters, root seed, index of its first replication), so
its numbers never depend on which worker ran it or how the replications were chunked:
replication ``i`` always uses ``replication_seeds(seed, ...)[i]``, in every cell.

Back-ends:

* ``workers=1``: in this process, no pool;
* ``workers=N`` (default ``os.cpu_count()``): a ``ProcessPoolExecutor`` with its own
  ``spawn`` context (no global ``set_start_method``);
* ``scheduler="tcp://host:8786"`` (or a ``dask.distributed.Client`` / ``LocalCluster``
  object): the units are submitted to that Dask cluster.

With ``out`` the results stream to ``out/<name>/`` (see :mod:`kamsim.experiments.store`)
as the units finish; rerunning the same spec into the same folder runs only the
missing units, and the final dataset is identical to an uninterrupted run.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import platform
import sys
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from kamsim._version import __version__
from kamsim.experiments.spec import FRAMES, ExperimentSpec, load_spec
from kamsim.experiments.store import (
    MANIFEST,
    StoreError,
    load_results,
    read_manifest,
    sort_frame,
    unit_file,
    write_frame,
    write_json,
)
from kamsim.params import ModelParams, ParameterError
from kamsim.results import Results
from kamsim.simulation import simulate

__all__ = [
    "CHUNK",
    "ExperimentError",
    "Unit",
    "describe_run",
    "plan_units",
    "run_experiment",
    "run_unit",
]

#: Replications per work unit (about 0.1-1 s of batched-engine work).
CHUNK = 250
#: Seconds between manifest updates while a run is in progress.
_MANIFEST_EVERY = 2.0


class ExperimentError(RuntimeError):
    """Some work units failed; the others completed and were stored.

    Attributes:
        failures: one dict per failed unit: ``cell``, ``first_replication``,
            ``replications``, ``error`` (the exception text and traceback).
        results: the results of the units that completed.
    """

    def __init__(self, message: str, failures: list[dict[str, Any]], results: Results):
        super().__init__(message)
        self.failures = failures
        self.results = results


@dataclass(frozen=True)
class Unit:
    """A work unit: replications ``first .. first+count-1`` of one cell.

    Attributes:
        cell: index of the cell.
        first: index of the first replication.
        count: number of replications.
    """

    cell: int
    first: int
    count: int

    @property
    def file(self) -> str:
        """File name of the unit in each frame's folder."""
        return unit_file(self.cell, self.first)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly description for the manifest."""
        return {
            "cell": self.cell,
            "first_replication": self.first,
            "replications": self.count,
            "file": self.file,
        }


@dataclass(frozen=True)
class _Task:
    """Everything a worker needs to run one unit (picklable)."""

    unit: Unit
    n_accounts: int
    policy: Any
    params: ModelParams
    quarters: int
    seed: int
    factors: dict[str, Any]
    keep: tuple[str, ...]
    rivals: int = 2
    rival_policy: Any = "stage_gated"


def plan_units(spec: ExperimentSpec, chunk: int = CHUNK) -> list[Unit]:
    """Split every cell's replications into blocks of at most ``chunk``."""
    return [
        Unit(cell=c, first=lo, count=min(chunk, spec.replications - lo))
        for c in range(spec.n_cells)
        for lo in range(0, spec.replications, chunk)
    ]


def run_unit(task: _Task) -> tuple[str, Any, float]:
    """Run one work unit; never raises.

    Returns:
        ``("ok", {frame name: DataFrame}, seconds)`` or ``("error", text, seconds)``
        where ``text`` is the exception and its traceback (an exception raised by
        user code might not be picklable, its text always is).
    """
    started = time.perf_counter()
    try:
        res = simulate(
            n_accounts=task.n_accounts,
            policy=task.policy,
            rivals=task.rivals,
            rival_policy=(
                list(task.rival_policy)
                if isinstance(task.rival_policy, tuple)
                else task.rival_policy
            ),
            replications=task.unit.count,
            quarters=task.quarters,
            seed=task.seed,
            params=task.params,
            keep_accounts="accounts" in task.keep,
            factors=task.factors,
            first_replication=task.unit.first,
        )
        frames = {}
        for kind in task.keep:
            df: pd.DataFrame = getattr(res, kind)
            cols = ["cell", *[c for c in df.columns if c != "cell"]]
            frames[kind] = df[cols]
        return "ok", frames, time.perf_counter() - started
    except Exception as exc:  # reported per unit, the run goes on
        text = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
        return "error", text, time.perf_counter() - started


# --------------------------------------------------------------------------- back-ends
_Outcome = tuple[_Task, str, Any, float]


def _run_inline(tasks: list[_Task]) -> Iterator[_Outcome]:
    for task in tasks:
        yield (task, *run_unit(task))


def _run_pool(tasks: list[_Task], workers: int) -> Iterator[_Outcome]:
    ctx = multiprocessing.get_context("spawn")
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
    try:
        futures = {pool.submit(run_unit, t): t for t in tasks}
        for fut in cf.as_completed(futures):
            task = futures[fut]
            try:
                yield (task, *fut.result())
            except Exception as exc:  # a worker died (killed, out of memory)
                yield task, "error", f"{type(exc).__name__}: {exc}", 0.0
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _dask_client(scheduler: Any) -> Iterator[Any]:
    from dask.distributed import Client

    if isinstance(scheduler, str):
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ParameterError(
                f"'scheduler' {scheduler!r} could not be reached (expected the address "
                f"of a running Dask scheduler, e.g. tcp://host:8786): {exc}"
            ) from None
        with client:
            yield client
    elif hasattr(scheduler, "submit") and hasattr(scheduler, "gather"):
        yield scheduler  # a Client owned by the caller
    elif hasattr(scheduler, "scheduler_address"):
        with Client(scheduler) as client:  # a LocalCluster-like object
            yield client
    else:
        raise ParameterError(
            "'scheduler' must be a Dask scheduler address (tcp://host:8786), a "
            f"dask.distributed.Client or a cluster object: {scheduler!r}"
        )


def _run_dask(tasks: list[_Task], client: Any) -> Iterator[_Outcome]:
    from dask.distributed import as_completed

    futures = {}
    for t in tasks:
        key = f"kamsim-unit-{t.unit.cell}-{t.unit.first}-{os.getpid()}-{time.time_ns()}"
        futures[client.submit(run_unit, t, pure=False, key=key)] = t
    try:
        for fut in as_completed(list(futures)):
            task = futures[fut]
            try:
                yield (task, *fut.result())
            except Exception as exc:  # a worker died (KilledWorker, lost connection)
                yield task, "error", f"{type(exc).__name__}: {exc}", 0.0
    finally:
        client.cancel([f for f in futures if not f.done()])


# --------------------------------------------------------------------------- manifest
def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _versions() -> dict[str, str]:
    import mesa
    import numpy
    import pyarrow

    return {
        "kamsim": __version__,
        "mesa": mesa.__version__,
        "numpy": numpy.__version__,
        "pandas": pd.__version__,
        "pyarrow": pyarrow.__version__,
        "python": platform.python_version(),
    }


def _new_manifest(spec: ExperimentSpec, units: list[Unit], chunk: int) -> dict[str, Any]:
    return {
        "format": "kamsim-results/1",
        "name": spec.name,
        "description": spec.description,
        "spec": spec.to_dict(),
        "spec_hash": spec.spec_hash(),
        "spec_source": spec.source,
        "versions": _versions(),
        "root_seed": spec.seed,
        "replications": spec.replications,
        "quarters": spec.quarters,
        "keep": list(spec.keep),
        "chunk_size": chunk,
        "cells": [c.label() for c in spec.cells],
        "units": [u.to_dict() for u in units],
        "status": "new",
        "started": None,
        "ended": None,
        "wall_seconds": 0.0,
        "unit_seconds": {},
        "sessions": [],
        "failures": [],
    }


def _open_folder(folder: Path, spec: ExperimentSpec) -> dict[str, Any]:
    """Return the manifest to continue, or a fresh one; refuse another spec's folder."""
    if (folder / MANIFEST).is_file():
        manifest = read_manifest(folder)
        if manifest.get("spec_hash") != spec.spec_hash():
            raise StoreError(
                f"'{folder}' already holds results of a different spec "
                f"(name {manifest.get('name')!r}, hash "
                f"{str(manifest.get('spec_hash'))[:12]}; this spec's hash is "
                f"{spec.spec_hash()[:12]}). Results are never mixed: choose another "
                "--out folder or delete this one."
            )
        return manifest
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise StoreError(
            f"'{folder}' exists and is not a kamsim results folder (no {MANIFEST}); "
            "choose another --out folder"
        )
    chunk = CHUNK
    return _new_manifest(spec, plan_units(spec, chunk), chunk)


def _unit_done(folder: Path, unit: Unit, keep: tuple[str, ...]) -> bool:
    return all((folder / kind / unit.file).is_file() for kind in keep)


def _clean_temp(folder: Path) -> None:
    for kind in FRAMES:
        d = folder / kind
        if d.is_dir():
            for f in d.glob(".*.tmp"):
                f.unlink(missing_ok=True)


# --------------------------------------------------------------------------- runner
def _tasks(spec: ExperimentSpec, units: list[Unit]) -> list[_Task]:
    cells = spec.cells
    out = []
    for u in units:
        c = cells[u.cell]
        out.append(
            _Task(
                unit=u,
                n_accounts=c.n_accounts,
                policy=c.policy,
                params=c.params,
                quarters=spec.quarters,
                seed=spec.seed,
                factors={"cell": c.index, **c.factors},
                keep=spec.keep,
                rivals=c.rivals,
                rival_policy=c.rival_policy,
            )
        )
    return out


def _check_workers(workers: Any) -> int:
    if workers is None:
        return os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ParameterError(f"'workers' must be an integer >= 1: {workers!r}")
    return workers


def _progress_bar(total: int, initial: int, enabled: bool, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        disable=not enabled,
        desc=desc,
        unit="unit",
        file=sys.stderr,
        dynamic_ncols=True,
    )


def run_experiment(
    spec: str | Path | Mapping[str, Any] | ExperimentSpec,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    quiet: bool = False,
    progress: bool | None = None,
    *,
    frames: Sequence[str] | None = None,
) -> Results:
    """Run an experiment spec, optionally streaming results to a resumable store.

    Args:
        spec: path of a TOML spec, a dict with the same structure, or an
            :class:`~kamsim.experiments.spec.ExperimentSpec`.
        out: parent folder of the results; they go to ``out/<spec name>/``. None keeps
            the results in memory only.
        workers: local worker processes (default: all cores; 1 runs in this process).
            Ignored when ``scheduler`` is given.
        scheduler: a Dask scheduler address (``"tcp://host:8786"``), a
            ``dask.distributed.Client``, or a cluster object with a
            ``scheduler_address`` (e.g. ``LocalCluster``).
        quiet: no progress bar.
        progress: force the progress bar on (True) or off (False); default: shown
            when standard error is a terminal and ``quiet`` is False.
        frames: with ``out``, which stored frames to read back into the returned
            results (default: all kept; ``["runs"]`` saves memory on big studies).

    Returns:
        :class:`kamsim.Results` with ``runs``, ``quarters``, ``accounts`` (the kept
        frames) sorted by cell, replication and quarter / slot, each with a ``cell``
        column and one column per factor. ``meta`` is the manifest (with ``out``) or
        a summary of the run.

    Raises:
        SpecError: for an invalid spec (nothing is run or written).
        StoreError: if ``out/<name>`` holds another spec's results.
        ExperimentError: if some units failed; the others are stored, the failures
            are listed in the manifest and in the exception, and rerunning the same
            command retries only the missing units.
    """
    sp = load_spec(spec)
    n_workers = _check_workers(workers)
    folder = Path(out) / sp.name if out is not None else None
    if folder is not None:
        manifest = _open_folder(folder, sp)
        chunk = int(manifest.get("chunk_size", CHUNK))
    else:
        chunk = CHUNK
        manifest = _new_manifest(sp, plan_units(sp, chunk), chunk)
    units = plan_units(sp, chunk)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        _clean_temp(folder)
        todo = [u for u in units if not _unit_done(folder, u, sp.keep)]
    else:
        todo = list(units)

    show = (not quiet and sys.stderr.isatty()) if progress is None else bool(progress)
    backend = (
        "dask"
        if scheduler is not None
        else ("inline" if n_workers == 1 or len(todo) <= 1 else "processes")
    )
    session: dict[str, Any] = {
        "started": _now(),
        "ended": None,
        "backend": backend,
        "workers": None if scheduler is not None else n_workers,
        "units_to_run": len(todo),
        "units_run": 0,
        "seconds": 0.0,
        "status": "running",
    }
    manifest["sessions"] = [*manifest.get("sessions", []), session]
    manifest["started"] = manifest.get("started") or session["started"]
    manifest["status"] = "running"
    # failures of earlier sessions are retried now; keep only those still missing
    manifest["failures"] = []
    if folder is not None:
        write_json(manifest, folder / MANIFEST)

    memory: list[tuple[Unit, dict[str, pd.DataFrame]]] = []
    failures: list[dict[str, Any]] = []
    started = time.perf_counter()
    last_write = started
    bar = _progress_bar(len(units), len(units) - len(todo), show, sp.name)

    def save() -> None:
        session["seconds"] = round(time.perf_counter() - started, 3)
        manifest["wall_seconds"] = round(
            sum(float(s.get("seconds") or 0.0) for s in manifest["sessions"]), 3
        )
        manifest["failures"] = failures
        if folder is not None:
            write_json(manifest, folder / MANIFEST)

    def handle(outcome: _Outcome) -> None:
        nonlocal last_write
        task, status, payload, seconds = outcome
        u = task.unit
        if status == "ok":
            if folder is not None:
                # runs last: a unit counts as done once all its kept frames exist
                for kind in sorted(payload, key=lambda k: k == "runs"):
                    write_frame(payload[kind], folder / kind / u.file)
            else:
                memory.append((u, payload))
            manifest["unit_seconds"][u.file] = round(seconds, 4)
            session["units_run"] = int(session["units_run"]) + 1
        else:
            failures.append({**u.to_dict(), "error": str(payload)})
        bar.update(1)
        if time.perf_counter() - last_write > _MANIFEST_EVERY:
            save()
            last_write = time.perf_counter()

    tasks = _tasks(sp, todo)
    try:
        if not tasks:
            pass
        elif scheduler is not None:
            with _dask_client(scheduler) as client:
                for outcome in _run_dask(tasks, client):
                    handle(outcome)
        elif backend == "inline":
            for outcome in _run_inline(tasks):
                handle(outcome)
        else:
            for outcome in _run_pool(tasks, min(n_workers, len(tasks))):
                handle(outcome)
    except BaseException:
        bar.close()
        session["status"] = manifest["status"] = "interrupted"
        session["ended"] = _now()
        save()
        raise
    bar.close()
    session["ended"] = manifest["ended"] = _now()
    session["status"] = manifest["status"] = "failed" if failures else "complete"
    save()

    if folder is not None:
        results = load_results(folder, frames=frames)
    else:
        parts = sorted(memory, key=lambda p: (p[0].cell, p[0].first))
        merged: dict[str, pd.DataFrame] = {}
        for kind in FRAMES:
            dfs = [p[1][kind] for p in parts if kind in p[1] and len(p[1][kind])]
            merged[kind] = (
                sort_frame(pd.concat(dfs, ignore_index=True), kind)
                if dfs
                else pd.DataFrame()
            )
        results = Results(
            runs=merged["runs"],
            quarters=merged["quarters"],
            accounts=merged["accounts"],
            meta=manifest,
        )
    if failures:
        first = failures[0]["error"].splitlines()[0] if failures[0]["error"] else ""
        where = f" (recorded in {folder / MANIFEST})" if folder is not None else ""
        raise ExperimentError(
            f"{len(failures)} of {len(units)} work units of '{sp.name}' failed{where}; "
            f"first error, cell {failures[0]['cell']} replications from "
            f"{failures[0]['first_replication']}: {first}",
            failures=failures,
            results=results,
        )
    return results


def describe_run(results: Results) -> str:
    """One line saying how a run went (units, wall time), for the CLI."""
    m = results.meta
    units = len(m.get("units", []))
    secs = float(m.get("wall_seconds") or 0.0)
    return f"{units} work units, {len(m.get('cells', []))} cells, {secs:.1f} s"
