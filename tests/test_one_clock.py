"""One fake clock: every test that needs time uses the shipped
:class:`realdream.testing.clock.SkipAheadClock`, and no test keeps a clock of its own.

An ``ast`` scan of ``tests/`` looks for what a private clock looks like:

- a class whose name says it is one (``...Clock``, ``FakeTime``);
- a function named like a clock or a sleep (``clock``, ``now``, ``tick``, ``sleep``,
  ``fake_sleep``, ``no_wait``...) unless it returns the shipped clock (a fixture);
- a ``clock=`` or ``sleep=`` argument that is a lambda (``lambda: t[0]``, ``lambda s: None``)
  or a list's ``append`` (a sleep that moves no clock).

Folders not yet moved onto the shipped clock are listed in :data:`PENDING`: their test is a
strict xfail, so it fails the day the folder is clean, and the folder then leaves the list.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SHIPPED = "SkipAheadClock"
CLOCK_CLASS = re.compile(r"Clock$|FakeClock|FakeTime")
CLOCK_FUNCTION = re.compile(
    r"^_*((fake|stub|dummy|no)_(clock|now|tick|sleep|wait|time)|clock|now|tick|sleep|monotonic)$"
)
SEAMS = ("clock", "sleep")

#: Folders whose tests still keep clocks of their own (issue 20, point 4): none, since every
#: folder moved onto the shipped clock. A folder listed here gets a strict xfail, which fails
#: the day the folder is clean.
PENDING: frozenset[str] = frozenset()


def _folders() -> list[str]:
    """``tests`` itself (its top-level files) and every folder of tests under it."""
    folders = sorted(p.name for p in TESTS.iterdir() if p.is_dir() and any(p.rglob("*.py")))
    return ["."] + [name for name in folders if not name.startswith((".", "_"))]


def _files(folder: str) -> list[Path]:
    if folder == ".":
        return sorted(TESTS.glob("*.py"))
    return sorted((TESTS / folder).rglob("*.py"))


def _returns_the_shipped_clock(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return node.returns is not None and SHIPPED in ast.unparse(node.returns)


def _is_sleep_that_moves_no_clock(value: ast.expr) -> bool:
    return isinstance(value, ast.Lambda) or (
        isinstance(value, ast.Attribute) and value.attr == "append"
    )


class _Finder(ast.NodeVisitor):
    """Collects ``line: what`` for each private clock in one module."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if CLOCK_CLASS.search(node.name):
            self.found.append(f"{node.lineno}: class {node.name}")
            return  # its methods are the clock's, already reported
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._function(node)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if CLOCK_FUNCTION.match(node.name) and not _returns_the_shipped_clock(node):
            kind = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
            self.found.append(f"{node.lineno}: {kind} {node.name}")
        self.generic_visit(node)

    def visit_keyword(self, node: ast.keyword) -> None:
        if node.arg in SEAMS and _is_sleep_that_moves_no_clock(node.value):
            self.found.append(f"{node.value.lineno}: {node.arg}={ast.unparse(node.value)}")
        self.generic_visit(node)


def private_clocks(source: str) -> list[str]:
    """Each private clock in ``source`` (a module's text), as ``line: what``."""
    finder = _Finder()
    finder.visit(ast.parse(source))
    return finder.found


def _private_clocks_in(folder: str) -> list[str]:
    return [
        f"{path.relative_to(TESTS.parent)}:{found}"
        for path in _files(folder)
        for found in private_clocks(path.read_text(encoding="utf-8"))
    ]


@pytest.mark.parametrize(
    "folder",
    [
        pytest.param(
            folder,
            marks=pytest.mark.xfail(
                folder in PENDING, reason="keeps clocks of its own (issue 20)", strict=True
            ),
        )
        for folder in _folders()
    ],
)
def test_no_test_keeps_a_clock_of_its_own(folder: str) -> None:
    found = _private_clocks_in(folder)
    assert found == [], "use realdream.testing.clock.SkipAheadClock instead:\n" + "\n".join(found)


def test_every_pending_folder_exists() -> None:
    assert set(_folders()) >= PENDING


# --- the scan itself ---------------------------------------------------------------------------
def test_the_scan_finds_each_kind_of_private_clock() -> None:
    source = """
class FakeClock:
    def sleep(self, seconds): ...
class FakeTime: ...
class ManualClock(SkipAheadClock): ...
class ClockedGate(BackoffGate): ...  # a gate on a clock, not one
def test_x():
    async def fake_sleep(seconds): ...
    def now(): return 5.0
    def wait(): ...  # waits for something, keeps no time
    async def _no_wait(seconds): ...
    Client(clock=lambda: t[0], sleep=waits.append)
    Client(sleep=lambda s: None)
"""
    assert private_clocks(source) == [
        "2: class FakeClock",
        "4: class FakeTime",
        "5: class ManualClock",
        "8: async def fake_sleep",
        "9: def now",
        "11: async def _no_wait",
        "12: clock=lambda: t[0]",
        "12: sleep=waits.append",
        "13: sleep=lambda s: None",
    ]


def test_the_scan_leaves_the_shipped_clock_and_its_seams_alone() -> None:
    source = """
from realdream.testing.clock import SkipAheadClock
@pytest.fixture
def clock() -> SkipAheadClock:
    return SkipAheadClock(frozen=True)
def test_sleeps_on_the_clock(clock):
    Client(clock=clock, sleep=clock.sleep)
    AsyncClient(clock=clock, sleep=clock.async_sleep)
    clock.advance(3.0)
"""
    assert private_clocks(source) == []
