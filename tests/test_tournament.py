"""Policy tournaments: matchups, standings and the heatmap (kamsim.analysis.tournament)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from kamsim import Results, simulate
from kamsim.analysis import tournament


def _suppliers() -> pd.DataFrame:
    """Two cells (a vs b, b vs a), two replications, two suppliers each."""
    rows = []
    for cell, (pol, opp) in enumerate((("a", "b"), ("b", "a"))):
        for rep in (0, 1):
            for sup, (name, npv) in enumerate(((pol, 10.0 + rep), (opp, 5.0 + 10 * rep))):
                rows.append(
                    {
                        "cell": cell,
                        "replication": rep,
                        "policy": pol,
                        "supplier": sup,
                        "supplier_policy": name,
                        "npv_terminal": npv if cell == 0 else npv + 1.0,
                        "mean_market_share": 0.1 * (sup + 1),
                    }
                )
    return pd.DataFrame(rows)


def test_matchups_compute_means_and_win_rates() -> None:
    """Each (policy, opponent) row averages the focal supplier and counts its wins."""
    t = tournament.matchups(_suppliers()).set_index(["policy", "opponent"])
    ab = t.loc[("a", "b")]
    assert ab["npv_terminal"] == pytest.approx(10.5)
    assert ab["opponent_npv_terminal"] == pytest.approx(10.0)
    assert ab["win_rate"] == pytest.approx(0.5)  # 10 > 5, 11 < 15
    assert ab["market_share"] == pytest.approx(0.1)
    assert ab["n"] == 2


def test_standings_rank_best_first() -> None:
    """Standings average over opponents and put the best policy first."""
    s = tournament.standings(tournament.matchups(_suppliers()))
    assert s["policy"].tolist() == ["b", "a"]
    assert s["npv_terminal"].is_monotonic_decreasing


def test_plot_shows_every_cell() -> None:
    """The heatmap has one annotated cell per matchup and names both axes."""
    ax = tournament.plot_matchups(tournament.matchups(_suppliers()), "npv_terminal")
    assert len(ax.texts) == 2  # a-b and b-a; a-a and b-b were not played
    assert "opponent" in ax.get_xlabel() and "focal" in ax.get_ylabel()


def test_real_tournament_none_loses_to_uniform() -> None:
    """On common random numbers a supplier that never invests loses to one that does."""
    parts = [
        simulate(
            n_accounts=10,
            policy=p,
            rivals=1,
            rival_policy=o,
            replications=40,
            quarters=20,
            seed=5,
            factors={"cell": i},
        )
        for i, (p, o) in enumerate(
            [
                ("none", "none"),
                ("none", "uniform"),
                ("uniform", "none"),
                ("uniform", "uniform"),
            ]
        )
    ]
    res = Results.concat(parts)
    assert tournament.is_tournament(res)
    t = tournament.matchups(res.suppliers).set_index(["policy", "opponent"])
    assert t.loc[("uniform", "none"), "win_rate"] > 0.9
    assert t.loc[("none", "uniform"), "win_rate"] < 0.1
    # the same seeds: the none-vs-none cell is symmetric up to the seat
    nn = res.suppliers[res.suppliers["cell"] == 0]
    assert np.isfinite(nn["npv_terminal"]).all()
