"""Fault tests: bad input, damaged stores, crashed workers and concurrent writers.

Each test checks one way kamsim used to give silently wrong results, hang or print a
traceback (issue 9), and the behaviour that replaced it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import stat
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
import pytest
from click.testing import CliRunner

from kamsim import simulate
from kamsim.cli.main import cli
from kamsim.experiments import (
    ExperimentError,
    SpecError,
    StoreError,
    load_results,
    load_spec,
    run_experiment,
)
from kamsim.model.params import ModelParams, ParameterError
from kamsim.policies import Observation, enforce_budget
from kamsim.reports.experiment import missing_results

BAD_POLICIES = (
    "import numpy as np\n"
    "def none(obs, budget):\n    return None\n"
    "def text(obs, budget):\n    return 'lots'\n"
    "def mapping(obs, budget):\n    return {'a': 1.0}\n"
    "def cplx(obs, budget):\n    return np.ones(obs.active.shape) * (1 + 1j)\n"
)


def _obs(shape: tuple[int, int]) -> Observation:
    z = np.zeros(shape)
    return Observation(1, np.ones(shape, dtype=bool), z.astype(int), z, z, z, z, z, z, z, z)


def _one_error_line(output: str) -> str:
    """The output of a refused command: exactly one non-empty line, no traceback."""
    lines = [ln for ln in output.splitlines() if ln.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


@pytest.fixture
def bad_policies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An importable module ``badpol_mod`` of policies returning the wrong things."""
    (tmp_path / "badpol_mod.py").write_text(BAD_POLICIES)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "badpol_mod"


# --------------------------------------------------------------------------- policies
def test_overflowing_row_sum_keeps_proportions() -> None:
    """Allocations whose row sum overflows are scaled to the budget, not zeroed."""
    obs = _obs((2, 4))
    alloc = np.array([[1e308, 1e308, 1e308, 1e308], [1e308, 5e307, 0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = enforce_budget(alloc, obs, 90.0, "huge")
    np.testing.assert_allclose(out[0], [22.5] * 4)
    np.testing.assert_allclose(out[1], [60.0, 30.0, 0.0, 0.0])
    assert np.all(out.sum(axis=1) <= 90.0)


@pytest.mark.parametrize(
    ("fn", "said"),
    [
        ("none", "returned None"),
        ("text", "returned a str ('lots')"),
        ("mapping", "returned a dict"),
        ("cplx", "returned an array of complex128"),
    ],
)
def test_policy_returning_garbage_is_named(bad_policies: str, fn: str, said: str) -> None:
    """A policy returning None, text, a dict or complex numbers is named with its result."""
    name = f"{bad_policies}:{fn}"
    with pytest.raises(ParameterError) as info:
        simulate(policy=name, replications=2, quarters=2, n_accounts=3)
    assert f"policy '{name}' {said}" in str(info.value)
    res = CliRunner().invoke(
        cli, ["simulate", "--policy", name, "--replications", "2", "--quarters", "2"]
    )
    assert res.exit_code == 2
    line = _one_error_line(res.output)
    assert name in line and said in line


@pytest.mark.parametrize("policy", [":", ".x:y", "a..b:c", "mod:"])
def test_malformed_policy_path_is_one_line(policy: str, tmp_path: Path) -> None:
    """A malformed 'module:function' is refused in a spec and by simulate, in one line."""
    with pytest.raises(SpecError, match="module:function"):
        load_spec({"name": "p", "replications": 2, "factors": {"policy": [policy]}})
    res = CliRunner().invoke(cli, ["simulate", "--policy", policy, "--replications", "2"])
    assert res.exit_code == 2
    assert repr(policy) in _one_error_line(res.output)


# --------------------------------------------------------------------------- specs
def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_spec_with_bom_loads(tmp_path: Path) -> None:
    """A spec saved with a UTF-8 byte-order mark loads like one without."""
    text = 'name = "bom"\nreplications = 3\n[params]\nbudget = 60.0\n'
    plain = load_spec(_write(tmp_path / "plain.toml", text))
    p = tmp_path / "bom.toml"
    p.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load_spec(p).spec_hash() == plain.spec_hash()


def test_int_and_float_levels_are_one_spec() -> None:
    """``budget = 60`` and ``60.0`` are the same spec, and ``[10, 10.0]`` is a duplicate."""
    base = {"name": "n", "replications": 3}
    a = load_spec({**base, "params": {"budget": 60}, "factors": {"hazard": [0, 0.1]}})
    b = load_spec({**base, "params": {"budget": 60.0}, "factors": {"hazard": [0.0, 0.1]}})
    assert a.spec_hash() == b.spec_hash()
    assert [c.params.budget for c in a.cells] == [60.0, 60.0]
    with pytest.raises(SpecError, match=r"factors.budget.*more than once"):
        load_spec({**base, "factors": {"budget": [10, 10.0]}})
    with pytest.raises(SpecError, match=r"factors.maintenance.*more than once"):
        load_spec({**base, "factors": {"maintenance": [[0, 0, 1, 2], [0, 0, 1.0, 2.0]]}})


HUGE = "9" * 400


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (f'name = "h"\nreplications = 3\n[params]\nbudget = {HUGE}\n', "params.budget"),
        (f'name = "h"\nreplications = {HUGE}\n', "replications"),
        (f'name = "h"\nreplications = 3\nseed = {HUGE}\n', "seed"),
        (
            f'name = "h"\nreplications = 3\n[factors]\nbudget = [1.0, {HUGE}]\n',
            "factors.budget[1]",
        ),
        ('name = "h"\nreplications = 3\n[params]\nbudget = ' + "9" * 5000, "line"),
        (
            'name = "h"\nreplications = 3\n[params]\nbudget = ' + "[" * 600 + "]" * 600,
            "deep",
        ),
        ('name = "h"\nreplications = 3\n[params]\nbudget = ' + "[" * 40 + "]" * 40, "deep"),
    ],
    ids=["param", "replications", "seed", "level", "5000 digits", "600 deep", "40 deep"],
)
def test_huge_or_deep_spec_values_one_line(tmp_path: Path, text: str, field: str) -> None:
    """400-digit integers and deeply nested arrays give one line and exit 2, no folder."""
    spec = _write(tmp_path / "h.toml", text)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["run", str(spec), "--out", str(out)])
    assert res.exit_code == 2, res.output
    line = _one_error_line(res.output)
    assert str(spec) in line
    if field == "deep":
        assert "nested" in line or "nests" in line
    elif field != "line":
        assert f"'{field}'" in line and "64-bit" in line
    assert HUGE not in line and not out.exists()


