"""Global sensitivity analysis: run a sensitivity spec and compute its indices.

:func:`sensitivity` (``kamsim.sensitivity`` in Python, ``kamsim sensitivity SPEC.toml``
on the command line) loads a :mod:`sensitivity spec <kamsim.sensitivity.spec>`, runs
its points through the experiment runner and store (resumable, parallel, Dask,
progress bar, manifest), and analyses them with SALib:

* **Sobol** — first-order (``S1``) and total-order (``ST``) indices with bootstrap
  95 % confidence intervals, from a Saltelli/Sobol' sample (Saltelli et al. 2010;
  Jansen's estimator for ``ST``);
* **Morris** — elementary effects: ``mu_star`` (mean absolute effect, with its 95 %
  CI) and ``sigma`` (interactions and non-linearity) (Morris 1991; Campolongo et
  al. 2007).

Every point runs on the same replication seeds (common random numbers), so a
parameter that has no effect gives exactly the same outputs at every point and an
index of 0. Each parameter gets a verdict: *influential* (its total index is at
least :data:`THRESHOLD` even at the lower end of its interval), *negligible* (below
it even at the upper end) or *uncertain*. With a ``[robustness]`` table the headline
conclusions are re-checked at each robustness point: which policy is best and where
the best portfolio size lies.

References:
    Saltelli, A., Annoni, P., Azzini, I., Campolongo, F., Ratto, M., & Tarantola, S.
    (2010). Variance based sensitivity analysis of model output. Computer Physics
    Communications 181(2), 259-270. https://doi.org/10.1016/j.cpc.2009.09.018

    Morris, M. D. (1991). Factorial sampling plans for preliminary computational
    experiments. Technometrics 33(2), 161-174.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kamsim.analysis import metrics
from kamsim.analysis.statistics import mean_ci
from kamsim.engine.results import Results
from kamsim.sensitivity.spec import (
    SensitivitySpec,
    load_sensitivity_spec,
    resolve_output,
    sampling_rng,
)

__all__ = ["THRESHOLD", "SensitivityResult", "analyse", "point_outputs", "sensitivity"]

#: A parameter is influential when its total index (Sobol ``ST``, or Morris
#: ``mu_star`` relative to the largest) is at least this, negligible when below.
THRESHOLD = 0.05
#: Bootstrap resamples for the confidence intervals of the indices.
RESAMPLES = 200


@dataclass
class SensitivityResult:
    """The outcome of a sensitivity study.

    Attributes:
        spec: the validated spec.
        indices: one row per output and parameter, ranked: Sobol ``S1``,
            ``S1_conf``, ``ST``, ``ST_conf`` (half-widths of 95 % CIs), or Morris
            ``mu``, ``mu_star``, ``mu_star_conf``, ``sigma``; ``rank`` and
            ``verdict`` (influential / negligible / uncertain).
        points: one row per sample point: its parameter values and outputs.
        robustness: one row per robustness point (row 0 the defaults): best
            policy and its margin over the runner-up (paired 95 % CI), best size;
            None without a ``[robustness]`` table.
        results: the runs of every point.
        notes: remarks on outputs that could not be analysed.
    """

    spec: SensitivitySpec
    indices: pd.DataFrame
    points: pd.DataFrame
    robustness: pd.DataFrame | None
    results: Results
    notes: list[str] = field(default_factory=list)

    def top(self, output: str | None = None, k: int = 3) -> list[str]:
        """The ``k`` most important parameters for an output (default the first)."""
        out = output or self.spec.outputs[0]
        d = self.indices[self.indices["output"] == out].sort_values("rank")
        return list(d["parameter"].head(k))


def _stat(values: np.ndarray, stat: str) -> float:
    v = values[~np.isnan(values)]
    if stat == "mean":
        return float(np.mean(v)) if v.size else float("nan")
    if stat == "sd":
        return float(np.std(v, ddof=1)) if v.size > 1 else float("nan")
    if stat == "q05":
        return metrics.quantile_lower(v, 0.05)
    if stat == "cvar05":
        return metrics.cvar(v, 0.05)
    return float(np.mean(v < 0)) if v.size else float("nan")  # p_loss


def point_outputs(spec: SensitivitySpec, runs: pd.DataFrame) -> pd.DataFrame:
    """Each cell's outputs over its replications, one row per cell (by ``cell``)."""
    cols: dict[str, Any] = {}
    groups = runs.groupby("cell", sort=True)
    for name in spec.outputs:
        col, stat = resolve_output(name, list(runs.columns))
        if stat == "mean":
            cols[name] = groups[col].mean()
        else:
            cols[name] = pd.Series(
                {cell: _stat(g.to_numpy(np.float64), stat) for cell, g in groups[col]}
            )
    return pd.DataFrame(cols)


