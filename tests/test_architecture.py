"""The package's architecture: no import circles, layers used only downwards, short modules.

Every module of ``kamsim`` is parsed with :mod:`ast`; every import counts, also one
inside a function or under ``TYPE_CHECKING``. ``from kamsim.x import y`` loads the
module ``kamsim.x.y`` when ``y`` is a submodule, else the module ``kamsim.x`` (its
``__init__``); relative imports are resolved the same way. Importing a submodule
also runs its parent packages' ``__init__``, which Python tolerates partially
initialised, so that implicit step is not an edge.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kamsim"

#: The layers, lowest first: a module may import only from its own layer or an
#: earlier one. ``kamsim`` itself (the public names of ``__init__``) is above all.
LAYERS = (
    "kamsim._version",
    "kamsim.files",
    "kamsim.model",
    "kamsim.portfolio",
    "kamsim.policies",
    "kamsim.agents",
    "kamsim.engine",
    "kamsim.experiments",
    "kamsim.analysis",
    "kamsim.reports",
    "kamsim.sensitivity",
    "kamsim.optimize",
    "kamsim.plan",
    "kamsim.validation",
    "kamsim.reporting",
    "kamsim.viz",
    "kamsim.cli",
    "kamsim.__main__",
)

MAX_LINES = 900

#: Modules allowed to exceed MAX_LINES for now, with the reason.
LONG_MODULES: dict[str, str] = {}


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    return {_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str, path: Path) -> set[str]:
    """The kamsim modules that the module ``name`` (file ``path``) imports anywhere."""
    known = modules()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "kamsim")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            if source.split(".")[0] != "kamsim":
                continue
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                out.add(sub if sub in known else source)
    unknown = out - set(known)
    assert not unknown, f"{name} imports modules that do not exist: {sorted(unknown)}"
    return out


def graph() -> dict[str, set[str]]:
    """The import graph: module -> the modules it imports (itself left out)."""
    return {m: imported(m, p) - {m} for m, p in modules().items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules (first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for t in sorted(edges.get(m, ())):
            if state.get(t) == 1:
                return [*path[path.index(t) :], t]
            if t not in state and (found := visit(t)) is not None:
                return found
        path.pop()
        state[m] = 2
        return None

    for m in sorted(edges):
        if m not in state and (found := visit(m)) is not None:
            return found
    return None


def layer(module: str) -> int:
    """Index in LAYERS of the layer holding ``module`` (len(LAYERS) for ``kamsim``)."""
    if module == "kamsim":
        return len(LAYERS)
    for i, top in enumerate(LAYERS):
        if module == top or module.startswith(top + "."):
            return i
    raise AssertionError(f"{module} belongs to no layer of LAYERS")


def test_graph_resolves_every_kind_of_import() -> None:
    """The graph sees imports of packages and submodules, inside functions, and cycles."""
    edges = graph()
    assert "kamsim.engine.batch" in edges["kamsim.engine"]  # a package's __init__
    assert "kamsim.model.rules" in edges["kamsim.engine.kernel"]  # from pkg import module
    assert "kamsim.reporting" in edges["kamsim.cli.main"]  # an import inside a function
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle() -> None:
    """No module of kamsim imports, directly or through others, itself."""
    cycle = find_cycle(graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_layers_import_only_downwards() -> None:
    """Every module belongs to a layer of LAYERS and imports none of a later layer."""
    upwards = [
        f"{m} -> {t}"
        for m, targets in graph().items()
        for t in sorted(targets)
        if layer(t) > layer(m)
    ]
    assert not upwards, "imports from a higher layer:\n" + "\n".join(upwards)


def test_modules_are_short() -> None:
    """No module has more than MAX_LINES lines (except the listed ones, which still do)."""
    lengths = {m: len(p.read_text().splitlines()) for m, p in modules().items()}
    long = sorted(m for m, n in lengths.items() if n > MAX_LINES and m not in LONG_MODULES)
    assert not long, f"modules over {MAX_LINES} lines: {long}"
    stale = sorted(m for m in LONG_MODULES if lengths.get(m, 0) <= MAX_LINES)
    assert not stale, f"no longer over {MAX_LINES} lines, drop from LONG_MODULES: {stale}"


def test_science_package_imports_nothing_eagerly() -> None:
    """kamsim/model/__init__.py holds only a docstring, so a science module loads alone."""
    tree = ast.parse((PACKAGE / "model" / "__init__.py").read_text())
    assert len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr)


#: Packages whose functions stay short enough to read like the ODD's process overview.
SHORT_FUNCTION_PACKAGES = ("kamsim.model", "kamsim.engine", "kamsim.agents")
MAX_FUNCTION_LINES = 80


def test_model_and_engine_functions_are_short() -> None:
    """No function of the model, the engine or the agents exceeds 80 lines (docstring aside)."""  # noqa: E501
    long = []
    for name, path in modules().items():
        if not name.startswith(SHORT_FUNCTION_PACKAGES):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            body = node.body
            doc = ast.get_docstring(node) is not None
            start = body[1].lineno if doc and len(body) > 1 else body[0].lineno
            lines = body[-1].end_lineno - start + 1  # type: ignore[operator]
            if lines > MAX_FUNCTION_LINES:
                long.append(f"{name}.{node.name} ({lines})")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"
