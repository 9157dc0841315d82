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
from dataclasses import dataclass
from typing import Any

from kamsim.model.fields import (
    ParameterError,
    _check_field,
    _normalise,
    _p,
    _range_text,
    suggest,
)

__all__ = ["ModelParams", "ParameterError", "describe_params", "suggest"]


@dataclass(frozen=True, kw_only=True)
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

    # --- suppliers --------------------------------------------------------------
    budget: float = _p(
        100.0,
        unit="k€ per quarter",
        lo=0.0,
        hi=1e7,
        doc="KAM budget (money and manager time) the focal supplier allocates each "
        "quarter across all its key accounts.",
    )
    rival_budget: float = _p(
        100.0,
        unit="k€ per quarter",
        lo=0.0,
        hi=1e7,
        doc="KAM budget of each rival supplier per quarter.",
        source="assumption: a rival of the focal supplier's size (symmetric market)",
    )
    gross_margin: float = _p(
        0.30,
        unit="fraction of revenue",
        lo=0.0,
        hi=1.0,
        doc="Gross margin on revenue before cost to serve and KAM investment (every "
        "supplier).",
        source="assumption (typical B2B manufacturing gross margin)",
    )
    manager_capacity: float = _p(
        15.0,
        unit="relationships",
        lo=1.0,
        hi=1000.0,
        doc="Number of key-account relationships a supplier's KAM team serves at full "
        "effectiveness. Beyond it, each unit of budget buys less (attention is "
        "diluted).",
        source="KAM practice: a manager looks after fewer than 5 accounts; "
        "here a team of about three managers",
    )
    overload_penalty: float = _p(
        0.5,
        unit="dimensionless",
        lo=0.0,
        hi=10.0,
        doc="Strength of dilution: efficiency = 1 / (1 + penalty * max(0, n - capacity) "
        "/ capacity) for n live relationships.",
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
        doc="Dispersion of log wallet across accounts (kept in the long run by the "
        "growth process); 1.0 makes the top fifth of accounts hold about half of all "
        "spend (heavy tail).",
        source="assumption calibrated to Pareto-like customer concentration",
    )
    growth_mean: float = _p(
        0.03,
        unit="per year (log growth)",
        lo=-0.5,
        hi=0.5,
        doc="Drift of the market: the median wallet and every account's potential "
        "grow at this annual log rate.",
        source="assumption (nominal growth of industrial demand)",
    )
    growth_speed: float = _p(
        0.3,
        unit="per year",
        lo=0.01,
        hi=4.0,
        doc="How fast a wallet moves towards the account's potential: each quarter "
        "growth_speed/4 of the gap in logs (0.3: about 60 % of the gap closed in "
        "three years).",
        source="partial adjustment towards a target size (Lucas 1967); value an "
        "assumption calibrated with growth_regime_years (docs/validation.md, fact 14)",
    )
    growth_regime_years: float = _p(
        6.0,
        unit="years",
        lo=0.25,
        hi=100.0,
        doc="Mean time an account keeps its plans (its potential); each quarter it "
        "draws new ones with probability 1/(4 * growth_regime_years), from the "
        "market's distribution of potentials: rising stars and declining giants.",
        source="assumption (a few business-plan cycles); calibrated with growth_speed",
    )
    growth_shock_sd: float = _p(
        0.15,
        unit="per year (log growth), sd",
        lo=0.0,
        hi=0.6,
        doc="Spread of the unpredictable part of an account's annual log growth at "
        "the median wallet: each quarter a Laplace shock of sd growth_shock_sd/2, "
        "times (W/wallet_median)^-growth_size_exponent.",
        source="Stanley et al. (1996), Bottazzi & Secchi (2006): fat-tailed annual "
        "growth; level an assumption",
    )
    growth_size_exponent: float = _p(
        0.15,
        unit="dimensionless",
        lo=0.0,
        hi=0.5,
        doc="How the spread of growth shocks falls with size: sd proportional to "
        "(W/wallet_median)^-beta.",
        source="Stanley et al. (1996), Nature 379: beta = 0.15 +- 0.03 for firm sales",
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
        "orientation). Unwilling accounts stay tactical with every supplier.",
        source="assumption; not every account wants partnership (DESIGN §1)",
    )
    potential_low: float = _p(
        700.0,
        unit="k€ per year",
        lo=0.0,
        doc="Accounts whose potential (the wallet their plans lead to) is below this "
        "are low-potential.",
    )
    potential_high: float = _p(
        2000.0,
        unit="k€ per year",
        lo=0.0,
        doc="Accounts whose potential is at least this are high-potential.",
    )
    tolerance_min: float = _p(
        0.4,
        unit="share of wallet",
        lo=0.0,
        hi=1.0,
        doc="Lowest dependency tolerance of an account: the largest share of its "
        "wallet it gives one supplier below the strategic stage. Tolerances are "
        "uniform on [min, max].",
        source="assumption; buyers limit single-sourcing (Caniëls, Gelderman & Ulijn "
        "2010: buyers feel dependent even in good relationships)",
    )
    tolerance_max: float = _p(
        0.8,
        unit="share of wallet",
        lo=0.0,
        hi=1.0,
        doc="Highest dependency tolerance of an account.",
    )
    hazard: float = _p(
        0.01,
        unit="probability per quarter",
        lo=0.0,
        hi=1.0,
        doc="Probability per quarter that an account disappears (bankruptcy, merger); "
        "every relationship with it ends.",
        source="assumption (about 4 % a year)",
    )
    # --- service and trust ----------------------------------------------------
    service_scale: float = _p(
        0.05,
        unit="fraction of the effort scale",
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
        doc="How much of the supplier's specific-investment stock keeps serving each "
        "quarter.",
    )
    failure_base: float = _p(
        0.12,
        unit="probability per quarter",
        lo=0.0,
        hi=1.0,
        doc="Service-failure probability at zero quality; p = failure_base * (1 - q).",
    )
    trust_initial: float = _p(
        0.45,
        unit="trust in [0, 1]",
        lo=0.0,
        hi=1.0,
        doc="Mean trust of a new relationship; each starts at a level drawn uniformly "
        "on trust_initial +- trust_initial_spread (initial bias, corrected over time).",
        source="Vanneste, Puranam & Kretschmer (2014): initial trust is a prior that "
        "is corrected as the relationship reveals its value",
    )
    trust_initial_spread: float = _p(
        0.3,
        unit="trust",
        lo=0.0,
        hi=0.5,
        doc="Half-width of the uniform spread of initial trust around trust_initial "
        "(clipped to [0, 1]).",
        source="assumption calibrated so that trust and relationship age correlate "
        "weakly (Vanneste et al. 2014)",
    )
    trust_base: float = _p(
        0.45,
        unit="trust in [0, 1]",
        lo=0.0,
        hi=1.0,
        doc="Trust warranted by a relationship with no KAM service (quality 0); the "
        "warranted level is trust_base + (1 - trust_base) * quality.",
        source="assumption: an arm's-length supplier that delivers is trusted somewhat",
    )
    trust_gain: float = _p(
        0.15,
        unit="fraction per quarter",
        lo=0.0,
        hi=1.0,
        doc="Share of the gap between trust and its warranted level closed in a "
        "quarter without failure: trust += gain * (warranted - trust).",
        source="Slovic (1993) asymmetry: gain several times smaller than loss",
    )
    trust_loss: float = _p(
        0.3,
        unit="fraction of trust",
        lo=0.0,
        hi=1.0,
        doc="Trust lost after a service failure: trust -= loss * trust.",
        source="Slovic (1993): negative events move trust more than positive ones",
    )
    trust_floor: float = _p(
        0.1,
        unit="trust in [0, 1]",
        lo=0.0,
        hi=1.0,
        doc="Dissolution floor: a relationship whose trust falls below it ends at once "
        "(a breach of trust), from any stage.",
        source="McDonald & Woodburn (2007): 'disintegrating' can follow a breach of "
        "trust at any stage; Dwyer, Schurr & Oh (1987)",
    )
    # --- investment and adaptation ---------------------------------------------
    depreciation: float = _p(
        0.08,
        unit="fraction per quarter",
        lo=0.0,
        hi=1.0,
        doc="Depreciation of the supplier's relationship-specific investment stock: "
        "K' = (1 - depreciation) * K + e. K is sunk: written off when the "
        "relationship ends (the supplier's hold-up exposure).",
        source="Williamson; Klein, Crawford & Alchian (1978)",
    )
    adaptation: tuple[float, float, float, float] = _p(
        (0.0, 0.02, 0.04, 0.06),
        unit="effort scale S per quarter per unit trust",
        lo=0.0,
        hi=10.0,
        per_stage=True,
        increasing=True,
        doc="The account's own adaptation to the supplier each quarter (processes, "
        "people, planning built around it): A' = (1 - adaptation_depreciation) * A "
        "+ adaptation[stage] * trust * S (k€). It is the source of the account's "
        "switching cost; none at tactical.",
        source="Burnham, Frels & Mahajan (2003): procedural and relational switching "
        "costs; values are assumptions",
    )
    adaptation_depreciation: float = _p(
        0.05,
        unit="fraction per quarter",
        lo=0.0,
        hi=1.0,
        doc="Depreciation of the account's adaptation stock A.",
    )
    # --- stages ---------------------------------------------------------------
    trust_to_advance: tuple[float, float, float] = _p(
        (0.5, 0.6, 0.7),
        unit="trust",
        lo=0.0,
        hi=1.0,
        per_stage=True,
        increasing=True,
        doc="Trust needed to move up from tactical, cooperative, interdependent.",
    )
    joint_to_advance: tuple[float, float, float] = _p(
        (0.05, 0.3, 0.6),
        unit="multiples of the effort scale S (k€/quarter)",
        lo=0.0,
        per_stage=True,
        increasing=True,
        doc="Joint relationship-specific investment (supplier's stock K plus the "
        "account's adaptation A) needed to move up from tactical, cooperative, "
        "interdependent, relative to the account's effort scale S.",
        source="Ford (1980): commitment and adaptation rise as a relationship develops",
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
    # --- wallet split -------------------------------------------------------------
    stage_attraction: tuple[float, float, float, float] = _p(
        (0.5, 1.5, 4.0, 12.0),
        unit="attraction per unit trust (rest of the market = 1)",
        lo=0.0,
        hi=1e4,
        per_stage=True,
        increasing=True,
        doc="How strongly a relationship in each stage attracts the account's spend: "
        "attraction = stage_attraction[stage] * trust * (1 + service_attraction * "
        "quality); target share = attraction / (1 + sum of attractions).",
        source="multiplicative competitive interaction model of market share (Cooper "
        "& Nakanishi 1988) with unit elasticities; values calibrated (docs/validation.md)",
    )
    service_attraction: float = _p(
        1.0,
        unit="per unit quality",
        lo=0.0,
        hi=100.0,
        doc="Weight of this quarter's service quality in a relationship's attraction.",
    )
    share_cap: tuple[float, float, float, float] = _p(
        (0.3, 0.5, 0.8, 1.0),
        unit="share of wallet",
        lo=0.0,
        hi=1.0,
        per_stage=True,
        increasing=True,
        doc="Largest share of wallet a supplier can hold in each stage (tactical: one "
        "of several suppliers). Below strategic the account's dependency tolerance "
        "caps it further.",
        source="DESIGN §1 stage descriptions; values are assumptions",
    )
    share_initial: float = _p(
        0.08,
        unit="share of wallet",
        lo=0.0,
        hi=1.0,
        doc="Share of wallet of a new tactical relationship.",
    )
    share_adjustment: tuple[float, float, float, float] = _p(
        (0.5, 0.3, 0.2, 0.15),
        unit="fraction per quarter",
        lo=0.0,
        hi=1.0,
        per_stage=True,
        doc="Share of the gap between actual and target share of wallet closed each "
        "quarter, stickier at higher stages: the cost of a higher stage starts at "
        "once, its revenue arrives over several quarters.",
        source="practice texts: cost of the relationship rises before the benefits "
        "show (DESIGN §1); values are assumptions",
    )
    share_floor: float = _p(
        0.02,
        unit="share of wallet",
        lo=0.0,
        hi=1.0,
        doc="Dissolution floor: a relationship whose share of wallet falls below it "
        "has faded out and ends.",
    )
    # --- economics --------------------------------------------------------------
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
    terminal_retention: tuple[float, float, float, float] = _p(
        (0.954, 0.966, 0.976, 0.986),
        unit="probability per quarter",
        lo=0.0,
        hi=0.999,
        per_stage=True,
        doc="Chance per quarter that a relationship in each stage survives after the "
        "horizon, used for its terminal value: TV = sum of max(0, contribution) * "
        "rho / (1 + d - rho), d the quarterly discount rate.",
        source="calibrated: 1 - the exit rate per relationship-quarter of each stage "
        "that the model produces at defaults, pooled over 8 root seeds x 400 "
        "replications (4.56, 3.37, 2.40, 1.39 %; docs/validation.md shows one seed's; "
        "checked by tests/test_validation.py)",
    )
    # --- exit -------------------------------------------------------------------
    offer_probability: float = _p(
        0.04,
        unit="probability per quarter",
        lo=0.0,
        hi=1.0,
        doc="Chance that the rest of the market makes an account an offer for the "
        "business it gives one supplier, per relationship and quarter.",
    )
    offer_discount_max: float = _p(
        0.3,
        unit="fraction of price",
        lo=0.0,
        hi=1.0,
        doc="Largest price advantage an offer gives; offers are uniform on [0, max].",
    )
    switch_horizon: float = _p(
        6.0,
        unit="quarters",
        lo=0.0,
        hi=100.0,
        doc="Quarters of savings an account weighs when judging an offer: "
        "gain = sensitivity * discount * spend_with_supplier * horizon.",
    )
    exit_cost: tuple[float, float, float, float] = _p(
        (0.0, 0.2, 0.5, 1.0),
        unit="quarters of spend with the supplier",
        lo=0.0,
        per_stage=True,
        increasing=True,
        doc="Account's switching cost from the stage's integration (procedural, "
        "relational), on top of its own adaptation A.",
        source="Burnham, Frels & Mahajan (2003): switching costs rise with integration",
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
        doc="A supplier ends a relationship after this many consecutive "
        "loss-making quarters; 0 never drops.",
    )
    # --- renewal ----------------------------------------------------------------
    replacement_delay: int | None = _p(
        2,
        unit="quarters",
        lo=0,
        hi=400,
        integer=True,
        optional=True,
        doc="Quarters after an account disappears before a new one takes its place "
        "(tactical with every supplier), and after a relationship ends before its "
        "supplier courts the account again (win-back, unless a rival holds it as "
        "strategic partner); None never renews (a shrinking portfolio).",
    )
    acquisition_cost: float = _p(
        20.0,
        unit="k€",
        lo=0.0,
        hi=1e7,
        doc="One-off cost to a supplier of starting a new relationship after the "
        "first quarter (a new account or a win-back).",
    )
    # --- observation ------------------------------------------------------------
    potential_bias: float = _p(
        0.4,
        unit="log-units (sd)",
        lo=0.0,
        hi=3.0,
        doc="Persistent misjudgement of potential, drawn when a relationship starts: "
        "the estimate is potential * exp(potential_bias * clarity[stage] * b), b "
        "standard normal, times the transient noise.",
        source="DESIGN §3: a misjudged account stays misjudged until the relationship "
        "deepens (seeds' forecast horizon); value is an assumption",
    )
    potential_noise: float = _p(
        0.05,
        unit="relative sd",
        lo=0.0,
        hi=5.0,
        doc="Transient noise of the potential estimate, redrawn each quarter: "
        "factor max(0, 1 + potential_noise * clarity[stage] * z).",
    )
    focal_potential_bias: float | None = _p(
        None,
        unit="log-units (sd)",
        lo=0.0,
        hi=3.0,
        optional=True,
        doc="The focal supplier's own persistent misjudgement of potential (as "
        "potential_bias); None: the same as the market's. 0 with "
        "focal_potential_noise 0 gives the focal supplier perfect information while "
        "its rivals keep theirs (the value of its own account analysis).",
        source="DESIGN §3b: the focal supplier's judgement set apart from its rivals'",
    )
    focal_potential_noise: float | None = _p(
        None,
        unit="relative sd",
        lo=0.0,
        hi=5.0,
        optional=True,
        doc="The focal supplier's transient noise of the potential estimate (as "
        "potential_noise); None: the same as the market's.",
    )
    trust_bias: float = _p(
        0.1,
        unit="trust sd",
        lo=0.0,
        hi=1.0,
        doc="Persistent misreading of the account's trust, drawn when the relationship "
        "starts (supplier and customer perceive the relationship differently).",
    )
    trust_noise: float = _p(
        0.05,
        unit="trust sd",
        lo=0.0,
        hi=1.0,
        doc="Transient noise of the supplier's reading of trust, redrawn each quarter.",
    )
    willingness_bias: float = _p(
        2.0,
        unit="signal sd",
        lo=0.0,
        hi=10.0,
        doc="Persistent misjudgement of the account's partnership orientation, drawn "
        "when a relationship starts: the supplier's evidence is x = +-1 (willing / "
        "not) + willingness_bias * c * b, c = clarity[stage] / sqrt(1 + years / "
        "willingness_learning_years), and its estimate the posterior probability of "
        "willing given x and the base rate share_willing. 2.0: right about 70 % of "
        "the time in a new tactical relationship; 0: known exactly.",
        source="assumption; willingness is learned as the relationship deepens "
        "(Ford 1980; Millman & Wilson 1995)",
    )
    willingness_learning_years: float = _p(
        2.0,
        unit="years",
        lo=0.01,
        hi=100.0,
        doc="Years of a relationship after which the variance of the misjudgement of "
        "willingness has halved (it falls like 1/(1 + years/this), as the average of "
        "repeated observations does).",
        source="assumption",
    )
    clarity: tuple[float, float, float, float] = _p(
        (1.0, 0.6, 0.35, 0.2),
        unit="fraction of the misjudgement left",
        lo=0.0,
        hi=1.0,
        per_stage=True,
        doc="How much of the misjudgement (bias and noise) remains in each stage: "
        "closer relationships see further (contacts at all levels, shared plans).",
        source="Ford (1980): distance and uncertainty fall as a relationship develops",
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
        doc="Chance per quarter that a supplier suffers a disruption (independently "
        "for each supplier): every relationship of that supplier suffers a service "
        "failure.",
    )
    disruption_dependency: float = _p(
        1.0,
        unit="dimensionless",
        lo=0.0,
        hi=10.0,
        doc="Cost of a disruption to the account per unit of its share of wallet with "
        "the disrupted supplier: cost = dependency * share * demand.",
    )
    wariness_gain: float = _p(
        0.5,
        unit="share of wallet per unit share",
        lo=0.0,
        hi=10.0,
        doc="How much a supplier disruption tightens an account's dependency tolerance "
        "(its wariness), per unit of share it had with the disrupted supplier: "
        "wariness += gain * share. Every supplier's cap is lowered by the wariness, "
        "so the accounts that relied most diversify.",
        source="DESIGN §3 step 8 (customer's over-reliance); value is an assumption",
    )
    wariness_decay: float = _p(
        0.9,
        unit="fraction per quarter",
        lo=0.0,
        hi=1.0,
        doc="Share of an account's wariness that remains after a quarter (0.9: "
        "half-life of about 6.6 quarters).",
    )
    disruption_at: int | None = _p(
        None,
        unit="quarter",
        lo=1,
        hi=10000,
        integer=True,
        optional=True,
        doc="If set, the focal supplier suffers a disruption at this quarter (a stress "
        "test), on top of any random ones.",
    )
    lose_largest_at: int | None = _p(
        None,
        unit="quarter",
        lo=1,
        hi=10000,
        integer=True,
        optional=True,
        doc="If set, the focal supplier's largest relationship (by last quarter's "
        "revenue) ends at this quarter, as if the account switched (a stress test).",
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
        for lo_name, hi_name in (
            ("price_sensitivity_min", "price_sensitivity_max"),
            ("tolerance_min", "tolerance_max"),
        ):
            lo, hi = getattr(self, lo_name), getattr(self, hi_name)
            if hi < lo:
                raise ParameterError(f"'{hi_name}' must be >= '{lo_name}' ({lo}): {hi}")

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


_generated_init = ModelParams.__init__


def _checked_init(self: ModelParams, **kwargs: Any) -> None:
    """Refuse unknown parameter names with the closest valid one, then validate."""
    names = ModelParams.names()
    for key in kwargs:
        if key not in names:
            raise ParameterError(f"unknown parameter '{key}'{suggest(key, names)}")
    _generated_init(self, **kwargs)


ModelParams.__init__ = _checked_init  # type: ignore[method-assign]


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
