"""Experiment specs: declarative TOML files describing a full-factorial Monte Carlo study.

A spec names the factors and their levels, the replications per cell, the horizon and
the root seed. Every cell of the full-factorial product runs on the **same**
replication seeds (``replication_seeds(seed, replications)``), so cells are compared
on the same random worlds (common random numbers, paired comparisons).

Format (every key but ``name`` and ``replications`` has a default)::

    name = "investment_policies"          # folder name under --out
    description = "All built-in policies on the same replication seeds"
    replications = 1000                    # per cell, 1..1_000_000
    quarters = 40                          # 1..400
    seed = 20261123                        # root seed, integer >= 0
    [factors]                              # full-factorial product of the levels
    n_accounts = [20]
    policy = ["none", "uniform"]           # built-in names or "module:function"
    budget = [100.0]                       # any ModelParams field may be a factor
    [params]                               # fixed ModelParams overrides (optional)
    disruption_probability = 0.02
    [output]                               # optional
    keep = ["runs", "quarters", "accounts"]
    [report]                               # optional
    baseline = "none"                      # policy the report compares the others with

Conventions:

* ``n_accounts`` and ``policy`` default to 20 and ``"uniform"`` when not factors;
  ``rivals`` (number of rival suppliers, default 2) and ``rival_policy`` (a policy
  for every rival, or a list with one per rival; default ``"stage_gated"``) are
  factors too.
* Per-stage parameters are lists of numbers (``maintenance = [0, 0, 0.01, 0.02]``);
  a factor over a per-stage parameter is a list of such lists.
* Optional parameters (``replacement_delay``, ``lose_largest_at``) accept the string
  ``"off"`` for "none" (never replace, no stress test), e.g.
  ``lose_largest_at = ["off", 20]``.

:func:`load_spec` validates everything up front (it builds the ``ModelParams`` of every
cell) and raises one :class:`SpecError` naming the field, the value and what is
allowed, so nothing runs and nothing is written for a bad spec.

Limits, checked before any cell is built: at most :data:`MAX_CELLS` cells and
:data:`MAX_TOTAL_REPLICATIONS` replications in all (cells x replications); a name of
at most :data:`MAX_NAME` characters; integers within 64 bits (TOML's integers); tables
and arrays nested at most :data:`MAX_DEPTH` deep. Numbers take their parameter's type
(``60`` and ``60.0`` are one level and one spec), and a leading UTF-8 byte-order mark
is ignored.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import inspect
import itertools
import json
import marshal
import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kamsim.agents.model import DEFAULT_RIVAL_POLICY, MAX_ACCOUNTS, MAX_RIVALS
from kamsim.model.params import ModelParams, ParameterError, suggest
from kamsim.policies.observation import Observation
from kamsim.policies.registry import POLICIES, policy_name, resolve_policy

__all__ = [
    "FRAMES",
    "MAX_CELLS",
    "MAX_REPLICATIONS",
    "MAX_TOTAL_REPLICATIONS",
    "Cell",
    "ExperimentSpec",
    "SpecError",
    "check_values",
    "load_spec",
    "read_toml",
]

#: Frames an experiment can store.
FRAMES = ("runs", "quarters", "accounts", "suppliers")
#: Largest number of replications per cell.
MAX_REPLICATIONS = 1_000_000
#: Longest horizon in quarters.
MAX_QUARTERS = 400
#: Most cells a spec may have (the product of its factors' numbers of levels).
MAX_CELLS = 10_000
#: Most replications of all cells together (cells x replications, 80 000 work units).
MAX_TOTAL_REPLICATIONS = 20_000_000
#: Longest experiment name (it is a folder name).
MAX_NAME = 100
#: Deepest nesting of tables and arrays (a factor over a per-stage parameter needs 4).
MAX_DEPTH = 16
_INT64 = (-(2**63), 2**63 - 1)

_TOP_KEYS = (
    "name",
    "description",
    "replications",
    "quarters",
    "seed",
    "factors",
    "params",
    "output",
    "report",
)
_OUTPUT_KEYS = ("keep",)
_REPORT_KEYS = ("baseline",)
_SPECIAL_FACTORS = ("n_accounts", "policy", "rivals", "rival_policy")
_OFF = "off"

PolicyLike = str | Callable[[Observation, float], np.ndarray]


class SpecError(ParameterError):
    """An experiment spec is malformed or holds an invalid value.

    The message names the field (e.g. ``factors.n_accounts``), the value and what is
    allowed, and the file when the spec came from one.
    """


@dataclass(frozen=True)
class Cell:
    """One cell of the full-factorial design.

    Attributes:
        index: cell number, 0-based, in the order of the factor product.
        n_accounts: portfolio size of the cell.
        policy: the policy (a built-in name, ``"module:function"`` or a callable).
        params: the cell's validated :class:`ModelParams`.
        factors: factor name -> level for the columns added to every frame (the
            market factors ``n_accounts``, ``policy``, ``rivals`` and
            ``rival_policy`` excluded, they are columns anyway).
        rivals: number of rival suppliers (default 2).
        rival_policy: the rivals' policy: a name, or a tuple with one per rival
            (default ``"stage_gated"``).
    """

    index: int
    n_accounts: int
    policy: PolicyLike
    params: ModelParams
    factors: dict[str, Any]
    rivals: int = 2
    rival_policy: PolicyLike | tuple[PolicyLike, ...] = "stage_gated"

    @property
    def policy_name(self) -> str:
        """Readable name of the cell's policy."""
        return policy_name(self.policy)

    def label(self) -> dict[str, Any]:
        """All factor levels of the cell, JSON-friendly (for the manifest)."""
        return {
            "cell": self.index,
            "n_accounts": self.n_accounts,
            "policy": self.policy_name,
            "rivals": self.rivals,
            "rival_policy": _jsonable(self.rival_policy),
            **self.factors,
        }


