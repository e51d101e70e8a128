"""wsync's imports go one way: no circle among its modules, none among its packages, and each
package imports only the layers below it, as docs/architecture.md draws them.

The graph is read from the source with `ast`, never by importing it, and every import counts,
wherever it is written: at module level, inside a function, or under `if TYPE_CHECKING:`. An
import deferred into a function, or kept for type checking only, is still a dependency (deferring
one is how a circle hides); without a circle even among those, no module ever sees another
half-initialised either, whatever is imported first.

`from wsync.store import errors` depends on the module `wsync.store.errors`, not on the package's
`__init__` (which re-exports it): a package importing its own submodules is no circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import wsync

ROOT = Path(wsync.__file__).resolve().parent
WHERE = ("module", "function", "type_checking")


def module_names() -> dict[str, Path]:
    """Every module of the package, by dotted name (a package by its own name)."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = ["wsync", *path.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = module_names()


def _resolve(name: str) -> str | None:
    """The wsync module a dotted name is, or is in (a class, a function); None outside wsync."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(module: str) -> list[tuple[str, str]]:
    """(imported wsync module, where the import is written: module | function | type_checking)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, str]] = []

    def targets(node: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join(anchor + ([node.module] if node.module else []))
        # `from a import b`: the submodule a.b when there is one, else a itself.
        return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]

    def visit(node: ast.AST, where: str) -> None:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for name in targets(node):
                target = _resolve(name)
                if target is not None and target != module:
                    found.append((target, where))
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            where = "function"
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, "type_checking" if where == "module" else where)
            for child in node.orelse:
                visit(child, where)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, where)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), "module")
    return found


def package_of(module: str) -> str:
    """`wsync.sync.phases.products` -> `wsync.sync`; a top-level module is its own package."""
    parts = module.split(".")
    return ".".join(parts[:2])


def module_graph() -> dict[str, set[str]]:
    return {m: {t for t, _ in imports_of(m)} for m in MODULES}


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {package_of(m): set() for m in MODULES}
    for module, targets in module_graph().items():
        for target in targets:
            if package_of(target) != package_of(module):
                graph[package_of(module)].add(package_of(target))
    return graph


# docs/architecture.md's diagram, top to bottom: a package imports only packages on lower lines.
LAYERS = [
    {"wsync.__main__"},
    {"wsync.cli"},
    {"wsync.demo"},
    {"wsync.jobs"},
    {"wsync.config"},
    {"wsync.sync", "wsync.sandbox"},
    {"wsync.feeds"},
    {"wsync.store", "wsync.ledger", "wsync.mapping"},
    {"wsync.catalogue", "wsync.logfile"},
    {"wsync.errors", "wsync.redact", "wsync"},
]


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of the graph (its nodes in order, the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state:
                cycle = walk(nxt)
                if cycle:
                    return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = walk(node)
            if cycle:
                return cycle
    return None


def test_the_graph_is_read_from_every_module():
    assert {"wsync.sync.engine", "wsync.cli.sync_cmd", "wsync.demo", "wsync.store.client"} <= set(MODULES)
    # The reader sees each kind of import it tells apart.
    runner = imports_of("wsync.jobs.runner")
    assert ("wsync.ledger.jobs", "module") in runner
    assert ("wsync.sync.engine", "function") in runner
    assert ("wsync.config", "type_checking") in runner


def test_no_circle_among_modules():
    cycle = find_cycle(module_graph())
    assert cycle is None, "modules import each other: " + " -> ".join(cycle or [])


def test_no_circle_among_packages():
    cycle = find_cycle(package_graph())
    assert cycle is None, "packages import each other: " + " -> ".join(cycle or [])


def test_each_package_imports_only_the_layers_below_it():
    layer_of = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}
    graph = package_graph()
    assert set(graph) == set(layer_of), "a package is missing from LAYERS (and from docs/architecture.md)"
    upward = sorted(f"{pkg} -> {dep}" for pkg, deps in graph.items() for dep in deps
                    if layer_of[dep] <= layer_of[pkg])
    assert not upward, "imports against the layers: " + ", ".join(upward)
