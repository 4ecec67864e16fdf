"""The package's layers: the core knows nothing of xarray or dask, the NumPy/dask layer and the
training pieces (``varda.training``) nothing of xarray, the writers (``varda.io``) nothing of the
xarray layer, provenance nothing of either; no module imports one that imports it back (at any
depth, counting imports made inside functions), and no subpackage does either."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Callable

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every varda module → the varda modules and top-level packages it imports."""
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        out: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                out.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                out.add(base)
                out.update(f"{base}.{a.name}" for a in node.names)
        graph[name] = out
    return graph


GRAPH = _imports()
MODULES = set(GRAPH)


def _varda_deps(name: str) -> set[str]:
    return {m for m in GRAPH[name] if m in MODULES and m != name}


@pytest.mark.parametrize("layer, forbidden", [("varda.core", ("xarray", "dask", "distributed",
                                                              "varda.array", "varda.xr",
                                                              "varda.io", "varda.cli")),
                                              ("varda.array", ("xarray", "varda.xr",
                                                               "varda.cli", "varda.training")),
                                              ("varda.training", ("xarray", "varda.xr",
                                                                  "varda.io", "varda.cli")),
                                              ("varda.io", ("varda.xr", "varda.cli",
                                                            "varda.training")),
                                              ("varda.provenance", ("xarray", "varda.xr",
                                                                    "varda.io", "varda.cli"))])
def test_lower_layers_do_not_import_upper_ones(layer, forbidden):
    bad = sorted(f"{m} imports {i}" for m, deps in GRAPH.items() if m.startswith(layer)
                 for i in deps if any(i == f or i.startswith(f + ".") for f in forbidden))
    assert not bad, bad


def _cycles(nodes: "set[str]", edges: "Callable[[str], set[str]]") -> list[list[str]]:
    """Tarjan's strongly connected components of more than one node."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for m in sorted(nodes):
        if m not in index:
            visit(m)
    return cycles


def test_no_import_cycles():
    """No cycle in the module graph (package __init__ files re-export their modules, so edges
    into a package's own __init__ from inside it are not cycles of substance and are left
    out)."""
    def edges(m: str) -> set[str]:
        return {d for d in _varda_deps(m) if not m.startswith(d + ".")}

    cycles = _cycles(MODULES, edges)
    assert not cycles, cycles


def _package(module: str) -> str:
    """``varda.xr.fill`` → ``varda.xr``; top-level modules (``varda.metrics``) are their own."""
    return ".".join(module.split(".")[:2])


def test_no_package_cycles():
    """No cycle between subpackages either (``varda.io`` → ``varda.xr`` → ``varda.io`` through
    different modules is a cycle here, though not in the module graph)."""
    graph: dict[str, set[str]] = {}
    for m in MODULES:
        graph.setdefault(_package(m), set()).update(
            _package(d) for d in _varda_deps(m) if _package(d) != _package(m))
    cycles = _cycles(set(graph), lambda p: graph.get(p, set()))
    assert not cycles, cycles


def test_the_package_cycle_check_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(set(graph), graph.__getitem__) == [["a", "b", "c"]]
