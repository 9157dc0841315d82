"""kamsim optimize: spec checks, held-out numbers, resume after kill -9, the report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kamsim.experiments.spec import SpecError
from kamsim.optimize import load_optimize_spec, optimize
from kamsim.policies.family import load_rule

TINY = """
name = "tiny"
seed = 11
quarters = 12
[market]
n_accounts = 8
rivals = 1
rival_policy = "stage_gated"
[search]
trials = {trials}
replications = 30
batch = 3
[evaluation]
replications = 120
policies = ["uniform", "stage_gated", "potential_weighted"]
[robustness]
replications = 30
rival_policies = ["uniform", "stage_gated"]
points = 2
"""


def _spec(tmp_path: Path, trials: int = 9) -> Path:
    p = tmp_path / "tiny.toml"
    p.write_text(TINY.format(trials=trials))
    return p


def _cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kamsim", *args], capture_output=True, text=True,
        timeout=600, **kw,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("trials = {trials}", "'search.trials' must be an integer in [1, 100_000]: 0"),
        (
            'sampler = "tpe"',
            "'search.sampler' must be one of tpe, cmaes, nsga2, random: 'tpx'",
        ),
        ('[objective]\nvalue = "npv_terminl"', "'objective.value' must name a column"),
        (
            '[objective]\nconstraint = "value:p_loss < 0.05"',
            "'objective.constraint' must look like",
        ),
        ('[objective]\nrisk = "value:cvar5"', "'objective.risk' statistic must be one of"),
        ("[market]\nn_accounts = 0", "'market.n_accounts' must be an integer in [1, 500]"),
        ("colour = 1", "'colour' is not a spec key"),
    ],
)
def test_bad_spec_is_one_line_exit_2_nothing_written(tmp_path, edit, message):
    """Each bad spec gives one Error line naming field and value, exit 2, no folder."""
    text = TINY.format(trials=9)
    if edit.startswith("trials"):
        text = text.replace("trials = 9", "trials = 0")
    elif edit.startswith("sampler"):
        text = text.replace("[search]", '[search]\nsampler = "tpx"')
    elif edit.startswith("[market]"):
        text = text.replace("n_accounts = 8", "n_accounts = 0")
    elif edit.startswith("colour"):
        text = "colour = 1\n" + text
    else:
        text += edit + "\n"
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    out = tmp_path / "out"
    p = _cli("optimize", str(spec), "--out", str(out), "--workers", "1", "--quiet")
    assert p.returncode == 2, p.stderr
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and message in lines[0], p.stderr
    assert not out.exists()


def test_load_spec_defaults_and_two_objectives():
    """A risk objective switches the default sampler to NSGA-II; cmaes refuses it."""
    base = {"name": "x", "search": {"trials": 2, "replications": 2}}
    assert load_optimize_spec(base).sampler == "tpe"
    two = {**base, "objective": {"risk": "value:cvar05"}}
    assert load_optimize_spec(two).sampler == "nsga2"
    with pytest.raises(SpecError, match=r"'search\.sampler'"):
        load_optimize_spec({**two, "search": {"sampler": "cmaes"}})


def test_heldout_numbers_differ_from_training_and_fill_the_report(tmp_path):
    """The held-out seeds are fresh, and the report's Findings use held-out figures."""
    res = optimize(_spec(tmp_path), out=tmp_path / "out", workers=1, quiet=True)
    folder = tmp_path / "out" / "tiny"
    from kamsim import replication_seeds

    train = set(replication_seeds(11, 30))
    assert not train & set(res.heldout["seed"])
    assert not train & set(res.robustness["seed"])
    train_value = res.rule.origin["training_value"]
    held = res.heldout[res.heldout["policy"] == "optimized rule"]["npv_terminal"].mean()
    assert held != pytest.approx(train_value, rel=1e-9)
    data = json.loads((folder / "report" / "report.json").read_text())
    gain = data["findings"][0]
    assert gain["kind"] == "gain"
    best = data["best_builtin"]
    b = res.heldout[res.heldout["policy"] == best]["npv_terminal"].mean()
    assert gain["gain"] == pytest.approx(held - b)
    html = (folder / "report" / "report.html").read_text()
    assert "Findings" in html and "value_risk.png" in html
    assert load_rule(folder / "rule.toml") == res.rule
    # the same command again continues to the same result (nothing left to search)
    again = optimize(_spec(tmp_path), out=tmp_path / "out", workers=1, quiet=True)
    assert again.rule == res.rule


