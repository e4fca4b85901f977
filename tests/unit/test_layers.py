"""Imports only go down: no cycle between sync's packages and top-level modules, and the
layers of docs/architecture.md ("Where the code lives") hold.

Every ``import sync.x`` and ``from sync.x import ...`` counts, at module level or inside a
function (a deferred import is still a dependency), as an edge from the package or top-level
module it is written in (``sync.store`` for ``sync/store/apply.py``) to the one it names.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import sync

ROOT = Path(sync.__file__).parent
TABLE = ROOT.parent / "docs" / "architecture.md"

#: The layers, bottom first, as docs/architecture.md lists them: a unit imports only from its
#: own layer and the ones before it. A new package or module is placed here and in the table.
LAYERS: list[set[str]] = [
    {"sync.events", "sync.sources", "sync.mapping", "sync.merge", "sync.policy", "sync.emitted",
     "sync.matching", "sync.identifiers", "sync.geo", "sync.professions", "sync.cloudevents",
     "sync.jsontext", "sync.csvheader", "sync.errors", "sync.failures", "sync.settings",
     "sync.startup"},
    {"sync.observability"},
    {"sync.retry", "sync.store", "sync.producers", "sync.consumers", "sync.ingest",
     "sync.supervise"},
    {"sync.ops", "sync.search"},
    {"sync.web", "sync.console", "sync.providers"},
    {"sync.app"},
    {"sync.cli"},
]


def _unit(dotted: str) -> str:
    """``sync.store.apply`` -> ``sync.store``; ``sync.app`` stays itself."""
    return ".".join(dotted.split(".")[:2])


def _imported(tree: ast.AST) -> Iterator[tuple[str, int]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "sync":  # from sync import policy
                yield from ((f"sync.{alias.name}", node.lineno) for alias in node.names)
            else:
                yield node.module, node.lineno


def package_graph(root: Path = ROOT) -> dict[str, dict[str, str]]:
    """Unit -> unit it imports -> where (file:line, the first such import found)."""
    graph: dict[str, dict[str, str]] = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        source = _unit(".".join(part for part in parts if part != "__init__"))
        edges = graph.setdefault(source, {})
        for name, line in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            target = _unit(name)
            if target.startswith("sync.") and target != source:
                edges.setdefault(target, f"{path.relative_to(root.parent)}:{line}")
    return graph


def find_cycle(graph: dict[str, dict[str, str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None (depth-first search, three colours)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(unit: str) -> list[str] | None:
        state[unit] = 1
        path.append(unit)
        for target in sorted(graph.get(unit, {})):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[unit] = 2
        return None

    for unit in sorted(graph):
        if unit not in state and (cycle := visit(unit)) is not None:
            return cycle
    return None


def _explain(graph: dict[str, dict[str, str]], cycle: list[str]) -> str:
    return "\n".join(f"  {a} -> {b}  ({graph[a][b]})" for a, b in pairwise(cycle))


def test_no_cycle_between_sync_packages() -> None:
    graph = package_graph()
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle between packages:\n" + _explain(graph, cycle or [])


def test_imports_only_go_down_the_layers() -> None:
    graph = package_graph()
    layer = {unit: n for n, units in enumerate(LAYERS) for unit in units}
    assert sorted(set(graph) - set(layer) - {"sync"}) == [], "a unit not placed in LAYERS"
    upward = [f"{source} -> {target}  ({where})" for source, edges in graph.items()
              if source != "sync" for target, where in edges.items()
              if layer[target] > layer[source]]
    assert upward == [], "imports up the layers:\n" + "\n".join(upward)


def test_the_table_names_every_package_and_module() -> None:
    table = TABLE.read_text(encoding="utf-8").split("## Where the code lives")[1]
    table = table.split("\n## ")[0]
    for unit in sorted(set().union(*LAYERS)):
        folder = unit.replace(".", "/")
        assert f"`{folder}/`" in table or f"`{folder}.py`" in table, unit


def test_the_ends_of_the_layering() -> None:
    """Observability imports nothing of the service; nothing imports the CLI."""
    graph = package_graph()
    assert set(graph["sync.observability"]) == set()
    assert [unit for unit, edges in graph.items() if "sync.cli" in edges] == []
    assert "sync.cli" not in graph["sync.ops"]
    assert "sync.app" not in graph["sync.ops"]


def test_a_cycle_is_found_and_named(tmp_path: Path) -> None:
    """The check can fail: a package tree with an upward import is reported with its lines."""
    root = tmp_path / "sync"
    for name, text in {"__init__.py": "", "low/__init__.py": "",
                       "low/a.py": "def f():\n    from sync.high import b\n",
                       "high/__init__.py": "", "high/b.py": "from sync.low import a\n",
                       "top.py": "import sync.high.b\n"}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    graph = package_graph(root)
    cycle = find_cycle(graph)
    assert cycle == ["sync.high", "sync.low", "sync.high"]
    assert _explain(graph, cycle) == ("  sync.high -> sync.low  (sync/high/b.py:1)\n"
                                      "  sync.low -> sync.high  (sync/low/a.py:2)")
    assert find_cycle({"sync.top": {"sync.high": "x"}, "sync.high": {}}) is None