@pytest.mark.parametrize(
    "value", [HUGE, "[" * 600 + "]" * 600, "9" * 5000, "[" * 30 + "1" + "]" * 30]
)
def test_huge_or_deep_set_value_one_line(value: str) -> None:
    """``--set`` with a 400-digit integer or a deep array gives one line and exit 2."""
    res = CliRunner().invoke(
        cli, ["simulate", "--replications", "2", "--set", f"budget={value}"]
    )
    assert res.exit_code == 2, res.output
    line = _one_error_line(res.output)
    assert "--set budget" in line and len(line) < 200


def test_long_name_refused_without_leaving_a_folder(tmp_path: Path) -> None:
    """A 300-character experiment name is refused in one line and creates no folder."""
    spec = _write(tmp_path / "long.toml", f'name = "{"a" * 300}"\nreplications = 3\n')
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["run", str(spec), "--out", str(out)])
    assert res.exit_code == 2
    line = _one_error_line(res.output)
    assert "'name'" in line and "at most 100 characters" in line and "300" in line
    assert not out.exists()


def test_too_many_cells_refused_at_once(tmp_path: Path) -> None:
    """6 factors x 50 levels is refused within seconds with the cell count, not hung."""
    names = [
        "budget",
        "hazard",
        "trust_gain",
        "trust_loss",
        "wallet_sigma",
        "discount_rate",
    ]
    levels = ", ".join(f"{0.001 * (i + 1):.3f}" for i in range(50))
    body = "".join(f"{n} = [{levels}]\n" for n in names)
    spec = _write(
        tmp_path / "big.toml", f'name = "big"\nreplications = 3\n[factors]\n{body}'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "kamsim", "run", str(spec), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    line = _one_error_line(proc.stderr)
    assert "15_625_000_000 cells" in line and "at most 10_000" in line


def test_too_much_work_refused() -> None:
    """Cells x replications beyond the documented limit is refused with the count."""
    spec = {
        "name": "w",
        "replications": 1_000_000,
        "factors": {"n_accounts": list(range(1, 22))},
    }
    with pytest.raises(
        SpecError, match=r"21_000_000 replications in all; at most 20_000_000"
    ):
        load_spec(spec)


# --------------------------------------------------------------------------- store
HOLD_LOCK = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from kamsim.experiments.store import FolderLock\n"
    "folder = Path(sys.argv[1])\n"
    "folder.mkdir(parents=True, exist_ok=True)\n"
    "with FolderLock(folder):\n"
    "    print('locked', flush=True)\n"
    "    time.sleep(120)\n"
)


def _unit_path(out: Path, kind: str = "runs", name: str = "tiny") -> Path:
    return out / name / kind / "cell0001-rep000000.parquet"


def _manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "manifest.json").read_text())


