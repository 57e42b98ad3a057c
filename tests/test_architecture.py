"""The layout's rules (docs/architecture.md), read from the code's own imports with ``ast``.

Every import counts, also one inside a function or under ``TYPE_CHECKING``: an import is a
dependency wherever it stands. Nothing is imported or run; the tests read the source files.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tracker import PROJECT_ROOT

PACKAGE = "tracker"

# Bottom to top. A module may import modules of its own layer and of the layers below it, never
# above: the web knows the services, the services know the workflow, the workflow knows the
# models, and nothing looks back up. A module belongs to the longest prefix that names it; the
# package itself (its ``__init__``, the app factory) is named exactly, so a new module of the
# package's top level must be given its layer here.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "foundation",
        (
            "tracker.config",
            "tracker.extensions",
            "tracker.states",
            "tracker.model_types",
            "tracker.formatting",
            "tracker.parsing",
            "tracker.wording",
        ),
    ),
    (
        "models",
        (
            "tracker.models",
            "tracker.ops_models",
            "tracker.teamwork_models",
            "tracker.monitoring_models",
            "tracker.activity_models",
            "tracker.open311_models",
            "tracker.summary_models",
        ),
    ),
    ("workflow", ("tracker.workflow", "tracker.effects", "tracker.fieldwork")),
    (
        "services",
        (
            "tracker.finding",
            "tracker.reporting",
            "tracker.background",
            "tracker.safeguards",
            "tracker.city",
            "tracker.open311",
        ),
    ),
    ("web", ("tracker.blueprints", "tracker.cli", "tracker")),
)
MAX_LINES = 400


def module_files(root: Path = PROJECT_ROOT) -> dict[str, Path]:
    found = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> tuple[set[str], set[str]]:
    """(modules of the package that ``name`` imports, top-level names of outside packages)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    inner: set[str] = set()
    outer: set[str] = set()

    def add(target: str) -> None:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            inner.add(target)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.partition(".")[0]
                add(alias.name) if top == PACKAGE else outer.add(top)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.partition(".")[0] != PACKAGE:
                outer.add(source.partition(".")[0])
                continue
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                add(submodule if submodule in known else source)
    return inner, outer


def import_graph(root: Path = PROJECT_ROOT) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    files = module_files(root)
    graph, outside = {}, {}
    for name, path in files.items():
        graph[name], outside[name] = imports_of(name, path, set(files))
    return graph, outside


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_of(module: str) -> int | None:
    best, best_length = None, -1
    for level, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            covers = module == prefix or (prefix != PACKAGE and module.startswith(prefix + "."))
            if covers and len(prefix) > best_length:
                best, best_length = level, len(prefix)
    return best


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{source} ({LAYERS[layer_of(source)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for source, targets in graph.items()
        for target in targets
        if layer_of(target) > layer_of(source)
    )


def reach(graph: dict[str, set[str]], start: str) -> set[str]:
    """What ``start`` reaches through its imports; the package's own ``__init__`` (the app
    factory, which imports everything) is left out, as importing any module runs it anyway."""
    seen, todo = {start}, [start]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target != PACKAGE and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


@pytest.fixture(scope="module")
def graph_and_outside():
    return import_graph()


def test_the_reader_sees_the_imports_the_code_has(graph_and_outside):
    graph, outside = graph_and_outside
    assert "tracker.effects.support" in graph["tracker.workflow"]  # from .effects.support import ...
    assert "tracker.effects.events" in graph["tracker.workflow"]  # from .effects import events
    assert "tracker.background.notifications" in graph[PACKAGE]  # an import inside a function
    assert "flask" in outside["tracker.blueprints.field"]
    assert "sqlalchemy" in outside["tracker.models"]


def test_a_top_level_module_without_a_layer_is_not_taken_for_the_app_factory():
    assert layer_of("tracker.somewhere_new") is None
    assert layer_of("tracker.finding.somewhere_new") == layer_of("tracker.finding")
    assert LAYERS[layer_of(PACKAGE)][0] == "web"


def test_the_rules_catch_an_upward_import_and_a_circle():
    graph = {"tracker.models": {"tracker.finding.search"}, "tracker.finding.search": {"tracker.models"}}
    assert upward_imports(graph) == [
        "tracker.models (models) imports tracker.finding.search (services)",
    ]
    assert circles(graph) == [["tracker.finding.search", "tracker.models"]]


def test_every_module_stands_in_a_layer(graph_and_outside):
    graph, _ = graph_and_outside
    assert [name for name in graph if layer_of(name) is None] == []
    assert {layer_of(name) for name in graph} == set(range(len(LAYERS)))


def test_no_import_circles(graph_and_outside):
    graph, _ = graph_and_outside
    assert circles(graph) == []


def test_layers_only_point_down(graph_and_outside):
    graph, _ = graph_and_outside
    assert upward_imports(graph) == []


def test_nothing_the_workflow_reaches_imports_flask(graph_and_outside):
    graph, outside = graph_and_outside
    reached = reach(graph, "tracker.workflow")
    assert {"tracker.effects.support", "tracker.models", "tracker.formatting"} <= reached
    assert sorted(name for name in reached if "flask" in outside[name]) == []


def test_no_file_in_tracker_is_past_the_house_limit():
    too_long = {
        str(path.relative_to(PROJECT_ROOT)): length
        for path in (PROJECT_ROOT / PACKAGE).rglob("*.py")
        if (length := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_long == {}


def test_every_sub_package_says_what_belongs_there_and_what_it_may_import():
    for init in sorted((PROJECT_ROOT / PACKAGE).glob("*/__init__.py")):
        tree = ast.parse(init.read_text(encoding="utf-8"))
        docstring = ast.get_docstring(tree) or ""
        assert "Belongs here" in docstring or "belongs here" in docstring, init
        assert "May import" in docstring, init
        assert not any(isinstance(node, ast.Import | ast.ImportFrom) for node in tree.body), init
