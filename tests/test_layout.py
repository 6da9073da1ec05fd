"""Source layout: no import cycles between the modules of ``src/paritykit``, and no module below
the front-ends importing one of them.

The import graph is read with :mod:`ast` only (nothing of the package is imported, so this runs
in well under a second): every ``import paritykit...`` / ``from paritykit... import ...`` in a
module, at module level or inside functions, is an edge; ``from paritykit.pkg import name`` is an
edge to ``paritykit.pkg.name`` when that is a module or package. Left out:

* imports under ``if TYPE_CHECKING:`` (never executed);
* edges into the top-level package ``paritykit`` itself: its ``__init__`` re-exports names lazily
  (PEP 562 ``__getattr__``), so importing it imports no submodule;
* the implicit import of a module's parent packages (``import paritykit.a.b`` runs
  ``paritykit/a/__init__.py``), which would make every package whose ``__init__`` imports its own
  submodules look cyclic.

A cycle is a strongly connected component of more than one module, or a module importing itself.
"""

from __future__ import annotations

import ast
import pathlib
import time

SRC = pathlib.Path(__file__).resolve().parents[1] / "src"
PACKAGE = "paritykit"

# Cycles tolerated for now, each as the set of modules of its strongly connected component. Only
# cycles that run through modules another change owns at the moment belong here; remove an entry
# as soon as its cycle is gone (the test fails on a stale entry too).
KNOWN_CYCLES: set[frozenset[str]] = set()


def _module_files() -> dict[str, pathlib.Path]:
    modules = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, except those in the body of ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _edges(name: str, path: pathlib.Path, modules: dict[str, pathlib.Path]) -> set[str]:
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        if node.level:  # relative: resolve against this module's package
            base = name.split(".")
            if not is_package:
                base = base[:-1]
            base = base[:len(base) - (node.level - 1)]
            source = ".".join([*base, *([node.module] if node.module else [])])
        else:
            source = node.module or ""
        for alias in node.names:
            submodule = f"{source}.{alias.name}"
            # ``from pkg import sub`` needs only ``sub`` (its parent runs implicitly, see above);
            # ``from pkg import name`` needs ``pkg/__init__.py`` itself.
            targets.add(submodule if submodule in modules else source)
    # Only modules of the package; the package itself re-exports lazily (see the docstring).
    return {t for t in targets if t in modules and t != PACKAGE}


def import_graph() -> dict[str, set[str]]:
    modules = _module_files()
    return {name: _edges(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with a cycle (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[frozenset[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(frozenset(component))
    return found


def _describe(component: frozenset[str], graph: dict[str, set[str]]) -> str:
    edges = [f"{a} -> {b}" for a in sorted(component) for b in sorted(graph[a] & component)]
    return f"{{{', '.join(sorted(component))}}}: {'; '.join(edges)}"


def test_no_import_cycles() -> None:
    start = time.perf_counter()
    graph = import_graph()
    found = cycles(graph)
    assert time.perf_counter() - start < 2.0
    new = [c for c in found if c not in KNOWN_CYCLES]
    assert not new, "import cycles in src/paritykit:\n" + "\n".join(
        _describe(c, graph) for c in sorted(new, key=sorted))
    stale = KNOWN_CYCLES - set(found)
    assert not stale, "KNOWN_CYCLES lists cycles that are gone; remove them:\n" + "\n".join(
        ", ".join(sorted(c)) for c in stale)


#: Each package's layer; a module may import its own layer and those below, never above. The
#: front-ends (one route each) share layer 3 but do not import one another.
LAYERS = {
    "core": 0, "files": 0,               # the vocabulary and the on-disk formats
    "backends": 1, "models": 1, "suite": 1,
    "run": 2,                            # plan, attempt, worker, pool, cache, session
    "golden": 3, "merge": 3, "bench": 3, "evaluate": 3, "jsontests": 3, "autodiff": 3, "reports": 3,
    "cli": 4, "pytest": 4,               # the entry points
}
FRONT_END = 3


def _head(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def _layer(module: str) -> int:
    """The layer of ``module`` (``paritykit/__init__`` re-exports lazily: it sits on top)."""
    return LAYERS.get(_head(module), 5)


def test_every_package_has_a_layer() -> None:
    heads = {_head(m) for m in import_graph()} - {""}
    assert heads <= set(LAYERS), f"packages without a layer: {sorted(heads - set(LAYERS))}"


def test_no_module_imports_a_layer_above_it() -> None:
    graph = import_graph()
    upward = sorted(f"{m} -> {d}" for m, deps in graph.items() for d in deps
                    if _layer(d) > _layer(m))
    assert not upward, "modules importing a layer above their own:\n" + "\n".join(upward)


def test_front_ends_do_not_import_one_another() -> None:
    graph = import_graph()
    across = sorted(f"{m} -> {d}" for m, deps in graph.items() for d in deps
                    if _layer(m) == _layer(d) == FRONT_END and _head(m) != _head(d))
    assert not across, "front-ends importing another front-end:\n" + "\n".join(across)


def test_layers_are_what_they_say() -> None:
    assert [_layer(m) for m in ("paritykit.core.result", "paritykit.files.bench",
                                "paritykit.backends.iree", "paritykit.run.attempt",
                                "paritykit.golden", "paritykit.cli.eval",
                                "paritykit.pytest.items")] == [0, 0, 1, 2, 3, 4, 4]


def test_graph_sees_imports() -> None:
    """The scanner finds what it must: function-level imports, submodules named by ``from``."""
    graph = import_graph()
    assert "paritykit.cli.eval" in graph["paritykit.cli.main"]       # from paritykit.cli import …
    assert "paritykit.cli.jsontests" in graph["paritykit.cli.main"]  # inside build_parser
    assert "paritykit.core.errors" in graph["paritykit.models.spec"]
    assert all(PACKAGE not in targets for targets in graph.values())


def test_cycles_finds_components() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}, "f": {"d"}}
    assert sorted(cycles(graph), key=sorted) == [frozenset("abc"), frozenset("e")]
