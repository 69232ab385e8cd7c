"""The mock's modules form no import loop, not even one hidden in a function body or behind
``TYPE_CHECKING``, and each stays under 400 lines (one concept a module)."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import realdream.mock as mocks

PACKAGE = "realdream.mock"
FOLDER = Path(mocks.__file__).resolve().parent
#: ``python -m mocks`` in a checkout: the same modules under the folder's own name.
ALIASES = ("mocks",)
MAX_LINES = 400


def module_name(path: Path) -> str:
    return PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"


def sources() -> dict[str, str]:
    return {module_name(path): path.read_text() for path in sorted(FOLDER.glob("*.py"))}


def imported(module: str, source: str, known: set[str]) -> Iterator[str]:
    """Every module of ``known`` that ``source`` imports, wherever the import statement is: at
    the top, inside a function, or under ``if TYPE_CHECKING:``."""
    is_package = module == PACKAGE
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _known(_canonical(alias.name), known)
        elif isinstance(node, ast.ImportFrom):
            base = _base(module, node, is_package)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield from _known(submodule if submodule in known else base, known)


def _base(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return _canonical(node.module or "")
    parts = module.split(".")
    anchor = parts if is_package else parts[:-1]
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join([*anchor, *([node.module] if node.module else [])])


def _canonical(name: str) -> str:
    for alias in ALIASES:
        if name == alias or name.startswith(alias + "."):
            return PACKAGE + name[len(alias) :]
    return name


def _known(name: str, known: set[str]) -> Iterator[str]:
    if name in known:
        yield name


def import_graph(modules: Mapping[str, str]) -> dict[str, set[str]]:
    known = set(modules)
    return {name: set(imported(name, source, known)) - {name} for name, source in modules.items()}


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (each holds an import loop)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_mock_has_no_import_loop() -> None:
    graph = import_graph(sources())
    assert len(graph) > 20  # every module was read
    assert cycles(graph) == []


def test_only_the_package_front_door_imports_from_the_package() -> None:
    """A module that imported ``realdream.mock`` itself would loop through ``__init__``."""
    graph = import_graph(sources())
    assert {name for name, targets in graph.items() if PACKAGE in targets} == set()


@pytest.mark.parametrize(
    "where",
    [
        "from realdream.mock._b import B\n",
        "def f():\n    from realdream.mock._b import B\n",
        "import typing\nif typing.TYPE_CHECKING:\n    from realdream.mock._b import B\n",
        "def f():\n    from realdream.mock import _b\n",
        "import realdream.mock._b\n",
        "from mocks._b import B\n",
        "from ._b import B\n",
    ],
    ids=["top", "function-local", "type-checking", "submodule", "import", "alias", "relative"],
)
def test_a_loop_is_found_however_the_import_is_hidden(where: str) -> None:
    modules = {
        PACKAGE: "",
        f"{PACKAGE}._a": where,
        f"{PACKAGE}._b": "from realdream.mock._a import A\n",
        f"{PACKAGE}._c": "from realdream.mock._b import B\n",
    }
    assert cycles(import_graph(modules)) == [[f"{PACKAGE}._a", f"{PACKAGE}._b"]]


def test_no_loop_is_found_where_there_is_none() -> None:
    modules = {
        PACKAGE: "from realdream.mock._a import A\nfrom realdream.mock._b import B\n",
        f"{PACKAGE}._a": "from realdream.mock._b import B\nimport json\n",
        f"{PACKAGE}._b": "from realdream import contract\n",
    }
    assert cycles(import_graph(modules)) == []


@pytest.mark.parametrize("path", sorted(FOLDER.glob("*.py")), ids=lambda path: path.name)
def test_every_module_is_under_400_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) < MAX_LINES
