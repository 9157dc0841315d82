"""What a newcomer trips over (issue 22): own policies, overrides, errors, console.

Each test checks one rough edge a new user hit and the behaviour that replaced it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import kamsim
from kamsim import KAMModel, ModelParams, ParameterError, simulate
from kamsim.cli.main import cli
from kamsim.experiments import load_spec
from kamsim.policies import resolve_policy

POLICY_SOURCE = (
    "import numpy as np\n"
    "LABEL = {label!r}\n"
    "def deepen_the_few(obs, budget):\n"
    "    w = obs.active * (obs.stage + 0.0)\n"
    "    return budget * w / np.maximum(w.sum(axis=-1, keepdims=True), 1.0)\n"
)

TRIPPING = (
    "import numpy as np\n"
    "def sneaky(obs, budget):\n"
    "    w = obs.active * (0.1 + obs.trust)\n"
    "    return budget * w / w.sum(axis=-1, keepdims=True)\n"
    "sneaky.observes = {'active'}\n"
    "def flat(obs, budget):\n"
    "    return np.full(obs.active.shape[-1], budget / obs.active.shape[-1])\n"
    "def as_list(obs, budget):\n"
    "    return [1.0] * obs.active.shape[-1]\n"
    "def scalar(obs, budget):\n"
    "    return 1.0\n"
    "def column(obs, budget):\n"
    "    return np.ones((obs.active.shape[0], 1))\n"
    "def nested(obs, budget):\n"
    "    return (obs.active * 2.0).tolist()\n"
    "def exact(obs, budget):\n"
    "    return obs.active * 2.0\n"
)


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Restore ``sys.path`` and forget the test modules after the test."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    for name in [m for m in sys.modules if m.startswith("nc_")]:
        monkeypatch.delitem(sys.modules, name)


def _module(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(text)
    return folder


# --------------------------------------------------------------- policies by name
@pytest.mark.usefixtures("isolated")
def test_module_policy_found_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--policy lab:fn` run from lab.py's folder works without PYTHONPATH."""
    _module(tmp_path, "nc_lab", POLICY_SOURCE.format(label="here"))
    monkeypatch.chdir(tmp_path)
    assert str(tmp_path) not in sys.path
    res = CliRunner().invoke(
        cli,
        ["simulate", "--policy", "nc_lab:deepen_the_few", "--replications", "3"],
    )
    assert res.exit_code == 0, res.output
    assert "focal policy nc_lab:deepen_the_few" in res.output
    out = simulate(policy="nc_lab:deepen_the_few", replications=2, quarters=3)
    assert set(out.runs["policy"]) == {"nc_lab:deepen_the_few"}


@pytest.mark.usefixtures("isolated")
def test_spec_folder_wins_over_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spec's "mod:fn" is the mod.py beside the spec, even with another in the cwd."""
    spec_dir = _module(tmp_path / "study", "nc_mypol", POLICY_SOURCE.format(label="spec"))
    cwd = _module(tmp_path / "elsewhere", "nc_mypol", POLICY_SOURCE.format(label="cwd"))
    (spec_dir / "s.toml").write_text(
        'name = "s"\nreplications = 2\nquarters = 2\n'
        '[factors]\npolicy = ["nc_mypol:deepen_the_few"]\n'
    )
    monkeypatch.chdir(cwd)
    load_spec(spec_dir / "s.toml")
    assert sys.modules["nc_mypol"].LABEL == "spec"


