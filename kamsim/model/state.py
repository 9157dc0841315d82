"""The model's state and parameters as the compiled rules read them.

The state of a market is a handful of stacked arrays whose first axis names a field
(the constants below): relationships ``(field, ..., M, n)`` as integers
(:data:`REL_I` fields) and floats (:data:`REL_F`), accounts ``(field, ..., n)`` as
floats (:data:`ACC_F`) and integers (:data:`ACC_I`). The batched engine holds them
for R markets (``(field, R, M, n)``); the Mesa face holds them for its one market
(``(field, 1, M, n)``) and each :class:`kamsim.KeyAccount` steps its column
``[:, 0, :, j]``: the same layout, so both faces hand the same views to the same
compiled functions (:mod:`kamsim.model.rules`).

:func:`compiled_params` turns a :class:`kamsim.ModelParams` into what compiled code
can read: one record holding every scalar parameter (the fields of :class:`Params`,
read as ``p.trust_gain``) and every per-stage parameter as an array indexed by
``stage - 1`` (the fields of :class:`StageTables`, read as ``p.clarity[stage - 1]``).
"""

from __future__ import annotations

import functools
from enum import IntEnum
from typing import Any, NamedTuple

import numpy as np

from kamsim.model.params import ModelParams

__all__ = [
    "ACC_F",
    "ACC_I",
    "PARAMS_DTYPE",
    "REL_F",
    "REL_I",
    "CompiledParams",
    "EndCause",
    "Params",
    "Stage",
    "StageTables",
    "compiled_params",
    "params_array",
    "place_accounts",
    "stage_tables",
]


class Stage(IntEnum):
    """The four stages of a key-account relationship (McDonald & Woodburn 2007)."""

    TACTICAL = 1
    COOPERATIVE = 2
    INTERDEPENDENT = 3
    STRATEGIC = 4


class EndCause(IntEnum):
    """Why a relationship ended (a relationship that has not ended has ``NONE``)."""

    NONE = 0
    SWITCHED = 1  # the account took an outside offer (gain beat its exit barrier)
    VANISHED = 2  # the account itself disappeared (bankruptcy, merger)
    DROPPED = 3  # the supplier ended it (consecutive losses)
    BREACH = 4  # trust fell below the dissolution floor
    FADED = 5  # share of wallet fell below the floor (rivals took the business)


# --- relationship fields ----------------------------------------------------------
# integers: stage (0 none, 1..4), quarters completed in the stage, quarters since the
# relationship started, consecutive loss-making quarters, quarter it ended (-1 if
# live), quarter it started, how many times it restarted in its slot, highest stage
STAGE, TENURE, AGE, STREAK, ENDED_AT, ARRIVED, GENERATION, MAX_STAGE = range(8)
REL_I = 8
# floats: the account's trust in the supplier [0, 1], the supplier's specific
# investment K (k€, sunk), the account's adaptation A (k€), share of wallet, the
# supplier's persistent misjudgement of potential and misreading of trust (standard
# normals), last quarter's revenue and cost to serve (k€), the factor the
# misjudgement of potential puts on the estimate in the current stage (judgement.
# persistent_misjudgement, renewed when the relationship starts or changes stage), and
# the supplier's persistent misjudgement of willingness (a standard normal)
TRUST, STOCK, ADAPTATION, SHARE, BIAS_P, BIAS_T, LAST_REVENUE, LAST_CTS = range(8)
MISJUDGED, BIAS_W = 8, 9
REL_F = 10
# --- account fields ---------------------------------------------------------------
# floats: annual wallet W (k€/yr), price sensitivity, dependency tolerance, effort
# scale S (k€/quarter, moves with W), wariness after disruptions, true potential
# (k€/yr, the wallet the account is heading for); its expected growth is a function of
# W and the potential (growth.expected_growth), not kept
WALLET, SENSITIVITY, TOLERANCE, SCALE, WARINESS, POTENTIAL = range(6)
ACC_F = 6
# integers: willing to partner (0/1), present in its slot (0/1), quarter it left its
# slot (-1 if present)
WILLING, PRESENT, VACATED_AT = range(3)
ACC_I = 3


class Params(NamedTuple):
    """The scalar parameters of :class:`kamsim.ModelParams` as compiled code reads them.

    Every field is a float (integers and ``None`` = -1 included); the fields of the
    record :func:`compiled_params` returns. See ``ModelParams`` for units, ranges
    and sources.
    ``quarterly_discount`` is ``(1 + discount_rate)^(1/4) - 1``.
    """

    potential_bias: float
    potential_noise: float
    focal_potential_bias: float  # the market's potential_bias when None
    focal_potential_noise: float  # the market's potential_noise when None
    willingness_bias: float
    willingness_learning_years: float
    share_willing: float
    price_sensitivity_min: float
    price_sensitivity_max: float
    tolerance_min: float
    tolerance_max: float
    wallet_median: float
    effort_elasticity: float
    wallet_sigma: float
    growth_mean: float
    growth_speed: float
    growth_shock_sd: float
    growth_size_exponent: float
    growth_regime_years: float
    trust_bias: float
    trust_noise: float
    potential_low: float
    potential_high: float
    manager_capacity: float
    overload_penalty: float
    stock_weight: float
    service_scale: float
    failure_base: float
    complacency_failure: float
    trust_base: float
    trust_gain: float
    trust_loss: float
    complacency_drift: float
    depreciation: float
    adaptation_depreciation: float
    min_tenure: float
    service_attraction: float
    wariness_decay: float
    wariness_gain: float
    trust_value: float
    offer_probability: float
    offer_discount_max: float
    switch_horizon: float
    hazard: float
    trust_floor: float
    share_floor: float
    drop_after_losses: float
    gross_margin: float
    downturn_depth: float
    disruption_dependency: float
    share_initial: float
    acquisition_cost: float
    trust_initial: float
    trust_initial_spread: float
    quarterly_discount: float
    replacement_delay: float  # -1: no renewal
    lose_largest_at: float  # -1: no stress test
    disruption_at: float  # -1: no scripted disruption