@dataclass(frozen=True)
class ExperimentSpec:
    """A validated experiment spec (build it with :func:`load_spec`).

    Attributes:
        name: experiment name, used as the output folder name.
        description: one line saying what the experiment asks.
        replications: replications per cell (every cell uses the same seeds).
        quarters: horizon in quarters.
        seed: root seed of the replication seeds.
        factors: factor name -> tuple of levels (full-factorial product).
        params: fixed ModelParams overrides shared by all cells.
        keep: frames to store (subset of ``runs``, ``quarters``, ``accounts``).
        source: the file the spec was read from, if any.
        baseline: the policy the report compares the others with (``[report]
            baseline``); None lets the report choose (``uniform`` when present).
    """

    name: str
    description: str
    replications: int
    quarters: int
    seed: int
    factors: dict[str, tuple[Any, ...]]
    params: dict[str, Any]
    keep: tuple[str, ...]
    source: str | None = None
    baseline: str | None = None

    @functools.cached_property
    def cells(self) -> list[Cell]:
        """The cells of the full-factorial design, in a fixed order (built once)."""
        return _build_cells(self.factors, self.params, where=self.source)

    @property
    def n_cells(self) -> int:
        """Number of cells (product of the numbers of levels)."""
        return math.prod(len(v) for v in self.factors.values()) if self.factors else 1

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain JSON-friendly data (``"off"`` for None, names for policies)."""
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "replications": self.replications,
            "quarters": self.quarters,
            "seed": self.seed,
            "factors": {k: [_jsonable(v) for v in lv] for k, lv in self.factors.items()},
            "params": {k: _jsonable(v) for k, v in self.params.items()},
            "output": {"keep": list(self.keep)},
        }
        if self.baseline is not None:
            out["report"] = {"baseline": self.baseline}
        return out

    def policy_sources(self) -> dict[str, str]:
        """SHA-256 of the source file of every user policy or saved rule, by name.

        Covers the focal policies and the rivals' (a saved rule: the rule file).

        Built-in policies (and anything else defined inside kamsim) are versioned
        with kamsim and left out. The whole file defining a user policy is hashed, so
        an edit anywhere in it (a helper, a constant) counts as a change.
        """
        out = {}
        rivals = [
            p
            for level in self.factors.get("rival_policy", ())
            for p in (level if isinstance(level, tuple) else (level,))
        ]
        for policy in [*self.factors.get("policy", ()), *rivals]:
            digest = _source_digest(policy)
            if digest is not None:
                out[policy_name(policy)] = digest
        return out

    def spec_hash(self) -> str:
        """SHA-256 of the spec, every cell's full parameters and user policies' code.

        The resolved :class:`ModelParams` of each cell are included, so results made
        with other model defaults (an older kamsim) are never mixed with new ones,
        and so is the source of every user policy (:meth:`policy_sources`), so results
        of an edited policy are never mixed with those of the old code.
        """
        data: dict[str, Any] = {
            "spec": self.to_dict(),
            "cell_params": [c.params.to_dict() for c in self.cells],
        }
        sources = self.policy_sources()
        if sources:
            data["policy_sources"] = sources
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _source_digest(policy: PolicyLike) -> str | None:
    """SHA-256 of the file (or, failing that, the source) defining a user policy."""
    if isinstance(policy, str) and policy in POLICIES:
        return None
    from kamsim.policies.family import is_rule_path

    if isinstance(policy, str) and is_rule_path(policy):  # a saved rule: its file
        with contextlib.suppress(OSError):
            return hashlib.sha256(Path(policy).read_bytes()).hexdigest()
    fn = resolve_policy(policy)
    obj = fn if inspect.isroutine(fn) or inspect.isclass(fn) else type(fn)
    if str(getattr(obj, "__module__", "")).split(".")[0] == "kamsim":
        return None
    with contextlib.suppress(TypeError, OSError):
        path = inspect.getsourcefile(obj)
        if path is not None:
            return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    with contextlib.suppress(TypeError, OSError):
        return hashlib.sha256(inspect.getsource(obj).encode()).hexdigest()
    code = getattr(obj, "__code__", None)  # no source at all: its byte code
    return hashlib.sha256(marshal.dumps(code)).hexdigest() if code is not None else None


def _jsonable(v: Any) -> Any:
    if v is None:
        return _OFF
    if callable(v):
        return policy_name(v)
    if isinstance(v, tuple | list):
        return [_jsonable(x) for x in v]
    return v


def _short(value: Any) -> str:
    """``repr`` of a value, shortened when huge (a 400-digit integer, a long list)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters)"


