"""The stylized facts of model 3 (facts 14-17).

Accounts that grow towards their potential, judgement that pays, partners that can be
recognised.

Each function computes a fact's figure from simulations of the default market (20
accounts, two ``stage_gated`` rivals, 40 quarters, root seed 2026) and is registered
in :data:`kamsim.validation.facts.FACTS` (facts 14-17).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
from scipy import stats

from kamsim.engine.batch import BatchOutput, run_batch
from kamsim.engine.simulate import replication_seeds
from kamsim.model.params import ModelParams
from kamsim.policies.registry import POLICIES, estimates_read, resolve_policy
from kamsim.reports.formatting import fmt_pct
from kamsim.validation.checks import DEFAULT_SEED as SEED
from kamsim.validation.checks import Fact, Figure, Simulator, paired

__all__ = [
    "ACCOUNT_FACTS",
    "POTENTIAL_LED",
    "VOI_BIASES",
    "VOI_POLICIES",
    "growth_figures",
    "judgement_value",
    "plot_voi",
    "readers_of_potential",
    "value_of_information",
    "voi_markdown",
    "willingness_accuracy",
]

#: The built-in policies led by potential: how much each account gets is proportional
#: to its estimated potential or to a value computed from it (``stage_gated`` and
#: ``quadrant`` gate by the estimated class).
POTENTIAL_LED = ("potential_weighted", "greedy_roi")
#: Replications of the value-of-judgement comparison (paired; its effects are small).
JUDGEMENT_REPLICATIONS = 1000
#: The potential-led policies of the value-of-information curve (the first is the
#: fact's; greedy_roi values an account by its estimated potential and stage).
VOI_POLICIES = ("greedy_roi", "potential_weighted")
#: The focal supplier's misjudgement of potential along the value-of-information curve.
VOI_BIASES = (0.0, 0.2, 0.4, 0.6, 0.8)
#: A revenue-led policy for the curve (reads no estimate).
REVENUE_LED = "revenue_proportional"
#: Perfect information about potential (no misjudgement, no noise).
PERFECT = {"potential_bias": 0.0, "potential_noise": 0.0}
FOCAL_PERFECT = {"focal_potential_bias": 0.0, "focal_potential_noise": 0.0}


@cache
def account_paths(seed: int = SEED, reps: int = 200) -> BatchOutput:
    """Trajectories of the default market (stage_gated focal), 200 x 20 accounts."""
    rival = resolve_policy("stage_gated")
    return run_batch(
        replication_seeds(seed, reps),
        n_accounts=20,
        quarters=40,
        policy=resolve_policy("stage_gated"),
        params=ModelParams(),
        rival_policies=[rival, rival],
        keep_trajectories=True,
    )


def _windows(wallet: np.ndarray, length: int, step: int) -> list[tuple[int, np.ndarray]]:
    """(t, mask of slots whose account is present from t to t + length)."""
    big_t = wallet.shape[1]
    out = []
    for t in range(0, big_t - length, step):
        out.append((t, np.all(wallet[:, t : t + length + 1] > 0, axis=1)))
    return out


def growth_figures(out: BatchOutput) -> dict[str, float]:
    """Wallets and potentials across accounts of the simulated market.

    ``corr_max``: the largest corr(log W, log P) across present accounts at quarters
    1, 20 and 40; ``growth_sd``, ``growth_kurtosis``: sd and excess kurtosis of annual
    log growth ln(W_{t+4} / W_t) (windows in which the same account holds the slot);
    ``sd_small``, ``sd_large``: its sd in the smallest and largest third of wallets;
    ``gap_closed``: slope of ln(W_{t+12} / W_t) on ln(P_t / W_t) (the share of the
    gap to potential the wallet closes in three years, drift included);
    ``rising_stars``: share of accounts present all ten years that start in the
    bottom half of wallets and end in the top quarter; ``declining``: top quarter to
    bottom half; ``sd_log_wallet``: sd of log wallets at quarter 40.
    """
    wallet = out.trajectories["wallet"]
    pot = out.trajectories["potential"]
    corr = []
    for t in (0, 19, 39):
        w, p = wallet[:, t].ravel(), pot[:, t].ravel()
        ok = w > 0
        corr.append(float(np.corrcoef(np.log(w[ok]), np.log(p[ok]))[0, 1]))
    growth, size = [], []
    for t, ok in _windows(wallet, 4, 4):
        growth.append(np.log(wallet[:, t + 4][ok] / wallet[:, t][ok]))
        size.append(wallet[:, t][ok])
    g, s = np.concatenate(growth), np.concatenate(size)
    lo, hi = np.quantile(s, [1 / 3, 2 / 3])
    x, y = [], []
    for t, ok in _windows(wallet, 12, 4):
        x.append(np.log(pot[:, t][ok] / wallet[:, t][ok]))
        y.append(np.log(wallet[:, t + 12][ok] / wallet[:, t][ok]))
    slope = stats.linregress(np.concatenate(x), np.concatenate(y)).slope
    whole = np.all(wallet > 0, axis=1)
    w0, w1 = wallet[:, 0][whole], wallet[:, -1][whole]
    last = wallet[:, -1][wallet[:, -1] > 0]
    return {
        "corr_start": corr[0],
        "corr_max": max(corr),
        "growth_sd": float(g.std()),
        "growth_kurtosis": float(stats.kurtosis(g)),
        "sd_small": float(g[s < lo].std()),
        "sd_large": float(g[s >= hi].std()),
        "gap_closed": float(slope),
        "rising_stars": float(
            np.mean((w0 < np.median(w0)) & (w1 >= np.quantile(w1, 0.75)))
        ),
        "declining": float(np.mean((w0 >= np.quantile(w0, 0.75)) & (w1 < np.median(w1)))),
        "sd_log_wallet": float(np.log(last).std()),
    }


def readers_of_potential() -> list[str]:
    """The built-in policies that read the estimate of potential."""
    return [name for name, f in POLICIES.items() if estimates_read(f)[0]]


@cache
def _judgement_simulator(seed: int, quarters: int, replications: int) -> Simulator:
    return Simulator(
        replications=max(replications, JUDGEMENT_REPLICATIONS), seed=seed, quarters=quarters
    )


def judgement_value(sim: Simulator) -> Figure:
    """Paired value of perfect information about potential, per policy that reads it.

    For each built-in policy that reads potential: the paired mean change of the focal
    supplier's NPV with terminal value (k€) when *it* knows potential exactly
    (``focal_potential_bias = focal_potential_noise = 0``, rivals unchanged), keys
    ``own_<policy>`` and ``own_se_<policy>``, and when *every* supplier does
    (``potential_bias = potential_noise = 0``), ``all_<policy>``, ``all_se_<policy>``.
    """
    sim = _judgement_simulator(sim.seed, sim.quarters, sim.replications)
    out: dict[str, float] = {}
    for name in readers_of_potential():
        base = sim.run(20, name).runs["npv_terminal"]
        own = sim.run(20, name, **FOCAL_PERFECT).runs["npv_terminal"]
        every = sim.run(20, name, **PERFECT).runs["npv_terminal"]
        out[f"own_{name}"], out[f"own_se_{name}"] = paired(base, own)
        out[f"all_{name}"], out[f"all_se_{name}"] = paired(base, every)
    return out


def value_of_information(sim: Simulator) -> Figure:
    """Mean NPV with terminal value (k€) along the focal supplier's misjudgement.

    For the potential-led focal policies of :data:`VOI_POLICIES` and the revenue-led
    ``revenue_proportional``, at ``focal_potential_bias`` in :data:`VOI_BIASES`
    (noise at its default; rivals unchanged): ``<policy>_<bias>``, and the paired
    difference potential-led minus revenue-led, ``diff_<policy>_<bias>``, with its
    standard error ``se_<policy>_<bias>``.
    """
    out: dict[str, float] = {}
    for b in VOI_BIASES:
        rev = sim.run(20, REVENUE_LED, focal_potential_bias=b).runs["npv_terminal"]
        out[f"{REVENUE_LED}_{b}"] = float(rev.mean())
        for name in VOI_POLICIES:
            led = sim.run(20, name, focal_potential_bias=b).runs["npv_terminal"]
            out[f"{name}_{b}"] = float(led.mean())
            out[f"diff_{name}_{b}"], out[f"se_{name}_{b}"] = paired(rev, led)
    return out


def willingness_accuracy(out: BatchOutput) -> Figure:
    """How often the focal estimate of willingness is right, by stage.

    Over focal relationship-quarters: right when ``(estimate >= 0.5) == willing``;
    ``tactical``, ``cooperative``, ``top`` (interdependent and strategic), and at
    tactical in the run's first year (``tactical_first_year``, mostly young
    relationships) and its last five years (``tactical_late``, many old ones).
    """
    est = out.trajectories["estimated_willingness"]
    willing = out.trajectories["willing"] > 0.5
    stage = out.trajectories["stage"]
    right = (est >= 0.5) == willing
    res = {}
    for name, mask in (
        ("tactical", stage == 1),
        ("cooperative", stage == 2),
        ("top", stage >= 3),
    ):
        res[name] = float(right[mask].mean())
        res[f"n_{name}"] = float(mask.sum())
    tactical = stage == 1
    res["tactical_first_year"] = float(right[:, :4][tactical[:, :4]].mean())
    res["tactical_late"] = float(right[:, 20:][tactical[:, 20:]].mean())
    return res


# --- the facts -------------------------------------------------------------------------


def _k(x: float) -> str:
    return f"{x:+,.0f} k€".replace(",", " ")


def _growth(sim: Simulator) -> Figure:
    return growth_figures(account_paths(sim.seed))


def _partners(sim: Simulator) -> Figure:
    return willingness_accuracy(account_paths(sim.seed))


def _judgement_holds(f: Figure) -> bool:
    never_hurts = all(f[f"own_{p}"] > -2 * f[f"own_se_{p}"] for p in readers_of_potential())
    pays = all(f[f"own_{p}"] > 2 * f[f"own_se_{p}"] for p in POTENTIAL_LED)
    return never_hurts and pays


def _judgement_show(f: Figure) -> str:
    return "; ".join(
        f"{p} {_k(f[f'own_{p}'])} (SE {f[f'own_se_{p}']:.0f}), everyone's "
        f"{_k(f[f'all_{p}'])} (SE {f[f'all_se_{p}']:.0f})"
        for p in readers_of_potential()
    )


def _voi_holds(f: Figure) -> bool:
    led = VOI_POLICIES[0]
    first, last = VOI_BIASES[0], VOI_BIASES[-1]
    return (
        f[f"diff_{led}_{first}"] > 2 * f[f"se_{led}_{first}"]
        and f[f"{led}_{first}"] > f[f"{led}_{last}"]
    )


def _voi_show(f: Figure) -> str:
    led = VOI_POLICIES[0]
    return (
        ", ".join(
            f"bias {b}: {_k(f[f'diff_{led}_{b}'])} (SE {f[f'se_{led}_{b}']:.0f})"
            for b in VOI_BIASES
        )
        + f" ({led} minus {REVENUE_LED})"
    )


ACCOUNT_FACTS: tuple[Fact, ...] = (
    Fact(
        id="14",
        name="potential_not_wallet",
        fact="An account's potential is not today's wallet: wallets grow heterogeneously "
        "and persistently, with fat-tailed growth whose spread falls with size, and "
        "move towards their potential",
        source="Stanley et al. (1996); Bottazzi & Secchi (2006); issue 'Model 3' (D9)",
        target="corr(log W, log P) < 0.85 at quarters 1, 20 and 40; annual log growth "
        "sd in [0.15, 0.5] with excess kurtosis > 0, larger for the smallest third of "
        "wallets than the largest; the wallet closes > 30 % of its gap to potential in "
        "three years",
        tolerance="range",
        compute=_growth,
        holds=lambda f: (
            f["corr_max"] < 0.85
            and 0.15 <= f["growth_sd"] <= 0.5
            and f["growth_kurtosis"] > 0
            and f["sd_small"] > f["sd_large"]
            and f["gap_closed"] > 0.3
        ),
        show=lambda f: (
            f"corr {f['corr_start']:.2f} at the start, at most {f['corr_max']:.2f}; "
            f"growth sd {f['growth_sd']:.2f}, excess kurtosis "
            f"{f['growth_kurtosis']:.1f}; sd {f['sd_small']:.2f} small vs "
            f"{f['sd_large']:.2f} large; {fmt_pct(f['gap_closed'])} of the gap closed "
            f"in 3 years; {fmt_pct(f['rising_stars'])} rising stars, "
            f"{fmt_pct(f['declining'])} declining giants in 10 years"
        ),
        explanation="Calibrated: growth_speed and growth_regime_years were chosen by "
        "measuring this figure (the correlation is lower the faster wallets move and "
        "the more often plans change); the spread of potentials is derived so that "
        "the sd of log wallets stays at wallet_sigma (measured "
        "sd_log_wallet). The fat tails and the size effect are built in (Laplace "
        "shocks, f(W)); how they show in annual growth across a market is measured.",
    ),
    Fact(
        id="15",
        name="judgement_pays",
        fact="Better account analysis pays: the focal supplier's own perfect information "
        "about potential never lowers the NPV of a policy that reads it, and raises it "
        "for the potential-led policies; when every supplier knows more, they court "
        "the same accounts (herding)",
        source="issue 'Model 3' (D10); McDonald & Woodburn (2007) on account analysis",
        target="paired change of NPV with terminal value, focal_potential_bias = "
        "focal_potential_noise = 0 vs default: > -2 SE for every built-in policy that "
        "reads potential, > 2 SE for the potential-led potential_weighted and "
        "greedy_roi; the same change for every supplier is reported beside it",
        tolerance="2 standard errors (paired, 1 000 replications)",
        compute=judgement_value,
        holds=_judgement_holds,
        show=_judgement_show,
        explanation="The rivals' judgement is unchanged, so the focal supplier's "
        "better estimates move its budget to the accounts that will grow. quadrant "
        "reads potential only through the high class and a square root, and gains "
        "least. When every supplier knows potential exactly, the stage_gated rivals "
        "court the same accounts and the gain shrinks, or turns into a loss (the "
        "'everyone's' figures: herding).",
    ),
    Fact(
        id="16",
        name="value_of_information",
        fact="Judging accounts by current revenue misses the accounts with potential — "
        "when the supplier's judgement of potential is good enough",
        source="McDonald & Woodburn (2007); Ryals (2008) on account attractiveness",
        target="potential-led greedy_roi beats revenue-led revenue_proportional by > 2 "
        "SE at focal_potential_bias 0, and its NPV falls as the bias grows to 0.8",
        tolerance="2 standard errors (paired)",
        compute=value_of_information,
        holds=_voi_holds,
        show=_voi_show,
        explanation="Where the warning holds and where it does not is on "
        "docs/validation.md's value-of-information curve: revenue_proportional reads "
        "no estimate, so its NPV is flat; potential_weighted, which ignores the "
        "stage, does not beat it at any quality of judgement.",
    ),
    Fact(
        id="17",
        name="learning_partners",
        fact="A supplier learns whether an account wants partnership as the "
        "relationship deepens",
        source="Ford (1980); Millman & Wilson (1995); issue 'Model 3' (D12)",
        target="the focal estimate of willingness is right (estimate >= 0.5 matches "
        "the truth) more often at interdependent and strategic than at tactical, and "
        "more often at tactical late in the run than in its first year",
        tolerance="strict order",
        compute=_partners,
        holds=lambda f: (
            f["top"] > f["tactical"] and f["tactical_late"] > f["tactical_first_year"]
        ),
        show=lambda f: (
            f"right {fmt_pct(f['tactical'])} at tactical, "
            f"{fmt_pct(f['cooperative'])} cooperative, {fmt_pct(f['top'])} at the top; "
            f"tactical {fmt_pct(f['tactical_first_year'])} in year 1, "
            f"{fmt_pct(f['tactical_late'])} in years 6-10"
        ),
        by_construction=True,
        explanation="Largely by construction: the misjudgement shrinks with the "
        "stage's clarity and the relationship's years. Not by construction: who is "
        "at each stage (only willing accounts pass tactical; unwilling ones stay and "
        "grow old there).",
    ),
)


# --- the value-of-information section of docs/validation.md ------------------------------


def _ci_text(diff: float, se: float) -> str:
    return f"{_k(diff)} ({_k(diff - 1.96 * se)} to {_k(diff + 1.96 * se)})"


def voi_markdown(voi: Figure, value: Figure) -> str:
    """The judgement section of docs/validation.md from facts 16 (``voi``) and 15.

    A sentence on where the revenue trap warning holds (computed), the curve as a
    table, and the value of perfect information for the focal supplier alone and for
    every supplier (herding).
    """
    led = VOI_POLICIES[0]
    wins = [b for b in VOI_BIASES if voi[f"diff_{led}_{b}"] > 1.96 * voi[f"se_{led}_{b}"]]
    loses = [b for b in VOI_BIASES if voi[f"diff_{led}_{b}"] < -1.96 * voi[f"se_{led}_{b}"]]
    default = ModelParams().potential_bias
    holds = (
        f"`{led}` beats `{REVENUE_LED}` significantly (95 %) at a focal misjudgement of "
        f"{', '.join(str(b) for b in wins) or 'no level'}"
    )
    fails = f" and loses to it at {', '.join(str(b) for b in loses)}" if loses else ""
    head = (
        f"**Where the revenue-trap warning holds.** {holds}{fails} (the market's "
        f"default is {default}). `potential_weighted`, which ignores the stage, "
        + (
            "beats it nowhere."
            if all(voi[f"diff_potential_weighted_{b}"] <= 0 for b in VOI_BIASES)
            else "beats it at some levels."
        )
    )
    rows = [
        "| focal_potential_bias | "
        + " | ".join(f"`{p}`" for p in (*VOI_POLICIES, REVENUE_LED))
        + f" | `{led}` − `{REVENUE_LED}` (95 % CI) |",
        "|---|" + "---|" * (len(VOI_POLICIES) + 2),
    ]
    for b in VOI_BIASES:
        means = " | ".join(
            f"{voi[f'{p}_{b}']:,.0f}".replace(",", " ")
            for p in (*VOI_POLICIES, REVENUE_LED)
        )
        diff = _ci_text(voi[f"diff_{led}_{b}"], voi[f"se_{led}_{b}"])
        rows.append(f"| {b} | {means} | {diff} |")
    own = [
        "| focal policy | our own perfect information (95 % CI) | everyone's (95 % CI) |",
        "|---|---|---|",
    ]
    for p in readers_of_potential():
        own.append(
            f"| `{p}` | {_ci_text(value[f'own_{p}'], value[f'own_se_{p}'])} | "
            f"{_ci_text(value[f'all_{p}'], value[f'all_se_{p}'])} |"
        )
    return "\n".join(
        [
            head,
            "",
            "Mean NPV with terminal value (k€) of the focal supplier by its own "
            "misjudgement of potential, rivals unchanged (fact 16; 400 replications):",
            "",
            *rows,
            "",
            "![The value-of-information curve](img/value_of_information.png)",
            "",
            "**Herding.** The value of perfect information about potential, paired, "
            "for the focal supplier alone and when every supplier has it (fact 15; "
            f"{JUDGEMENT_REPLICATIONS} replications):",
            "",
            *own,
        ]
    )


def plot_voi(voi: Figure, path: Any) -> None:
    """The value-of-information curve as a PNG: NPV by bias, and the paired gap."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    x = np.array(VOI_BIASES)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    for p in (*VOI_POLICIES, REVENUE_LED):
        left.plot(x, [voi[f"{p}_{b}"] for b in VOI_BIASES], marker="o", label=p)
    left.set_xlabel("focal supplier's misjudgement of potential (focal_potential_bias)")
    left.set_ylabel("mean NPV with terminal value (k€)")
    left.legend(title="focal policy", fontsize="small")
    led = VOI_POLICIES[0]
    diff = np.array([voi[f"diff_{led}_{b}"] for b in VOI_BIASES])
    se = np.array([voi[f"se_{led}_{b}"] for b in VOI_BIASES])
    right.errorbar(x, diff, yerr=1.96 * se, marker="o", capsize=3)
    right.axhline(0.0, color="grey", lw=0.8)
    right.set_xlabel("focal supplier's misjudgement of potential (focal_potential_bias)")
    right.set_ylabel(f"{led} − {REVENUE_LED} (k€, 95 % CI)")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.savefig(path, dpi=110)
    plt.close(fig)
