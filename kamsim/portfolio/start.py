"""A market that starts where the team is: the focal relationships from a portfolio.

:func:`start_portfolio` rewrites the state of R freshly started markets
(:func:`kamsim.model.market.start_market`: every supplier tactical with every account)
so that at quarter 0 the focal supplier's relationship with each account has the
file's stage, our share of wallet and our revenue, and the account has the file's
category spend as its wallet. What the file does not say is drawn, replication by
replication, from the priors below, conditional on what it says, so the Monte Carlo
runs over what the team does not know. Every draw is a counter-based variate of the
replication's key at quarter index 0, supplier 0, the account's slot and a purpose of
its own (``PRIOR_*`` in :mod:`kamsim.model.variates`), so both faces draw the same
numbers and nothing else in the run moves: the rest of the machinery (growth, rivals,
renewal, shocks) is the model's.

The priors (stage ``s`` = the file's; thresholds from :class:`kamsim.ModelParams`):

* **trust**: tactical keeps the model's trust of a new relationship (uniform on
  ``trust_initial +- trust_initial_spread``); from cooperative up, uniform between the
  trust that admitted the relationship to its stage and the trust it needs to leave
  it upwards, ``U(trust_to_advance[s-1], trust_to_advance[s])`` (strategic:
  ``U(trust_to_advance[3], 1)``). A relationship that reached a stage had at least the
  trust that admitted it, and one that has not moved on is most plausibly still short
  of the next threshold; within that band nothing in the file says more.
* **joint investment** K + A (the supplier's specific investment and the account's
  adaptation, k€): ``S * U(joint_to_advance[s-1], joint_to_advance[s])`` with S the
  account's effort scale (tactical ``U(0, joint_to_advance[1])``, strategic
  ``U(j3, 2 j3)``): the same reasoning as for trust, for the model's other gate of a
  stage. It is split evenly between K and A from cooperative up (no source gives the
  split; both build up in the stage), and is all K at tactical, where the model's
  accounts do not adapt.
* **tenure and age**: ``4 * years_in_stage`` and ``4 * years_as_customer`` quarters
  (rounded; age at least the tenure) when given; otherwise tenure uniform on 0-11
  quarters (0-3 years, a stage of the model lasts a few years) and age the tenure plus
  8 quarters per stage below ``s`` (two years per earlier stage, an assumption; the
  model needs at least ``min_tenure`` = 4 quarters per stage).
* **true potential** (the wallet the account's plans lead to, k€/yr): the team's
  estimate is read as the focal supplier's judgement in the model, truth times its
  persistent misjudgement at the stage, so ``truth = estimate / exp(sd * clarity[s]
  * b)`` with ``sd`` the focal supplier's ``potential_bias`` and ``b`` the focal
  relationship's own misjudgement (the standard normal the model drew for it): the
  model's focal supplier then sees, at quarter 0, what the team sees. A range
  ``potential_low``-``potential_high`` is read as an 80 % interval: the truth is
  lognormal with median ``sqrt(low * high)`` and log-sd ``ln(high / low) / (2 *
  1.2816)``. No estimate: the model's prior given the wallet,
  :func:`kamsim.model.growth.initial_potential`.
* **willingness to partner**: an account above tactical is willing (in the model only
  willing accounts leave tactical, so the file's stage proves it). A tactical account
  is willing with probability ``share_willing`` when the team does not know; when the
  team says yes or no, its answer is read as the model's own judgement of willingness
  at the tactical stage after ``years_as_customer`` years (``willingness_bias``,
  ``willingness_learning_years``; :mod:`kamsim.model.judgement`): P(willing | yes) =
  ``pi Phi((1 - t) / c) / (pi Phi((1 - t) / c) + (1 - pi) Phi((-1 - t) / c))`` with
  ``pi = share_willing``, ``c`` the judgement's sd and ``t = c^2 logit(1 - pi) / 2`` the
  evidence at which the judgement says 50 %; P(willing | no) likewise with ``1 - Phi``.
  With the defaults a new relationship's yes means 73 % and its no 34 % (after five
  years 85 % and 20 %); the longer
  the account has bought from us, the more the answer is worth.
* **the account's dependency tolerance** (below strategic): at least our share, since
  the account gives us that much today.
* **the rivals**: tactical, as the model starts them, sharing the rest of the wallet
  ``1 - share`` with the rest of the market in proportion to their attractions
  (:func:`kamsim.model.rules.attraction` at their drawn trust, no service yet; the
  rest of the market has attraction 1).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from kamsim.model import cache as _cache  # noqa: F401  (kamsim-wide cache stamp)
from kamsim.model import growth, judgement, rules
from kamsim.model import state as st
from kamsim.model.params import ModelParams, ParameterError
from kamsim.model.state import CompiledParams, compiled_params
from kamsim.model.variates import (
    PRIOR_JOINT,
    PRIOR_POTENTIAL,
    PRIOR_TENURE,
    PRIOR_TRUST,
    PRIOR_WILLING,
    counter,
    normal,
    uniform,
)
from kamsim.portfolio.portfolio import Portfolio

__all__ = [
    "INTERVAL_Z",
    "PortfolioArrays",
    "check_portfolio_size",
    "portfolio_arrays",
    "start_portfolio",
    "willing_probability",
]

#: The standard normal quantile of 90 %: a low-high range is an 80 % interval.
INTERVAL_Z = 1.2815515655446004

#: Columns of :func:`portfolio_arrays` (one row per account).
(
    C_STAGE,
    C_SHARE,
    C_REVENUE,
    C_WALLET,
    C_YEARS_STAGE,
    C_YEARS_CUSTOMER,
    C_POTENTIAL,
    C_LOW,
    C_HIGH,
    C_WILLING,
) = range(10)

PortfolioArrays = np.ndarray


def portfolio_arrays(portfolio: Portfolio) -> PortfolioArrays:
    """What the compiled start reads of a portfolio: (n, 10) floats, NaN = not given."""
    return np.ascontiguousarray(
        np.stack(
            [
                portfolio.stage.astype(np.float64),
                portfolio.share_of_wallet,
                portfolio.revenue,
                portfolio.wallet,
                portfolio.years_in_stage,
                portfolio.years_as_customer,
                portfolio.potential,
                portfolio.potential_low,
                portfolio.potential_high,
                portfolio.willing_to_partner.astype(np.float64),
            ],
            axis=1,
        )
    )


def check_portfolio_size(portfolio: Any, n_accounts: Any) -> int | None:
    """The number of account slots of a run with ``portfolio`` (None: no portfolio).

    Raises:
        ParameterError: for a portfolio that is not a :class:`Portfolio`, or an
            ``n_accounts`` given beside it that differs from its number of accounts.
    """
    if portfolio is None:
        return None
    if not isinstance(portfolio, Portfolio):
        raise ParameterError(f"'portfolio' must be a kamsim.Portfolio: {portfolio!r}")
    n = len(portfolio)
    if n_accounts is not None and n_accounts != n:
        raise ParameterError(
            f"'n_accounts' must be the portfolio's number of accounts ({n}) or left "
            f"out: {n_accounts!r}"
        )
    return n


def start_portfolio(
    ri: np.ndarray,
    rf: np.ndarray,
    af: np.ndarray,
    ai: np.ndarray,
    keys: np.ndarray,
    portfolio: Portfolio,
    p: ModelParams,
) -> None:
    """Start R markets' focal relationships where the portfolio says they are.

    ``ri``, ``rf``, ``af``, ``ai`` are the state of :mod:`kamsim.model.state` for R
    markets of the portfolio's n accounts, as :func:`kamsim.model.market.start_market`
    left them; ``keys`` (R,) the replications' keys. Rewritten in place with the
    priors of the module's docstring.
    """
    data = portfolio_arrays(portfolio)
    if af.shape[-1] != data.shape[0]:
        raise ValueError(f"the market has {af.shape[-1]} slots, the portfolio {len(data)}")
    keys = np.ascontiguousarray(keys, dtype=np.uint64)
    _start(ri, rf, af, ai, keys, data, compiled_params(p))


@njit(cache=True, error_model="numpy")
def _phi(x: float) -> float:  # pragma: no cover - compiled
    """The standard normal distribution function."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