def check_values(data: Any, field: str = "", where: str | None = None) -> None:
    """Refuse values no spec needs: integers beyond 64 bits, nesting beyond MAX_DEPTH.

    TOML integers are 64-bit, and no parameter needs more than a list of lists; such
    values would otherwise overflow float conversion or the recursion limit deep in
    the validation. Walks ``data`` without recursion.

    Raises:
        SpecError: naming the field (e.g. ``params.budget``) and the value.
    """
    stack: list[tuple[str, Any, int]] = [(field, data, 0)]
    while stack:
        name, value, depth = stack.pop()
        if isinstance(value, Mapping | list | tuple):
            if depth > MAX_DEPTH:
                raise _err(
                    where,
                    name or "spec",
                    f"nests tables or arrays deeper than {MAX_DEPTH} levels",
                )
            if isinstance(value, Mapping):
                items = [(f"{name}.{k}" if name else str(k), v) for k, v in value.items()]
            else:
                items = [(f"{name}[{i}]", v) for i, v in enumerate(value)]
            stack.extend((n, v, depth + 1) for n, v in items)
        elif isinstance(value, int) and not isinstance(value, bool):
            if not _INT64[0] <= value <= _INT64[1]:
                raise _err(
                    where,
                    name,
                    f"must be a 64-bit integer (as TOML integers are): {_short(value)}",
                )


