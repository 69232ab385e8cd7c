"""An honest Python floor: every extra installs on the oldest Python the metadata claims.

A wheel is built from a copy of the checkout, and pip resolves all its extras against it for the
floor version (``--python-version``, wheels only, nothing installed): a dependency that needs a
newer Python than ``Requires-Python`` says fails here. It needs the package index.

pip reads environment markers for the Python that runs it, not for ``--python-version``: a
requirement meant for the floor alone must be a version range pip can narrow by each release's
``Requires-Python`` (as ``vcrpy>=8.5,<10`` is), not a marker.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.docs.checkout import ROOT, run, shared_wheel, wheel_metadata

pytestmark = [pytest.mark.slow, pytest.mark.registry]


def _declared_extras() -> list[str]:
    """The extras of pyproject.toml, read at collection (no tomllib before Python 3.11)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    table = text.split("[project.optional-dependencies]\n", 1)[1].split("\n[", 1)[0]
    return re.findall(r"^([a-z][a-z0-9-]*) = \[", table, re.M)


@pytest.fixture(scope="module")
def wheel(run_folder: Path) -> Path:
    return shared_wheel(run_folder)


def _floor(metadata: dict[str, list[str]]) -> str:
    (requires,) = metadata["Requires-Python"]
    found = re.fullmatch(r">=\s*(\d+\.\d+)", requires.strip())
    assert found, f"Requires-Python {requires!r} is not a plain floor"
    return found[1]


def test_the_wheel_declares_a_floor_and_every_extra(wheel: Path) -> None:
    metadata = wheel_metadata(wheel)
    assert _floor(metadata) == "3.10"
    assert sorted(metadata["Provides-Extra"]) == sorted(_declared_extras())
    assert {"mock", "cli", "demo", "testing", "verify", "docs", "test"} <= set(_declared_extras())
    assert metadata["License-Expression"] == ["MIT"]


def test_every_extra_resolves_on_the_floor_python(wheel: Path) -> None:
    """All extras at once, in one resolve: whatever installs them together satisfies each extra's
    requirements alone (and the bare package's), so each one installs on the floor too. pip's
    error names the requirement that has no release for the floor."""
    floor = _floor(wheel_metadata(wheel))
    requirement = f"realdream[{','.join(_declared_extras())}] @ {wheel.as_uri()}"
    ran = run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
         "--only-binary=:all:", "--python-version", floor, requirement],
        cwd=wheel.parent,
        timeout=300,  # pip backtracking through every release of something is a failure too
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-3000:]