@njit(cache=True, error_model="numpy")
def willing_probability(
    answer: int, years: float, p: CompiledParams
) -> float:  # pragma: no cover
    """P(a tactical account is willing | the team's answer: 1 yes, 0 no, -1 unknown).

    The answer is read as the model's judgement of willingness at the tactical stage
    after ``years`` years of buying from us (module docstring).
    """
    pi = p.share_willing
    if answer < 0 or pi <= 0.0 or pi >= 1.0:
        return pi
    c = judgement.willingness_spread(p.clarity[0], 4.0 * years, p)
    if c <= 0.0:
        return 1.0 if answer == 1 else 0.0
    t = c * c * math.log((1.0 - pi) / pi) / 2.0
    yes_w, yes_n = _phi((1.0 - t) / c), _phi((-1.0 - t) / c)
    if answer == 1:
        return pi * yes_w / (pi * yes_w + (1.0 - pi) * yes_n)
    return pi * (1.0 - yes_w) / (pi * (1.0 - yes_w) + (1.0 - pi) * (1.0 - yes_n))


@njit(cache=True, error_model="numpy")
def _band(stage: int, lows: np.ndarray, top: float, u: float) -> float:  # pragma: no cover
    """``U(lows[s-2], lows[s-1])`` by the uniform u (0 below tactical, ``top`` above)."""
    lo = 0.0 if stage <= 1 else lows[stage - 2]
    hi = top if stage >= 4 else lows[stage - 1]
    return lo + (hi - lo) * u


