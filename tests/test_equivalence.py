"""The batched engine and the Mesa face give bit-identical results for every policy.

Every built-in policy runs as the focal supplier in markets with 0 and 2 rivals, with
shocks (downturns, random and scripted disruptions), the stress test, drops, no
renewal and a horizon spanning two draw blocks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from kamsim import POLICIES, KAMModel, ModelParams, simulate
from kamsim.engine import run_batch
from kamsim.engine.simulate import replication_seeds, run_mesa_batch
from kamsim.policies import resolve_policy

#: (id, n_accounts, quarters, root seed, replications, rivals, rival policy, overrides)
CONFIGS: list[tuple[str, int, int, int, int, int, Any, dict[str, Any]]] = [
    ("alone", 6, 40, 1, 2, 0, None, {}),
    (
        "shocks",
        10,
        30,
        2,
        2,
        2,
        None,
        {
            "downturn_probability": 0.15,
            "disruption_probability": 0.1,
            "disruption_at": 5,
            "budget": 150.0,
        },
    ),
    (
        "stress-drop",
        8,
        24,
        3,
        2,
        2,
        ["uniform", "greedy_roi"],
        {"lose_largest_at": 6, "drop_after_losses": 2, "hazard": 0.05},
    ),
    ("no-renewal", 5, 20, 4, 2, 1, "quadrant", {"replacement_delay": None, "hazard": 0.08}),
    ("two-blocks", 7, 85, 5, 1, 2, None, {"offer_probability": 0.1}),
    (
        "alone-shocks",
        6,
        30,
        6,
        2,
        0,
        None,
        {"downturn_probability": 0.2, "disruption_probability": 0.1, "disruption_at": 4},
    ),
]

CASES = [
    pytest.param(name, cfg, id=f"{name}-{cfg[0]}") for name in POLICIES for cfg in CONFIGS
]


def _kwargs(policy: str, cfg: tuple[Any, ...]) -> dict[str, Any]:
    _, n, quarters, seed, reps, rivals, rival_policy, overrides = cfg
    return {
        "n_accounts": n,
        "policy": policy,
        "rivals": rivals,
        "rival_policy": rival_policy,
        "replications": reps,
        "quarters": quarters,
        "seed": seed,
        "params": ModelParams(**overrides),
    }


@pytest.mark.parametrize(("policy", "cfg"), CASES)
def test_frames_identical(policy: str, cfg: tuple[Any, ...]) -> None:
    """simulate(engine='batched') and simulate(engine='mesa') give exactly equal frames."""
    kw = _kwargs(policy, cfg)
    a = simulate(engine="batched", **kw)
    b = simulate(engine="mesa", **kw)
    for kind in ("runs", "quarters", "accounts", "suppliers"):
        pd.testing.assert_frame_equal(getattr(a, kind), getattr(b, kind), check_exact=True)
    assert len(a.quarters) == kw["replications"] * kw["quarters"]
    assert len(a.suppliers) == kw["replications"] * (1 + kw["rivals"])


@pytest.mark.parametrize(("policy", "cfg"), CASES)
def test_trajectories_identical(policy: str, cfg: tuple[Any, ...]) -> None:
    """Per-slot trajectories and the state at the horizon agree exactly.

    Stage, trust, shares of every supplier, revenue, profit, investment, cost to
    serve, estimated potential, terminal value and final relationships.
    """
    kw = _kwargs(policy, cfg)
    seeds = replication_seeds(kw["seed"], kw["replications"])
    rivals = [resolve_policy(x) for x in _rival_list(kw)]
    args = {
        "n_accounts": kw["n_accounts"],
        "quarters": kw["quarters"],
        "policy": resolve_policy(policy),
        "params": kw["params"],
        "rival_policies": rivals,
        "keep_trajectories": True,
    }
    batched = run_batch(seeds, **args)
    mesa = run_mesa_batch(seeds, **args)
    assert set(mesa.trajectories) == set(batched.trajectories)
    for key, value in mesa.trajectories.items():
        np.testing.assert_array_equal(batched.trajectories[key], value, err_msg=key)
    np.testing.assert_array_equal(batched.terminal_value, mesa.terminal_value)
    np.testing.assert_array_equal(batched.final_stages, mesa.final_stages)
    for key, value in mesa.final.items():
        np.testing.assert_array_equal(batched.final[key], value, err_msg=key)


def _rival_list(kw: dict[str, Any]) -> list[Any]:
    spec = kw["rival_policy"] or "stage_gated"
    return list(spec) if isinstance(spec, list) else [spec] * kw["rivals"]


def test_configs_exercise_the_mechanisms() -> None:
    """The configurations above really move stages, end relationships and hit shocks."""
    res = [simulate(**_kwargs("stage_gated", cfg)) for cfg in CONFIGS]
    q = pd.concat([r.quarters for r in res])
    runs = pd.concat([r.runs for r in res])
    assert q["n_cooperative"].max() > 0 and q["n_interdependent"].max() > 0
    assert q["downturn"].max() == 1.0 and q["disruption"].any()
    assert runs["exits_switched"].sum() > 0 and runs["exits_vanished"].sum() > 0
    assert res[2].runs["exits_dropped"].sum() > 0
    assert (res[3].quarters["new_accounts"] == 0).all()
    assert res[1].suppliers["supplier"].nunique() == 3
    # different seeds give different worlds: the equality tests are not vacuous
    other = simulate(n_accounts=6, rivals=0, replications=2, quarters=40, seed=99)
    assert not np.array_equal(res[0].runs["npv"], other.runs["npv"])


def test_datacollector_trajectory_matches_engine() -> None:
    """The DataCollector's per-account rows reproduce the engine's focal trajectories."""
    p = ModelParams(disruption_probability=0.05)
    seed = replication_seeds(11, 1)
    out = run_batch(
        seed,
        n_accounts=8,
        quarters=30,
        policy=resolve_policy("stage_gated"),
        params=p,
        rival_policies=[resolve_policy("uniform")] * 2,
        keep_trajectories=True,
    )
    model = KAMModel(
        n_accounts=8, policy="stage_gated", rival_policy="uniform", params=p, rng=seed[0]
    )
    for _ in range(30):
        model.step()
    for key, value in model.slot_trajectory().items():
        np.testing.assert_array_equal(out.trajectories[key][0], value, err_msg=key)


@pytest.mark.parametrize("cfg", [c for c in CONFIGS if c[0] in ("shocks", "stress-drop")])
@pytest.mark.parametrize("engine", ["batched", "mesa"])
def test_without_accounts_the_other_frames_are_unchanged(
    cfg: tuple[Any, ...], engine: str
) -> None:
    """keep_accounts=False skips the focal ledger and changes no other number.

    The reach times (runs frame) come from the same pass as the ledger, so they are
    compared too; the stress test and drops close ledger entries in these markets.
    """
    kw = _kwargs("stage_gated", cfg)
    full = simulate(engine=engine, **kw)
    lean = simulate(engine=engine, keep_accounts=False, **kw)
    assert len(full.accounts) > 0 and len(lean.accounts) == 0
    for kind in ("runs", "quarters", "suppliers"):
        pd.testing.assert_frame_equal(
            getattr(lean, kind), getattr(full, kind), check_exact=True
        )