def _err(where: str | None, field: str, msg: str) -> SpecError:
    prefix = f"{where}: " if where else ""
    return SpecError(f"{prefix}'{field}' {msg}")


def _check_int(
    where: str | None, field: str, value: Any, lo: int, hi: int | None = None
) -> int:
    ok = isinstance(value, int) and not isinstance(value, bool)
    if ok and value >= lo and (hi is None or value <= hi):
        return int(value)
    allowed = f"an integer in [{lo}, {hi:_}]" if hi is not None else f"an integer >= {lo}"
    return _raise(_err(where, field, f"must be {allowed}: {value!r}"))


def _raise(exc: Exception) -> Any:
    raise exc


def _param_fields() -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(ModelParams)}


def _convert_param(where: str | None, field: str, name: str, value: Any) -> Any:
    """Turn a TOML value into a ModelParams value ("off" -> None for optional fields).

    Numbers take their field's type, so ``60`` and ``60.0`` are one level and one
    spec: per-stage lists and real fields become floats, whole-number floats of
    integer fields become ints (anything else is left for ModelParams to refuse).
    """
    meta = _param_fields()[name].metadata
    if isinstance(value, str) and value.strip().lower() == _OFF:
        if meta["optional"]:
            return None
        raise _err(
            where, field, f'cannot be "off" (only optional parameters can): {value!r}'
        )
    if isinstance(value, list | tuple):
        if meta["per_stage"]:
            return tuple(_as_float(v) for v in value)
        return tuple(value)
    if meta["integer"]:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value
    return _as_float(value)


def _as_float(value: Any) -> Any:
    """A real number as a float; anything else unchanged (for validation to refuse)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def _param_error(where: str | None, field: str, exc: ParameterError) -> SpecError:
    prefix = f"{where}: " if where else ""
    return SpecError(f"{prefix}{field}: {exc}")


def _check_name(where: str | None, field: str, name: str, allowed: list[str]) -> None:
    if name not in allowed:
        raise _err(
            where,
            field,
            f"is not a known name{suggest(name, allowed)}; allowed: {', '.join(allowed)}",
        )


def _check_rivals(where: str | None, field: str, value: Any) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 0 <= value <= MAX_RIVALS
    ):
        raise _err(where, field, f"must be an integer in [0, {MAX_RIVALS}]: {value!r}")
    return value


def _check_rival_policy(
    where: str | None, field: str, value: Any
) -> PolicyLike | tuple[PolicyLike, ...]:
    """A rivals' policy level: one policy for all rivals, or a list with one per rival."""
    if isinstance(value, list | tuple):
        if not value:
            raise _err(where, field, "must name at least one policy: []")
        return tuple(_check_policy(where, field, v) for v in value)
    return _check_policy(where, field, value)


def _check_policy(where: str | None, field: str, value: Any) -> PolicyLike:
    if callable(value):
        return value  # type: ignore[no-any-return]
    if not isinstance(value, str):
        raise _err(
            where,
            field,
            f"must be a built-in policy name or 'module:function': {value!r}",
        )
    try:
        resolve_policy(value, spec_folders(where))
    except ParameterError as exc:
        from kamsim.policies.family import is_rule_path

        if is_rule_path(value):
            raise _err(where, field, f"must be a readable saved rule: {exc}") from None
        if ":" in value:
            text = str(exc)
            if "could not be loaded: " in text:
                why = f"could not be loaded ({text.split('could not be loaded: ', 1)[1]})"
            elif text.endswith("is not callable"):
                why = "is not callable"
            else:
                why = "is not a dotted module path, a colon and a function name"
            raise _err(
                where, field, f"must be importable as 'module:function': {value!r} {why}"
            ) from None
        raise _err(
            where,
            field,
            f"must be one of {sorted(POLICIES)} or 'module:function': "
            f"{value!r}{suggest(value, list(POLICIES))}",
        ) from None
    return value


