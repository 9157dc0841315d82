"""How an account's wallet grows towards its potential (model 3).

An account's **potential** P (k€/yr) is the wallet its business is heading for — the
spend in our category that its plans (new plants, products, markets, or a retreat)
will lead to — and its wallet W (its annual spend in the category) really moves there
over the years, by partial adjustment with fat-tailed shocks. With
``x = ln W``, ``y = ln P`` and this quarter's market drift ``m = growth_mean``:

    y' = y + m / 4                                   (plans unchanged), or
    y' = ln(wallet_median) + m i / 4 + sigma_P z     (new plans, probability q)
    x' = x + m / 4 + growth_speed / 4 * (y' - x) + growth_shock_sd / 2 * f(W) * L

* each quarter an account changes its plans with probability ``q = 1 / (4 *
  growth_regime_years)``; new plans are drawn from the market's population of
  potentials, whose median grows at ``growth_mean`` (i is the quarter index): a small
  account can become a large one ("rising star"), a large one can decline;
* ``growth_speed`` (lambda, per year) is how fast a wallet closes the gap to its
  potential: in three years ``1 - (1 - lambda/4)^12`` of the gap in logs (about
  60 % at 0.3);
* z is a standard normal: potentials are lognormal like wallets (a Laplace here
  would give wallets a Pareto tail of index about 1.2, with infinite variance);
* L is a unit-variance Laplace variate: growth rates are tent-shaped on a log
  scale (Stanley et al. 1996; Bottazzi & Secchi 2006), and the jumps of new plans
  add to their tails; ``f(W) = (W /
  wallet_median)^-growth_size_exponent``: the spread of growth falls with size,
  ``sd ∝ W^-beta`` with ``beta ≈ 0.15`` (Stanley et al. 1996).

The spread of potentials ``sigma_P`` is not a free parameter: it is the one that keeps
the spread of log wallets across accounts at ``wallet_sigma`` in the long run. In the
linear-Gaussian approximation of the process (shocks at ``f = 1``), with ``a =
lambda / (lambda + 1/tau)`` (tau = growth_regime_years), ``var(x) = a sigma_P^2 +
s^2 / (2 lambda)`` (s = growth_shock_sd), ``cov(x, y) = a sigma_P^2``; so ``sigma_P^2
= (wallet_sigma^2 - s^2 / (2 lambda)) / a`` (:func:`potential_spread`), and an
account that enters the market has a wallet drawn as before and a potential drawn
from that approximation's (normal) distribution given its wallet
(:func:`initial_potential`),
so that the market starts near its long-run state. ``docs/validation.md`` shows the
measured spread, growth rates and correlation.

That an account's plans persist for years and that the wallet follows them is an
assumption (firm growth rates are only weakly autocorrelated year to year, Bottazzi
& Secchi 2006; an account's spend in one category follows its plans, which is what
account analysis in the KAM texts looks for); partial adjustment towards a target
size is the classic formulation of firm growth with adjustment costs (Lucas 1967).

References:
    Stanley, M. H. R., Amaral, L. A. N., Buldyrev, S. V., Havlin, S., Leschhorn,
    H., Maass, P., Salinger, M. A., & Stanley, H. E. (1996). Scaling behaviour in
    the growth of companies. Nature 379, 804-806.
    Bottazzi, G., & Secchi, A. (2006). Explaining the distribution of firm growth
    rates. RAND Journal of Economics 37(2), 235-256.
    Lucas, R. E. (1967). Adjustment costs and the theory of supply. Journal of
    Political Economy 75(4), 321-334.
"""

from __future__ import annotations

import math

from kamsim.model.cache import rule
from kamsim.model.state import CompiledParams

__all__ = [
    "draw_potential",
    "effort_scale",
    "expected_growth",
    "grow_wallet",
    "growth_spread",
    "initial_potential",
    "laplace",
    "market_growth",
    "market_median",
    "new_plans",
    "potential_spread",
]

#: A uniform of 0 would give an infinite Laplace variate; the largest |u - 1/2| used.
_HALF = 0.5 - 2.0**-54
_SQRT_HALF = math.sqrt(0.5)


@rule
def laplace(u: float) -> float:
    """A unit-variance Laplace variate from a uniform u on [0, 1) (inverse CDF).

    ``L = -sign(u - 1/2) ln(1 - 2 |u - 1/2|) / sqrt(2)``; density
    ``exp(-sqrt(2) |x|) / sqrt(2)``, excess kurtosis 3.
    """
    d = min(abs(u - 0.5), _HALF)
    x = -math.log1p(-2.0 * d) * _SQRT_HALF
    return -x if u < 0.5 else x