@pytest.mark.usefixtures("isolated")
def test_spec_policy_found_from_another_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kamsim run study/s.toml` finds study/mod.py from the parent folder."""
    spec_dir = _module(tmp_path / "study", "nc_beside", POLICY_SOURCE.format(label="x"))
    (spec_dir / "s.toml").write_text(
        'name = "s"\nreplications = 2\nquarters = 2\n'
        '[factors]\npolicy = ["nc_beside:deepen_the_few"]\n'
    )
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(
        cli, ["run", "study/s.toml", "--out", "out", "--workers", "1", "--quiet"]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "s" / "manifest.json").is_file()


@pytest.mark.usefixtures("isolated")
def test_current_folder_used_when_the_spec_folder_lacks_the_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The current folder is searched after the spec's own folder."""
    cwd = _module(tmp_path / "here", "nc_cwd", POLICY_SOURCE.format(label="cwd"))
    monkeypatch.chdir(cwd)
    fn = resolve_policy("nc_cwd:deepen_the_few", [tmp_path / "nowhere"])
    assert sys.modules[fn.__module__].LABEL == "cwd"


# --------------------------------------------------------------- parameter overrides
def test_simulate_takes_model_parameters_by_name() -> None:
    """simulate(budget=..., rival_budget=...) as KAMModel(budget=...) does."""
    kw = {"replications": 3, "quarters": 6, "seed": 2}
    named = simulate(budget=150.0, rival_budget=80.0, **kw)
    explicit = simulate(params=ModelParams(budget=150.0, rival_budget=80.0), **kw)
    default = simulate(**kw)
    assert named.meta["params"]["budget"] == 150.0
    assert named.meta["params"]["rival_budget"] == 80.0
    np.testing.assert_array_equal(named.runs["npv"], explicit.runs["npv"])
    assert not np.array_equal(named.runs["npv"], default.runs["npv"])
    # overrides apply on top of params
    both = simulate(params=ModelParams(rival_budget=80.0), budget=150.0, **kw)
    np.testing.assert_array_equal(both.runs["npv"], explicit.runs["npv"])


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [
        ({"bugdet": 150.0}, "unknown simulate argument 'bugdet' (did you mean 'budget'?)"),
        ({"replicatoins": 3}, "(did you mean 'replications'?)"),
        ({"budget": -1.0}, "'budget' must be a number in [0.0"),
    ],
)
def test_simulate_refuses_bad_overrides(kwargs: dict[str, float], said: str) -> None:
    """Unknown names get the closest valid one; bad values their allowed range."""
    with pytest.raises(ParameterError) as info:
        simulate(replications=2, quarters=2, **kwargs)  # type: ignore[arg-type]
    assert said in str(info.value)


# --------------------------------------------------------------- tripping policies
@pytest.fixture
def tripping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An importable module of policies that break the contract in small ways."""
    _module(tmp_path, "nc_trip", TRIPPING)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    monkeypatch.delitem(sys.modules, "nc_trip", raising=False)
    return "nc_trip"


@pytest.mark.parametrize("engine", ["batched", "mesa"])
def test_undeclared_field_names_policy_and_field(tripping: str, engine: str) -> None:
    """A policy declaring observes={'active'} that reads obs.trust: named, both faces."""
    name = f"{tripping}:sneaky"
    with pytest.raises(ParameterError) as info:
        simulate(policy=name, replications=2, quarters=2, engine=engine)
    text = str(info.value)
    assert f"policy '{name}' read obs.trust" in text and "observes" in text
    with pytest.raises(ParameterError) as mesa_info:
        KAMModel(policy=name, rng=1).step()
    assert str(mesa_info.value) == text


def test_undeclared_field_in_the_cli_is_one_line(tripping: str) -> None:
    """The CLI prints the undeclared field error as one line, exit 2."""
    res = CliRunner().invoke(
        cli, ["simulate", "--policy", f"{tripping}:sneaky", "--replications", "2"]
    )
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "read obs.trust" in lines[0], res.output


def test_declared_fields_still_read_and_repr_shows_unread() -> None:
    """The fields a policy declares stay readable; repr marks the ones left out."""
    from kamsim.policies import Observation, without_unread

    z = np.zeros((1, 2))
    obs = Observation(1, np.ones((1, 2), bool), z.astype(int), z, z, z, z, z, z, z, z)
    part = without_unread(obs, (True, False, False), "mine")
    np.testing.assert_array_equal(part.potential, z)
    assert "trust=<not read>" in repr(part)
    with pytest.raises(ParameterError, match=r"policy 'mine' read obs\.trust"):
        _ = part.trust


@pytest.mark.parametrize("fn", ["flat", "as_list", "scalar", "column"])
@pytest.mark.parametrize("replications", [1, 3])
def test_ambiguous_shapes_refused_in_one_line(
    tripping: str, fn: str, replications: int
) -> None:
    """(accounts,), a flat list, a scalar or a column: refused, whatever R is."""
    name = f"{tripping}:{fn}"
    for engine in ("batched", "mesa"):
        with pytest.raises(ParameterError) as info:
            simulate(policy=name, replications=replications, quarters=2, engine=engine)
        text = str(info.value)
        assert f"policy '{name}' returned shape" in text and "\n" not in text
        rows = replications if engine == "batched" else 1  # Mesa: one market a model
        assert f"expected ({rows}, 20)" in text


def test_nested_list_of_the_right_shape_is_the_array(tripping: str) -> None:
    """A nested list of shape (replications, accounts) is taken as the array it spells."""
    kw = {"replications": 3, "quarters": 5, "seed": 4}
    listed = simulate(policy=f"{tripping}:nested", **kw)
    arrays = simulate(policy=f"{tripping}:exact", **kw)
    np.testing.assert_array_equal(listed.runs["npv"], arrays.runs["npv"])


def test_public_names_still_exported() -> None:
    """The package still exports what the README uses."""
    assert callable(kamsim.simulate) and kamsim.KAMModel is KAMModel


def test_notebook_02_shows_how_to_change_the_budget() -> None:
    """Notebook 02 runs kamsim.simulate with a budget= argument, in a code cell."""
    import json

    nb = json.loads(
        (
            Path(__file__).resolve().parents[1] / "notebooks" / "02_policy_lab.ipynb"
        ).read_text()
    )
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert any("kamsim.simulate(" in c and "budget=b" in c for c in code)


# --------------------------------------------------------------- console
def test_run_headline_is_the_reports_npv_named() -> None:
    """The console headline's NPV is NPV with terminal value, as in every report."""
    import pandas as pd

    from kamsim.cli.main import headline

    runs = simulate(n_accounts=5, policy="none", replications=20, quarters=12, seed=3).runs
    runs.insert(0, "cell", 0)
    head = headline(runs)
    assert "NPV with TV mean (k€)" in head.columns and "NPV mean" not in head.columns
    assert head["NPV with TV mean (k€)"].iloc[0] == pytest.approx(
        runs["npv_terminal"].mean()
    )
    assert runs["npv_terminal"].mean() != pytest.approx(runs["npv"].mean())
    old = runs.drop(columns=["npv_terminal"])  # results without the terminal value
    assert "NPV mean (k€)" in headline(old).columns
    assert isinstance(head, pd.DataFrame)


def test_run_prints_a_long_headline_as_best_and_worst(tmp_path: Path) -> None:
    """A run of many cells prints its best and worst cells, not every one."""
    spec = tmp_path / "many.toml"
    spec.write_text(
        'name = "many"\nreplications = 2\nquarters = 2\n[factors]\n'
        "n_accounts = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]\n"
    )
    res = CliRunner().invoke(
        cli, ["run", str(spec), "--out", str(tmp_path / "o"), "--workers", "1", "--quiet"]
    )
    assert res.exit_code == 0, res.output
    assert len(res.output.splitlines()) < 20, res.output
    assert "6 best and 6 worst of 16 cells" in res.output


def test_make_run_lists_the_reports_last() -> None:
    """`make run`'s last command lists every report.html (after all the tables)."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", "OUT=somewhere"],
        cwd=root,
        capture_output=True,
        text=True,
    )  # (a make started by make, as under `make test`, would announce its folder)
    assert dry.returncode == 0, dry.stderr
    last = [ln for ln in dry.stdout.splitlines() if ln.strip()][-1]
    assert "somewhere/*/report/report.html" in last and "validation.html" in last


def test_validate_help_examples_are_valid_facts() -> None:
    """Every `--fact X` in `kamsim validate --help` names a fact that exists."""
    import re

    from kamsim.validation.facts import FACTS

    res = CliRunner().invoke(cli, ["validate", "--help"])
    ids = re.findall(r"kamsim validate .*--fact (\S+)", res.output)
    assert ids and all(i in {f.id for f in FACTS} for i in ids), ids


def test_figure_in_a_missing_folder_refused_before_simulating(tmp_path: Path) -> None:
    """`--figure /nonexistent/dir/x.png`: one line, exit 2, no folder created."""
    target = tmp_path / "nonexistent" / "dir" / "x.png"
    res = CliRunner().invoke(
        cli, ["simulate", "--replications", "3", "--figure", str(target)]
    )
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "does not exist" in lines[0] and str(target) in lines[0]
    assert not (tmp_path / "nonexistent").exists()


# --------------------------------------------------------------- reports
def _run(tmp_path: Path, spec: dict[str, object]) -> kamsim.Results:
    from kamsim.experiments import run_experiment

    return run_experiment(spec, out=tmp_path, workers=1, quiet=True)


@pytest.fixture(scope="module")
def rivals_budget(tmp_path_factory: pytest.TempPathFactory) -> tuple[kamsim.Results, Path]:
    """A spec varying rivals and budget (not a tournament), with its report."""
    from kamsim.reports.experiment import write_report

    spec = {
        "name": "rivals_and_budget",
        "replications": 6,
        "quarters": 12,
        "seed": 3,
        "factors": {
            "rivals": [0, 2],
            "budget": [50.0, 150.0],
            "policy": ["uniform", "stage_gated"],
        },
        "output": {"keep": ["runs", "quarters", "accounts", "suppliers"]},
    }
    out = tmp_path_factory.mktemp("rb")
    res = _run(out, spec)
    folder = write_report(res, out / "report", spec=spec).parent
    return res, folder


def test_tournament_section_only_for_tournaments(
    rivals_budget: tuple[kamsim.Results, Path], tmp_path: Path
) -> None:
    """Varying rivals and budget is not a tournament; crossing policies both ways is."""
    from kamsim.analysis import tournament

    res, folder = rivals_budget
    assert not tournament.is_tournament(res)
    assert "Tournament" not in (folder / "report.md").read_text()
    cross = _run(
        tmp_path,
        {
            "name": "t",
            "replications": 3,
            "quarters": 4,
            "factors": {
                "policy": ["none", "uniform"],
                "rival_policy": ["none", "uniform"],
                "rivals": [1],
            },
            "output": {"keep": ["runs", "suppliers"]},
        },
    )
    assert tournament.is_tournament(cross)


def test_two_level_factors_are_categories(
    rivals_budget: tuple[kamsim.Results, Path],
) -> None:
    """Rivals = [0, 2] and budget = [50, 150] are drawn as categories, not on a 0-2 axis."""
    from kamsim.experiments.design import Design

    res, folder = rivals_budget
    d = Design.from_runs(res.runs, {"factors": {"rivals": [0, 2], "budget": [50.0, 150.0]}})
    assert not d.is_numeric("rivals") and not d.is_numeric("budget")
    assert d.layout().x == "policy"
    three = Design.from_runs(
        res.runs.assign(rivals=res.runs["rivals"].map({0: 0, 2: 1}).where(
            res.runs["budget"] < 100, 2)),
        {"factors": {"rivals": [0, 1, 2]}},
    )  # fmt: skip
    assert three.is_numeric("rivals")
    import json

    data = json.loads((folder / "report.json").read_text())
    effects = next(f for f in data["figures"] if f["file"] == "main_effects.png")
    rivals_panel = next(
        p for p in effects["panels"] if p["title"] == "main effect of rivals"
    )
    assert rivals_panel["cells"] == [{"rivals": "0"}, {"rivals": "2"}]


def test_report_tables_readable(rivals_budget: tuple[kamsim.Results, Path]) -> None:
    """Human title, exits as a pivot, zero columns left out, % shares, explained columns."""
    _, folder = rivals_budget
    md = (folder / "report.md").read_text()
    assert md.startswith("# Rivals and budget\n")
    assert "<title>Rivals and budget</title>" in (folder / "report.html").read_text()
    exits = md.split("### Exits by cause")[1].split("###")[0]
    header = next(ln for ln in exits.splitlines() if ln.startswith("|"))
    assert "switched" in header and "all causes" in header and "| cause |" not in header
    assert sum(ln.startswith("| ") for ln in exits.splitlines()) == 1 + 8  # 8 cells
    dep = md.split("### Account-side dependency")[1].split("###")[0]
    assert "account_disruption_cost" not in dep.splitlines()[2]
    assert "Left out, 0 in every row: account_disruption_cost" in dep
    assert "top fifth's share of profit (%)" in md and "top_fifth_profit_share |" not in md
    assert "variance_reduction: how many times smaller" in md
    assert 'class="wide"' in (folder / "report.html").read_text()


def test_whale_curves_cut_at_a_readable_scale() -> None:
    """A whale curve peaking at 1 000 % is cut at the cap and the panel says so."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from kamsim.reports.plots import plot_whale_curve

    df = pd.DataFrame(
        {"account_share": [0.2, 0.6, 1.0], "cum_profit_share": [4.0, 10.0, 1.0]}
    )
    fig, ax = plt.subplots()
    plot_whale_curve(df, ax=ax, cap=300.0)
    assert ax.get_ylim()[1] == 300.0
    assert any("peak 1,000 %" in t.get_text() for t in ax.texts)
    plt.close(fig)


def test_human_titles() -> None:
    """snake_case experiment names become titles."""
    from kamsim.reports.formatting import human_title

    assert human_title("portfolio_size") == "Portfolio size"
    assert human_title("policy_tournament") == "Policy tournament"
    assert human_title("MyStudy_v2") == "MyStudy v2"


def test_findings_sentences_are_short(rivals_budget: tuple[kamsim.Results, Path]) -> None:
    """No Findings sentence runs past 45 words (the downside ones used to run to 50+)."""
    import json
    import re

    _, folder = rivals_budget
    for f in json.loads((folder / "report.json").read_text())["findings"]:
        for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z(])", f["text"]):
            assert len(sentence.split()) <= 45, sentence