def test_locked_folder_refused_then_stale_lock_taken_over(
    tiny_spec: dict[str, Any], tmp_path: Path
) -> None:
    """A second writer is refused at once naming the holder; a killed holder's lock is not.

    Another process holds the folder's lock: a run into it is refused in one line
    naming the folder and that process's id, and writes nothing. Once that process
    is killed (SIGKILL, no cleanup), the next run takes the lock over and completes.
    """
    out = tmp_path / "out"
    folder = out / "tiny"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(folder)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with pytest.raises(StoreError) as info:
            run_experiment(tiny_spec, out=out, workers=1, quiet=True)
        assert time.monotonic() - started < 10
        msg = str(info.value)
        assert str(folder) in msg and f"process {holder.pid}" in msg
        spec = _write(tmp_path / "tiny.toml", _toml(tiny_spec))
        res = CliRunner().invoke(cli, ["run", str(spec), "--out", str(out)])
        assert res.exit_code == 2
        assert f"process {holder.pid}" in _one_error_line(res.output)
        assert not (folder / "manifest.json").exists()
    finally:
        holder.kill()
        holder.wait(timeout=30)
    done = run_experiment(tiny_spec, out=out, workers=1, quiet=True)
    assert len(done.runs) == 4 * 260 and _manifest(folder)["status"] == "complete"


def _toml(spec: dict[str, Any]) -> str:
    """A spec dict (flat values and one level of tables) as TOML text."""

    def value(v: Any) -> str:
        return json.dumps(v) if not isinstance(v, list) else f"[{', '.join(map(value, v))}]"

    lines = [f"{k} = {value(v)}" for k, v in spec.items() if not isinstance(v, dict)]
    for table, items in spec.items():
        if isinstance(items, dict):
            lines += [f"[{table}]", *(f"{k} = {value(v)}" for k, v in items.items())]
    return "\n".join(lines) + "\n"


#: ``kamsim`` with the gap between the "same spec?" check and the first manifest write
#: widened to 3 s (as a slow disk or a busy machine would), so two writers meet there.
SLOW_OPEN = (
    "import sys, time\n"
    "import kamsim.experiments.runner as r\n"
    "check = r._open_folder\n"
    "def slow(*args):\n"
    "    m = check(*args)\n"
    "    time.sleep(3)\n"
    "    return m\n"
    "r._open_folder = slow\n"
    "from kamsim.cli.main import main\n"
    "main(sys.argv[1:])\n"
)


