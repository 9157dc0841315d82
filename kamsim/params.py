"""Typed, validated model parameters with defaults, units and sources.

Every parameter of the model lives in :class:`ModelParams`, one frozen dataclass.
Each field carries its unit, its allowed range and where its default comes from;
:func:`describe_params` turns that metadata into the parameter table of
``docs/odd.md``. Invalid values raise :class:`ParameterError`, whose message names the
field, the value and what is allowed.

Money is in thousands of euro (k€). Time is in quarters unless a name says
``annual``. Tuples indexed by stage hold one value per stage, tactical first.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ModelParams", "ParameterError", "describe_params", "suggest"]


class ParameterError(ValueError):
    """A user-supplied value is out of range, of the wrong type, or unknown."""


def suggest(name: str, allowed: list[str] | tuple[str, ...]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest allowed name, or ``""``."""
    close = difflib.get_close_matches(name, list(allowed), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _p(
    default: Any,
    *,
    unit: str,
    doc: str,
    source: str = "assumption",
    lo: float | None = None,
    hi: float | None = None,
    integer: bool = False,
    optional: bool = False,
    per_stage: bool = False,
    increasing: bool = False,
) -> Any:
    meta = {
        "unit": unit,
        "doc": doc,
        "source": source,
        "lo": lo,
        "hi": hi,
        "integer": integer,
        "optional": optional,
        "per_stage": per_stage,
        "increasing": increasing,
    }
    return field(default=default, metadata=meta)


def _range_text(meta: Mapping[str, Any]) -> str:
    lo, hi = meta["lo"], meta["hi"]
    kind = "an integer" if meta["integer"] else "a number"
    if lo is not None and hi is not None:
        return f"{kind} in [{lo}, {hi}]"
    if lo is not None:
        return f"{kind} >= {lo}"
    if hi is not None:
        return f"{kind} <= {hi}"
    return kind


@dataclass(frozen=True)
class ModelParams:
    """All parameters of the kamsim model (money in k€, time in quarters).

    Construct with keyword arguments; every value is checked on construction.
    Use :meth:`evolve` for a validated variant::

        p = ModelParams(budget=200.0)
        q = p.evolve(trust_loss=0.5)

    Raises:
        ParameterError: if a value is out of range, e.g.
            ``'budget' must be a number >= 0: -5.0``.
    """

    # --- supplier -------------------------------------------------------------
    budget: float = _p(
        100.0,
        unit="k€ per quarter",
        lo=0.0,
        hi=1e7,
        doc="KAM budget (money and manager time) the supplier allocates each quarter "
        "across all its key accounts.",
    )
    gross_margin: float = _p(
        0.30,
        unit="fraction of revenue",
        lo=0.0,
        hi=1.0,
        doc="Gross margin on revenue before cost-to-serve and KAM investment.",
        source="assumption (typical B2B manufacturing gross margin)",
    )
    manager_capacity: float = _p(
        15.0,
        unit="accounts",
        lo=1.0,
        hi=1000.0,
        doc="Number of key accounts the KAM team can serve at full effectiveness. "
        "Beyond it, each unit of budget buys less (attention is diluted).",
        source="KAM practice: a manager looks after fewer than 5 accounts; "
        "here a team of about three managers",
    )
    overload_penalty: float = _p(
        0.5,
        unit="dimensionless",
        lo=0.0,
        hi=10.0,
        doc="Strength of dilution: efficiency = 1 / (1 + penalty * max(0, n - capacity) "
        "/ capacity) for n active accounts.",
    )
    discount_rate: float = _p(
        0.08,
        unit="per year",
        lo=0.0,
        hi=1.0,
        doc="Annual discount rate for NPV; quarterly factor (1 + r)^(-t/4).",
        source="assumption (typical corporate cost of capital)",
    )
    # --- accounts -------------------------------------------------------------
    wallet_median: float = _p(
        1000.0,
        unit="k€ per year",
        lo=1e-6,
        hi=1e9,
        doc="Median annual category spend of an account (its wallet). Wallets are "
        "lognormal: W = median * exp(sigma * z).",
    )
    wallet_sigma: float = _p(
        1.0,
        unit="log-units",
        lo=0.0,
        hi=3.0,
        doc="Dispersion of log wallet; 1.0 makes the top fifth of accounts hold about "
        "half of all spend (heavy tail).",
        source="assumption calibrated to Pareto-like customer concentration",
    )
    growth_mean: float = _p(
        0.03,
        unit="per year",
        lo=-0.5,
        hi=1.0,
        doc="Mean annual growth of an account's wallet.",
    )
    growth_sd: float = _p(
        0.05,
        unit="per year",
        lo=0.0,
        hi=1.0,
        doc="Spread of annual wallet growth across accounts.",
    )
    effort_elasticity: float = _p(
        0.5,
        unit="dimensionless",
        lo=0.0,
        hi=1.0,
        doc="How the investment an account needs grows with its size: effort scale "
        "S = (wallet_median / 4) * (W / wallet_median)^elasticity (k€ per quarter). "
        "0.5: a twice-as-large account needs about 1.4 times the effort.",
        source="assumption (economies of scale in serving large accounts)",
    )
    share_willing: float = _p(
        0.6,
        unit="fraction of accounts",
        lo=0.0,
        hi=1.0,
        doc="Share of accounts willing to move beyond the tactical stage (partnership "
        "orientation). Unwilling accounts stay tactical whatever is invested.",
        source="assumption; not every account wants partnership (DESIGN §1)",
    )
    potential_low: float = _p(
        700.0,
        unit="k€ per year",
        lo=0.0,
        doc="Accounts whose three-year potential W*(1+g)^3 is below this are "
        "low-potential.",
    )
    potential_high: float = _p(
        2000.0,
        unit="k€ per year",
        lo=0.0,
        doc="Accounts whose three-year potential is at least this are high-potential.",
    )
    hazard: float = _p(
        0.01,
        unit="probability per quarter",
        lo=0.0,
        hi=1.0,
        doc="Probability per quarter that an account disappears (bankruptcy, merger).",
        source="assumption (about 4 % a year)",
    )
    # --- service and trust ----------------------------------------------------
    service_scale: float = _p(
        0.05,
        unit="fraction of quarterly wallet",
        lo=1e-9,
        hi=10.0,
        doc="Investment intensity giving quality 0.5: z = (e + stock_weight*K) / "
        "(service_scale * S), quality = z / (1 + z), S the account's effort scale.",
    )
    stock_weight: float = _p(
        0.05,
        unit="per quarter",
        lo=0.0,
        hi=1.0,
        doc="How much of the specific-investment stock keeps serving each quarter.",
    )
    failure_base: float = _p(
        0.12,
        unit="probability per quarter",
        lo=0.0,
        hi=1.0,
        doc="Service-failure probability at zero quality; p = failure_base * (1 - q).",
    )
    trust_initial: float = _p(
        0.3,
        unit="trust in [0, 1]",
        lo=0.0,
        hi=1.0,
        doc="Trust of a new, tactical relationship.",
    )
    trust_gain: float = _p(
        0.1,
        unit="per quarter",
        lo=0.0,
        hi=1.0,
        doc="Trust growth after a good quarter: trust += gain * quality * (1 - trust).",
        source="Slovic (1993) asymmetry: gain several times smaller than loss",
    )
    trust_loss: float = _p(
        0.25,
        unit="fraction of trust",
        lo=0.0,
        hi=1.0,
        doc="Trust lost after a service failure: trust -= loss * trust.",
        source="Slovic (1993): negative events move trust more than positive ones",
    )
    # --- specific investment --------------------------------------------------
    depreciation: float = _p(
        0.08,
        unit="fraction per quarter",
        lo=0.0,
        hi=1.0,
        doc="Depreciation of the relationship-specific investment stock: "
        "K' = (1 - depreciation) * K + e.",
    )
    # --- stages ---------------------------------------------------------------
    trust_to_advance: tuple[float, float, float] = _p(
        (0.45, 0.6, 0.75),
        unit="trust",
        lo=0.0,
        hi=1.0,
        per_stage=True,
        increasing=True,
        doc="Trust needed to move up from tactical, cooperative, interdependent.",
    )
    stock_to_advance: tuple[float, float, float] = _p(
        (0.05, 0.2, 0.5),
        unit="multiples of the effort scale S (k€/quarter)",
        lo=0.0,
        per_stage=True,
        increasing=True,
        doc="Specific-investment stock needed to move up from tactical, cooperative, "
        "interdependent, relative to the account's effort scale S.",
    )
    min_tenure: int = _p(
        4,
        unit="quarters",
        lo=0,
        hi=400,
        integer=True,
        doc="Quarters a relationship must spend in a stage before it can move up.",
        source="assumption: relationships need years, not quarters, to mature",
    )
    hysteresis: float = _p(
        0.1,
        unit="trust",
        lo=0.0,
        hi=1.0,
        doc="A relationship in stage s > 1 drops one stage when trust falls below the "
        "threshold that admitted it minus this margin.",
    )
    maintenance: tuple[float, float, float, float] = _p(
        (0.0, 0.0, 0.01, 0.02),
        unit="multiples of the effort scale S",
        lo=0.0,
        hi=10.0,
        per_stage=True,
        doc="Investment below which a relationship counts as neglected (complacency).",
    )
    complacency_drift: float = _p(
        0.02,
        unit="trust per quarter",
        lo=0.0,
        hi=1.0,
        doc="Trust lost each quarter by a neglected interdependent or strategic "
        "relationship.",
    )
    complacency_failure: float = _p(
        0.05,
        unit="probability per quarter",
        lo=0.0,
        hi=1.0,
        doc="Extra service-failure probability of a neglected top-stage relationship.",
    )
    # --- economics --------------------------------------------------------------
    share_of_wallet: tuple[float, float, float, float] = _p(
        (0.15, 0.35, 0.6, 0.85),
        unit="fraction of wallet",
        lo=0.0,
        hi=1.0,
        per_stage=True,
        increasing=True,
        doc="Supplier's share of the account's spend in each stage (one of several "
        "suppliers -> sole supplier).",
        source="assumption (no source gives per-stage numbers; DESIGN §6)",
    )
    price_level: tuple[float, float, float, float] = _p(
        (1.0, 1.0, 0.98, 0.95),
        unit="relative price",
        lo=0.0,
        hi=10.0,
        per_stage=True,
        doc="Price relative to list in each stage; custom pricing lowers it at the top.",
    )
    cost_to_serve: tuple[float, float, float, float] = _p(
        (0.005, 0.015, 0.03, 0.045),
        unit="fraction of quarterly wallet",
        lo=0.0,
        hi=10.0,
        per_stage=True,
        doc="Variable cost to serve per quarter, rising with stage (more contacts, "
        "dedicated support): cost = cost_to_serve[stage] * W/4 "
        "+ fixed_cost_to_serve[stage].",
    )
    fixed_cost_to_serve: tuple[float, float, float, float] = _p(
        (6.0, 8.0, 12.0, 16.0),
        unit="k€ per quarter",
        lo=0.0,
        hi=1e6,
        per_stage=True,
        increasing=True,
        doc="Cost to serve a key account per quarter whatever its size (account team, "
        "reviews, reporting), rising with stage. It makes small accounts unprofitable "
        "(the whale curve) and penalises portfolios that outgrow their value.",
        source="assumption; Cooper & Kaplan: the least profitable customers destroy "
        "a large share of profit",
    )
    # --- exit -------------------------------------------------------------------
    offer_probability: float = _p(
        0.04,
        unit="probability per quarter",
        lo=0.0,
        hi=1.0,
        doc="Chance that a competitor makes the account an offer in a quarter.",
    )
    offer_discount_max: float = _p(
        0.3,
        unit="fraction of price",
        lo=0.0,
        hi=1.0,
        doc="Largest price advantage a competitor offers; offers are uniform on [0, max].",
    )
    switch_horizon: float = _p(
        2.0,
        unit="quarters",
        lo=0.0,
        hi=100.0,
        doc="Quarters of savings an account weighs when judging an offer: "
        "gain = sensitivity * discount * spend_with_supplier * horizon.",
    )
    exit_cost: tuple[float, float, float, float] = _p(
        (0.0, 0.2, 0.8, 1.6),
        unit="quarters of spend with the supplier",
        lo=0.0,
        per_stage=True,
        increasing=True,
        doc="Account's switching cost in each stage (procedural, financial, relational).",
        source="Burnham, Frels & Mahajan (2003): switching costs rise with integration",
    )
    lock_in: float = _p(
        0.5,
        unit="k€ of exit cost per k€ of stock",
        lo=0.0,
        hi=100.0,
        doc="Exit cost added per unit of relationship-specific investment stock "
        "(specific assets tie the account in).",
        source="Williamson; Klein, Crawford & Alchian (1978)",
    )
    trust_value: float = _p(
        0.5,
        unit="quarters of spend per unit trust",
        lo=0.0,
        hi=100.0,
        doc="Value the account places on trust when judging an offer.",
        source="Morgan & Hunt (1994): trust and commitment lower propensity to leave",
    )
    price_sensitivity_min: float = _p(
        0.5,
        unit="dimensionless",
        lo=0.0,
        hi=10.0,
        doc="Lowest price sensitivity of an account (uniform on [min, max]).",
    )
    price_sensitivity_max: float = _p(
        1.5,
        unit="dimensionless",
        lo=0.0,
        hi=10.0,
        doc="Highest price sensitivity of an account.",
    )
    drop_after_losses: int = _p(
        0,
        unit="quarters",
        lo=0,
        hi=400,
        integer=True,
        doc="The supplier ends a relationship after this many consecutive "
        "loss-making quarters; 0 never drops.",
    )
    # --- portfolio renewal ------------------------------------------------------
    replacement_delay: int | None = _p(
        2,
        unit="quarters",
        lo=0,
        hi=400,
        integer=True,
        optional=True,
        doc="Quarters after a relationship ends before a new tactical account takes "
        "its place; None never replaces (a shrinking portfolio).",
    )
    acquisition_cost: float = _p(
        20.0,
        unit="k€",
        lo=0.0,
        hi=1e7,
        doc="One-off cost of winning a replacement account.",
    )
    # --- observation ------------------------------------------------------------
    potential_noise: float = _p(
        0.3,
        unit="relative sd",
        lo=0.0,
        hi=5.0,
        doc="Noise of the supplier's estimate of potential: est = pot * max(0, 1 + sd*z).",
    )
    trust_noise: float = _p(
        0.1,
        unit="trust sd",
        lo=0.0,
        hi=1.0,
        doc="Noise of the supplier's reading of trust (supplier and customer perceive "
        "the relationship differently).",
    )
    # --- shocks (dependency risk) -----------------------------------------------
    downturn_probability: float = _p(
        0.0,
        unit="probability per quarter",
        lo=0.0,
        hi=1.0,
        doc="Chance per quarter that a correlated demand downturn, hitting every "
        "account, begins.",
    )
    downturn_persistence: float = _p(
        0.75,
        unit="probability per quarter",
        lo=0.0,
        hi=0.99,
        doc="Chance that a downturn continues into the next quarter (a two-state Markov "
        "chain); mean length 1 / (1 - persistence) quarters, 4 by default.",
        source="assumption (recessions last about a year)",
    )
    downturn_depth: float = _p(
        0.3,
        unit="fraction of demand",
        lo=0.0,
        hi=1.0,
        doc="Demand lost by every account in each downturn quarter.",
    )
    disruption_probability: float = _p(
        0.0,
        unit="probability per quarter",
        lo=0.0,
        hi=1.0,
        doc="Chance of a supplier disruption in a quarter: every relationship suffers "
        "a service failure.",
    )
    disruption_dependency: float = _p(
        1.0,
        unit="dimensionless",
        lo=0.0,
        hi=10.0,
        doc="Extra cost of a disruption to the account per unit of share of wallet: "
        "cost = dependency * share_of_wallet * demand.",
    )
    lose_largest_at: int | None = _p(
        None,
        unit="quarter",
        lo=1,
        hi=10000,
        integer=True,
        optional=True,
        doc="If set, the largest account (by last quarter's revenue) leaves for a "
        "competitor at this quarter (a stress test).",
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            _check_field(f, value)
            object.__setattr__(self, f.name, _normalise(f, value))
        if self.potential_high < self.potential_low:
            raise ParameterError(
                f"'potential_high' must be >= 'potential_low' ({self.potential_low}): "
                f"{self.potential_high}"
            )
        if self.price_sensitivity_max < self.price_sensitivity_min:
            raise ParameterError(
                "'price_sensitivity_max' must be >= 'price_sensitivity_min' "
                f"({self.price_sensitivity_min}): {self.price_sensitivity_max}"
            )

    def evolve(self, **changes: Any) -> ModelParams:
        """Return a copy with ``changes`` applied, validated again.

        Raises:
            ParameterError: for an unknown name (with the closest valid one) or an
                invalid value.
        """
        names = [f.name for f in dataclasses.fields(self)]
        for key in changes:
            if key not in names:
                raise ParameterError(f"unknown parameter '{key}'{suggest(key, names)}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as a plain dict (tuples kept as lists for TOML/JSON)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def names(cls) -> list[str]:
        """Return the names of all parameters."""
        return [f.name for f in dataclasses.fields(cls)]


def _check_number(name: str, value: Any, meta: Mapping[str, Any]) -> float:
    allowed = _range_text(meta)
    # numbers.Real admits NumPy scalars (np.int64, np.float32) but not np.bool_
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(f"'{name}' must be {allowed}: {value!r}")
    if meta["integer"] and not (
        isinstance(value, numbers.Integral) or float(value).is_integer()
    ):
        raise ParameterError(f"'{name}' must be {allowed}: {value!r}")
    v = float(value)
    if math.isnan(v) or math.isinf(v):
        raise ParameterError(f"'{name}' must be {allowed}: {value!r}")
    lo, hi = meta["lo"], meta["hi"]
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ParameterError(f"'{name}' must be {allowed}: {value!r}")
    return v


def _normalise(f: dataclasses.Field[Any], value: Any) -> Any:
    """Store a validated value as a plain Python type.

    Per-stage values become a tuple of floats (TOML/JSON give lists), integer fields
    an ``int`` (``4.0`` or ``np.int64(4)`` -> ``4``, so they can size arrays), and
    NumPy scalars of real fields a ``float``; Python ints of real fields are kept.
    """
    if value is None:
        return None
    if f.metadata["per_stage"]:
        return tuple(float(v) for v in value)
    if f.metadata["integer"]:
        return int(value)
    if isinstance(value, (int, float)):
        return value
    return float(value)


def _check_field(f: dataclasses.Field[Any], value: Any) -> None:
    meta = f.metadata
    if value is None:
        if meta["optional"]:
            return
        raise ParameterError(f"'{f.name}' must be {_range_text(meta)}: None")
    if meta["per_stage"]:
        expected = len(f.default) if isinstance(f.default, tuple) else 0
        if not isinstance(value, (tuple, list)) or len(value) != expected:
            raise ParameterError(
                f"'{f.name}' must be a list of {expected} numbers (one per stage): "
                f"{value!r}"
            )
        vals = [_check_number(f.name, v, meta) for v in value]
        if meta["increasing"] and any(b < a for a, b in itertools.pairwise(vals)):
            raise ParameterError(
                f"'{f.name}' must be in non-decreasing stage order: {list(value)!r}"
            )
        return
    _check_number(f.name, value, meta)


def describe_params() -> list[dict[str, Any]]:
    """Return one dict per parameter: name, default, unit, range, meaning, source."""
    rows = []
    for f in dataclasses.fields(ModelParams):
        m = f.metadata
        rows.append(
            {
                "name": f.name,
                "default": f.default,
                "unit": m["unit"],
                "allowed": _range_text(m) + (" or None" if m["optional"] else ""),
                "meaning": m["doc"],
                "source": m["source"],
            }
        )
    return rows