class StageTables(NamedTuple):
    """Per-stage parameters as arrays indexed by ``stage - 1`` (length 4)."""

    trust_up: np.ndarray  # trust needed to leave the stage upwards (inf at 4)
    joint_up: np.ndarray  # (K + A) / S needed to move up (inf at 4)
    trust_down: np.ndarray  # below this the stage drops by one (-inf at 1)
    attraction: np.ndarray
    share_cap: np.ndarray
    adjustment: np.ndarray
    adaptation: np.ndarray
    price_level: np.ndarray
    cost_to_serve: np.ndarray
    fixed_cost: np.ndarray
    maintenance: np.ndarray
    exit_cost: np.ndarray
    clarity: np.ndarray
    retention: np.ndarray


@functools.lru_cache(maxsize=64)
def stage_tables(p: ModelParams) -> StageTables:
    """The per-stage lookup arrays of ``p`` (cached; params are frozen)."""
    inf = float("inf")
    up = p.trust_to_advance
    return StageTables(
        trust_up=np.array([*up, inf]),
        joint_up=np.array([*p.joint_to_advance, inf]),
        trust_down=np.array([-inf, *(t - p.hysteresis for t in up)]),
        attraction=np.array(p.stage_attraction, dtype=np.float64),
        share_cap=np.array(p.share_cap, dtype=np.float64),
        adjustment=np.array(p.share_adjustment, dtype=np.float64),
        adaptation=np.array(p.adaptation, dtype=np.float64),
        price_level=np.array(p.price_level, dtype=np.float64),
        cost_to_serve=np.array(p.cost_to_serve, dtype=np.float64),
        fixed_cost=np.array(p.fixed_cost_to_serve, dtype=np.float64),
        maintenance=np.array(p.maintenance, dtype=np.float64),
        exit_cost=np.array(p.exit_cost, dtype=np.float64),
        clarity=np.array(p.clarity, dtype=np.float64),
        retention=np.array(p.terminal_retention, dtype=np.float64),
    )


def place_accounts(
    af: np.ndarray, ai: np.ndarray, a: Any, where: Any, source: Any = Ellipsis
) -> None:
    """Put accounts ``a`` (:class:`kamsim.environment.Accounts`) into slots ``where``.

    ``where`` indexes the (R, n) rows of the account arrays ``af`` and ``ai``;
    ``source`` indexes ``a``'s arrays (all of them by default). A placed account is
    present, not wary, and has its attributes from ``a``.
    """
    for row, values in (
        (WALLET, a.wallet),
        (SENSITIVITY, a.sensitivity),
        (TOLERANCE, a.tolerance),
        (SCALE, a.scale),
        (POTENTIAL, a.potential),
    ):
        af[row][where] = values[source]
    af[WARINESS][where] = 0.0
    ai[WILLING][where] = a.willing[source]
    ai[PRESENT][where] = 1
    ai[VACATED_AT][where] = -1


def _opt(v: int | None) -> float:
    return -1.0 if v is None else float(v)


def _or(v: float | None, default: float) -> float:
    return float(default) if v is None else float(v)


#: The type of :func:`compiled_params`'s record (a NumPy structured scalar of
#: :data:`PARAMS_DTYPE`; its fields are read by name in compiled code).
CompiledParams = Any

#: The record compiled code reads: one float per :class:`Params` field and one array
#: of 4 per :class:`StageTables` field.
PARAMS_DTYPE = np.dtype(
    [(name, np.float64) for name in Params._fields]
    + [(name, np.float64, (4,)) for name in StageTables._fields],
    align=True,
)


@functools.lru_cache(maxsize=64)
def params_array(p: ModelParams) -> np.ndarray:
    """The one-element array of :data:`PARAMS_DTYPE` that holds :func:`compiled_params`.

    Compiled entry points called from Python once per account take it
    instead of the record (:mod:`kamsim.model.entries`): an array argument costs a
    fraction of a microsecond to pass, a record about 8 µs.
    """
    special = {
        "quarterly_discount": (1.0 + p.discount_rate) ** 0.25 - 1.0,
        "focal_potential_bias": _or(p.focal_potential_bias, p.potential_bias),
        "focal_potential_noise": _or(p.focal_potential_noise, p.potential_noise),
        "replacement_delay": _opt(p.replacement_delay),
        "lose_largest_at": _opt(p.lose_largest_at),
        "disruption_at": _opt(p.disruption_at),
    }
    record = np.zeros(1, dtype=PARAMS_DTYPE)
    for name in Params._fields:
        record[name] = special[name] if name in special else float(getattr(p, name))
    tables = stage_tables(p)
    for name in StageTables._fields:
        record[name][0] = getattr(tables, name)
    return record


def compiled_params(p: ModelParams) -> CompiledParams:
    """``p`` as compiled code reads it: one record (``p.trust_gain``, ``p.clarity[x]``).

    A NumPy structured scalar of :data:`PARAMS_DTYPE` (the element of
    :func:`params_array`), which Numba passes by reference (a pointer), so a compiled
    function of one account can read every parameter without copying them at each
    call. Compiled code reads its fields as attributes (``p.trust_gain``); Python
    reads them by key (``p["trust_gain"]``).
    """
    return params_array(p)[0]
