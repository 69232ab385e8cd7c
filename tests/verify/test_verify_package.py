"""The prober's package: rooms of one concept each under 400 lines, no import loop through it
(function-local and type-only imports included), and ``realdream.verify`` stays the function
whichever of its modules is imported first."""

from __future__ import annotations

import ast
import functools
import re
import subprocess
import sys
from pathlib import Path

import pytest

import realdream

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "realdream" / "verify"
#: Where the prober's imports may lead: the core, the test kit it once imported, the CLI.
SCANNED = tuple(f"realdream/{folder}*.py" for folder in ("", "verify/", "testing/", "cli/"))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for pattern in SCANNED for path in ROOT.glob(pattern)}


def _imports(tree: ast.AST, modules: dict[str, Path]) -> set[str]:
    """Every module ``tree`` imports anywhere (in functions and ``TYPE_CHECKING`` blocks too)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in modules else node.module)
    return {name for name in found if name in modules}


def _lazy_targets(tree: ast.AST) -> set[str]:
    """The modules ``realdream/__init__.py``'s lazy table loads on first use."""
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.startswith("realdream.")
    }


@functools.cache  # parsed once per run: five tests read it, none changes it
def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        edges = _imports(tree, modules)
        if name == "realdream":
            edges |= _lazy_targets(tree) & set(modules)
        graph[name] = edges - {name}
    return graph


def _cycles_through(graph: dict[str, set[str]], prefix: str) -> list[list[str]]:
    """Every import path from a module under ``prefix`` back to itself."""
    cycles = []
    for start in sorted(n for n in graph if n.startswith(prefix)):
        stack = [(start, [start])]
        seen: set[str] = set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    cycles.append([*path, start])
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    return cycles


def test_the_graph_sees_the_lazy_table_and_function_local_imports() -> None:
    graph = _graph()
    assert "realdream.verify._api" in graph["realdream"]  # through the lazy table
    assert "realdream.verify._probes" in graph["realdream"]
    assert "realdream.verify._runner" in graph["realdream.verify._api"]


@pytest.mark.parametrize(
    "prefix", ["realdream.verify", "realdream.testing.cassettes", "realdream.testing._live"]
)
def test_no_import_loop_runs_through_the_prober_or_the_test_kits_cap(prefix: str) -> None:
    assert _cycles_through(_graph(), prefix) == []


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_every_module_is_under_400_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) < 400


@pytest.mark.parametrize(
    "first", ["realdream.verify._rows", "realdream.verify._report", "realdream.verify"]
)
def test_realdream_verify_stays_the_function_whichever_module_loads_first(first: str) -> None:
    code = (
        f"import importlib; importlib.import_module({first!r})\n"
        "import realdream\n"
        "from realdream import VerifyRow, verify\n"
        "assert callable(realdream.verify) and verify is realdream.verify, realdream.verify\n"
        "assert verify.__module__ == 'realdream.verify._api', verify.__module__\n"
        "assert VerifyRow.__module__ == 'realdream.verify._rows'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_the_public_names_are_the_packages_objects() -> None:
    from realdream.verify import _api, _probes, _report, _rows

    assert realdream.verify is _api.verify
    assert realdream.averify is _api.averify
    assert realdream.VerifyReport is _report.VerifyReport
    assert realdream.VerifyRow is _rows.VerifyRow
    assert realdream.DEFAULT_VERIFY_MAX_COST == _probes.DEFAULT_VERIFY_MAX_COST == 0.01


def test_each_module_imports_only_those_the_package_map_lists_before_it() -> None:
    listed = re.findall(r"^- (.+?): ", (PACKAGE / "__init__.py").read_text(), re.M)
    order = [name.strip("`") for line in listed for name in line.split(", ")]
    assert sorted(order) == sorted(p.stem for p in PACKAGE.glob("_*.py") if p.stem != "__init__")
    graph = _graph()
    for index, name in enumerate(order):
        imported = graph[f"realdream.verify.{name}"]
        inside = {m.rsplit(".", 1)[1] for m in imported if m.startswith("realdream.verify._")}
        assert inside <= set(order[:index]), name
