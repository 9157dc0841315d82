"""The report section on what better account analysis is worth (kamsim.reports.judgement).

Synthetic runs whose paired differences are known exactly: every replication shares
a random level (common random numbers), so the pairing must cancel it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kamsim.reports.judgement import (
    _herding_text,
    _trap_text,
    _versus_revenue,
    everyone_value,
    is_judgement_study,
    own_value,
)


def _runs() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    level = rng.normal(0.0, 500.0, 200)  # the replication's world, shared by all cells
    rows = []
    for market in (0.4, 0.0):
        for focal in (0.0, 0.4, 0.8):
            for pol, npv in (
                ("greedy_roi", 1000.0 - 500.0 * focal - 100.0 * (market == 0.0)),
                ("revenue_proportional", 900.0 - 50.0 * (market == 0.0)),
            ):
                for r in range(200):
                    rows.append(
                        {"policy": pol, "focal_potential_bias": focal,
                         "potential_bias": market, "replication": r, "seed": 7 + r,
                         "npv_terminal": npv + level[r]}
                    )  # fmt: skip
    return pd.DataFrame(rows)


def test_own_value_is_paired_against_the_markets_level() -> None:
    """Perfect own judgement vs the market's level: +200 k€ for the reader, 0 else."""
    runs = _runs()
    assert is_judgement_study(runs)
    own = own_value(runs, 0.4).set_index(["policy", "focal_potential_bias"])
    assert own.loc[("greedy_roi", 0.0), "diff"] == 200.0
    assert own.loc[("greedy_roi", 0.8), "diff"] == -200.0
    assert own.loc[("revenue_proportional", 0.0), "diff"] == 0.0
    assert (
        own.loc[("greedy_roi", 0.0), "ci_high"] - own.loc[("greedy_roi", 0.0), "ci_low"]
        < 1e-6
    )


def test_everyone_value_and_herding() -> None:
    """Everyone perfect: (0, 0) - (0.4, 0.4); the reader gains less than alone."""
    runs = _runs()
    every = everyone_value(runs, 0.4).set_index("policy")
    assert every.loc["greedy_roi", "diff"] == 100.0  # +200 own, -100 rivals informed
    assert every.loc["revenue_proportional", "diff"] == -50.0
    text = _herding_text(own_value(runs, 0.4), every.reset_index())
    assert "for 1 of 1 (`greedy_roi`)" in text
    assert "cost it up to -50 k€ (`revenue_proportional`)" in text


def test_revenue_trap_says_where_the_warning_holds() -> None:
    """greedy_roi beats revenue at biases 0 (+100) and loses at 0.8 (-300)."""
    runs = _runs()
    text = _trap_text(_versus_revenue(runs, 0.4), [0.0, 0.4, 0.8])
    assert "beaten by `greedy_roi`" in text
    assert "significantly at a focal misjudgement of 0 and loses to it at 0.4, 0.8" in text


def test_not_a_judgement_study_without_the_factor() -> None:
    """The section is only written when the focal judgement varies."""
    runs = _runs()
    assert not is_judgement_study(runs[runs["focal_potential_bias"] == 0.4])
    assert not is_judgement_study(runs.drop(columns="focal_potential_bias"))
