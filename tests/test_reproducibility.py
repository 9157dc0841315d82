"""Reproducibility: same seed, same results; different seeds, different results."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import mesa
import numpy as np
import pandas as pd
import pytest

from kamsim import KAMModel, ModelParams, simulate
from kamsim.engine.simulate import replication_seeds
from kamsim.model.environment import draw_accounts
from kamsim.model.records import QUARTER_COLUMNS

P = ModelParams(hazard=0.03, offer_probability=0.1, disruption_probability=0.05)


def _frames(seed: object, quarters: int = 20) -> tuple[pd.DataFrame, pd.DataFrame]:
    m = KAMModel(n_accounts=8, policy="uniform", params=P, rng=seed)
    for _ in range(quarters):
        m.step()
    dc = m.datacollector
    return dc.get_model_vars_dataframe(), dc.get_agent_vars_dataframe()


def test_same_rng_same_frames() -> None:
    """The same rng gives identical model and agent DataCollector frames."""
    m1, a1 = _frames(42)
    m2, a2 = _frames(42)
    pd.testing.assert_frame_equal(m1, m2, check_exact=True)
    pd.testing.assert_frame_equal(a1, a2, check_exact=True)


def test_same_generator_state_same_frames() -> None:
    """Two generators in the same state give identical frames.

    (Mesa draws one integer from a Generator passed as ``rng`` to seed its stdlib
    ``random``, so ``rng=default_rng(7)`` and ``rng=7`` are different worlds; the
    batched engine and ``simulate`` always pass integer seeds.)
    """
    m1, a1 = _frames(np.random.default_rng(7))
    m2, a2 = _frames(np.random.default_rng(7))
    pd.testing.assert_frame_equal(m1, m2, check_exact=True)
    pd.testing.assert_frame_equal(a1, a2, check_exact=True)


def test_different_rng_different_frames() -> None:
    """Different seeds give different trajectories (model and agent frames)."""
    m1, a1 = _frames(1)
    m2, a2 = _frames(2)
    assert not m1["revenue"].equals(m2["revenue"])
    assert not a1["trust"].reset_index(drop=True).equals(a2["trust"].reset_index(drop=True))


def test_seed_zero_is_a_seed() -> None:
    """rng=0 is a fixed seed (not 'no seed'): two runs with it agree."""
    m1, _ = _frames(0, quarters=5)
    m2, _ = _frames(0, quarters=5)
    pd.testing.assert_frame_equal(m1, m2, check_exact=True)


def test_environment_independent_of_policy() -> None:
    """Accounts and later variates do not depend on the focal or rivals' policies."""
    a = KAMModel(n_accounts=6, policy="none", rng=3)
    b = KAMModel(n_accounts=6, policy="uniform", rival_policy="greedy_roi", rng=3)
    assert [x.wallet for x in a.accounts] == [x.wallet for x in b.accounts]
    acc = draw_accounts(np.random.default_rng(3), 6, ModelParams())
    assert [x.wallet for x in a.accounts] == acc.wallet.tolist()
    for _ in range(45):
        a.step()
        b.step()
    assert a.key == b.key  # every later variate is a function of the key
    assert len(a._blocks) == len(b._blocks) == 2
    for blk_a, blk_b in zip(a._blocks, b._blocks, strict=True):
        np.testing.assert_array_equal(blk_a.downturn, blk_b.downturn)
        np.testing.assert_array_equal(blk_a.disruption, blk_b.disruption)
    # the same accounts in the same slots, with the same wallets, 45 quarters on
    assert [(x.slot, x.wallet, x.potential) for x in a.accounts] == [
        (x.slot, x.wallet, x.potential) for x in b.accounts
    ]


def test_mesa_batch_run() -> None:
    """Mesa's batch_run returns rows for every run with the model reporters.

    They are the last quarter's and equal a direct run with the same rng.
    """
    rows = mesa.batch_run(
        KAMModel,
        parameters={"n_accounts": [5, 10], "policy": "uniform"},
        rng=[1, 2],
        max_steps=40,
        number_processes=1,
        display_progress=False,
    )
    df = pd.DataFrame(rows)
    assert set(QUARTER_COLUMNS) <= set(df.columns)
    runs = df.groupby("RunId").agg(
        n_accounts=("n_accounts", "first"),
        rng=("rng", "first"),
        step=("Step", "max"),
        rows=("Step", "size"),
    )
    assert len(runs) == 4
    assert set(zip(runs["n_accounts"], runs["rng"], strict=True)) == {
        (5, 1), (5, 2), (10, 1), (10, 2),
    }  # fmt: skip
    assert (runs["step"] == 40).all()
    # one row per live account (agent reporters) at the last quarter
    # the same rng in batch_run reproduces a direct run
    direct = KAMModel(n_accounts=5, policy="uniform", rng=1)
    for _ in range(40):
        direct.step()
    # one row per account present and per supplier at the last quarter
    rows = runs.loc[(runs["n_accounts"] == 5) & (runs["rng"] == 1), "rows"].item()
    assert rows == len(direct.accounts) + len(direct.suppliers)
    sel = df[(df["n_accounts"] == 5) & (df["rng"] == 1)]
    for col in QUARTER_COLUMNS:
        assert (sel[col] == direct.record[col]).all() or (
            sel[col].isna().all() and np.isnan(direct.record[col])
        )


