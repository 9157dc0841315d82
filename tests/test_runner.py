"""Tests of the experiment runner and results store (kamsim.experiments)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from kamsim import simulate
from kamsim.engine.simulate import replication_seeds
from kamsim.experiments import (
    ExperimentError,
    StoreError,
    load_results,
    load_spec,
    run_experiment,
)
from kamsim.experiments.runner import plan_units

FRAMES = ("runs", "quarters", "accounts")


def assert_same(a: Any, b: Any, frames: tuple[str, ...] = FRAMES) -> None:
    for kind in frames:
        pd.testing.assert_frame_equal(getattr(a, kind), getattr(b, kind), check_exact=True)


def test_stored_equals_in_memory(tiny_spec: dict[str, Any], tmp_path: Path) -> None:
    """Results read back from Parquet are exactly the in-memory results."""
    mem = run_experiment(tiny_spec, workers=1, quiet=True)
    disk = run_experiment(tiny_spec, out=tmp_path, workers=1, quiet=True)
    assert_same(mem, disk)
    assert_same(disk, load_results(tmp_path / "tiny"))
    assert len(mem.runs) == 4 * 260
    assert len(mem.quarters) == 4 * 260 * 6


def test_columns_and_common_random_numbers(tiny_spec: dict[str, Any]) -> None:
    """Every frame has cell and factor columns, and every cell uses the same seeds."""
    res = run_experiment(tiny_spec, workers=1, quiet=True)
    for kind in FRAMES:
        df = getattr(res, kind)
        for col in ("cell", "replication", "seed", "n_accounts", "policy", "budget"):
            assert col in df.columns, (kind, col)
    seeds = replication_seeds(11, 260)
    for _, g in res.runs.groupby("cell"):
        assert g["seed"].tolist() == seeds
    assert sorted(res.runs["cell"].unique()) == [0, 1, 2, 3]
    # policies matter, so equal seeds per cell is not a vacuous property
    npv = res.runs.pivot(index="replication", columns="cell", values="npv")
    assert not np.allclose(npv[0], npv[2])  # none vs uniform, budget 50


def test_chunking_does_not_change_results(tiny_spec: dict[str, Any]) -> None:
    """A cell split into work units (250 + 10 replications) equals one simulate() call."""
    assert [u.count for u in plan_units(load_spec(tiny_spec))][:2] == [250, 10]
    res = run_experiment(tiny_spec, workers=1, quiet=True)
    cell = load_spec(tiny_spec).cells[3]
    ref = simulate(
        n_accounts=4,
        policy="uniform",
        replications=260,
        quarters=6,
        seed=11,
        params=cell.params,
    )
    got = res.runs[res.runs["cell"] == 3].drop(columns=["cell", "budget"])
    pd.testing.assert_frame_equal(got.reset_index(drop=True), ref.runs, check_exact=True)


def test_workers_1_and_2_identical(tiny_spec: dict[str, Any]) -> None:
    """Local process pool results equal in-process results exactly."""
    one = run_experiment(tiny_spec, workers=1, quiet=True)
    two = run_experiment(tiny_spec, workers=2, quiet=True)
    assert_same(one, two)
    assert two.meta["sessions"][-1]["backend"] == "processes"


def test_resume_after_lost_units(tiny_spec: dict[str, Any], tmp_path: Path) -> None:
    """Deleting unit files and rerunning recomputes only those; the data are identical."""
    full = run_experiment(tiny_spec, out=tmp_path, workers=1, quiet=True)
    folder = tmp_path / "tiny"
    lost = ["cell0001-rep000000.parquet", "cell0003-rep000250.parquet"]
    (folder / "runs" / lost[0]).unlink()
    (folder / "accounts" / lost[1]).unlink()
    (folder / "quarters" / lost[1]).unlink()
    again = run_experiment(tiny_spec, out=tmp_path, workers=1, quiet=True)
    assert_same(full, again)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["sessions"][-1]["units_run"] == 2
    assert manifest["status"] == "complete"
    assert len(manifest["sessions"]) == 2


def test_rerun_complete_is_a_no_op(tiny_spec: dict[str, Any], tmp_path: Path) -> None:
    """Rerunning a finished experiment runs no unit and leaves the files untouched."""
    run_experiment(tiny_spec, out=tmp_path, workers=1, quiet=True)
    f = tmp_path / "tiny" / "runs" / "cell0000-rep000000.parquet"
    before = f.stat().st_mtime_ns
    run_experiment(tiny_spec, out=tmp_path, workers=1, quiet=True)
    assert f.stat().st_mtime_ns == before
    manifest = json.loads((tmp_path / "tiny" / "manifest.json").read_text())
    assert manifest["sessions"][-1]["units_run"] == 0


def test_different_spec_is_refused(tiny_spec: dict[str, Any], tmp_path: Path) -> None:
    """A different spec with the same name is refused and the folder is left unchanged."""
    run_experiment(tiny_spec, out=tmp_path, workers=1, quiet=True)
    manifest = (tmp_path / "tiny" / "manifest.json").read_bytes()
    other = {**tiny_spec, "seed": 12}
    with pytest.raises(StoreError, match="different spec"):
        run_experiment(other, out=tmp_path, workers=1, quiet=True)
    assert (tmp_path / "tiny" / "manifest.json").read_bytes() == manifest


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("kamsim", "0.4.0", "made with kamsim 0.4.0"),
        ("model", "0" * 64, "other model code"),
    ],
)
def test_results_of_other_code_are_refused(
    tiny_spec: dict[str, Any], tmp_path: Path, key: str, value: str, message: str
) -> None:
    """A folder made by another version, or other model code, is never resumed."""
    run_experiment(tiny_spec, out=tmp_path, workers=1, quiet=True)
    path = tmp_path / "tiny" / "manifest.json"
    manifest = json.loads(path.read_text())
    (path.parent / "runs" / "cell0001-rep000000.parquet").unlink()  # work left to do
    manifest["versions"][key] = value
    path.write_text(json.dumps(manifest))
    before = sorted(p.name for p in (path.parent / "runs").iterdir())
    with pytest.raises(StoreError, match=message):
        run_experiment(tiny_spec, out=tmp_path, workers=1, quiet=True)
    assert sorted(p.name for p in (path.parent / "runs").iterdir()) == before


def test_manifest_contents(tiny_spec: dict[str, Any], tmp_path: Path) -> None:
    """The manifest records the spec, its hash, versions, seed, cells, units and timings."""
    run_experiment(tiny_spec, out=tmp_path, workers=1, quiet=True)
    m = json.loads((tmp_path / "tiny" / "manifest.json").read_text())
    sp = load_spec(tiny_spec)
    assert m["spec_hash"] == sp.spec_hash()
    assert m["spec"] == sp.to_dict()
    assert m["root_seed"] == 11
    assert set(m["versions"]) >= {"kamsim", "model", "mesa", "numpy"}
    assert len(m["cells"]) == 4 and m["cells"][3]["budget"] == 80.0
    assert len(m["units"]) == 8 and len(m["unit_seconds"]) == 8
    assert m["started"] and m["ended"] and m["failures"] == []


def test_failed_unit_is_recorded(
    tiny_spec: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit whose policy raises is recorded with its error; the other units complete."""
    mod = tmp_path / "flaky_policy.py"
    mod.write_text(
        "import numpy as np\n"
        "def policy(obs, budget):\n"
        "    if budget == 80.0:\n"
        "        raise RuntimeError('boom in the policy')\n"
        "    return np.where(obs.active, budget / obs.active.shape[1], 0.0)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = {
        **tiny_spec,
        "factors": {"policy": ["flaky_policy:policy"], "budget": [50.0, 80.0]},
    }
    out = tmp_path / "out"
    with pytest.raises(ExperimentError) as info:
        run_experiment(spec, out=out, workers=1, quiet=True)
    exc = info.value
    assert len(exc.failures) == 2
    assert {f["cell"] for f in exc.failures} == {1}
    assert "boom in the policy" in exc.failures[0]["error"]
    assert set(exc.results.runs["cell"]) == {0}
    assert len(exc.results.runs) == 260
    m = json.loads((out / "tiny" / "manifest.json").read_text())
    assert m["status"] == "failed"
    assert len(m["failures"]) == 2 and "boom in the policy" in m["failures"][1]["error"]