def _verdict(lo: float, hi: float) -> str:
    if np.isnan(lo) or np.isnan(hi):
        return "not computed"
    if lo >= THRESHOLD:
        return "influential"
    if hi < THRESHOLD:
        return "negligible"
    return "uncertain"


def _sobol(spec: SensitivitySpec, y: np.ndarray, k: int) -> pd.DataFrame:
    from SALib.analyze import sobol

    si = sobol.analyze(
        spec.problem,
        y,
        calc_second_order=False,
        num_resamples=RESAMPLES,
        conf_level=0.95,
        seed=sampling_rng(spec.seed, 2 + k),  # a Generator: SALib's `if seed:` holds
    )
    df = pd.DataFrame(
        {
            "parameter": [p.name for p in spec.parameters],
            "S1": si["S1"],
            "S1_conf": si["S1_conf"],
            "ST": si["ST"],
            "ST_conf": si["ST_conf"],
        }
    )
    df["verdict"] = [
        _verdict(st - c, st + c) for st, c in zip(df["ST"], df["ST_conf"], strict=True)
    ]
    return df.sort_values("ST", ascending=False, kind="stable")


def _morris(spec: SensitivitySpec, y: np.ndarray, k: int) -> pd.DataFrame:
    from SALib.analyze import morris

    si = morris.analyze(
        spec.problem,
        spec.design_matrix,
        y,
        num_resamples=RESAMPLES,
        conf_level=0.95,
        num_levels=spec.levels,
        seed=sampling_rng(spec.seed, 2 + k),
    )
    df = pd.DataFrame(
        {
            "parameter": [p.name for p in spec.parameters],
            "mu": si["mu"],
            "mu_star": si["mu_star"],
            "mu_star_conf": si["mu_star_conf"],
            "sigma": si["sigma"],
        }
    )
    top = float(df["mu_star"].max())
    scale = top if top > 0 else 1.0
    df["verdict"] = [
        _verdict((m - c) / scale, (m + c) / scale)
        for m, c in zip(df["mu_star"], df["mu_star_conf"], strict=True)
    ]
    return df.sort_values("mu_star", ascending=False, kind="stable")


def _indices(spec: SensitivitySpec, outs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    notes: list[str] = []
    frames = []
    for k, name in enumerate(spec.outputs):
        y = outs[name].to_numpy(np.float64)
        if np.isnan(y).any():
            notes.append(
                f"{name}: undefined at {int(np.isnan(y).sum())} of {y.size} points "
                "(e.g. no relationship reached the stage); no indices computed"
            )
            continue
        if np.ptp(y) == 0:
            notes.append(f"{name}: the same at every point; no indices computed")
            continue
        df = _sobol(spec, y, k) if spec.method == "sobol" else _morris(spec, y, k)
        df.insert(0, "output", name)
        df.insert(2, "rank", np.arange(1, len(df) + 1))
        frames.append(df)
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), notes


def _per_rep(runs: pd.DataFrame, cells: list[int], col: str) -> pd.DataFrame:
    """Replications x cells of one column (common random numbers: rows match)."""
    sub = runs[runs["cell"].isin(cells)]
    return sub.pivot(index="replication", columns="cell", values=col)[cells]