def test_replication_seeds_prefix_stable() -> None:
    """Replication seeds do not depend on how many replications are run."""
    long = replication_seeds(5, 10)
    assert replication_seeds(5, 4) == long[:4]
    assert replication_seeds(5, 3, start=4) == long[4:7]
    assert len(set(long)) == 10
    assert replication_seeds(6, 4) != long[:4]
    assert all(0 <= s < 2**63 for s in long)


def test_simulate_prefix_stable() -> None:
    """The first replications of a longer run equal a shorter run."""
    a = simulate(n_accounts=6, replications=3, quarters=12, seed=9, params=P)
    b = simulate(n_accounts=6, replications=5, quarters=12, seed=9, params=P)
    pd.testing.assert_frame_equal(
        a.runs.reset_index(drop=True),
        b.runs.iloc[:3].reset_index(drop=True),
        check_exact=True,
    )


@pytest.mark.parametrize("keep_accounts", [True, False])
def test_chunks_build_the_frames_of_their_concatenation(
    keep_accounts: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks join their columns into frames built once, as their frames' concatenation.

    The same values, dtypes, column order and index as concatenating every chunk's
    own frames (:func:`kamsim.engine.results.to_frames`, ``Results.concat``).
    """
    import kamsim.engine.simulate as simulation
    from kamsim.engine import run_batch
    from kamsim.engine.results import Results, to_frames
    from kamsim.policies import resolve_policy

    monkeypatch.setattr(simulation, "CHUNK", 4)
    factors = {"label": "a", "weight": 2.5, "pair": (1, 2)}
    res = simulate(
        n_accounts=6, replications=10, quarters=8, seed=4, params=P,
        keep_accounts=keep_accounts, factors=factors,
    )  # fmt: skip
    seeds = replication_seeds(4, 10)
    cols = {"n_accounts": 6, "policy": "uniform", "rivals": 2}
    cols |= {"rival_policy": "stage_gated", **factors}
    rivals = [resolve_policy("stage_gated")] * 2
    parts = []
    for lo in range(0, 10, 4):
        chunk = seeds[lo : lo + 4]
        out = run_batch(
            chunk, n_accounts=6, quarters=8, policy=resolve_policy("uniform"), params=P,
            rival_policies=rivals, keep_accounts=keep_accounts,
        )  # fmt: skip
        frames = to_frames(
            out, seeds=chunk, replications=range(lo, lo + len(chunk)), factors=cols,
            params=P, supplier_policies=["uniform", "stage_gated", "stage_gated"],
            keep_accounts=keep_accounts,
        )  # fmt: skip
        parts.append(Results(**frames))
    expected = Results.concat(parts)
    for name in ("runs", "quarters", "accounts", "suppliers"):
        pd.testing.assert_frame_equal(
            getattr(res, name), getattr(expected, name), check_exact=True
        )
    assert len(res.accounts) > 0 if keep_accounts else res.accounts.empty
    for frame in (res.runs, res.quarters, res.suppliers):  # the factors come first
        assert list(frame.columns[: 2 + len(cols)]) == ["replication", "seed", *cols]
        assert frame["pair"].map(type).eq(tuple).all()


def _digest(res: object) -> str:
    h = hashlib.sha256()
    for name in ("runs", "quarters", "accounts", "suppliers"):
        df = getattr(res, name)
        h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
        h.update(",".join(map(str, df.columns)).encode())
    return h.hexdigest()


_CHILD = """
import hashlib, pandas as pd
from kamsim import ModelParams, simulate
res = simulate(n_accounts=6, policy="uniform", replications=4, quarters=15, seed=21,
               params=ModelParams(hazard=0.03, offer_probability=0.1,
                                  disruption_probability=0.05))
h = hashlib.sha256()
for name in ("runs", "quarters", "accounts", "suppliers"):
    df = getattr(res, name)
    h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    h.update(",".join(map(str, df.columns)).encode())
print(h.hexdigest())
"""


@pytest.mark.parametrize("engine", ["batched", "mesa"])
def test_same_results_in_another_process(engine: str) -> None:
    """A fresh Python process computes bit-identical frames.

    No hidden global state, no dependence on hash seeds; the child uses the batched
    engine.
    """
    res = simulate(
        n_accounts=6, policy="uniform", replications=4, quarters=15, seed=21, params=P,
        engine=engine,
    )  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", _CHILD],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={"PYTHONHASHSEED": "123", "PATH": ""},
    )
    assert out.stdout.strip() == _digest(res)
