"""Sensitivity specs: which parameters vary, over what ranges, how, and what is measured.

A global sensitivity study is a TOML file read by :func:`load_sensitivity_spec`::

    name = "sensitivity"                # folder name under --out
    description = "Which assumed per-stage parameters drive the results?"
    method = "sobol"                    # "sobol" (Saltelli/Sobol' sampling) or "morris"
    samples = 128                       # sobol: base sample N, a power of 2 (N * (D + 2)
                                        # points); morris: trajectories (N * (D + 1) points)
    replications = 20                   # per point; the same replication seeds at every
                                        # point (common random numbers)
    quarters = 40
    seed = 20260301                     # root seed of the replications and of the sampling
    parameters = ["per_stage"]          # ModelParams names and/or the group "per_stage"
    exclude = []                        # names to leave out of a group
    outputs = ["value", "final_n_strategic", "final_largest_share"]
    levels = 4                          # morris only: grid levels
    [ranges]                            # optional overrides of the default ranges
    share_of_wallet = [0.8, 1.2]
    [fixed]                             # every point: n_accounts, policy, any parameter
    n_accounts = 20
    policy = "stage_gated"
    [robustness]                        # optional: do the headline conclusions survive?
    points = 32                         # parameter sets drawn over the same ranges
    policies = ["none", "uniform", "stage_gated", "greedy_roi"]
    n_accounts = [5, 10, 20, 35, 50]
    size_baseline = "none"              # best size = largest paired gain over this policy

**Ranges.** A scalar parameter varies over ``[lo, hi]`` in its own unit. A per-stage
parameter (a tuple, one value per stage) varies by a common factor on every stage, so
its stage order is kept; its range is the factor's range, and each stage's value is
kept inside the parameter's allowed bounds. Without an override, a parameter's range
is the documented range in its ``ModelParams`` metadata (``range``) when it has one,
else its default × [0.5, 1.5] (factor [0.5, 1.5] for per-stage parameters), clipped
to the allowed bounds.

**Outputs** are columns of the ``runs`` frame, averaged over a point's replications;
``"value"`` is NPV with terminal value (``npv_terminal``) when the model reports it,
else ``npv``; ``"column:stat"`` takes another statistic over the replications:
``q05`` (5 % quantile), ``cvar05``, ``p_loss`` (share below 0) or ``sd``.

:func:`load_sensitivity_spec` checks everything before anything runs and raises one
:class:`~kamsim.experiments.spec.SpecError` naming the field, the value and what is
allowed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from kamsim.experiments.design import VALUE_COLUMNS
from kamsim.experiments.spec import (
    MAX_QUARTERS,
    MAX_REPLICATIONS,
    Cell,
    ExperimentSpec,
    SpecError,
    load_spec,
    read_toml,
    spec_folders,
)
from kamsim.model.params import ModelParams, ParameterError, suggest

__all__ = [
    "GROUPS",
    "METHODS",
    "STATS",
    "ParamRange",
    "Robustness",
    "SensitivitySpec",
    "load_sensitivity_spec",
]

#: Sampling and analysis methods (SALib).
METHODS = ("sobol", "morris")
#: Statistics of an output over a point's replications.
STATS = ("mean", "q05", "cvar05", "p_loss", "sd")
#: Parameter groups selectable by name.
GROUPS = ("per_stage",)
#: Default half-width of a range: default × [1 - w, 1 + w].
DEFAULT_SPREAD = 0.5

_TOP = (
    "name",
    "description",
    "method",
    "samples",
    "replications",
    "quarters",
    "seed",
    "parameters",
    "exclude",
    "outputs",
    "levels",
    "ranges",
    "fixed",
    "robustness",
)
_ROBUST = ("points", "policies", "n_accounts", "size_baseline", "output")


@dataclass(frozen=True)
class ParamRange:
    """A varied parameter and its range.

    Attributes:
        name: the ``ModelParams`` field.
        lo: lower end (a factor for per-stage parameters).
        hi: upper end.
        per_stage: the parameter is a tuple varied by a common factor.
        origin: where the range comes from (``"spec"``, ``"documented"`` or
            ``"default ±50 %"``).
    """

    name: str
    lo: float
    hi: float
    per_stage: bool
    origin: str

    def apply(self, x: float) -> Any:
        """The parameter value at sample value ``x`` (clipped to the allowed bounds)."""
        f = _fields()[self.name]
        meta = f.metadata
        lo = -math.inf if meta["lo"] is None else meta["lo"]
        hi = math.inf if meta["hi"] is None else meta["hi"]
        if self.per_stage:
            return tuple(min(hi, max(lo, v * x)) for v in _default(self.name))
        v = min(hi, max(lo, x))
        return round(v) if meta["integer"] else float(v)

    @property
    def label(self) -> str:
        """``"share_of_wallet (× factor)"`` for per-stage, else the name."""
        return f"{self.name} (× factor)" if self.per_stage else self.name


@dataclass(frozen=True)
class Robustness:
    """How the headline conclusions are checked across the parameter space.

    Attributes:
        points: parameter sets drawn (Latin hypercube) over the varied ranges; the
            defaults are checked too.
        policies: policies compared at each point (at the fixed ``n_accounts``).
        n_accounts: portfolio sizes compared at each point (under the fixed policy).
        size_baseline: with it, the best size is where the paired gain of the fixed
            policy over this policy is largest (the value the budget adds); without
            it, where the decision output is largest.
        output: the decision output (``value`` by default).
    """

    points: int
    policies: tuple[str, ...]
    n_accounts: tuple[int, ...]
    size_baseline: str | None
    output: str


def _fields() -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(ModelParams)}


def _default(name: str) -> Any:
    """The default value of a ModelParams field."""
    return getattr(ModelParams(), name)


def _err(where: str | None, field_: str, msg: str) -> SpecError:
    prefix = f"{where}: " if where else ""
    return SpecError(f"{prefix}'{field_}' {msg}")


def _int(where: str | None, name: str, v: Any, lo: int, hi: int | None = None) -> int:
    ok = (
        isinstance(v, int)
        and not isinstance(v, bool)
        and v >= lo
        and (hi is None or v <= hi)
    )
    if not ok:
        allowed = (
            f"an integer in [{lo}, {hi:_}]" if hi is not None else f"an integer >= {lo}"
        )
        raise _err(where, name, f"must be {allowed}: {v!r}")
    return int(v)


def _names(where: str | None, key: str, v: Any) -> list[str]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise _err(where, key, f"must be a list of names: {v!r}")
    return list(v)


def default_range(name: str) -> ParamRange:
    """The default range of a parameter (documented, else default ±50 %).

    Raises:
        ParameterError: for a parameter that has no default to vary around (a
            default of 0 or None) and no documented range.
    """
    f = _fields()[name]
    meta = f.metadata
    per_stage = bool(meta["per_stage"])
    doc = meta.get("range")
    if doc is not None:
        return ParamRange(name, float(doc[0]), float(doc[1]), per_stage, "documented")
    if per_stage:
        return ParamRange(
            name, 1 - DEFAULT_SPREAD, 1 + DEFAULT_SPREAD, True, "default ±50 %"
        )
    d = _default(name)
    if d is None or d == 0:
        raise ParameterError(
            f"'{name}' has no documented range and a default of {d!r} to vary around; "
            "give its range in [ranges]"
        )
    lo, hi = sorted((d * (1 - DEFAULT_SPREAD), d * (1 + DEFAULT_SPREAD)))
    lo = max(lo, meta["lo"]) if meta["lo"] is not None else lo
    hi = min(hi, meta["hi"]) if meta["hi"] is not None else hi
    return ParamRange(name, _tidy(lo), _tidy(hi), False, "default ±50 %")


def _tidy(x: float) -> float:
    """``x`` to 12 significant digits (0.45, not 0.44999999999999996)."""
    return float(f"{x:.12g}")


def _check_range(where: str | None, name: str, v: Any, per_stage: bool) -> ParamRange:
    key = f"ranges.{name}"
    ok = (
        isinstance(v, list)
        and len(v) == 2
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
        and v[0] < v[1]
    )
    if not ok:
        raise _err(where, key, f"must be [low, high] with low < high: {v!r}")
    lo, hi = float(v[0]), float(v[1])
    if per_stage:
        if lo < 0:
            raise _err(where, key, f"is a factor on every stage and must be >= 0: {v!r}")
    else:
        meta = _fields()[name].metadata
        if (meta["lo"] is not None and lo < meta["lo"]) or (
            meta["hi"] is not None and hi > meta["hi"]
        ):
            raise _err(
                where, key, f"must lie within the allowed range ({_allowed(name)}): {v!r}"
            )
    return ParamRange(name, lo, hi, per_stage, "spec")


def _allowed(name: str) -> str:
    meta = _fields()[name].metadata
    return f"[{meta['lo']}, {meta['hi']}]"


def _parameters(where: str | None, data: Mapping[str, Any]) -> tuple[ParamRange, ...]:
    fields = _fields()
    names = ModelParams.names()
    wanted = _names(where, "parameters", data.get("parameters", []))
    excl = _names(where, "exclude", data.get("exclude", []))
    chosen: list[str] = []
    for w in wanted:
        if w == "per_stage":
            chosen += [n for n in names if fields[n].metadata["per_stage"]]
        elif w in names:
            chosen.append(w)
        else:
            raise _err(
                where,
                "parameters",
                f"must list ModelParams names or groups {list(GROUPS)}: "
                f"{w!r}{suggest(w, [*names, *GROUPS])}",
            )
    for e in excl:
        if e not in names:
            raise _err(where, "exclude", f"is not a parameter: {e!r}{suggest(e, names)}")
    chosen = [n for n in dict.fromkeys(chosen) if n not in excl]
    ranges = data.get("ranges", {})
    if not isinstance(ranges, Mapping):
        raise _err(where, "ranges", f"must be a table of [low, high] ranges: {ranges!r}")
    for k in ranges:
        if k not in chosen:
            raise _err(where, f"ranges.{k}", f"is not a varied parameter; varied: {chosen}")
    out = []
    for n in chosen:
        per_stage = bool(fields[n].metadata["per_stage"])
        if n in ranges:
            out.append(_check_range(where, n, ranges[n], per_stage))
        else:
            try:
                out.append(default_range(n))
            except ParameterError as exc:
                raise SpecError(
                    f"{where + ': ' if where else ''}parameters: {exc}"
                ) from None
    if len(out) < 2:
        raise _err(
            where, "parameters", f"must name at least two parameters to vary: {chosen}"
        )
    return tuple(out)


def _fixed(where: str | None, data: Mapping[str, Any], varied: Sequence[str]) -> Cell:
    """The base cell of every point, validated by the experiment-spec rules."""
    raw = data.get("fixed", {})
    if not isinstance(raw, Mapping):
        raise _err(where, "fixed", f"must be a table of settings: {raw!r}")
    names = set(ModelParams.names())
    for k in raw:
        if k in varied:
            raise _err(where, f"fixed.{k}", "is varied; it cannot also be fixed")
    for k in ("policy", "rival_policy"):  # a module:function beside the spec
        given = raw.get(k)
        for v in given if isinstance(given, list) else [given]:
            if isinstance(v, str) and ":" in v:
                with contextlib.suppress(ParameterError):  # load_spec says why
                    from kamsim.policies.registry import resolve_policy

                    resolve_policy(v, spec_folders(where))
    spec = {
        "name": "fixed",
        "replications": 1,
        "factors": {k: [v] for k, v in raw.items() if k not in names},
        "params": {k: v for k, v in raw.items() if k in names},
    }
    try:
        return load_spec(spec).cells[0]
    except SpecError as exc:
        text = str(exc).replace("'factors.", "'fixed.").replace("params.", "fixed.")
        raise SpecError(f"{where + ': ' if where else ''}{text}") from None


def _probe_columns(base: Cell) -> list[str]:
    """Columns of the ``runs`` frame this model produces (a one-quarter run)."""
    from kamsim.engine.simulate import simulate

    res = simulate(
        n_accounts=base.n_accounts,
        policy=base.policy,
        replications=1,
        quarters=1,
        params=base.params,
        keep_accounts=False,
    )
    return list(res.runs.columns)


def resolve_output(name: str, columns: Sequence[str]) -> tuple[str, str]:
    """``(column, stat)`` of an output name (``"value"`` -> the value column)."""
    col, _, stat = name.partition(":")
    if col == "value":
        col = next((c for c in VALUE_COLUMNS if c in columns), "npv")
    return col, stat or "mean"


def _outputs(
    where: str | None, data: Mapping[str, Any], columns: Sequence[str]
) -> tuple[str, ...]:
    outs = _names(where, "outputs", data.get("outputs", ["value"]))
    if not outs:
        raise _err(where, "outputs", "must list at least one output: []")
    numeric = [c for c in columns if c not in ("replication", "seed", "policy")]
    for o in outs:
        col, stat = resolve_output(o, columns)
        if col not in numeric:
            raise _err(
                where,
                "outputs",
                f"must name columns of the runs frame (or 'value'): {o!r}"
                f"{suggest(col, numeric)}",
            )
        if stat not in STATS:
            raise _err(where, "outputs", f"statistic must be one of {list(STATS)}: {o!r}")
    if len(set(outs)) != len(outs):
        raise _err(where, "outputs", f"lists an output more than once: {outs!r}")
    return tuple(outs)


def _robustness(
    where: str | None, data: Mapping[str, Any], columns: Sequence[str]
) -> Robustness | None:
    from kamsim.agents.model import check_n_accounts
    from kamsim.policies.registry import resolve_policy

    raw = data.get("robustness")
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise _err(where, "robustness", f"must be a table: {raw!r}")
    for k in raw:
        if k not in _ROBUST:
            allowed = f"; allowed: {', '.join(_ROBUST)}"
            raise _err(
                where, f"robustness.{k}", f"is not a key{suggest(str(k), _ROBUST)}{allowed}"
            )
    points = _int(where, "robustness.points", raw.get("points", 16), 1, 10_000)
    pols = _names(where, "robustness.policies", raw.get("policies", []))
    sizes = raw.get("n_accounts", [])
    baseline = raw.get("size_baseline")
    if not isinstance(sizes, list) or len(sizes) == 1:
        raise _err(
            where,
            "robustness.n_accounts",
            f"must be a list of two or more sizes: {sizes!r}",
        )
    if len(pols) == 1 or (not pols and not sizes):
        raise _err(
            where,
            "robustness.policies",
            f"must list two or more policies (or give n_accounts): {pols!r}",
        )

    def resolve(policy: Any) -> Any:
        return resolve_policy(policy, spec_folders(where))

    checks: list[tuple[str, Any, Any]] = [("robustness.policies", resolve, p) for p in pols]
    checks += [("robustness.n_accounts", check_n_accounts, n) for n in sizes]
    if baseline is not None:
        checks.append(("robustness.size_baseline", resolve, baseline))
    for key, check, value in checks:
        try:
            check(value)
        except ParameterError as exc:
            raise SpecError(f"{where + ': ' if where else ''}{key}: {exc}") from None
    output = raw.get("output", "value")
    _outputs(where, {"outputs": [output]}, columns)
    if ":" in str(output):
        raise _err(
            where, "robustness.output", f"must be a column (its mean decides): {output!r}"
        )
    return Robustness(points, tuple(pols), tuple(int(s) for s in sizes), baseline, output)


#: First spawn-key element of the sampling streams (replication seeds use 0..10^6).
_SAMPLING_KEY = 2**32 - 1


def sampling_rng(seed: int, purpose: int) -> np.random.Generator:
    """A generator for one sampling purpose, derived from the root seed.

    ``SeedSequence(seed, spawn_key=(2**32 - 1, purpose))``: 0 draws the sensitivity
    design, 1 the robustness points, 2 the bootstrap of the indices. The streams are
    independent of the replication seeds (children ``0 .. n-1`` of the same root).
    """
    ss = np.random.SeedSequence(seed, spawn_key=(_SAMPLING_KEY, purpose))
    return np.random.default_rng(ss)


@dataclass(frozen=True)
class SensitivitySpec(ExperimentSpec):
    """A validated sensitivity spec (build it with :func:`load_sensitivity_spec`).

    It is an :class:`~kamsim.experiments.spec.ExperimentSpec` whose cells are the
    sample points (and the robustness points) instead of a full factorial, so the
    experiment runner and store run it unchanged: resumable, parallel, on Dask, with
    a progress bar and a manifest. Every cell has the columns ``design`` (``gsa``,
    ``policy``, ``size`` or ``size_base``), ``point`` and one column per varied
    parameter (its sample value; a factor for per-stage parameters).

    Attributes:
        method: ``sobol`` or ``morris``.
        samples: base sample size (sobol) or number of trajectories (morris).
        levels: grid levels (morris).
        parameters: the varied parameters and their ranges.
        outputs: the outputs analysed.
        fixed: the fixed settings as given.
        robustness: the robustness check, if any.
        base: the cell every point starts from (fixed settings applied).
        columns: the columns of this model's runs frame.
        data: the spec as given (stored in the manifest, so that a report can
            rebuild the spec from a results folder).
    """

    method: str = "sobol"
    samples: int = 64
    levels: int = 4
    parameters: tuple[ParamRange, ...] = ()
    outputs: tuple[str, ...] = ()
    fixed: dict[str, Any] = field(default_factory=dict)
    robustness: Robustness | None = None
    base: Cell | None = None
    columns: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    def _base(self) -> Cell:
        if self.base is None:
            raise SpecError(
                "a SensitivitySpec needs its base cell (use load_sensitivity_spec)"
            )
        return self.base

    @property
    def problem(self) -> dict[str, Any]:
        """The SALib problem: names and bounds of the varied parameters."""
        return {
            "num_vars": len(self.parameters),
            "names": [p.name for p in self.parameters],
            "bounds": [[p.lo, p.hi] for p in self.parameters],
        }

    @cached_property
    def design_matrix(self) -> np.ndarray:
        """The sensitivity sample, one row per point (SALib, seeded from ``seed``)."""
        rng = sampling_rng(self.seed, 0)
        if self.method == "sobol":
            from SALib.sample import sobol

            return np.asarray(
                sobol.sample(self.problem, self.samples, calc_second_order=False, seed=rng)
            )
        from SALib.sample import morris

        return np.asarray(
            morris.sample(self.problem, self.samples, num_levels=self.levels, seed=rng)
        )

    @cached_property
    def robustness_matrix(self) -> np.ndarray:
        """Row 0: the model defaults; then ``points`` Latin-hypercube rows."""
        if self.robustness is None:
            return np.empty((0, len(self.parameters)))
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(self.parameters), rng=sampling_rng(self.seed, 1))
        u = unit.random(self.robustness.points)
        lo = np.array([p.lo for p in self.parameters])
        hi = np.array([p.hi for p in self.parameters])
        defaults = [
            1.0 if p.per_stage else float(_default(p.name)) for p in self.parameters
        ]
        return np.vstack([defaults, lo + u * (hi - lo)])

    def _cell(
        self, index: int, design: str, point: int, x: np.ndarray, n: int, policy: Any
    ) -> Cell:
        base = self._base()
        values = {
            p.name: p.apply(float(v)) for p, v in zip(self.parameters, x, strict=True)
        }
        try:
            params = base.params.evolve(**values)
        except ParameterError as exc:
            raise SpecError(
                f"{self.source + ': ' if self.source else ''}'ranges' give an invalid "
                f"parameter set at {design} point {point}: {exc}; narrow the ranges"
            ) from None
        cols = {p.name: float(v) for p, v in zip(self.parameters, x, strict=True)}
        return dataclasses.replace(
            base,
            index=index,
            n_accounts=int(n),
            policy=policy,
            params=params,
            factors={"design": design, "point": point, **cols},
        )

    @cached_property
    def cells(self) -> list[Cell]:  # type: ignore[override]
        """The sample points, then the robustness points, as cells of the runner."""
        base = self._base()
        out: list[Cell] = []
        for i, x in enumerate(self.design_matrix):
            out.append(self._cell(len(out), "gsa", i, x, base.n_accounts, base.policy))
        rb = self.robustness
        if rb is None:
            return out
        for j, x in enumerate(self.robustness_matrix):
            for pol in rb.policies:
                out.append(self._cell(len(out), "policy", j, x, base.n_accounts, pol))
            for n in rb.n_accounts:
                out.append(self._cell(len(out), "size", j, x, n, base.policy))
            if rb.size_baseline is not None:
                for n in rb.n_accounts:
                    out.append(self._cell(len(out), "size_base", j, x, n, rb.size_baseline))
        return out

    @property
    def n_cells(self) -> int:
        """Number of cells (sample points plus robustness cells)."""
        return len(self.cells)

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain JSON-friendly data (``kind = "sensitivity"``)."""
        rb = self.robustness
        return {
            "kind": "sensitivity",
            "name": self.name,
            "description": self.description,
            "method": self.method,
            "samples": self.samples,
            "levels": self.levels,
            "replications": self.replications,
            "quarters": self.quarters,
            "seed": self.seed,
            "parameters": [dataclasses.asdict(p) for p in self.parameters],
            "outputs": list(self.outputs),
            "fixed": _jsonable(self.fixed),
            "robustness": dataclasses.asdict(rb) if rb is not None else None,
            "factors": {},
            "params": {},
            "output": {"keep": list(self.keep)},
            "input": _jsonable(self.data),
        }