def test_two_writers_one_refused_other_correct(
    tiny_spec: dict[str, Any], tmp_path: Path
) -> None:
    """Two `kamsim run` with different specs into one folder: one refused, one intact.

    The issue's repro: two processes started together, same name and --out, other
    budgets, one with 1 worker and one with 2, both pausing between the spec check
    and the first manifest write. Exactly one exits 0 and the folder holds exactly
    its results; the other exits 2 with one line naming the folder.
    """
    spec1 = {**tiny_spec, "replications": 600, "factors": {"policy": ["none", "uniform"]}}
    spec2 = {**spec1, "params": {"hazard": 0.03, "budget": 77.0}}
    p1 = _write(tmp_path / "k.toml", _toml(spec1))
    p2 = _write(tmp_path / "k2.toml", _toml(spec2))
    out = tmp_path / "mx"
    base = [sys.executable, "-c", SLOW_OPEN, "run", "--out", str(out), "--quiet"]
    procs = [
        subprocess.Popen(
            [*base, str(p), "--workers", w],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p, w in ((p1, "1"), (p2, "2"))
    ]
    results = [p.communicate(timeout=240) for p in procs]
    codes = [p.returncode for p in procs]
    assert sorted(codes) == [0, 2], results
    line = _one_error_line(results[codes.index(2)][1])
    assert str(out / "tiny") in line
    assert "another kamsim run" in line or "different spec" in line
    winner = (spec1, spec2)[codes.index(0)]
    stored = load_results(out / "tiny")
    ref = run_experiment(winner, workers=1, quiet=True)
    for kind in ("runs", "quarters", "accounts"):
        pd.testing.assert_frame_equal(getattr(stored, kind), getattr(ref, kind))
    assert _manifest(out / "tiny")["spec_hash"] == load_spec(winner).spec_hash()


@pytest.mark.parametrize("damage", ["truncate", "empty", "flip"])
def test_damaged_unit_recomputed_on_resume(
    tiny_spec: dict[str, Any], tmp_path: Path, damage: str
) -> None:
    """A truncated, zero-byte or bit-flipped unit file is recomputed on resume."""
    full = run_experiment(tiny_spec, out=tmp_path, workers=1, quiet=True)
    folder = tmp_path / "tiny"
    m = _manifest(folder)
    for rel, digest in m["checksums"].items():
        assert hashlib.sha256((folder / rel).read_bytes()).hexdigest() == digest
    assert len(m["checksums"]) == 8 * 4  # 8 units x (runs, quarters, accounts, suppliers)
    f = _unit_path(tmp_path)
    data = f.read_bytes()
    if damage == "truncate":
        f.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        f.write_bytes(b"")
    else:
        f.write_bytes(data[:100] + bytes([data[100] ^ 0x01]) + data[101:])
    again = run_experiment(tiny_spec, out=tmp_path, workers=1, quiet=True)
    assert _manifest(folder)["sessions"][-1]["units_run"] == 1
    for kind in ("runs", "quarters", "accounts"):
        pd.testing.assert_frame_equal(getattr(full, kind), getattr(again, kind))
    assert f.read_bytes() == data


def test_unrecorded_unit_file_is_recomputed(
    tiny_spec: dict[str, Any], tmp_path: Path
) -> None:
    """A unit file the manifest has no checksum for (run killed before saving) reruns."""
    run_experiment(tiny_spec, out=tmp_path, workers=1, quiet=True)
    folder = tmp_path / "tiny"
    m = _manifest(folder)
    del m["checksums"]["quarters/cell0001-rep000000.parquet"]
    (folder / "manifest.json").write_text(json.dumps(m))
    run_experiment(tiny_spec, out=tmp_path, workers=1, quiet=True)
    m = _manifest(folder)
    assert m["sessions"][-1]["units_run"] == 1
    assert "quarters/cell0001-rep000000.parquet" in m["checksums"]


def test_damaged_unit_refused_on_load_and_report(
    tiny_spec: dict[str, Any], tmp_path: Path
) -> None:
    """Loading or reporting a damaged unit names the file in one line; nothing is parsed."""
    run_experiment(tiny_spec, out=tmp_path, workers=1, quiet=True)
    f = _unit_path(tmp_path)
    f.write_bytes(f.read_bytes()[:50])
    with pytest.raises(StoreError, match=r"cell0001-rep000000\.parquet' is damaged"):
        load_results(tmp_path / "tiny")
    with pytest.raises(StoreError, match="not a readable Parquet file"):
        load_results(tmp_path / "tiny", verify=False)
    res = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert res.exit_code == 2
    line = _one_error_line(res.output)
    assert str(f) in line and "kamsim run" in line


def test_foreign_manifest_is_refused(tiny_spec: dict[str, Any], tmp_path: Path) -> None:
    """A folder whose manifest.json is not kamsim's is refused, never read as empty."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"name": "tiny", "units": []}))
    with pytest.raises(StoreError, match="not a kamsim results manifest"):
        load_results(folder)
    with pytest.raises(StoreError, match="not a kamsim results manifest"):
        run_experiment(tiny_spec, out=tmp_path, workers=1, quiet=True)
    res = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert res.exit_code == 2 and "not a kamsim results manifest" in res.output


def test_results_of_another_kamsim_version_are_not_resumed(
    tiny_spec: dict[str, Any], tmp_path: Path
) -> None:
    """A folder made by another kamsim version is refused (its draws may differ)."""
    run_experiment(tiny_spec, out=tmp_path, workers=1, quiet=True)
    manifest_path = tmp_path / "tiny" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["versions"]["kamsim"] = "0.2.0"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match=r"made with kamsim 0\.2\.0; this is kamsim"):
        run_experiment(tiny_spec, out=tmp_path, workers=1, quiet=True)
    # the folder's results stay readable
    assert len(load_results(tmp_path / "tiny").runs) > 0


def test_files_and_folders_honour_the_umask(
    tiny_spec: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Result files, manifests, reports and figures get 0666/0777 less the umask."""
    monkeypatch.chdir(tmp_path)
    old = os.umask(0o022)
    try:
        run_experiment(tiny_spec, out=tmp_path, workers=1, quiet=True)
        assert CliRunner().invoke(cli, ["report", str(tmp_path)]).exit_code == 0
        args = ["simulate", "--replications", "3", "--quarters", "4", "--figure", "f.png"]
        assert CliRunner().invoke(cli, args).exit_code == 0
    finally:
        os.umask(old)
    folder = tmp_path / "tiny"
    files = [
        folder / "manifest.json",
        _unit_path(tmp_path),
        folder / "report" / "report.md",
        tmp_path / "f.png",
    ]
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f
    for d in (folder, folder / "runs", folder / "report"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o755, d


# --------------------------------------------------------------------------- workers
def _failing_at_80(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, fail: str
) -> str:
    """An importable policy ``name:policy`` that runs ``fail`` in cells of budget 80."""
    (tmp_path / f"{name}.py").write_text(
        "import os\n"
        "import numpy as np\n"
        "def policy(obs, budget):\n"
        "    if budget == 80.0:\n"
        f"        {fail}\n"
        "    return np.where(obs.active, budget / obs.active.shape[1], 0.0)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return f"{name}:policy"


def test_worker_crash_fails_only_its_unit(
    tiny_spec: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A policy killing its worker (os._exit) fails only its own units, named as such."""
    policy = _failing_at_80(tmp_path, monkeypatch, "crashy_policy", "os._exit(3)")
    spec = {**tiny_spec, "factors": {"policy": [policy], "budget": [50.0, 80.0]}}
    with pytest.raises(ExperimentError) as info:
        run_experiment(spec, out=tmp_path / "out", workers=2, quiet=True)
    failures = info.value.failures
    assert sorted((f["cell"], f["first_replication"]) for f in failures) == [
        (1, 0),
        (1, 250),
    ]
    for f in failures:
        assert "worker process running this unit died" in f["error"]
        assert "exit code 3" in f["error"]
    runs = info.value.results.runs
    assert set(runs["cell"]) == {0} and len(runs) == 260


SLOW_POLICY = (
    "import os, time\n"
    "import numpy as np\n"
    "def policy(obs, budget):\n"
    "    if os.environ.get('KAMSIM_TEST_SLOW'):\n"
    "        time.sleep(0.05)\n"
    "    return np.where(obs.active, budget / obs.active.shape[1], 0.0)\n"
)


def _start_slow(
    tmp_path: Path, args: list[str], ready: Callable[[], bool]
) -> subprocess.Popen[str]:
    """`kamsim <args> --workers 2 --quiet` with the slow policy, once ``ready()``."""
    (tmp_path / "slow_policy.py").write_text(SLOW_POLICY)
    env = {**os.environ, "KAMSIM_TEST_SLOW": "1", "PYTHONPATH": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kamsim", *args, "--workers", "2", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        if ready():
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the command ended before it could be stopped"
    return proc


def _start_slow_run(tmp_path: Path) -> tuple[subprocess.Popen[str], Path, dict[str, Any]]:
    """`kamsim run --workers 2` of 16 slow units (about 0.5 s each), in the background."""
    spec = {
        "name": "slow",
        "replications": 2000,
        "quarters": 10,
        "seed": 5,
        "factors": {"n_accounts": [5], "policy": ["slow_policy:policy", "uniform"]},
        "output": {"keep": ["runs"]},
    }
    path = _write(tmp_path / "slow.toml", _toml(spec))
    runs = tmp_path / "o" / "slow" / "runs"
    proc = _start_slow(
        tmp_path,
        ["run", str(path), "--out", str(tmp_path / "o")],
        lambda: runs.is_dir() and len(list(runs.glob("cell0000-*.parquet"))) >= 2,
    )
    return proc, tmp_path / "o" / "slow", spec


def _terminate_cleanly(proc: subprocess.Popen[str]) -> None:
    """SIGTERM stops the command cleanly: exit 143, one message, its workers gone."""
    children = _children(proc.pid)
    try:
        proc.terminate()
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 143, err
        assert "terminated" in err and "resume" in err and "Traceback" not in err
        _, alive = psutil.wait_procs(children, timeout=20)
        assert not alive
    finally:
        for p in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()


def _children(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _resume_and_compare(
    tmp_path: Path, folder: Path, spec: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resuming completes the run with exactly the data of an uninterrupted one."""
    monkeypatch.syspath_prepend(str(tmp_path))
    done = run_experiment(spec, out=folder.parent, workers=1, quiet=True)
    m = _manifest(folder)
    assert m["status"] == "complete"
    assert m["sessions"][0]["status"] == "interrupted"
    ref = run_experiment(spec, workers=1, quiet=True)
    pd.testing.assert_frame_equal(done.runs, ref.runs)


def test_sigkill_of_the_parent_ends_its_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killing `kamsim run --workers 2` with SIGKILL ends its workers and resource tracker.

    The run left behind resumes: the next run takes the folder over, marks the killed
    session interrupted and ends with the uninterrupted data.
    """
    proc, folder, spec = _start_slow_run(tmp_path)
    children = _children(proc.pid)
    try:
        assert len(children) >= 2
        proc.kill()
        proc.communicate(timeout=30)
        _, alive = psutil.wait_procs(children, timeout=20)
        assert not alive, [p.cmdline() for p in alive]
    finally:
        for p in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
    assert _manifest(folder)["status"] == "running"  # nobody could say otherwise
    said = missing_results(folder, _manifest(folder))
    assert "stopped while running (its process was killed)" in said[0]
    _resume_and_compare(tmp_path, folder, spec, monkeypatch)


def test_sigterm_stops_like_ctrl_c(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM stops a run cleanly: exit 143, workers gone, manifest says interrupted."""
    proc, folder, spec = _start_slow_run(tmp_path)
    _terminate_cleanly(proc)
    assert _manifest(folder)["status"] == "interrupted"
    _resume_and_compare(tmp_path, folder, spec, monkeypatch)


# --------------------------------------------------------------------------- disks
def test_disk_full_stops_in_one_line_and_resumes(
    tiny_spec: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk (ENOSPC from the writer) stops the run in one line, exit 2.

    Nothing half-written stays behind, the finished units are kept, and the same
    command afterwards completes the run with the uninterrupted data.
    """
    import kamsim.experiments.runner as runner_module

    real = runner_module.write_frame
    calls = {"n": 0}

    def full_disk(frame: pd.DataFrame, path: Path) -> str:
        calls["n"] += 1
        if calls["n"] > 4:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(frame, path)

    monkeypatch.setattr(runner_module, "write_frame", full_disk)
    spec = _write(tmp_path / "tiny.toml", _toml(tiny_spec))
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["run", str(spec), "--out", str(out), "--workers", "1"])
    assert res.exit_code == 2, res.output
    line = _one_error_line(res.output)
    assert "No space left on device" in line and "run the same command again" in line
    folder = out / "tiny"
    assert not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]
    assert _manifest(folder)["status"] == "interrupted"
    monkeypatch.setattr(runner_module, "write_frame", real)
    done = run_experiment(tiny_spec, out=out, workers=1, quiet=True)
    assert _manifest(folder)["sessions"][-1]["units_run"] == 7
    ref = run_experiment(tiny_spec, workers=1, quiet=True)
    pd.testing.assert_frame_equal(done.quarters, ref.quarters)


def _make_read_only(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make a folder (and what is in it) one nobody may write in: mode 0555.

    Modes do not stop root, so for root ``os.mkdir`` and ``os.open`` also refuse to
    create or write anything in it, with EACCES, as the kernel would for anyone else.
    """
    folder.chmod(0o555)
    if os.geteuid() != 0:
        return
    real_mkdir, real_open = os.mkdir, os.open

    def inside(path: Any) -> bool:
        return Path(os.fsdecode(path)).absolute().is_relative_to(folder)

    def mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        if inside(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        real_mkdir(path, *args, **kwargs)

    def open_(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if inside(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "open", open_)


@pytest.fixture
def read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty folder nobody may write in (see :func:`_make_read_only`)."""
    ro = tmp_path / "ro"
    ro.mkdir()
    _make_read_only(ro, monkeypatch)
    yield ro
    ro.chmod(0o755)


def test_read_only_output_folder_one_line(
    tiny_spec: dict[str, Any], tmp_path: Path, read_only: Path
) -> None:
    """`kamsim run --out` a read-only folder: one line naming it, exit 2, nothing made."""
    spec = _write(tmp_path / "tiny.toml", _toml(tiny_spec))
    res = CliRunner().invoke(cli, ["run", str(spec), "--out", str(read_only / "res")])
    assert res.exit_code == 2, res.output
    line = _one_error_line(res.output)
    assert str(read_only / "res" / "tiny") in line and "Permission denied" in line
    assert list(read_only.iterdir()) == []


# --------------------------------------------------------------------------- policy code
def test_edited_user_policy_is_not_resumed(
    tiny_spec: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Editing a user policy's file between a run and its resume is refused in one line.

    Unchanged code resumes as before (a no-op here); changed code names the policy
    and says how to start over, and the stored results are left as they were.
    """
    module = tmp_path / "editable_policy.py"
    module.write_text(
        "import numpy as np\n"
        "def policy(obs, budget):\n"
        "    return np.where(obs.active, 0.5 * budget / obs.active.shape[1], 0.0)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = {**tiny_spec, "factors": {"policy": ["uniform", "editable_policy:policy"]}}
    out = tmp_path / "out"
    run_experiment(spec, out=out, workers=1, quiet=True)
    run_experiment(spec, out=out, workers=1, quiet=True)
    assert _manifest(out / "tiny")["sessions"][-1]["units_run"] == 0
    module.write_text(module.read_text().replace("0.5 * budget", "0.9 * budget"))
    before = (out / "tiny" / "manifest.json").read_bytes()
    with pytest.raises(StoreError) as info:
        run_experiment(spec, out=out, workers=1, quiet=True)
    msg = str(info.value)
    assert "'editable_policy:policy'" in msg and "delete this folder" in msg
    assert (out / "tiny" / "manifest.json").read_bytes() == before
    path = _write(tmp_path / "tiny.toml", _toml(spec))
    res = CliRunner().invoke(cli, ["run", str(path), "--out", str(out)])
    assert res.exit_code == 2 and "editable_policy:policy" in _one_error_line(res.output)


# --------------------------------------------------------------------------- reports
def test_report_of_failed_run_says_what_is_missing(
    tiny_spec: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report of a run whose cell failed covers the rest and names the missing cell."""
    boom = "raise RuntimeError('boom in the policy')"
    policy = _failing_at_80(tmp_path, monkeypatch, "flaky_report_policy", boom)
    spec = {**tiny_spec, "factors": {"policy": [policy], "budget": [50.0, 80.0]}}
    with pytest.raises(ExperimentError):
        run_experiment(spec, out=tmp_path, workers=1, quiet=True)
    res = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "warning:" in res.output and "INCOMPLETE: 1 of 2 cells" in res.output
    md = (tmp_path / "tiny" / "report" / "report.md").read_text()
    assert md.index("INCOMPLETE") < md.index("## Findings")
    assert "Missing: cell 1" in md and "budget = 80.0" in md and "boom in the policy" in md
    assert "budget = 50" in md  # the stored cell is described by its factor
    page = (tmp_path / "tiny" / "report" / "report.html").read_text()
    assert page.index('<div class="warning">') < page.index("Findings")


def test_report_of_partial_run_says_what_is_missing(
    tiny_spec: dict[str, Any], tmp_path: Path
) -> None:
    """A report of a run lacking one work unit says which cell lacks how many runs."""
    run_experiment(tiny_spec, out=tmp_path, workers=1, quiet=True)
    (tmp_path / "tiny" / "runs" / "cell0003-rep000250.parquet").unlink()
    res = CliRunner().invoke(cli, ["report", str(tmp_path / "tiny")])
    assert res.exit_code == 0, res.output
    md = (tmp_path / "tiny" / "report" / "report.md").read_text()
    assert "INCOMPLETE: 1 of 4 cells lack results (0 with none at all)" in md
    assert (
        "Missing: cell 3 (n_accounts = 4, policy = uniform, budget = 80.0): 250 of 260"
        in md
    )


def test_report_finds_an_experiment_named_report(tmp_path: Path) -> None:
    """`kamsim report` finds an experiment named ``report`` (but not report folders)."""
    spec = {"name": "report", "replications": 5, "quarters": 4, "seed": 1}
    run_experiment(spec, out=tmp_path, workers=1, quiet=True)
    for _ in range(2):  # the second time, its own report/ folder is not an experiment
        res = CliRunner().invoke(cli, ["report", str(tmp_path)])
        assert res.exit_code == 0, res.output
        assert res.output.split() == [str(tmp_path / "report" / "report" / "report.html")]


# --------------------------------------------------------------------------- simulate
@pytest.fixture
def no_simulation(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the replications `kamsim simulate` asks for beyond its small trial runs."""
    import kamsim.engine.simulate

    real = kamsim.engine.simulate.simulate
    asked: list[int] = []

    def counting(**kwargs: Any) -> Any:
        if kwargs["replications"] > 4:
            asked.append(kwargs["replications"])
            raise AssertionError("simulated although the command should have refused")
        return real(**kwargs)

    monkeypatch.setattr(kamsim.engine.simulate, "simulate", counting)
    return asked


def test_unwritable_figure_refused_before_simulating(
    tmp_path: Path, read_only: Path, no_simulation: list[int]
) -> None:
    """`--figure` under a file or in a read-only folder: one line, exit 2, no simulation."""
    (tmp_path / "afile").write_text("x")
    for target in (
        tmp_path / "afile" / "f.png",
        read_only / "f.png",
        read_only / "d" / "f.png",
    ):
        res = CliRunner().invoke(
            cli, ["simulate", "--replications", "50", "--figure", str(target)]
        )
        assert res.exit_code == 2, res.output
        line = _one_error_line(res.output)
        assert "'--figure' cannot be written" in line and str(target) in line
    assert no_simulation == [] and list(read_only.iterdir()) == []


def test_simulation_too_big_for_memory_refused(
    monkeypatch: pytest.MonkeyPatch, no_simulation: list[int]
) -> None:
    """10 million replications are refused at once with an estimate, not a MemoryError."""
    import kamsim.cli.main

    monkeypatch.setattr(kamsim.cli.main, "_available_memory", lambda: 8 * 2**30)
    started = time.monotonic()
    res = CliRunner().invoke(cli, ["simulate", "--replications", "10000000"])
    assert time.monotonic() - started < 20
    assert res.exit_code == 2, res.output
    line = _one_error_line(res.output)
    assert "'--replications' 10_000_000 would need about" in line
    assert "8.0 GiB are available" in line and "kamsim run" in line
    need = float(line.split("about ")[1].split(" GiB")[0].replace(",", ""))
    assert need > 10_000_000 * 40 * 8 / 2**30  # at least one float per quarter
    assert no_simulation == []
    monkeypatch.setattr(kamsim.cli.main, "_available_memory", lambda: 64 * 2**30)
    small = CliRunner().invoke(cli, ["simulate", "--replications", "4", "--quarters", "4"])
    assert small.exit_code == 0, small.output


def test_unpicklable_policy_refused_before_running(tiny_spec: dict[str, Any]) -> None:
    """A policy that cannot reach worker processes (a lambda) is refused up front."""
    spec = {
        **tiny_spec,
        "factors": {"policy": [lambda obs, budget: np.where(obs.active, 1.0, 0.0)]},
    }
    with pytest.raises(ParameterError, match="cannot be sent to worker processes"):
        run_experiment(spec, workers=2, quiet=True)
    assert len(run_experiment(spec, workers=1, quiet=True).runs) == 260


def test_read_only_results_folder_one_line(
    tiny_spec: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resuming into a results folder that became read-only: one line, exit 2, unchanged."""
    run_experiment(tiny_spec, out=tmp_path, workers=1, quiet=True)
    folder = tmp_path / "tiny"
    (folder / "runs" / "cell0002-rep000000.parquet").unlink()
    before = sorted((p.name, p.stat().st_mtime_ns) for p in folder.rglob("*"))
    _make_read_only(folder, monkeypatch)
    try:
        spec = _write(tmp_path / "tiny.toml", _toml(tiny_spec))
        res = CliRunner().invoke(cli, ["run", str(spec), "--out", str(tmp_path)])
    finally:
        folder.chmod(0o755)
    assert res.exit_code == 2, res.output
    line = _one_error_line(res.output)
    assert str(folder) in line and "Permission denied" in line
    assert sorted((p.name, p.stat().st_mtime_ns) for p in folder.rglob("*")) == before


# --------------------------------------------------------------------------- model side
@pytest.mark.parametrize("engine", ["batched", "mesa"])
def test_policy_cannot_write_what_it_observes(engine: str) -> None:
    """Item 2: every array a policy sees is read-only, in both faces; a write is refused."""

    def vandal(obs: Observation, budget: float) -> np.ndarray:
        obs.active[:, 0] = False
        return np.zeros(obs.active.shape)

    with pytest.raises(ValueError, match="read-only"):
        simulate(
            n_accounts=4, policy=vandal, replications=2, quarters=3, seed=1, engine=engine
        )

    seen: list[bool] = []

    def inspector(obs: Observation, budget: float) -> np.ndarray:
        seen.extend(not a.flags.writeable for a in (obs.active, obs.stage, obs.trust))
        return np.zeros(obs.active.shape)

    simulate(
        n_accounts=4, policy=inspector, replications=2, quarters=2, seed=1, engine=engine
    )
    assert seen and all(seen)


def test_unknown_model_parameter_names_the_closest() -> None:
    """ModelParams(unknown=1) is one clear error with a "did you mean"."""
    with pytest.raises(
        ParameterError, match=r"unknown parameter 'budgt' \(did you mean 'budget'\?\)"
    ):
        ModelParams(budgt=1.0)


def test_sigterm_stops_a_sensitivity_study_like_ctrl_c(tmp_path: Path) -> None:
    """`kamsim sensitivity` on SIGTERM: exit 143, one message, workers gone; it resumes.

    The study's points run through the experiment runner, so its manifest says
    interrupted and the same command afterwards finishes the study and its report.
    """
    spec = _write(
        tmp_path / "slow_gsa.toml",
        'name = "slow_gsa"\nsamples = 8\nreplications = 50\nquarters = 10\nseed = 3\n'
        'parameters = ["gross_margin", "trust_loss"]\noutputs = ["value"]\n'
        '[fixed]\nn_accounts = 5\npolicy = "slow_policy:policy"\n',
    )
    out = tmp_path / "o"
    folder = out / "slow_gsa"
    args = ["sensitivity", str(spec), "--out", str(out)]
    proc = _start_slow(
        tmp_path, args, lambda: len(list(folder.glob("runs/*.parquet"))) >= 2
    )
    _terminate_cleanly(proc)
    assert _manifest(folder)["status"] == "interrupted"
    fast = {**os.environ, "PYTHONPATH": str(tmp_path)}
    fast.pop("KAMSIM_TEST_SLOW", None)
    again = subprocess.run(
        [sys.executable, "-m", "kamsim", *args, "--workers", "1", "--quiet"],
        capture_output=True,
        text=True,
        env=fast,
    )
    assert again.returncode == 0, again.stderr
    assert _manifest(folder)["status"] == "complete"
    assert (folder / "report" / "report.html").is_file()