def spec_folders(where: str | None) -> tuple[Path, ...]:
    """The folder of the spec file ``where`` (none for a spec given as a dict).

    A ``module:function`` policy is looked up there first, then in the current
    folder (:func:`kamsim.policies.resolve_policy`).
    """
    return (Path(where).resolve().parent,) if where else ()


def _check_n_accounts(where: str | None, field: str, value: Any) -> int:
    ok = isinstance(value, int) and not isinstance(value, bool)
    if not ok or not 1 <= value <= MAX_ACCOUNTS:
        raise _err(
            where,
            field,
            f"must be an integer in [1, {MAX_ACCOUNTS}] (5-50 is the studied range): "
            f"{value!r}",
        )
    return int(value)


def _column_levels(levels: Sequence[Any]) -> list[Any]:
    """Values of a factor's column: native scalars if all levels are, else strings.

    Keeps every frame's factor column one dtype: ints/floats/bools/strings stay as
    they are; levels mixing None ("off") with numbers, or per-stage tuples, become
    readable strings (``"off"``, ``"20"``, ``"0.45, 0.6, 0.75"``).
    """

    def text(v: Any) -> str:
        if v is None:
            return _OFF
        if isinstance(v, tuple | list):  # per-stage numbers: 0.0 shows as 0
            return ", ".join(
                str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)
                for x in v
            )
        return str(v)

    kinds = {type(v) for v in levels}
    if kinds <= {int} or kinds <= {str} or kinds <= {bool}:
        return list(levels)
    if kinds <= {int, float}:
        return [float(v) for v in levels]
    return [text(v) for v in levels]


def _build_cells(
    factors: Mapping[str, tuple[Any, ...]],
    params: Mapping[str, Any],
    *,
    where: str | None,
) -> list[Cell]:
    names = list(factors)
    columns = {k: _column_levels(v) for k, v in factors.items()}
    cells = []
    base = dict(params)
    for index, combo in enumerate(
        itertools.product(*(range(len(factors[k])) for k in names))
    ):
        level = {k: factors[k][i] for k, i in zip(names, combo, strict=True)}
        cols = {
            k: columns[k][i]
            for k, i in zip(names, combo, strict=True)
            if k not in _SPECIAL_FACTORS
        }
        overrides = {k: v for k, v in level.items() if k not in _SPECIAL_FACTORS}
        rivals = int(level.get("rivals", 2))
        rival_policy = level.get("rival_policy", DEFAULT_RIVAL_POLICY)
        if isinstance(rival_policy, tuple) and len(rival_policy) != rivals:
            raise _err(
                where,
                "factors.rival_policy",
                f"must list one policy per rival ({rivals}) in cell {index}: "
                f"{_jsonable(rival_policy)!r}",
            )
        try:
            cell_params = ModelParams(**{**base, **overrides})
        except ParameterError as exc:
            shown = {k: _jsonable(v) for k, v in overrides.items()}
            raise _param_error(where, f"cell {index} {shown}", exc) from None
        cells.append(
            Cell(
                index=index,
                n_accounts=int(level.get("n_accounts", 20)),
                policy=level.get("policy", "uniform"),
                params=cell_params,
                factors=cols,
                rivals=rivals,
                rival_policy=rival_policy,
            )
        )
    return cells


def _check_size(
    where: str | None, factors: Mapping[str, tuple[Any, ...]], replications: int
) -> None:
    """Refuse a design too large to run, by counting before building any cell."""
    counts = [len(v) for v in factors.values()]
    n_cells = math.prod(counts)
    if n_cells > MAX_CELLS:
        sizes = " x ".join(f"{len(v)} {k}" for k, v in factors.items())
        raise _err(
            where,
            "factors",
            f"make {n_cells:_} cells ({sizes}); at most {MAX_CELLS:_} are allowed: "
            "split the study into several specs",
        )
    total = n_cells * replications
    if total > MAX_TOTAL_REPLICATIONS:
        raise _err(
            where,
            "replications",
            f"x cells is {replications:_} x {n_cells:_} = {total:_} replications in all; "
            f"at most {MAX_TOTAL_REPLICATIONS:_} are allowed: use fewer replications "
            "or split the study into several specs",
        )