def _jsonable(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if callable(v):
        from kamsim.policies.registry import policy_name

        return policy_name(v)
    return v


def _top(where: str | None, data: Mapping[str, Any]) -> dict[str, Any]:
    for key in data:
        if key not in _TOP:
            raise _err(
                where,
                str(key),
                f"is not a spec key{suggest(str(key), _TOP)}; allowed: {', '.join(_TOP)}",
            )
    name = data.get("name")
    bad = set('/\\:*?"<>|\0')
    if (
        not isinstance(name, str)
        or not name.strip()
        or any(c in bad for c in name)
        or name in (".", "..")
    ):
        raise _err(
            where, "name", f"must be a non-empty string usable as a folder name: {name!r}"
        )
    desc = data.get("description", "")
    if not isinstance(desc, str):
        raise _err(where, "description", f"must be a string: {desc!r}")
    method = data.get("method", "sobol")
    if method not in METHODS:
        raise _err(where, "method", f"must be one of {list(METHODS)}: {method!r}")
    samples = _int(where, "samples", data.get("samples", 64), 2, 1 << 20)
    if method == "sobol" and samples & (samples - 1):
        raise _err(
            where,
            "samples",
            f"must be a power of 2 for Sobol' sampling (e.g. 64, 128): {samples}",
        )
    return {
        "name": name,
        "description": desc,
        "method": method,
        "samples": samples,
        "levels": _int(where, "levels", data.get("levels", 4), 2, 100),
        "replications": _int(
            where, "replications", data.get("replications", 20), 2, MAX_REPLICATIONS
        ),
        "quarters": _int(where, "quarters", data.get("quarters", 40), 1, MAX_QUARTERS),
        "seed": _int(where, "seed", data.get("seed", 0), 0),
    }


def load_sensitivity_spec(
    spec: str | Path | Mapping[str, Any] | SensitivitySpec,
) -> SensitivitySpec:
    """Read and validate a sensitivity spec; build every point (nothing runs).

    Args:
        spec: a path to a TOML file, a dict with the same structure, or a
            :class:`SensitivitySpec` (returned unchanged).

    Raises:
        SpecError: for a missing or malformed file, an unknown key, parameter, group,
            output, policy or setting (with the closest valid name), a bad range, a
            number of samples that Sobol' sampling cannot use, or parameter sets
            that are invalid; the message names the field, the value and what is
            allowed.
    """
    if isinstance(spec, SensitivitySpec):
        return spec
    where = str(spec) if isinstance(spec, str | Path) else None
    if isinstance(spec, str | Path):
        data: Mapping[str, Any] = read_toml(Path(spec))
    elif isinstance(spec, Mapping):
        data = spec
    else:
        raise SpecError(f"a sensitivity spec must be a path or a dict: {spec!r}")
    top = _top(where, data)
    params = _parameters(where, data)
    base = _fixed(where, data, [p.name for p in params])
    columns = _probe_columns(base)
    out = SensitivitySpec(
        name=top["name"],
        description=top["description"],
        replications=top["replications"],
        quarters=top["quarters"],
        seed=top["seed"],
        factors={},
        params={},
        keep=("runs",),
        source=where,
        method=top["method"],
        samples=top["samples"],
        levels=top["levels"],
        parameters=params,
        outputs=_outputs(where, data, columns),
        fixed=dict(data.get("fixed", {})),
        robustness=_robustness(where, data, columns),
        base=base,
        columns=tuple(columns),
        data=dict(data),
    )
    out.cells  # noqa: B018  (builds and validates every point's parameters)
    return out