@rule
def growth_spread(wallet: float, p: CompiledParams) -> float:
    """Size factor of the shocks' spread: ``f(W) = (W / wallet_median)^-beta``."""
    return (wallet / p.wallet_median) ** (-p.growth_size_exponent)


@rule
def market_median(i: int, p: CompiledParams) -> float:
    """Median wallet of accounts entering the market at quarter index i (k€/yr).

    ``wallet_median * exp(growth_mean * i / 4)``: the market grows at growth_mean.
    """
    return p.wallet_median * math.exp(p.growth_mean * i / 4.0)


@rule
def market_growth(p: CompiledParams) -> float:
    """The factor a quarter's market drift puts on a potential: ``exp(growth_mean / 4)``.

    The same for every account and quarter: a caller growing many wallets computes it
    once and hands it to :func:`grow_wallet`.
    """
    return math.exp(0.25 * p.growth_mean)


@rule
def _adjustment(p: CompiledParams) -> float:
    """``a = lambda / (lambda + 1 / tau)`` of the linear-Gaussian approximation."""
    return p.growth_speed / (p.growth_speed + 1.0 / p.growth_regime_years)


@rule
def potential_spread(p: CompiledParams) -> float:
    """sigma_P: spread of log potentials that keeps log wallets' sd at wallet_sigma.

    ``sigma_P^2 = max(0, wallet_sigma^2 - s^2 / (2 lambda)) / a`` (see the module).
    """
    shocks = p.growth_shock_sd * p.growth_shock_sd / (2.0 * p.growth_speed)
    return math.sqrt(max(0.0, p.wallet_sigma * p.wallet_sigma - shocks) / _adjustment(p))


@rule
def new_plans(u: float, p: CompiledParams) -> bool:
    """Whether the account changes its plans this quarter (``u < 1 / (4 tau)``)."""
    return u < 1.0 / (4.0 * p.growth_regime_years)


@rule
def draw_potential(z: float, i: int, p: CompiledParams) -> float:
    """New plans at quarter index i: ``P = market_median(i) exp(sigma_P z)``, z normal."""
    return market_median(i, p) * math.exp(potential_spread(p) * z)


@rule
def initial_potential(wallet: float, z: float, i: int, p: CompiledParams) -> float:
    """The potential of an account entering the market with wallet W (k€/yr).

    In the long-run approximation (module), ``y - ln median = b (x - ln median) + c
    z`` with ``b = a sigma_P^2 / wallet_sigma^2``, ``c^2 = sigma_P^2 - b^2
    wallet_sigma^2`` and z a standard normal: the potential given the wallet.
    """
    median = market_median(i, p)
    sp = potential_spread(p)
    var_x = p.wallet_sigma * p.wallet_sigma
    b = _adjustment(p) * sp * sp / var_x if var_x > 0.0 else 0.0
    c = math.sqrt(max(0.0, sp * sp - b * b * var_x))
    return median * math.exp(b * math.log(wallet / median) + c * z)


@rule
def expected_growth(wallet: float, potential: float, p: CompiledParams) -> float:
    """An account's expected annual log growth: ``growth_mean + growth_speed ln(P/W)``.

    The drift of the market plus the pull of its potential (before shocks and new
    plans); a function of the state, not kept in it.
    """
    return p.growth_mean + p.growth_speed * math.log(potential / wallet)


@rule
def effort_scale(wallet: float, p: CompiledParams) -> float:
    """Effort scale S (k€ per quarter) an account of wallet W needs.

    ``S = (wallet_median / 4) (W / wallet_median)^effort_elasticity``; it moves with
    the wallet.
    """
    return (p.wallet_median / 4.0) * (wallet / p.wallet_median) ** p.effort_elasticity


@rule
def grow_wallet(
    wallet: float,
    potential: float,
    plans: bool,
    z_plans: float,
    u_shock: float,
    i: int,
    carried: float,
    p: CompiledParams,
) -> tuple[float, float]:
    """One quarter of an account's growth: its new (W, P) (k€/yr; see the module).

    With new ``plans`` (:func:`new_plans`) the account's potential is drawn afresh
    (:func:`draw_potential` of the normal ``z_plans``), otherwise it grows with the
    market (by ``carried = exp(growth_mean / 4)``, :func:`market_growth`); then the
    wallet moves ``growth_speed / 4`` of the way (in logs) towards the potential, plus
    the market's drift and a shock ``growth_shock_sd / 2 * f(W) * L(u_shock)``.
    """
    drift = 0.25 * p.growth_mean
    if plans:
        new = draw_potential(z_plans, i, p)
    else:
        new = potential * carried
    shock = 0.5 * p.growth_shock_sd * growth_spread(wallet, p) * laplace(u_shock)
    gap = math.log(new / wallet)
    return wallet * math.exp(drift + 0.25 * p.growth_speed * gap + shock), new