def _robust_row(spec: SensitivitySpec, runs: pd.DataFrame, point: int) -> dict[str, Any]:
    rb = spec.robustness
    if rb is None:  # never: called only with a [robustness] table
        return {}
    col, _ = resolve_output(rb.output, list(runs.columns))
    cells = [c for c in spec.cells if c.factors["point"] == point]
    row: dict[str, Any] = {"point": point, "is_default": point == 0}
    by_design: dict[str, list[Any]] = {}
    for c in cells:
        by_design.setdefault(str(c.factors["design"]), []).append(c)
    pol = by_design.get("policy", [])
    if pol:
        wide = _per_rep(runs, [c.index for c in pol], col)
        means = wide.mean()
        order = list(means.sort_values(ascending=False).index)
        name = {c.index: c.policy_name for c in pol}
        ci = mean_ci((wide[order[0]] - wide[order[1]]).to_numpy(np.float64))
        row.update(
            best_policy=name[order[0]],
            runner_up=name[order[1]],
            margin=ci["mean"],
            margin_ci_low=ci["ci_low"],
            margin_ci_high=ci["ci_high"],
            decisive=bool(ci["ci_low"] > 0),
        )
    size = by_design.get("size", [])
    if size:
        vals = _per_rep(runs, [c.index for c in size], col).to_numpy(np.float64)
        if "size_base" in by_design:
            base = _per_rep(runs, [c.index for c in by_design["size_base"]], col)
            vals = vals - base.to_numpy(np.float64)  # gain over the baseline policy
        rank = np.argsort(-vals.mean(axis=0), kind="stable")
        ci = mean_ci(vals[:, rank[0]] - vals[:, rank[1]])
        row.update(
            best_size=size[rank[0]].n_accounts,
            best_size_value=float(vals[:, rank[0]].mean()),
            next_size=size[rank[1]].n_accounts,
            size_margin=ci["mean"],
            size_margin_ci_low=ci["ci_low"],
            size_margin_ci_high=ci["ci_high"],
            size_decisive=bool(ci["ci_low"] > 0),
        )
    x = spec.robustness_matrix[point]
    row.update({p.name: float(v) for p, v in zip(spec.parameters, x, strict=True)})
    return row


def _robustness(spec: SensitivitySpec, runs: pd.DataFrame) -> pd.DataFrame | None:
    if spec.robustness is None:
        return None
    rows = [_robust_row(spec, runs, j) for j in range(len(spec.robustness_matrix))]
    return pd.DataFrame(rows)


def analyse(spec: SensitivitySpec, results: Results) -> SensitivityResult:
    """Indices and robustness of a sensitivity study from its runs.

    Args:
        spec: the validated spec.
        results: the runs of every cell (``run_experiment`` on the spec).
    """
    runs = results.runs
    outs = point_outputs(spec, runs)
    gsa = [c.index for c in spec.cells if c.factors["design"] == "gsa"]
    outs_gsa = outs.reindex(gsa)
    indices, notes = _indices(spec, outs_gsa)
    x = pd.DataFrame(spec.design_matrix, columns=[p.name for p in spec.parameters])
    points = pd.concat(
        [x.assign(point=np.arange(len(x))), outs_gsa.reset_index(drop=True)], axis=1
    )
    return SensitivityResult(
        spec=spec,
        indices=indices,
        points=points,
        robustness=_robustness(spec, runs),
        results=results,
        notes=notes,
    )


def sensitivity(
    spec: str | Path | Mapping[str, Any] | SensitivitySpec,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    quiet: bool = False,
    progress: bool | None = None,
) -> SensitivityResult:
    """Run a global sensitivity study and analyse it.

    Args:
        spec: a sensitivity spec (TOML path, dict or :class:`SensitivitySpec`).
        out: parent folder of the results (``out/<name>/``, resumable); None keeps
            them in memory.
        workers: local worker processes (default all cores; 1 runs inline).
        scheduler: a Dask scheduler address, Client or cluster.
        quiet: no progress bar.
        progress: force the progress bar on or off.

    Returns:
        The :class:`SensitivityResult` (indices, points, robustness, runs).

    Raises:
        SpecError: for an invalid spec (nothing runs, nothing is written).
        ExperimentError: if some points failed (the others are stored; run again
            to retry them).
    """
    from kamsim.experiments.runner import run_experiment

    sp = load_sensitivity_spec(spec)
    res = run_experiment(
        sp,
        out=out,
        workers=workers,
        scheduler=scheduler,
        quiet=quiet,
        progress=progress,
        frames=["runs"],
    )
    return analyse(sp, res)