@njit(cache=True, error_model="numpy")
def _true_potential(
    row: np.ndarray,
    wallet: float,
    bias: float,
    stage: int,
    key: np.uint64,
    j: int,
    p: CompiledParams,
) -> float:  # pragma: no cover - compiled
    """The account's true potential given the team's estimate, range or nothing."""
    if not math.isnan(row[C_POTENTIAL]):
        sd = judgement.potential_bias_of(0, p) * p.clarity[stage - 1]
        return row[C_POTENTIAL] / math.exp(sd * bias)
    z = normal(key, counter(0, 0, j, PRIOR_POTENTIAL))
    if not math.isnan(row[C_LOW]):
        lo, hi = row[C_LOW], row[C_HIGH]
        return math.sqrt(lo * hi) * math.exp(math.log(hi / lo) / (2.0 * INTERVAL_Z) * z)
    return growth.initial_potential(wallet, z, 0, p)


@njit(cache=True, error_model="numpy")
def _start(
    ri: np.ndarray,
    rf: np.ndarray,
    af: np.ndarray,
    ai: np.ndarray,
    keys: np.ndarray,
    data: np.ndarray,
    p: CompiledParams,
) -> None:  # pragma: no cover - compiled
    """The compiled loop of :func:`start_portfolio` (markets r, slots j)."""
    m = ri.shape[2]
    for r in range(ri.shape[1]):
        key = keys[r]
        for j in range(data.shape[0]):
            row = data[j]
            s = int(row[C_STAGE])
            wallet, share = row[C_WALLET], row[C_SHARE]
            scale = growth.effort_scale(wallet, p)
            af[st.WALLET, r, j] = wallet
            af[st.SCALE, r, j] = scale
            pot = _true_potential(row, wallet, rf[st.BIAS_P, r, 0, j], s, key, j, p)
            af[st.POTENTIAL, r, j] = pot
            if s < 4:
                af[st.TOLERANCE, r, j] = max(af[st.TOLERANCE, r, j], share)
            years = 0.0 if math.isnan(row[C_YEARS_CUSTOMER]) else row[C_YEARS_CUSTOMER]
            chance = willing_probability(int(row[C_WILLING]), years, p)
            u_willing = uniform(key, counter(0, 0, j, PRIOR_WILLING))
            ai[st.WILLING, r, j] = 1 if (s >= 2 or u_willing < chance) else 0
            _focal(ri, rf, r, j, s, row, scale, key, p)
            _rivals(ri, rf, r, j, m, share, wallet, p)


@njit(cache=True, error_model="numpy")
def _focal(
    ri: np.ndarray,
    rf: np.ndarray,
    r: int,
    j: int,
    s: int,
    row: np.ndarray,
    scale: float,
    key: np.uint64,
    p: CompiledParams,
) -> None:  # pragma: no cover - compiled
    """The focal relationship with the account in slot j of market r (module priors)."""
    if math.isnan(row[C_YEARS_STAGE]):
        tenure = np.int64(math.floor(12.0 * uniform(key, counter(0, 0, j, PRIOR_TENURE))))
    else:
        tenure = np.int64(math.floor(4.0 * row[C_YEARS_STAGE] + 0.5))
    if math.isnan(row[C_YEARS_CUSTOMER]):
        age = tenure + 8 * (s - 1)
    else:
        age = max(tenure, np.int64(math.floor(4.0 * row[C_YEARS_CUSTOMER] + 0.5)))
    u_trust = uniform(key, counter(0, 0, j, PRIOR_TRUST))
    if s >= 2:
        rf[st.TRUST, r, 0, j] = _band(s, p.trust_up, 1.0, u_trust)
    j3 = p.joint_up[2]
    joint = scale * _band(
        s, p.joint_up, 2.0 * j3, uniform(key, counter(0, 0, j, PRIOR_JOINT))
    )
    adaptation = 0.5 * joint if s >= 2 else 0.0
    ri[st.STAGE, r, 0, j] = s
    ri[st.TENURE, r, 0, j] = tenure
    ri[st.AGE, r, 0, j] = age
    ri[st.MAX_STAGE, r, 0, j] = s
    rf[st.STOCK, r, 0, j] = joint - adaptation
    rf[st.ADAPTATION, r, 0, j] = adaptation
    rf[st.SHARE, r, 0, j] = row[C_SHARE]
    rf[st.LAST_REVENUE, r, 0, j] = row[C_REVENUE] / 4.0
    c = p.clarity[s - 1]
    rf[st.MISJUDGED, r, 0, j] = judgement.persistent_misjudgement(
        rf[st.BIAS_P, r, 0, j], c, 0, p
    )


@njit(cache=True, error_model="numpy")
def _rivals(
    ri: np.ndarray,
    rf: np.ndarray,
    r: int,
    j: int,
    m: int,
    share: float,
    wallet: float,
    p: CompiledParams,
) -> None:  # pragma: no cover - compiled
    """The rivals share the rest of the wallet with the rest of the market."""
    total = 0.0
    for k in range(1, m):
        total += rules.attraction(1, rf[st.TRUST, r, k, j], 0.0, p)
    for k in range(1, m):
        a = rules.attraction(1, rf[st.TRUST, r, k, j], 0.0, p)
        rival = (1.0 - share) * a / (1.0 + total)
        rf[st.SHARE, r, k, j] = rival
        rf[st.LAST_REVENUE, r, k, j] = rival * (wallet / 4.0) * p.price_level[0]
