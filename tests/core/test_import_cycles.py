"""No import loops among the core's modules, counting every import the source names: at the top,
inside a function, or under ``if TYPE_CHECKING:``. A loop hidden by a late or type-only import
is still a loop: a type in the wrong room."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "realdream"


def module_name(path: Path) -> str:
    return "realdream" if path.stem == "__init__" else f"realdream.{path.stem}"


def imported(source: str, package: Path) -> set[str]:
    """Every ``realdream`` module ``source`` imports, wherever the import statement stands.

    ``from realdream import contract`` names the module ``realdream.contract``; a name that is
    not a module (``from realdream import Client``) names the package's front door.
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("realdream")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "realdream":
                found |= {_from_package(alias.name, package) for alias in node.names}
            elif node.module.startswith("realdream."):
                found.add(node.module)
    return found


def _from_package(name: str, package: Path) -> str:
    is_module = (package / f"{name}.py").is_file() or (package / name).is_dir()
    return f"realdream.{name}" if is_module else "realdream"


def graph(package: Path) -> dict[str, set[str]]:
    """The core's modules (``realdream/*.py``) and which of them each one imports."""
    modules = {module_name(path): path for path in sorted(package.glob("*.py"))}
    return {
        name: imported(path.read_text(encoding="utf-8"), package) & set(modules)
        for name, path in modules.items()
    }


def cycles(edges: Mapping[str, set[str]]) -> set[tuple[str, ...]]:
    """Every strongly connected group of two or more modules (or a module importing itself),
    as a sorted tuple (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: set[tuple[str, ...]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = [stack.pop()]
            while group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1 or node in edges.get(node, ()):
                found.add(tuple(sorted(group)))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_core_has_no_import_loop_at_all() -> None:
    """``RealDreamError.request`` is typed by a shape below the tree (``realdream._sent``), not
    by ``realdream._params``, which raises ``ValidationError`` from the tree."""
    edges = graph(CORE)
    edges.pop("realdream")  # the front door imports everything; nothing in the core imports it
    assert "realdream" not in set().union(*edges.values()), "a core module imports the package"
    assert sorted(cycles(edges)) == []


# --- the finder finds what it must ---------------------------------------------------------------
def test_a_function_local_or_type_only_import_closes_a_loop() -> None:
    late = "def f():\n    from realdream._b import X\n"
    typed = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from realdream._a import Y\n"
    edges = {
        "realdream._a": imported(late, CORE),
        "realdream._b": imported(typed, CORE),
        "realdream._c": imported("from realdream import contract\n", CORE),
    }
    assert cycles(edges) == {("realdream._a", "realdream._b")}
    assert edges["realdream._c"] == {"realdream.contract"}


def test_a_name_from_the_front_door_is_an_import_of_the_package() -> None:
    assert imported("from realdream import Client, contract\n", CORE) == {
        "realdream",
        "realdream.contract",
    }


def test_a_longer_loop_and_a_self_import_are_found() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d"}, "e": {"a"}}
    assert cycles(edges) == {("a", "b", "c"), ("d",)}
