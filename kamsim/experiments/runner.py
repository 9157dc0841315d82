"""Experiment runner: work units on local processes or a Dask cluster, resumable.

An experiment is split into **work units**: one cell of the design times one block of
at most :data:`CHUNK` replications (about 0.1-1 s of work each). A unit carries
everything it needs (cell parameters, root seed, index of its first replication), so
its numbers never depend on which worker ran it or how the replications were chunked:
replication ``i`` always uses ``replication_seeds(seed, ...)[i]``, in every cell.

Back-ends:

* ``workers=1``: in this process, no pool;
* ``workers=N`` (default ``os.cpu_count()``): N worker processes started with their
  own ``spawn`` context (no global ``set_start_method``), one unit at a time each, so
  a worker that dies (a policy calling ``os._exit``, a crash, the out-of-memory
  killer) fails only the unit it was running, which is named; workers end by
  themselves when the parent process dies;
* ``scheduler="tcp://host:8786"`` (or a ``dask.distributed.Client`` / ``LocalCluster``
  object): the units are submitted to that Dask cluster.

With ``out`` the results stream to ``out/<name>/`` (see :mod:`kamsim.experiments.store`)
as the units finish, under an exclusive lock of that folder for the whole run;
rerunning the same spec into the same folder runs only the units that are missing
or whose files do not match their recorded checksums, and the final dataset is
identical to an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import errno
import multiprocessing
import multiprocessing.connection
import os
import pickle
import platform
import shutil
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from kamsim._version import __version__
from kamsim.engine.results import Results
from kamsim.engine.simulate import simulate
from kamsim.experiments.spec import FRAMES, ExperimentSpec, load_spec
from kamsim.experiments.store import (
    FORMAT,
    LOCK,
    MANIFEST,
    FolderBusy,
    FolderLock,
    StoreError,
    file_checksum,
    load_results,
    read_manifest,
    sort_frame,
    unit_file,
    write_frame,
    write_json,
)
from kamsim.model.cache import source_stamp
from kamsim.model.params import ModelParams, ParameterError
from kamsim.policies.registry import policy_name

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


def _exit_with_parent() -> None:
    """End this worker process at once when its parent dies (killed, crashed)."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="kamsim-parent-watch", daemon=True).start()


def _worker_main(conn: Any) -> None:
    """Run the units the parent sends over ``conn`` until it sends None or goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _exit_with_parent()
    while True:
        try:
            task = conn.recv()
            if task is None:
                return
            conn.send(run_unit(task))
        except (EOFError, OSError):  # the parent is gone
            return


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


@dataclass
class _Worker:
    """A worker process, the parent's end of its pipe and the unit it is running."""

    process: Any
    conn: Any
    task: _Task | None = None


def _run_pool(tasks: list[_Task], workers: int) -> Iterator[_Outcome]:
    """Run tasks on ``workers`` spawned processes, one unit per worker at a time.

    A worker that dies fails only the unit it was running (the message says how it
    died) and is replaced. Stopping early (an exception, Ctrl-C) terminates the
    workers at once; their units are simply not done.
    """
    for task in tasks:  # refuse before starting anything, not unit by unit
        try:
            pickle.dumps(task.policy)
        except Exception as exc:
            raise ParameterError(
                f"policy '{policy_name(task.policy)}' cannot be sent to worker processes "
                f"({type(exc).__name__}: {exc}): define it at the top level of a module, "
                "or run with workers=1"
            ) from None
    ctx = multiprocessing.get_context("spawn")
    todo = deque(tasks)

    def start() -> _Worker:
        parent_end, child_end = ctx.Pipe()
        proc = ctx.Process(target=_worker_main, args=(child_end,), daemon=True)
        proc.start()
        child_end.close()
        return _Worker(proc, parent_end)

    def replace(w: _Worker) -> _Worker:
        w.conn.close()
        w.process.join(timeout=10)
        pool[pool.index(w)] = fresh = start()
        return fresh

    def feed(w: _Worker) -> None:
        task = w.task = todo.popleft() if todo else None
        if task is None:
            return
        try:
            w.conn.send(task)
        except OSError:  # the worker died between two units: a fresh one takes this
            w.task = None
            fresh = replace(w)
            fresh.task = task
            fresh.conn.send(task)

    pool = [start() for _ in range(min(workers, len(todo)))]
    try:
        for w in pool:
            feed(w)
        while busy := [(w, t) for w in pool if (t := w.task) is not None]:
            ready = set(
                multiprocessing.connection.wait(
                    [w.conn for w, _ in busy] + [w.process.sentinel for w, _ in busy]
                )
            )
            for w, task in busy:
                if w.conn not in ready and w.process.sentinel not in ready:
                    continue
                try:
                    outcome = w.conn.recv() if w.conn.poll() else None
                except (EOFError, OSError):
                    outcome = None
                if outcome is not None:
                    yield (task, *outcome)
                    feed(w)
                    continue
                w.process.join(timeout=10)
                yield (
                    task,
                    "error",
                    f"WorkerDied: the worker process running this unit died "
                    f"({_death(w.process.exitcode)}): the cause is in this unit, e.g. "
                    "its policy calling os._exit() or crashing the interpreter",
                    0.0,
                )
                feed(replace(w))
    finally:
        for w in pool:
            if w.task is None:
                with contextlib.suppress(OSError):
                    w.conn.send(None)
            else:
                w.process.terminate()
        for w in pool:
            w.process.join(timeout=10)
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
            w.conn.close()


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


