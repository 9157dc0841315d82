"""A searchable family of investment rules: a score, a threshold and a split.

:class:`ScoreRule` is one rule of the family ``kamsim.score`` (version 1), fixed by
the 16 numbers of :data:`PARAMETERS`. Every quarter, for each live relationship i it
reads what the supplier observes (stage ``s_i``, estimated potential class ``c_i``,
trust reading ``t_i``, share of wallet ``w_i``, tenure in the stage ``u_i``, own
investment stock ``K_i``, last quarter's revenue ``r_i`` and estimated potential
``p_i``) and

1. **scores** the account (dimensionless)::

       S_i = stage[s_i] + class[c_i] + trust * t_i + headroom * (1 - w_i)
             + tenure * min(u_i / 12, 1) + stock * K_i / max_j K_j

   with ``stage[tactical] = class[low] = 0`` (the threshold absorbs any constant);
2. **selects** the accounts the investment pool goes to: those with
   ``S_i >= threshold`` (tier 1), or, in a portfolio where tier 1 has no weight,
   those with ``threshold - fallback <= S_i < threshold`` (tier 2);
3. **maintains**: each interdependent or strategic relationship (stage >= 3) gets a
   maintenance share of its revenue first, ``m_i = rate * r_i`` with
   ``rate = maintenance_pool`` for accounts in either tier and
   ``maintenance_rest`` for the others (scaled down to the budget if it exceeds it);
4. **splits** the rest of the budget over the selected accounts in proportion to
   ``p_i ** potential_exponent * r_i ** revenue_exponent * exp(softmax * S_i)``
   (``softmax = 0``: a proportional split by size; larger: the split leans towards
   the highest scores, a softmax). What the selected accounts cannot take (no
   weight at all) stays unspent.

Built-in policies that are members of the family (:data:`SPECIAL_CASES`, checked by
``tests/test_rule_family.py``): ``none`` (a threshold above every score, no
maintenance), ``uniform`` (every score 0, threshold 0, no size terms: equal shares,
to the last bit or one rounding), ``revenue_proportional`` (revenue exponent 1),
``potential_weighted`` (potential exponent 1) and ``stage_gated`` (high class +3,
strategic -1, threshold 2.5, fallback 1, potential exponent 0.5, maintenance 0.03 of
revenue for the accounts outside the pool: bit for bit). ``quadrant`` is close but not
a member (its trust step is a threshold on one feature), ``pareto_focus`` (a rank)
and ``greedy_roi`` (marginal returns) are not.

A saved rule is a small TOML (or JSON) file (:func:`save_rule`, :func:`load_rule`)::

    family = "kamsim.score"
    version = 1
    name = "optimize"
    [parameters]
    stage_cooperative = 0.41
    ...
    [origin]                # where it came from (optional, informative)
    spec = "experiments/optimize.toml"

:func:`kamsim.policies.resolve_policy` accepts the path of such a file, so every
place that takes a policy (``simulate``, ``KAMModel``, experiment specs, ``--policy``)
takes a saved rule.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kamsim.model.params import ParameterError

__all__ = [
    "FAMILY",
    "PARAMETERS",
    "SPECIAL_CASES",
    "VERSION",
    "ParameterSpec",
    "ScoreRule",
    "describe_rule",
    "is_rule_path",
    "load_rule",
    "rule_text",
    "save_rule",
]

#: Name and version of the family, written into every saved rule.
FAMILY = "kamsim.score"
VERSION = 1
#: Quarters of tenure at which the tenure feature saturates at 1.
TENURE_SCALE = 12.0
#: File suffixes of a saved rule.
RULE_SUFFIXES = (".toml", ".json")


@dataclass(frozen=True)
class ParameterSpec:
    """One number of the family: its name, search range, neutral value and meaning."""

    name: str
    lo: float
    hi: float
    neutral: float
    doc: str


#: The family's numbers in order, with the range the search explores.
PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec("stage_cooperative", -3.0, 3.0, 0.0, "score of a cooperative account"),
    ParameterSpec("stage_interdependent", -3.0, 3.0, 0.0, "score of an interdependent one"),
    ParameterSpec("stage_strategic", -3.0, 3.0, 0.0, "score of a strategic one"),
    ParameterSpec("class_medium", -3.0, 3.0, 0.0, "score of estimated medium potential"),
    ParameterSpec("class_high", -3.0, 3.0, 0.0, "score of estimated high potential"),
    ParameterSpec("trust", -3.0, 3.0, 0.0, "score per unit of trust reading (0-1)"),
    ParameterSpec("headroom", -3.0, 3.0, 0.0, "score per unit of 1 - share of wallet"),
    ParameterSpec("tenure", -3.0, 3.0, 0.0, "score at 12+ quarters in the stage"),
    ParameterSpec("stock", -3.0, 3.0, 0.0, "score at the portfolio's largest own stock"),
    ParameterSpec("threshold", -3.0, 3.0, 0.0, "score an account needs for the pool"),
    ParameterSpec("fallback", 0.0, 3.0, 0.0, "how far below it the second tier reaches"),
    ParameterSpec("softmax", 0.0, 3.0, 0.0, "tilt of the split towards high scores"),
    ParameterSpec("potential_exponent", 0.0, 1.5, 0.0, "split weight: potential ** x"),
    ParameterSpec("revenue_exponent", 0.0, 1.5, 0.0, "split weight: revenue ** x"),
    ParameterSpec(
        "maintenance_pool", 0.0, 0.1, 0.0, "maintenance / revenue, pool accounts"
    ),
    ParameterSpec(
        "maintenance_rest", 0.0, 0.1, 0.0, "maintenance / revenue, other accounts"
    ),
)
_NAMES = tuple(p.name for p in PARAMETERS)

#: Built-in policies that are members of the family, as their parameters.
SPECIAL_CASES: dict[str, dict[str, float]] = {
    "none": {"threshold": math.inf},
    "uniform": {},
    "revenue_proportional": {"revenue_exponent": 1.0},
    "potential_weighted": {"potential_exponent": 1.0},
    "stage_gated": {
        "class_high": 3.0,
        "stage_strategic": -1.0,
        "threshold": 2.5,
        "fallback": 1.0,
        "potential_exponent": 0.5,
        "maintenance_rest": 0.03,
    },
}


def _row_sum(x: np.ndarray) -> np.ndarray:
    return np.sum(x, axis=-1, keepdims=True)


def _power(x: np.ndarray, e: float) -> np.ndarray | None:
    """``x ** e`` (None for ``e = 0``: no factor), exact for the exponents 0.5 and 1."""
    if e == 0.0:
        return None
    if e == 1.0:
        return x
    if e == 0.5:
        return np.sqrt(x)
    return np.power(x, e)


@dataclass(frozen=True)
class ScoreRule:
    """One rule of the family: its 16 numbers (see the module docstring).

    Build it with keyword arguments (missing numbers take their neutral value, 0),
    from a mapping (:meth:`from_params`), from a built-in's special case
    (:meth:`special_case`) or from a file (:func:`load_rule`). Callable as a policy:
    ``rule(obs, budget) -> allocation`` of shape (replications, accounts), vectorised
    over both axes.

    Attributes:
        values: the 16 numbers in the order of :data:`PARAMETERS`.
        name: how results name the policy (a saved rule: the path it was loaded from).
        origin: where the rule came from (spec, trial, ...), informative only.
    """

    values: tuple[float, ...]
    name: str = field(default="", compare=False)
    origin: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if len(self.values) != len(PARAMETERS):
            raise ParameterError(
                f"a {FAMILY} rule needs {len(PARAMETERS)} numbers: got {len(self.values)}"
            )
        for spec, v in zip(PARAMETERS, self.values, strict=True):
            ok = (
                isinstance(v, int | float) and not isinstance(v, bool) and not math.isnan(v)
            )
            if not ok:
                raise ParameterError(
                    f"rule parameter '{spec.name}' must be a number: {v!r}"
                )
            if spec.name != "threshold" and not math.isfinite(v):
                raise ParameterError(f"rule parameter '{spec.name}' must be finite: {v!r}")
            if spec.lo >= 0 and v < 0:
                raise ParameterError(f"rule parameter '{spec.name}' must be >= 0: {v!r}")
        object.__setattr__(self, "values", tuple(float(v) for v in self.values))

    # ------------------------------------------------------------------ building
    @classmethod
    def from_params(
        cls, params: Mapping[str, Any], *, name: str = "", origin: Mapping[str, Any] = {}
    ) -> ScoreRule:
        """A rule from ``{parameter: number}``; missing parameters are neutral (0).

        Raises:
            ParameterError: for an unknown parameter name (naming the closest one) or
                a value that is not a number in its allowed domain.
        """
        from kamsim.model.params import suggest

        unknown = [k for k in params if k not in _NAMES]
        if unknown:
            k = str(unknown[0])
            raise ParameterError(
                f"'{k}' is not a parameter of the {FAMILY} family{suggest(k, list(_NAMES))}; "  # noqa: E501
                f"allowed: {', '.join(_NAMES)}"
            )
        values = tuple(params.get(p.name, p.neutral) for p in PARAMETERS)
        return cls(values, name=name, origin=dict(origin))

    @classmethod
    def special_case(cls, policy: str) -> ScoreRule:
        """The member of the family that allocates as the built-in ``policy``."""
        if policy not in SPECIAL_CASES:
            raise ParameterError(
                f"'{policy}' is not a member of the {FAMILY} family; members: "
                f"{', '.join(SPECIAL_CASES)}"
            )
        return cls.from_params(SPECIAL_CASES[policy], name=f"{policy} (as a rule)")

    @property
    def params(self) -> dict[str, float]:
        """``{parameter: number}`` in the order of :data:`PARAMETERS`."""
        return dict(zip(_NAMES, self.values, strict=True))

    def __getattr__(self, item: str) -> float:
        """A parameter by name: ``rule.threshold``."""
        if item in _NAMES:
            return self.values[_NAMES.index(item)]
        raise AttributeError(item)

    @property
    def digest(self) -> str:
        """SHA-256 of the family, version and numbers (12 hex digits): the rule's id."""
        text = json.dumps([FAMILY, VERSION, list(self.values)])
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def __policy_name__(self) -> str:
        """How results name it (:func:`kamsim.policies.policy_name`)."""
        return self.name or f"rule-{self.digest}"

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:g}" for k, v in self.params.items() if v != 0.0)
        return f"ScoreRule({shown})"

    # ------------------------------------------------------------------ what it reads
    @property
    def observes(self) -> frozenset[str]:
        """The observation fields it reads (:func:`kamsim.policies.estimates_read`)."""
        p = self.params
        fields = {"active", "stage", "revenue"}
        if p["class_medium"] or p["class_high"] or p["potential_exponent"]:
            fields |= {"potential", "potential_class"}
        if p["trust"]:
            fields.add("trust")
        if p["headroom"]:
            fields.add("share_of_wallet")
        if p["tenure"]:
            fields.add("tenure")
        if p["stock"]:
            fields.add("stock")
        return frozenset(fields)

    summary = "a rule of the kamsim.score family (score, threshold, split)"

    # ------------------------------------------------------------------ the rule
    def score(self, obs: Any) -> np.ndarray:
        """The score ``S_i`` of every slot (0 for vacant slots), shape (R, n)."""
        p = self.params
        active = np.asarray(obs.active)
        stage = np.asarray(obs.stage)
        s = np.zeros(active.shape)
        stage_w = np.array(
            [
                0.0,
                0.0,
                p["stage_cooperative"],
                p["stage_interdependent"],
                p["stage_strategic"],
            ]
        )
        if stage_w.any():
            s = s + stage_w[np.clip(stage, 0, 4)]
        if p["class_medium"] or p["class_high"]:
            class_w = np.array([0.0, p["class_medium"], p["class_high"]])
            s = s + class_w[np.clip(np.asarray(obs.potential_class), 0, 2)]
        if p["trust"]:
            s = s + p["trust"] * np.asarray(obs.trust)
        if p["headroom"]:
            s = s + p["headroom"] * (1.0 - np.asarray(obs.share_of_wallet))
        if p["tenure"]:
            s = s + p["tenure"] * np.minimum(np.asarray(obs.tenure) / TENURE_SCALE, 1.0)
        if p["stock"]:
            k = np.where(active, np.asarray(obs.stock), 0.0)
            top = np.max(k, axis=-1, keepdims=True)
            s = s + p["stock"] * np.where(top > 0, k / np.where(top > 0, top, 1.0), 0.0)
        return np.where(active, s, 0.0)

    def tiers(self, obs: Any, s: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Masks of tier 1 (``S >= threshold``) and tier 2 (within ``fallback`` below)."""
        s = self.score(obs) if s is None else s
        active = np.asarray(obs.active)
        t = self.threshold
        first = active & (s >= t)
        second = active & ~first & (s >= t - self.fallback)
        return first, second

    def __call__(self, obs: Any, budget: float) -> np.ndarray:
        """Allocate ``budget`` (k€) across the (R, n) slots of ``obs``."""
        p = self.params
        active = np.asarray(obs.active)
        revenue = np.asarray(obs.revenue)
        s = self.score(obs)
        first, second = self.tiers(obs, s)
        reach = first | second
        # 3. maintenance of interdependent and strategic relationships
        rate_in, rate_out = p["maintenance_pool"], p["maintenance_rest"]
        if rate_in or rate_out:
            due = active & (np.asarray(obs.stage) >= 3)
            rate = np.where(reach, rate_in, rate_out)
            maint = np.where(due, rate * revenue, 0.0)
            total = _row_sum(maint)
            base = np.where(
                total > budget, maint * (budget / np.maximum(total, 1e-300)), maint
            )
        else:
            base = np.zeros(active.shape)
        left = np.maximum(budget - _row_sum(base), 0.0)
        # 4. the split: size x softmax tilt, over tier 1 (tier 2 if tier 1 has no weight)
        size = np.ones(active.shape)
        pot = rev = None
        if p["potential_exponent"]:
            pot = _power(np.maximum(obs.potential, 0.0), p["potential_exponent"])
            size = pot  # type: ignore[misc,arg-type,assignment,index,call-overload]
        if p["revenue_exponent"]:
            rev = _power(np.maximum(revenue, 0.0), p["revenue_exponent"])
        if rev is not None:
            size = rev if pot is None else size * rev
        if p["softmax"]:
            top = np.max(np.where(reach, s, -np.inf), axis=-1, keepdims=True)
            top = np.where(np.isfinite(top), top, 0.0)
            size = size * np.exp(p["softmax"] * np.minimum(s - top, 0.0))
        w1 = np.where(first, size, 0.0)
        if second.any():
            w2 = np.where(second, size, 0.0)
            weights = np.where(_row_sum(w1) > 0, w1, w2)
        else:
            weights = w1
        wsum = _row_sum(weights)
        push = np.where(wsum > 0, weights / np.where(wsum > 0, wsum, 1.0) * left, 0.0)
        return np.where(active, base + push, 0.0)


# --------------------------------------------------------------------------- files
def is_rule_path(policy: object) -> bool:
    """Whether a policy string names a saved rule file (by its suffix)."""
    return isinstance(policy, str | Path) and str(policy).lower().endswith(RULE_SUFFIXES)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v), ensure_ascii=False)  # a TOML basic string


def rule_text(rule: ScoreRule, origin: Mapping[str, Any] | None = None) -> str:
    """The TOML text of a saved rule (family, version, parameters, origin)."""
    lines = [
        "# An investment rule of kamsim's score family (kamsim/rule_family.py).",
        "# Use it wherever a policy is accepted: kamsim simulate --policy THIS_FILE,",
        '# kamsim.simulate(policy="THIS_FILE"), or as a policy level of an experiment spec.',  # noqa: E501
        f'family = "{FAMILY}"',
        f"version = {VERSION}",
        "",
        "[parameters]",
    ]
    for spec, v in zip(PARAMETERS, rule.values, strict=True):
        lines.append(f"{spec.name} = {_toml_value(v)}  # {spec.doc}")
    org = dict(origin if origin is not None else rule.origin)
    if org:
        lines += ["", "[origin]"]
        for k, v in org.items():
            if isinstance(v, Mapping):
                continue
            lines.append(f"{k} = {_toml_value(v)}")
    return "\n".join(lines) + "\n"


def save_rule(
    rule: ScoreRule, path: str | Path, origin: Mapping[str, Any] | None = None
) -> Path:
    """Write a rule as TOML (``.toml``) or JSON (``.json``), atomically; return the path."""
    from kamsim.files import write_json, write_text

    path = Path(path)
    org = dict(origin if origin is not None else rule.origin)
    if path.suffix.lower() == ".json":
        write_json(
            {
                "family": FAMILY,
                "version": VERSION,
                "parameters": rule.params,
                "origin": org,
            },
            path,
        )
    elif path.suffix.lower() == ".toml":
        write_text(path, rule_text(rule, org))
    else:
        raise ParameterError(f"a saved rule must be a .toml or .json file: {str(path)!r}")
    return path


def load_rule(path: str | Path, name: str | None = None) -> ScoreRule:
    """Read a saved rule; its ``name`` is the path as given (how results name it).

    Raises:
        ParameterError: for a missing or unreadable file, another family or version,
            or a missing, unknown or invalid parameter (one line naming the file and
            the field).
    """
    where = str(path)
    p = Path(path)
    if not p.is_file():
        raise ParameterError(f"'policy' saved rule file not found: {where!r}")
    try:
        text = p.read_text(encoding="utf-8-sig")
        data = json.loads(text) if p.suffix.lower() == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        first = (str(exc).splitlines() or [""])[0]
        raise ParameterError(f"{where}: cannot read the saved rule: {first}") from None
    if not isinstance(data, Mapping):
        raise ParameterError(f"{where}: a saved rule must be a table, got {type(data)}")
    if data.get("family") != FAMILY:
        raise ParameterError(
            f"{where}: 'family' must be {FAMILY!r} (a saved kamsim rule): "
            f"{data.get('family')!r}"
        )
    if data.get("version") != VERSION:
        raise ParameterError(
            f"{where}: 'version' must be {VERSION} (this kamsim reads version {VERSION} "
            f"of {FAMILY}): {data.get('version')!r}"
        )
    params = data.get("parameters")
    if not isinstance(params, Mapping):
        raise ParameterError(f"{where}: 'parameters' must be a table of numbers")
    missing = [n for n in _NAMES if n not in params]
    if missing:
        raise ParameterError(f"{where}: 'parameters.{missing[0]}' is missing")
    try:
        return ScoreRule.from_params(
            params, name=where if name is None else name, origin=data.get("origin") or {}
        )
    except ParameterError as exc:
        raise ParameterError(f"{where}: {exc}") from None


# --------------------------------------------------------------------------- words
def _signed(v: float) -> str:
    return f"{v:+.2f}"


def describe_rule(rule: ScoreRule) -> list[str]:
    """The rule in words, one sentence per step (for reports and ``kamsim optimize``)."""
    p = rule.params
    terms = []
    labels = {
        "stage_cooperative": "cooperative",
        "stage_interdependent": "interdependent",
        "stage_strategic": "strategic",
        "class_medium": "estimated medium potential",
        "class_high": "estimated high potential",
        "trust": "x trust reading",
        "headroom": "x headroom (1 - share of wallet)",
        "tenure": "x tenure in the stage (saturating at 12 quarters)",
        "stock": "x own stock relative to the largest",
    }
    for k, label in labels.items():
        if abs(p[k]) >= 0.005:
            terms.append(f"{_signed(p[k])} {label}")
    score = "; ".join(terms) if terms else "0 for every account"
    out = [f"Score of an account (tactical, low potential = 0): {score}."]
    if math.isinf(p["threshold"]):
        out.append("No account reaches the threshold: the pool is never invested.")
    else:
        second = (
            f"; if none of those can take money, those scoring at least "
            f"{p['threshold'] - p['fallback']:.2f}"
            if p["fallback"] > 0
            else ""
        )
        out.append(
            f"The investment pool goes to accounts scoring at least "
            f"{p['threshold']:.2f}{second}."
        )
    size = []
    if p["potential_exponent"]:
        size.append(f"estimated potential ^ {p['potential_exponent']:.2f}")
    if p["revenue_exponent"]:
        size.append(f"revenue ^ {p['revenue_exponent']:.2f}")
    if p["softmax"]:
        size.append(f"exp({p['softmax']:.2f} x score)")
    out.append(
        "It is split in proportion to "
        + (" x ".join(size) if size else "nothing but presence (equal shares)")
        + "."
    )
    if p["maintenance_pool"] or p["maintenance_rest"]:
        out.append(
            f"First, interdependent and strategic relationships get maintenance: "
            f"{p['maintenance_pool']:.1%} of revenue for the pool's accounts and "
            f"{p['maintenance_rest']:.1%} for the others."
        )
    else:
        out.append("No maintenance is set aside for the top stages.")
    return out
