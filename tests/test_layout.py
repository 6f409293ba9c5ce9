"""The package's layout, read from its imports: a one-way flow, and `sim/report/` the run's outputs alone.

Every `import` and `from ... import` in `sim/` counts, wherever it stands: at the top, inside
a function (imported late for start-up time) or under `TYPE_CHECKING` (a dependency all the
same, for whoever reads or moves the module). An import of `sim.a.b` is an edge to module
`sim.a.b`, not to the package `sim.a` it runs first: the packages' `__init__` files only
gather names. The top-level `sim/__init__.py` is the Python API's front door, whose names
load when first used (PEP 562): a module may reach a name through it (`sim.RunResult`), and
its own imports, for type checkers only, are not counted, or every module that does so would
be in a loop with the whole API. The few exceptions are listed below, each with its reason;
a new one is a decision to write down here, not a side effect.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sim"
FRONT_DOOR = "sim"  # the API's lazily loading names; its own imports are not edges (see above)

# Import cycles known and accepted for now, each as the exact set of modules it joins.
ALLOWED_CYCLES: dict[frozenset[str], str] = {
    frozenset({"sim.model.agents", "sim.model.market"}): (
        "type-only: each Mesa agent is annotated with the model that owns it and reads its month from; "
        "a Protocol cannot stand in, as mesa.Agent[M: Model] takes and keeps a mesa.Model subclass"
    ),
}

# Features above the run's outputs: sim/report/ must not import them.
FEATURES = ("sim.sweep", "sim.calibrate", "sim.whatif", "sim.discover", "sim.game", "sim.app")

# Report modules that still reach up into a feature, with the reason (none: each feature owns its report).
ALLOWED_REPORTS: dict[str, str] = {}


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name, for __init__.py)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imported_names(name: str, path: Path) -> set[str]:
    """The dotted names a module imports, relative imports made absolute; `from a import b`
    gives `a.b`, which is a module when b is one and otherwise resolves to `a`."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names


@cache
def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (itself excluded); read once per session."""
    known = modules()

    def resolve(dotted: str) -> str | None:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    graph: dict[str, set[str]] = {FRONT_DOOR: set()}
    for name, path in known.items():
        if name == FRONT_DOOR:
            continue
        targets = {resolve(imported) for imported in imported_names(name, path) if imported.split(".")[0] == "sim"}
        graph[name] = {target for target in targets if target is not None and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan), each an import loop."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_the_reader_sees_every_kind_of_import():
    """The graph is worth something only if late, type-only and relative imports are in it."""
    graph = import_graph()
    assert "sim.model.market" in graph["sim.model.agents"], "an import under TYPE_CHECKING"
    assert "sim.run" in graph["sim.cli"], "an import inside a function"
    assert "sim.sweep.sensitivity" in graph["sim.sweep.report"]
    assert "sim.model.developer_kernel" in graph["sim.model.developers"], "from a package import a module"
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset({"a", "b", "c"})]


def test_no_module_imports_itself_back_through_others():
    unexpected = [sorted(loop) for loop in cycles(import_graph()) if loop not in ALLOWED_CYCLES]
    assert not unexpected, f"import loops: {unexpected}; pass plain data down, or move the shared part below both"


def test_the_report_package_holds_the_runs_outputs_and_reaches_into_no_feature():
    """sim/report/ sits below the features: each feature owns its report (sim/sweep/report.py)."""

    def is_feature(module: str) -> bool:
        return any(module == feature or module.startswith(f"{feature}.") for feature in FEATURES)

    reaching_up = {
        module: sorted(filter(is_feature, targets))
        for module, targets in import_graph().items()
        if module.startswith("sim.report.") and module not in ALLOWED_REPORTS and any(map(is_feature, targets))
    }
    assert not reaching_up, f"sim/report/ imports features above it: {reaching_up}"


def test_the_public_figures_sit_below_their_users():
    """The moments of data/targets.yaml are read by calibrate, report and the command line;
    they import only the run and the scenario code."""
    graph = import_graph()
    assert graph["sim.targets"] <= {"sim.run", "sim.scenario.calendar", "sim.scenario.loading"}
    assert "sim.targets" in graph["sim.calibrate.spec"]
    assert "sim.targets" in graph["sim.report.tables"]