def _other_code(versions: Mapping[str, Any]) -> str | None:
    """What made a folder with other code than this one, in words (None: this code).

    Another kamsim version, or other sources of the compiled model (the manifest's
    source stamp; folders made before it was recorded have none).
    """
    made_with = versions.get("kamsim")
    if made_with != __version__:
        return f"kamsim {made_with}; this is kamsim {__version__}"
    model = versions.get("model")
    if model is not None and model != source_stamp():
        return (
            "other model code (the sources of kamsim's model, engine or policies "
            f"changed since: {model[:12]} is now {source_stamp()[:12]})"
        )
    return None


def _versions() -> dict[str, str]:
    import mesa
    import numpy
    import pyarrow

    return {
        "kamsim": __version__,
        # a hash of the sources of the compiled model (model/, engine/, policies/):
        # results of other model code are never resumed, even under the same version
        "model": source_stamp(),
        "mesa": mesa.__version__,
        "numpy": numpy.__version__,
        "pandas": pd.__version__,
        "pyarrow": pyarrow.__version__,
        "python": platform.python_version(),
    }


def _new_manifest(spec: ExperimentSpec, units: list[Unit], chunk: int) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "name": spec.name,
        "description": spec.description,
        "spec": spec.to_dict(),
        "spec_hash": spec.spec_hash(),
        "policy_sources": spec.policy_sources(),
        "spec_source": spec.source,
        "versions": _versions(),
        "root_seed": spec.seed,
        "replications": spec.replications,
        "quarters": spec.quarters,
        "keep": list(spec.keep),
        "chunk_size": chunk,
        "cells": [c.label() for c in spec.cells],
        "units": [u.to_dict() for u in units],
        "checksums": {},
        "status": "new",
        "started": None,
        "ended": None,
        "wall_seconds": 0.0,
        "unit_seconds": {},
        "sessions": [],
        "failures": [],
    }


def _make_folder(folder: Path) -> bool:
    """Create the results folder (and its parents); True if this call created it."""
    if folder.is_dir():
        return False
    if folder.exists():
        raise StoreError(f"'{folder}' exists and is not a folder; choose another --out")
    try:
        folder.mkdir(parents=True)
    except FileExistsError:
        if folder.is_dir():
            return False  # another run made it just now
        raise StoreError(
            f"cannot create the results folder '{folder}': a part of its path is a file"
        ) from None
    except OSError as exc:
        raise StoreError(
            f"cannot create the results folder '{folder}': {exc.strerror or exc}"
        ) from None
    return True


def _open_folder(folder: Path, spec: ExperimentSpec) -> dict[str, Any]:
    """Return the manifest to continue, or a fresh one; refuse another spec's folder.

    Called with the folder's lock held, so the check and the first manifest write
    are one step for any other writer.
    """
    if (folder / MANIFEST).is_file():
        manifest = read_manifest(folder)
        if manifest.get("spec_hash") != spec.spec_hash():
            changed = _changed_policies(manifest, spec)
            if changed:
                why = (
                    "its file changed since"
                    if "policy_sources" in manifest
                    else "the results predate kamsim recording policy code"
                )
                raise StoreError(
                    f"'{folder}' holds results of this spec made with other code of "
                    f"policy {', '.join(repr(c) for c in changed)} ({why}). Results are "
                    "never mixed: to start over with the new code, delete this folder "
                    "or choose another --out folder."
                )
            raise StoreError(
                f"'{folder}' already holds results of a different spec "
                f"(name {manifest.get('name')!r}, hash "
                f"{str(manifest.get('spec_hash'))[:12]}; this spec's hash is "
                f"{spec.spec_hash()[:12]}). Results are never mixed: choose another "
                "--out folder, or delete this one to start over."
            )
        other = _other_code(manifest.get("versions", {}))
        if other is not None:
            raise StoreError(
                f"'{folder}' holds results made with {other}, whose numbers for the same "
                "seeds may differ. Results are never mixed: choose another --out folder, "
                "or delete this one to start over."
            )
        for session in manifest.get("sessions", []):
            if session.get("status") == "running":  # its process died holding the lock
                session["status"] = "interrupted"
        manifest.setdefault("checksums", {})
        return manifest
    if any(not p.name.startswith(LOCK) for p in folder.iterdir()):
        raise StoreError(
            f"'{folder}' exists and is not a kamsim results folder (no {MANIFEST}); "
            "choose another --out folder"
        )
    chunk = CHUNK
    return _new_manifest(spec, plan_units(spec, chunk), chunk)