def test_interrupted_subprocess_resumes(tmp_path: Path) -> None:
    """A `kamsim run` stopped by SIGINT resumes and ends with the uninterrupted data."""
    spec_text = (
        'name = "long"\nreplications = 4000\nquarters = 40\nseed = 3\n'
        '[factors]\nn_accounts = [20]\npolicy = ["none", "uniform"]\n'
        '[output]\nkeep = ["runs"]\n'
    )
    spec = tmp_path / "long.toml"
    spec.write_text(spec_text)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "kamsim", "run", str(spec), "--out", str(out)]
    proc = subprocess.Popen(
        [*cmd, "--workers", "1", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    runs = out / "long" / "runs"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if runs.is_dir() and len(list(runs.glob("*.parquet"))) >= 3:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "run finished before it could be interrupted"
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "resume" in err and "Traceback" not in err
    done = len(list(runs.glob("*.parquet")))
    assert 3 <= done < 32
    m = json.loads((out / "long" / "manifest.json").read_text())
    assert m["status"] == "interrupted"

    resumed = run_experiment(spec, out=out, workers=1, quiet=True)
    m = json.loads((out / "long" / "manifest.json").read_text())
    assert m["sessions"][-1]["units_run"] == 32 - done
    ref = run_experiment(spec, workers=2, quiet=True)
    assert_same(resumed, ref, frames=("runs",))
    assert not list(runs.glob(".*"))