@pytest.mark.slow
def test_killed_search_resumes_to_the_same_rule(tmp_path):
    """Kill -9 mid-search, then the same command: the same best parameters as a clean run."""  # noqa: E501
    spec = _spec(tmp_path, trials=30)
    clean = _cli(
        "optimize", str(spec), "--out", str(tmp_path / "a"), "--workers", "1", "--quiet"
    )
    assert clean.returncode == 0, clean.stderr
    cmd = [sys.executable, "-m", "kamsim", "optimize", str(spec), "--out",
           str(tmp_path / "b"), "--workers", "1", "--quiet"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)  # fmt: skip
    db = tmp_path / "b" / "tiny" / "study.db"
    deadline = time.time() + 300
    import sqlite3

    while time.time() < deadline:
        time.sleep(0.3)
        if db.exists():
            try:
                with sqlite3.connect(db) as con:
                    n = con.execute(
                        "select count(*) from trials where state='COMPLETE'"
                    ).fetchone()[0]
            except sqlite3.Error:
                continue
            if n >= 7:
                break
    assert proc.poll() is None, "the search ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "b" / "tiny" / "rule.toml").exists()
    resumed = _cli(
        "optimize", str(spec), "--out", str(tmp_path / "b"), "--workers", "1", "--quiet"
    )
    assert resumed.returncode == 0, resumed.stderr
    a = load_rule(tmp_path / "a" / "tiny" / "rule.toml")
    b = load_rule(tmp_path / "b" / "tiny" / "rule.toml")
    assert a.values == b.values
    ta = (tmp_path / "a" / "tiny" / "trials.csv").read_text().splitlines()
    tb = (tmp_path / "b" / "tiny" / "trials.csv").read_text().splitlines()
    assert len(ta) == len(tb) == 31


def test_a_half_written_trial_is_completed_with_its_proposal() -> None:
    """A trial killed while its parameters were written gets exactly the enqueued ones."""
    import optuna

    from kamsim.optimize.search import _complete, _distributions

    dists = _distributions()
    proposal = {name: (d.low + d.high) / 3 for name, d in dists.items()}
    study = optuna.create_study(storage=optuna.storages.InMemoryStorage())
    study.enqueue_trial(proposal)
    trial = study.ask()  # popped, RUNNING, no parameter written yet (a kill here)
    trial.suggest_float(next(iter(dists)), *_bounds(dists))  # one of them written
    frozen = study.get_trials(deepcopy=False)[0]
    assert len(frozen.params) == 1
    done = _complete(study, frozen, dists)
    assert done.params == pytest.approx(proposal)


def _bounds(dists: dict) -> tuple[float, float]:
    d = next(iter(dists.values()))
    return d.low, d.high


@pytest.mark.parametrize(("key", "value"), [("kamsim", "0.4.0"), ("model", "0" * 64)])
def test_a_search_of_other_code_is_not_resumed(tmp_path, key, value):
    """A search folder made by another version or other model code: exit 2, untouched."""
    spec = _spec(tmp_path, trials=3)
    out = tmp_path / "out"
    first = _cli("optimize", str(spec), "--out", str(out), "--workers", "1", "--quiet")
    assert first.returncode == 0, first.stderr
    path = out / "tiny" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["versions"][key] = value
    path.write_text(json.dumps(manifest))
    files = sorted(p.name for p in (out / "tiny").iterdir())
    again = _cli("optimize", str(spec), "--out", str(out), "--workers", "1", "--quiet")
    assert again.returncode == 2
    assert "whose numbers for the same seeds may differ" in again.stderr
    assert sorted(p.name for p in (out / "tiny").iterdir()) == files