def _changed_policies(manifest: Mapping[str, Any], spec: ExperimentSpec) -> list[str]:
    """User policies whose code differs from the run recorded in ``manifest``.

    Empty unless the spec itself (and its cells) are those of the manifest.
    """
    old = manifest.get("policy_sources") or {}
    if manifest.get("spec") != spec.to_dict():
        return []
    new = spec.policy_sources()
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def _unit_done(
    folder: Path, unit: Unit, keep: tuple[str, ...], checksums: Mapping[str, str]
) -> bool:
    """Whether every kept frame of a unit is stored and matches its checksum."""
    for kind in keep:
        path = folder / kind / unit.file
        expected = checksums.get(f"{kind}/{unit.file}")
        if expected is None or not path.is_file():
            return False
        try:
            if file_checksum(path) != expected:
                return False
        except OSError:
            return False
    return True


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
        StoreError: if ``out/<name>`` holds another spec's results, is being
            written by another run (the lock is held; naming that process), cannot
            be created or written (read-only, disk full: the finished units are
            kept and a rerun resumes).
        ExperimentError: if some units failed; the others are stored, the failures
            are listed in the manifest and in the exception, and rerunning the same
            command retries only the missing units.
    """
    sp = load_spec(spec)
    n_workers = _check_workers(workers)
    show = (not quiet and sys.stderr.isatty()) if progress is None else bool(progress)
    if out is None:
        return _run(sp, None, n_workers, scheduler, show, frames)
    folder = Path(out) / sp.name
    created = _make_folder(folder)
    try:
        with FolderLock(folder):
            try:
                return _run(sp, folder, n_workers, scheduler, show, frames)
            except BaseException:
                _discard_if_new(folder, created)
                raise
    except FolderBusy:
        raise
    except StoreError:
        _discard_if_new(folder, created)
        raise


def _discard_if_new(folder: Path, created: bool) -> None:
    """Remove a results folder this run created if it never wrote a manifest."""
    if created and not (folder / MANIFEST).exists():
        shutil.rmtree(folder, ignore_errors=True)


def _write_error(path: Path, exc: OSError) -> StoreError:
    full = " (the disk is full)" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else ""
    return StoreError(
        f"cannot write '{path}': {exc.strerror or exc}{full}; the finished work units "
        "are kept: fix the cause and run the same command again to resume"
    )


def _run(
    sp: ExperimentSpec,
    folder: Path | None,
    n_workers: int,
    scheduler: Any,
    show: bool,
    frames: Sequence[str] | None,
) -> Results:
    """Run the units of ``sp`` still to do (into ``folder``, whose lock is held)."""
    if folder is not None:
        manifest = _open_folder(folder, sp)
        chunk = int(manifest.get("chunk_size", CHUNK))
    else:
        chunk = CHUNK
        manifest = _new_manifest(sp, plan_units(sp, chunk), chunk)
    units = plan_units(sp, chunk)
    checksums: dict[str, str] = manifest.setdefault("checksums", {})
    if folder is not None:
        _clean_temp(folder)
        todo = [u for u in units if not _unit_done(folder, u, sp.keep, checksums)]
        for u in todo:  # recomputed: forget what was recorded of their old files
            for kind in FRAMES:
                checksums.pop(f"{kind}/{u.file}", None)
    else:
        todo = list(units)

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
        try:
            write_json(manifest, folder / MANIFEST)
        except OSError as exc:
            raise _write_error(folder / MANIFEST, exc) from None

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
                    path = folder / kind / u.file
                    try:
                        checksums[f"{kind}/{u.file}"] = write_frame(payload[kind], path)
                    except OSError as exc:
                        raise _write_error(path, exc) from None
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
        with contextlib.suppress(OSError):  # e.g. the disk is full: keep the cause
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
