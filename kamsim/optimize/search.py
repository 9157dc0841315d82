"""The policy search: Optuna over the rule family, on common random numbers, resumable.

:func:`optimize` runs an :class:`~kamsim.optimize.spec.OptimizeSpec` in three phases:

1. **search** on the training seeds (``replication_seeds(seed, replications)``, the
   same for every trial): Optuna proposes rules of :mod:`kamsim.policies.family` in
   batches of ``batch`` trials, evaluated in parallel (local processes or Dask); the
   members of the family that equal built-ins (``uniform``, ``stage_gated``, ...)
   are the first trials, so the search starts from them;
2. **held-out evaluation** of the chosen rule(s) and every compared built-in on
   fresh seeds (a root derived from ``seed``), through the experiment runner;
3. **robustness**: the chosen rule and the built-ins against each rival policy and
   over parameter sets drawn from the sensitivity ranges, on other fresh seeds.

With ``out`` everything lives in ``out/<name>/`` under the folder's lock (as ``kamsim
run``): Optuna's storage ``study.db`` (SQLite), the chosen rule ``rule.toml``, the
runner folders ``heldout/`` and ``robustness/``, ``manifest.json`` (the spec, its
hash, versions, sessions, the chosen rule, checksums) and the report. Interrupted
(Ctrl-C, SIGTERM, ``kill -9``), the same command continues to the same result: the
trials of a batch are all proposed before any is evaluated, each proposal uses a
sampler seeded from the root seed and the trial's number, and trials left running
by a killed session are evaluated again (same rule, same seeds, same values).
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import shutil
import signal
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kamsim._version import __version__
from kamsim.engine.results import Results
from kamsim.experiments.runner import (
    _check_workers,
    _dask_client,
    _exit_with_parent,
    _make_folder,
    _other_code,
    _progress_bar,
    _versions,
    run_experiment,
)
from kamsim.experiments.spec import ExperimentSpec, load_spec
from kamsim.experiments.store import (
    MANIFEST,
    FolderBusy,
    FolderLock,
    StoreError,
    file_checksum,
    write_json,
)
from kamsim.model.params import ParameterError
from kamsim.optimize.result import CHOSEN, FORMAT, STUDY_FILE, OptimizeResult
from kamsim.optimize.spec import Objective, OptimizeSpec, load_optimize_spec
from kamsim.policies.family import PARAMETERS, SPECIAL_CASES, ScoreRule, save_rule

__all__ = ["FORMAT", "OptimizeResult", "optimize", "trial_outputs"]


def trial_outputs(
    values: Sequence[float],
    market: Mapping[str, Any],
    replications: int,
    seed: int,
    outputs: Sequence[Objective],
) -> dict[str, float]:
    """Simulate one rule on the training seeds and return its outputs (by text).

    Also returns ``value:mean``, ``value:cvar05`` and ``value:p_loss`` of the value
    column, and ``seconds``.
    """
    from kamsim.engine.simulate import simulate

    started = time.perf_counter()
    res = simulate(
        policy=ScoreRule(tuple(values)),
        replications=replications,
        seed=seed,
        keep_accounts=False,
        **market,
    )
    runs = res.runs
    value = "npv_terminal" if "npv_terminal" in runs.columns else "npv"
    extra = [Objective(f"value:{s}", value, s) for s in ("mean", "cvar05", "p_loss")]
    out = {o.text: o.of(runs[o.column].to_numpy()) for o in [*outputs, *extra]}
    out["seconds"] = time.perf_counter() - started
    return out


def _run_trial(task: tuple[Any, ...]) -> dict[str, float]:
    return trial_outputs(*task)


def _worker_init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _exit_with_parent()


@contextlib.contextmanager
def _executor(workers: int, scheduler: Any) -> Iterator[Callable[[list[Any]], list[Any]]]:
    """A ``map`` over trials: in this process, on spawned processes, or on Dask."""
    if scheduler is not None:
        with _dask_client(scheduler) as client:

            def dask_map(items: list[Any]) -> list[Any]:
                futures = [client.submit(_run_trial, x, pure=False) for x in items]
                return list(client.gather(futures))

            yield dask_map
    elif workers <= 1:
        yield lambda items: [_run_trial(x) for x in items]
    else:
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("spawn")
        ex = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init)
        try:
            yield lambda items: list(ex.map(_run_trial, items))
        finally:
            ex.shutdown(wait=False, cancel_futures=True)


def _trial_seed(root: int, number: int) -> int:
    """Seed of the sampler that proposes trial ``number`` (32 bits, from the root)."""
    ss = np.random.SeedSequence(root, spawn_key=(2**32 - 3, number))
    return int(ss.generate_state(1)[0])


def _violation(sp: OptimizeSpec, out: Mapping[str, float]) -> float | None:
    """How far a trial misses the constraint (<= 0: feasible), or None without one."""
    if sp.constraint is None:
        return None
    o, op, bound = sp.constraint
    v = out[o.text]
    if not math.isfinite(v):
        return math.inf
    return v - bound if op == "<=" else bound - v


def _constraints(trial: Any) -> list[float]:
    return [float(trial.user_attrs.get("violation", 0.0))]


def _sampler(sp: OptimizeSpec, seed: int) -> Any:
    import optuna

    cons = _constraints if sp.constraint is not None else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if sp.sampler == "tpe":
            return optuna.samplers.TPESampler(
                seed=seed,
                multivariate=True,
                n_startup_trials=max(10, 2 * sp.batch),
                constraints_func=cons,
            )
        if sp.sampler == "cmaes":
            return optuna.samplers.CmaEsSampler(
                seed=seed,
                n_startup_trials=len(SPECIAL_CASES),
                warn_independent_sampling=False,
            )
        if sp.sampler == "nsga2":
            return optuna.samplers.NSGAIISampler(
                seed=seed, population_size=max(8, sp.batch * 2), constraints_func=cons
            )
        return optuna.samplers.RandomSampler(seed=seed)


def _distributions() -> dict[str, Any]:
    from optuna.distributions import FloatDistribution

    return {p.name: FloatDistribution(p.lo, p.hi) for p in PARAMETERS}


def _warm_starts() -> list[dict[str, float]]:
    """The members of the family equal to built-ins, inside the search box."""
    out = []
    for params in SPECIAL_CASES.values():
        full = {p.name: float(params.get(p.name, p.neutral)) for p in PARAMETERS}
        if all(p.lo <= full[p.name] <= p.hi for p in PARAMETERS):
            out.append(full)
    return out


def _study(sp: OptimizeSpec, folder: Path | None) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage: Any
    if folder is None:
        storage = optuna.storages.InMemoryStorage()
    else:
        storage = optuna.storages.RDBStorage(f"sqlite:///{folder / STUDY_FILE}")
    directions = [o.direction for o in sp.objectives]
    study = optuna.create_study(
        study_name=sp.name,
        storage=storage,
        directions=directions,  # type: ignore[misc,arg-type,assignment,index,call-overload]
        load_if_exists=True,
        sampler=_sampler(sp, _trial_seed(sp.seed, 0)),
    )
    # the built-ins of the family come first (enqueued once, also after a kill)
    have = [t.system_attrs.get("fixed_params") for t in study.get_trials(deepcopy=False)]
    if len(study.get_trials(deepcopy=False)) <= len(_warm_starts()):
        for params in _warm_starts()[: sp.trials]:
            if params not in have:
                study.enqueue_trial(params)
    return study


def _propose(
    study: Any, sp: OptimizeSpec, dists: dict[str, Any], number: int
) -> dict[str, Any]:
    """The parameters the sampler proposes for trial ``number``, nothing written.

    The sampler (seeded from the trial's number) sees the study's finished trials
    through an in-memory copy, which is what it would see in the study itself.
    """
    import optuna

    mirror = optuna.create_study(
        directions=study.directions, sampler=_sampler(sp, _trial_seed(sp.seed, number))
    )
    mirror.add_trials([t for t in study.get_trials(deepcopy=True) if t.state.is_finished()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dict(mirror.ask(dists).params)


def _complete(study: Any, t: Any, dists: dict[str, Any]) -> Any:
    """A running trial with all its parameters.

    A search killed while Optuna wrote a trial's parameters one by one leaves the
    trial with some of them; they are written again from the trial's enqueued
    (fixed) parameters, so the trial is exactly the proposal it was.
    """
    from optuna.trial import Trial

    missing = [name for name in dists if name not in t.params]
    if not missing:
        return t
    trial = Trial(study, t._trial_id)
    for name in missing:
        d = dists[name]
        trial.suggest_float(name, d.low, d.high)  # the enqueued value (fixed_params)
    return study._storage.get_trial(t._trial_id)


def _search(
    sp: OptimizeSpec,
    folder: Path | None,
    run_map: Callable[[list[Any]], list[Any]],
    show: bool,
    on_batch: Callable[[], None],
) -> Any:
    """Run the trials still to do; return the study."""
    import optuna
    from optuna.trial import Trial, TrialState

    study = _study(sp, folder)
    dists = _distributions()
    market = sp.market_kwargs()
    outputs = sp.objectives + ([sp.constraint[0]] if sp.constraint else [])
    done = sum(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False))
    bar = _progress_bar(sp.trials, done, show, f"{sp.name} search")
    bar.unit = "trial"
    try:
        while True:
            trials = study.get_trials(deepcopy=False)
            asked = [t for t in trials if t.state != TrialState.WAITING]
            running = [t for t in asked if t.state == TrialState.RUNNING]
            if len(asked) >= sp.trials and not running:
                break
            start = running[0].number if running else len(asked)
            start -= start % sp.batch
            end = min(start + sp.batch, sp.trials)
            # 1. propose the whole batch before evaluating any of it; a proposal is
            # written whole (enqueued in one transaction), so a search killed while
            # proposing resumes with exactly the proposal it had made
            for number in range(len(asked), end):
                waiting = [
                    t
                    for t in study.get_trials(deepcopy=False)
                    if t.state == TrialState.WAITING
                ]
                if not waiting:
                    study.enqueue_trial(_propose(study, sp, dists, number))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t = study.ask(dists)
                if t.number != number:
                    raise StoreError(
                        f"'{folder}' holds an Optuna study out of step with this search "
                        f"(trial {t.number}, expected {number}); delete the folder to "
                        "start over"
                    )
            batch = [
                _complete(study, t, dists)
                for t in study.get_trials(deepcopy=False)
                if t.state == TrialState.RUNNING and start <= t.number < end
            ]
            # 2. evaluate on the training seeds (common random numbers)
            tasks = [
                (
                    tuple(t.params[p.name] for p in PARAMETERS),
                    market,
                    sp.replications,
                    sp.seed,
                    outputs,
                )
                for t in batch
            ]
            results = run_map(tasks)
            # 3. tell, in trial order
            for t, out in zip(batch, results, strict=True):
                trial = Trial(study, t._trial_id)
                for k, v in out.items():
                    trial.set_user_attr(k, float(v))
                viol = _violation(sp, out)
                if viol is not None:
                    trial.set_user_attr("violation", float(viol))
                values = [out[o.text] for o in sp.objectives]
                if all(math.isfinite(v) for v in values):
                    study.tell(t.number, values if len(values) > 1 else values[0])
                else:
                    study.tell(t.number, state=optuna.trial.TrialState.FAIL)
                bar.update(1)
            on_batch()
    finally:
        bar.close()
    return study


def trials_frame(study: Any, sp: OptimizeSpec) -> pd.DataFrame:
    """One row per completed trial: number, parameters, training outputs, feasibility."""
    from optuna.trial import TrialState

    rows = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        row: dict[str, Any] = {"trial": t.number}
        row.update({p.name: t.params[p.name] for p in PARAMETERS})
        row.update({f"train {k}": v for k, v in t.user_attrs.items() if k != "violation"})
        row["feasible"] = float(t.user_attrs.get("violation", 0.0)) <= 0.0
        row["warm_start"] = t.system_attrs.get("fixed_params") is not None
        rows.append(row)
    df = pd.DataFrame(rows)
    if len(df):
        df = df.sort_values("trial", ignore_index=True)
    return df


def _pareto(
    df: pd.DataFrame, cols: Sequence[str], maximise: Sequence[bool]
) -> pd.DataFrame:
    """Rows not dominated by any other (all objectives as 'larger is better')."""
    x = np.column_stack(
        [df[c].to_numpy() * (1 if m else -1) for c, m in zip(cols, maximise, strict=True)]
    )
    keep = []
    for i in range(len(x)):
        dominated = np.any(np.all(x >= x[i], axis=1) & np.any(x > x[i], axis=1))
        keep.append(not dominated)
    return df[np.array(keep, dtype=bool)]


def choose(df: pd.DataFrame, sp: OptimizeSpec) -> list[int]:
    """Trial numbers of the chosen rule(s), on training results only.

    One objective: the best feasible trial (ties: the earliest). Two: up to ``front``
    trials spread along the feasible Pareto front, the best by the first objective
    first.
    """
    ok = df[df["feasible"]] if df["feasible"].any() else df
    col = f"train {sp.objective.text}"
    order = ok.sort_values(["trial"]).sort_values(
        col, ascending=not sp.objective.maximise, kind="stable"
    )
    if sp.risk is None:
        return [int(order["trial"].iloc[0])]
    cols = [col, f"train {sp.risk.text}"]
    front = _pareto(ok, cols, [sp.objective.maximise, sp.risk.maximise])
    front = front.sort_values(col, ascending=not sp.objective.maximise, kind="stable")
    n = min(sp.front, len(front))
    idx = sorted({round(i * (len(front) - 1) / max(n - 1, 1)) for i in range(n)})
    return [int(front["trial"].iloc[i]) for i in idx]


# --------------------------------------------------------------------------- evaluation
def _market_factors(sp: OptimizeSpec) -> dict[str, list[Any]]:
    m = sp.market
    rp = list(m.rival_policy) if isinstance(m.rival_policy, tuple) else m.rival_policy
    return {"n_accounts": [m.n_accounts], "rivals": [m.rivals], "rival_policy": [rp]}


def heldout_spec(sp: OptimizeSpec, rules: Sequence[ScoreRule]) -> ExperimentSpec:
    """The held-out evaluation: the rules and every compared built-in, fresh seeds."""
    ids = ", ".join(f"{r.__policy_name__} = {r.digest}" for r in rules)
    return load_spec(
        {
            "name": "heldout",
            "description": f"held-out evaluation of {ids}",
            "replications": sp.eval_replications,
            "quarters": sp.quarters,
            "seed": sp.root(1),
            "factors": {"policy": [*rules, *sp.policies], **_market_factors(sp)},
            "params": dict(sp.data.get("params") or {}),
            "output": {"keep": ["runs"]},
        }
    )


@dataclass(frozen=True)
class RobustnessSpec(ExperimentSpec):
    """The robustness check as cells of the experiment runner (not a full factorial).

    Cells: the chosen rule and each compared built-in against each rival policy
    (``design = "rival"``), then at each of ``points`` parameter sets drawn (Latin
    hypercube) over the sensitivity ranges (``design = "params"``).
    """

    optimize: Any = None
    rule: Any = None

    @property
    def _sp(self) -> OptimizeSpec:
        return self.optimize  # type: ignore[no-any-return]

    def points_matrix(self) -> np.ndarray:
        """The parameter sets, one row per point (unit cube mapped to the ranges)."""
        from scipy.stats import qmc

        sp = self._sp
        if not sp.points or not sp.ranges:
            return np.empty((0, 0))
        rng = np.random.default_rng(
            np.random.SeedSequence(sp.seed, spawn_key=(2**32 - 2, 3))
        )
        u = qmc.LatinHypercube(d=len(sp.ranges), rng=rng).random(sp.points)
        lo = np.array([r.lo for r in sp.ranges])
        hi = np.array([r.hi for r in sp.ranges])
        return lo + u * (hi - lo)

    @property
    def cells(self) -> list[Any]:  # type: ignore[override]
        """Rival cells, then parameter-set cells."""
        import dataclasses

        cached = self.__dict__.get("_cells")
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        sp = self._sp
        base = sp.market
        policies = [self.rule, *sp.policies]
        out: list[Any] = []
        for rival in sp.rival_policies:
            for pol in policies:
                out.append(
                    dataclasses.replace(
                        base,
                        index=len(out),
                        policy=pol,
                        rival_policy=rival,
                        factors={"design": "rival", "point": -1, "opponent": rival},
                    )
                )
        x = self.points_matrix()
        for i, row in enumerate(x):
            values = {
                r.name: r.apply(float(v)) for r, v in zip(sp.ranges, row, strict=True)
            }
            try:
                params = base.params.evolve(**values)
            except ParameterError as exc:
                raise ParameterError(
                    f"'robustness.ranges' give an invalid parameter set at point {i}: {exc}"
                ) from None
            for pol in policies:
                out.append(
                    dataclasses.replace(
                        base,
                        index=len(out),
                        policy=pol,
                        params=params,
                        factors={"design": "params", "point": i, "opponent": ""},
                    )
                )
        self.__dict__["_cells"] = out
        return out

    @property
    def n_cells(self) -> int:  # type: ignore[override]
        """Number of cells."""
        return len(self.cells)

    def to_dict(self) -> dict[str, Any]:
        """The spec with every cell's label (so the hash covers them)."""
        d = super().to_dict()
        d["cells"] = [c.label() for c in self.cells]
        d["rule"] = self.rule.digest
        return d


def robustness_spec(sp: OptimizeSpec, rule: ScoreRule) -> RobustnessSpec | None:
    """The robustness check of ``rule`` (None if the spec asks for none)."""
    if not sp.rival_policies and not sp.points:
        return None
    return RobustnessSpec(
        name="robustness",
        description=f"robustness of {rule.__policy_name__} = {rule.digest}",
        replications=sp.robust_replications,
        quarters=sp.quarters,
        seed=sp.root(2),
        factors={},
        params={},
        keep=("runs",),
        optimize=sp,
        rule=rule,
    )


# --------------------------------------------------------------------------- manifest
def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _open(folder: Path, sp: OptimizeSpec) -> dict[str, Any]:
    import json

    path = folder / MANIFEST
    if path.is_file():
        try:
            m = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot read '{path}': {exc}") from None
        if not isinstance(m, dict) or m.get("format") != FORMAT:
            raise StoreError(
                f"'{folder}' is not a kamsim search folder ({MANIFEST} of another kind); "
                "choose another --out folder"
            )
        if m.get("spec_hash") != sp.spec_hash():
            raise StoreError(
                f"'{folder}' already holds a search of a different spec (hash "
                f"{str(m.get('spec_hash'))[:12]}; this spec's is {sp.spec_hash()[:12]}). "
                "Results are never mixed: choose another --out folder, or delete this "
                "one to start over."
            )
        other = _other_code(m.get("versions", {}))
        if other is not None:
            raise StoreError(
                f"'{folder}' holds a search made with {other}, whose numbers for the "
                "same seeds may differ. Choose another --out folder, or delete this one "
                "to start over."
            )
        for s in m.get("sessions", []):
            if s.get("status") == "running":
                s["status"] = "interrupted"
        return m  # type: ignore[no-any-return]
    if any(not p.name.startswith(".kamsim.lock") for p in folder.iterdir()):
        raise StoreError(
            f"'{folder}' exists and is not a kamsim search folder (no {MANIFEST}); "
            "choose another --out folder"
        )
    return {
        "format": FORMAT,
        "name": sp.name,
        "description": sp.description,
        "spec": sp.data,
        "spec_hash": sp.spec_hash(),
        "spec_source": sp.source,
        "versions": _versions(),
        "root_seed": sp.seed,
        "seeds": {"training": sp.seed, "heldout": sp.root(1), "robustness": sp.root(2)},
        "status": "new",
        "sessions": [],
        "phases": {},
        "chosen": None,
        "checksums": {},
    }


# --------------------------------------------------------------------------- optimize
def optimize(
    spec: str | Path | Mapping[str, Any] | OptimizeSpec,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    quiet: bool = False,
    progress: bool | None = None,
    *,
    report: bool = True,
) -> OptimizeResult:
    """Search the rule family for the best investment rule, and prove it held out.

    Args:
        spec: path of a TOML spec, a dict, or an :class:`OptimizeSpec`.
        out: parent folder; the search goes to ``out/<name>/`` (resumable). None
            runs in memory and writes nothing.
        workers: local worker processes (default: all cores; 1 runs in this process).
        scheduler: a Dask scheduler address, Client or cluster (as ``run_experiment``).
        quiet: no progress bars.
        progress: force the progress bars on or off.
        report: with ``out``, also write the report to ``out/<name>/report/``.

    Returns:
        :class:`OptimizeResult`: the chosen rule, the trials, and the held-out and
        robustness runs.

    Raises:
        SpecError: for an invalid spec (nothing is run or written).
        StoreError: if ``out/<name>`` holds another search, is being written by
            another run, or cannot be written.
        PolicyError: if a policy fails (one line naming it and the quarter).
    """
    sp = load_optimize_spec(spec)
    n_workers = _check_workers(workers)
    show = (not quiet and sys.stderr.isatty()) if progress is None else bool(progress)
    if out is None:
        return _optimize(sp, None, n_workers, scheduler, show, quiet, report=False)
    folder = Path(out) / sp.name
    created = _make_folder(folder)
    try:
        with FolderLock(folder):
            try:
                return _optimize(
                    sp, folder, n_workers, scheduler, show, quiet, report=report
                )
            except BaseException:
                if created and not (folder / MANIFEST).exists():
                    shutil.rmtree(folder, ignore_errors=True)
                raise
    except FolderBusy:
        raise
    except StoreError:
        if created and not (folder / MANIFEST).exists():
            shutil.rmtree(folder, ignore_errors=True)
        raise


def _optimize(
    sp: OptimizeSpec,
    folder: Path | None,
    n_workers: int,
    scheduler: Any,
    show: bool,
    quiet: bool,
    *,
    report: bool,
) -> OptimizeResult:
    manifest = _open(folder, sp) if folder is not None else {"phases": {}, "checksums": {}}
    session: dict[str, Any] = {
        "started": _now(),
        "ended": None,
        "workers": None if scheduler is not None else n_workers,
        "backend": "dask"
        if scheduler is not None
        else ("inline" if n_workers == 1 else "processes"),
        "status": "running",
    }
    manifest.setdefault("sessions", []).append(session)
    manifest["status"] = "running"

    def save() -> None:
        if folder is not None:
            write_json(manifest, folder / MANIFEST)

    save()
    phases = manifest.setdefault("phases", {})
    try:
        started = time.perf_counter()
        with _executor(n_workers, scheduler) as run_map:
            study = _search(sp, folder, run_map, show, save)
        phases["search_seconds"] = round(
            float(phases.get("search_seconds", 0.0)) + time.perf_counter() - started, 2
        )
        trials = trials_frame(study, sp)
        if trials.empty:
            raise ParameterError(
                f"no trial of '{sp.name}' completed (every rule gave a non-finite output)"
            )
        chosen = choose(trials, sp)
        rules = []
        for k, number in enumerate(chosen):
            row = trials[trials["trial"] == number].iloc[0]
            params = {p.name: float(row[p.name]) for p in PARAMETERS}
            name = CHOSEN if k == 0 else f"Pareto rule {k}"
            origin = {
                "spec": sp.source or "",
                "spec_hash": sp.spec_hash(),
                "name": sp.name,
                "trial": number,
                "sampler": sp.sampler,
                "training_seed": sp.seed,
                "training_replications": sp.replications,
                "training_value": float(row[f"train {sp.objective.text}"]),
                "kamsim": __version__,
            }
            rules.append(ScoreRule.from_params(params, name=name, origin=origin))
        rule = rules[0]
        if folder is not None:
            save_rule(rule, folder / "rule.toml")
            for k, r in enumerate(rules[1:], start=1):
                save_rule(r, folder / "pareto" / f"rule-{k}.toml")
            trials.to_csv(folder / "trials.csv", index=False)
            manifest["chosen"] = {
                "trials": chosen,
                "digest": rule.digest,
                "parameters": rule.params,
            }
            manifest["checksums"]["rule.toml"] = file_checksum(folder / "rule.toml")
            save()
        # held-out evaluation and robustness, through the experiment runner
        started = time.perf_counter()
        held = run_experiment(
            heldout_spec(sp, rules),
            out=folder,
            workers=n_workers,
            scheduler=scheduler,
            quiet=quiet,
            progress=show,
        )
        phases["heldout_seconds"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        rob_spec = robustness_spec(sp, rule)
        rob = (
            run_experiment(
                rob_spec,
                out=folder,
                workers=n_workers,
                scheduler=scheduler,
                quiet=quiet,
                progress=show,
            )
            if rob_spec is not None
            else Results(
                runs=pd.DataFrame(), quarters=pd.DataFrame(), accounts=pd.DataFrame()
            )
        )
        phases["robustness_seconds"] = round(time.perf_counter() - started, 2)
    except BaseException:
        session["status"] = manifest["status"] = "interrupted"
        session["ended"] = _now()
        with contextlib.suppress(OSError):
            save()
        raise
    result = OptimizeResult(
        spec=sp,
        rule=rule,
        rules=rules,
        trials=trials,
        heldout=held.runs,
        robustness=rob.runs,
        folder=folder,
        meta=manifest,
    )
    if folder is not None and report:
        from kamsim.optimize.report import write_optimize_report

        started = time.perf_counter()
        write_optimize_report(result, folder / "report")
        phases["report_seconds"] = round(time.perf_counter() - started, 2)
    session["ended"] = manifest["ended"] = _now()
    session["status"] = manifest["status"] = "complete"
    save()
    return result
