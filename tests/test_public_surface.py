"""Every package's front door: curated, sorted ``__all__``, and no package reaching into
another's private modules (the mock, demo, CLI, test kit and benchmarks use public names)."""

from __future__ import annotations

import ast
import importlib
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "realdream",
    "realdream.contract",
    "realdream.cli",
    "realdream.testing.strategies",
    "realdream.testing.cassettes",
    "realdream.mock",
    "demo",
)
#: Code that must use other packages' public names only, and the package each one is.
CONSUMERS = {
    "mocks": "realdream.mock",
    "demo": "demo",
    "bench": "bench",
    "realdream/cli": "realdream.cli",
    "realdream/mcp": "realdream.mcp",
    "realdream/testing": "realdream.testing",
    "app.py": "app",
}


def _ruff_sorted(names: list[str]) -> list[str]:
    """RUF022's order: SCREAMING_CASE, then CamelCase, then the rest, each alphabetical."""

    def kind(name: str) -> int:
        if name.isupper() or (name.upper() == name and "_" in name):
            return 0
        return 1 if name[:1].isupper() else 2

    return sorted(names, key=lambda name: (kind(name), name))


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_complete_sorted_and_without_duplicates(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == _ruff_sorted(exported), f"{name}.__all__ is not sorted"
    assert len(exported) == len(set(exported))
    for public in exported:
        assert hasattr(module, public), f"{name}.{public}"
    if name in ("realdream", "realdream.mock", "demo"):  # their front doors re-export, nothing else
        defined = {
            attr
            for attr, value in vars(module).items()
            if not attr.startswith("_") and not isinstance(value, types.ModuleType)
        }
        assert defined <= set(exported) | {"annotations"}, sorted(defined - set(exported))


def _files(where: str) -> list[Path]:
    path = ROOT / where
    return [path] if path.suffix == ".py" else sorted(path.rglob("*.py"))


def _is_private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def _private_imports(source: str, own: str, label: str) -> list[str]:
    """``pkg._module`` imports of a package other than ``own`` (its own privates are fine)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for dotted in names:
            parts = dotted.split(".")
            private_at = next((i for i, p in enumerate(parts) if _is_private(p)), None)
            if private_at is None or private_at == 0:
                continue
            owner = ".".join(parts[:private_at])
            if not (own == owner or (own.startswith(owner + ".") and owner != "realdream")):
                found.append(f"{label}:{node.lineno}: {dotted}")
    return found


@pytest.mark.parametrize("where", sorted(CONSUMERS))
def test_no_package_imports_another_packages_private_modules(where: str) -> None:
    own = CONSUMERS[where]
    problems = [
        line
        for path in _files(where)
        for line in _private_imports(path.read_text(), own, str(path.relative_to(ROOT)))
    ]
    assert problems == []


def test_the_private_import_check_catches_a_reach_in() -> None:
    source = (
        "from realdream._retry import REDACTED\n"
        "from realdream import contract, __version__\n"
        "import realdream.mock._http\n"
        "from demo._ui import build_demo\n"
    )
    assert _private_imports(source, "demo", "x.py") == [
        "x.py:1: realdream._retry",
        "x.py:1: realdream._retry.REDACTED",
        "x.py:3: realdream.mock._http",
    ]