def read_toml(path: Path) -> dict[str, Any]:
    """A spec file's TOML; a missing, unreadable or malformed file is one SpecError.

    A leading byte-order mark is accepted; the error names the file and, for
    malformed TOML, the line and column.
    """
    where = str(path)
    if not path.is_file():
        raise SpecError(f"spec file not found: {where}")
    try:
        text = path.read_text(encoding="utf-8-sig")  # a leading BOM is not TOML
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{where}: cannot read spec file: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The message already ends with "(at line L, column C)".
        raise SpecError(f"{where}: malformed TOML: {exc}") from None
    except RecursionError:
        raise SpecError(
            f"{where}: malformed TOML: tables or arrays nested deeper than the parser "
            f"allows (a spec needs at most {MAX_DEPTH} levels)"
        ) from None
    except ValueError as exc:  # an integer beyond Python's 4300-digit conversion limit
        raise SpecError(f"{where}: malformed TOML: {str(exc).split(';')[0]}") from None


def load_spec(spec: str | Path | Mapping[str, Any] | ExperimentSpec) -> ExperimentSpec:
    """Read and validate an experiment spec.

    Args:
        spec: a path to a TOML file, a dict with the same structure, or an
            :class:`ExperimentSpec` (returned unchanged).

    Returns:
        The validated, frozen :class:`ExperimentSpec`.

    Raises:
        SpecError: for a missing or malformed file (with its line), an unknown key,
            factor or parameter (with the closest valid name), an unknown policy, an
            empty level list, or any value out of range (naming the field, e.g.
            ``factors.n_accounts``, the value and what is allowed).
    """
    if isinstance(spec, ExperimentSpec):
        return spec
    where: str | None = None
    if isinstance(spec, str | Path):
        where = str(spec)
        data: Mapping[str, Any] = read_toml(Path(spec))
    elif isinstance(spec, Mapping):
        data = spec
    else:
        raise SpecError(f"a spec must be a path, a dict or an ExperimentSpec: {spec!r}")

    for key in data:
        if key not in _TOP_KEYS:
            raise _err(
                where,
                str(key),
                f"is not a spec key{suggest(str(key), list(_TOP_KEYS))}; allowed: "
                f"{', '.join(_TOP_KEYS)}",
            )
    check_values(data, where=where)
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _err(where, "name", f"must be a non-empty string: {name!r}")
    bad = set('/\\:*?"<>|') | {"\0"}
    if any(c in bad for c in name) or name in (".", "..") or name != name.strip():
        raise _err(
            where,
            "name",
            f'must be usable as a folder name (no / \\ : * ? " < > |): {name!r}',
        )
    if len(name) > MAX_NAME:
        raise _err(
            where,
            "name",
            f"must be at most {MAX_NAME} characters (it names a folder): "
            f"{name[:30]!r}... has {len(name)}",
        )
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _err(where, "description", f"must be a string: {description!r}")
    if "replications" not in data:
        raise _err(where, "replications", "is required (an integer in [1, 1_000_000])")
    replications = _check_int(
        where, "replications", data["replications"], 1, MAX_REPLICATIONS
    )
    quarters = _check_int(where, "quarters", data.get("quarters", 40), 1, MAX_QUARTERS)
    seed = _check_int(where, "seed", data.get("seed", 0), 0)

    names = ModelParams.names()
    fields = _param_fields()

    # [params] ------------------------------------------------------------------
    raw_params = data.get("params", {})
    if not isinstance(raw_params, Mapping):
        raise _err(where, "params", f"must be a table of parameter values: {raw_params!r}")
    params: dict[str, Any] = {}
    for key, value in raw_params.items():
        field = f"params.{key}"
        _check_name(where, field, key, names)
        params[key] = _convert_param(where, field, key, value)
        try:
            dataclasses.replace(ModelParams(), **{key: params[key]})
        except ParameterError as exc:
            raise _param_error(where, field, exc) from None

    # [factors] -----------------------------------------------------------------
    raw_factors = data.get("factors", {})
    if not isinstance(raw_factors, Mapping):
        raise _err(where, "factors", f"must be a table of level lists: {raw_factors!r}")
    allowed = [*_SPECIAL_FACTORS, *names]
    factors: dict[str, tuple[Any, ...]] = {}
    for key, levels in raw_factors.items():
        field = f"factors.{key}"
        _check_name(where, field, key, allowed)
        if key in params:
            raise _err(where, field, "is both a factor and a fixed [params] value")
        if not isinstance(levels, list | tuple):
            raise _err(where, field, f"must be a list of levels: {levels!r}")
        if not levels:
            raise _err(where, field, "must list at least one level: []")
        out: list[Any] = []
        for i, v in enumerate(levels):
            vfield = f"{field}[{i}]"
            if key == "n_accounts":
                out.append(_check_n_accounts(where, field, v))
            elif key == "policy":
                out.append(_check_policy(where, field, v))
            elif key == "rivals":
                out.append(_check_rivals(where, field, v))
            elif key == "rival_policy":
                out.append(_check_rival_policy(where, field, v))
            else:
                cv = _convert_param(where, vfield, key, v)
                per_stage = fields[key].metadata["per_stage"]
                if isinstance(cv, tuple) and not per_stage:
                    raise _err(where, field, f"levels must be single values: {v!r}")
                try:
                    dataclasses.replace(ModelParams(), **{key: cv})
                except ParameterError as exc:
                    raise _param_error(where, field, exc) from None
                out.append(cv)
        shown = [_jsonable(v) for v in out]
        if len({json.dumps(s, sort_keys=True) for s in shown}) != len(shown):
            raise _err(where, field, f"lists a level more than once: {shown!r}")
        factors[key] = tuple(out)
    _check_size(where, factors, replications)

    # [output] ------------------------------------------------------------------
    raw_output = data.get("output", {})
    if not isinstance(raw_output, Mapping):
        raise _err(where, "output", f"must be a table: {raw_output!r}")
    for key in raw_output:
        _check_name(where, f"output.{key}", str(key), list(_OUTPUT_KEYS))
    keep_raw = raw_output.get("keep", list(FRAMES))
    if (
        not isinstance(keep_raw, list | tuple)
        or not keep_raw
        or any(k not in FRAMES for k in keep_raw)
    ):
        raise _err(
            where,
            "output.keep",
            f"must be a non-empty list drawn from {list(FRAMES)}: {keep_raw!r}",
        )
    keep = tuple(k for k in FRAMES if k in keep_raw)

    # [report] ------------------------------------------------------------------
    raw_report = data.get("report", {})
    if not isinstance(raw_report, Mapping):
        raise _err(where, "report", f"must be a table: {raw_report!r}")
    for key in raw_report:
        _check_name(where, f"report.{key}", str(key), list(_REPORT_KEYS))
    baseline = raw_report.get("baseline")
    if baseline is not None:
        levels = [policy_name(v) for v in factors.get("policy", ("uniform",))]
        if baseline not in levels:
            raise _err(
                where,
                "report.baseline",
                f"must be one of the policy levels {levels}: {baseline!r}"
                f"{suggest(str(baseline), levels)}",
            )

    result = ExperimentSpec(
        name=name,
        description=description,
        replications=replications,
        quarters=quarters,
        seed=seed,
        factors=factors,
        params=params,
        keep=keep,
        source=where,
        baseline=baseline,
    )
    result.cells  # noqa: B018  (builds every cell's ModelParams: cross-field checks)
    return result
