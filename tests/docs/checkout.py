"""A clean copy of this checkout, and what a user builds from it: a wheel, a fresh venv.

The copy keeps the checkout itself clean (setuptools builds in the source tree) and leaves out
what a fresh clone would not have: ``.git``, virtual environments, caches, build output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from email.parser import Parser
from pathlib import Path
from zipfile import ZipFile

from filelock import FileLock

ROOT = Path(__file__).resolve().parents[2]
_LEFT_OUT = shutil.ignore_patterns(
    ".git", ".venv", "venv", "site", "build", "dist", "*.egg-info", "__pycache__", "*.pyc",
    ".hypothesis", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".gradio", "out", "outputs",
)  # fmt: skip
#: What a developer's environment would add to a user's: our checkout on the path, a venv.
_DROPPED = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV")


def copy_checkout(target: Path) -> Path:
    """A copy of the checkout at ``target`` (links such as ``realdream/mock`` kept as links)."""
    shutil.copytree(ROOT, target, symlinks=True, ignore=_LEFT_OUT)
    return target


def user_env(**extra: str) -> dict[str, str]:
    """The environment a user's shell would have: ours, without our checkout or venv."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


def run(args: list[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=user_env(), capture_output=True, text=True, timeout=timeout,
        check=False,
    )  # fmt: skip


def build_wheel(checkout: Path, out: Path) -> Path:
    """The wheel ``pip wheel`` builds from ``checkout`` (build backend from the index)."""
    ran = run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), "."],
              cwd=checkout)  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    (wheel,) = out.glob("realdream-*.whl")
    return wheel


def shared_wheel(run_folder: Path) -> Path:
    """The wheel of a clean copy of the checkout, built once per test run in ``run_folder``
    (tests/conftest.py's): the xdist workers share it (the first to ask builds it while the
    others wait on a lock)."""
    out = run_folder / "wheel"
    with FileLock(run_folder / "wheel.lock"):
        if not list(out.glob("realdream-*.whl")):
            build_wheel(copy_checkout(run_folder / "wheel-checkout"), out)
    (wheel,) = out.glob("realdream-*.whl")
    return wheel


def wheel_metadata(wheel: Path) -> dict[str, list[str]]:
    """The wheel's core metadata fields, each with every value it has."""
    with ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        message = Parser().parsestr(archive.read(name).decode("utf-8"))
    fields: dict[str, list[str]] = {}
    for key, value in message.items():
        fields.setdefault(key, []).append(value)
    return fields


def fresh_venv(path: Path, requirement: str) -> Path:
    """A new virtual environment at ``path`` holding ``requirement`` and what it needs, nothing
    else; returns its Python. Our pip installs into it (``pip --python``): the venv gets no pip
    of its own, which saves seeding one and changes nothing the requirement brings."""
    ran = run([sys.executable, "-m", "venv", "--without-pip", str(path)], cwd=path.parent)
    assert ran.returncode == 0, ran.stderr
    python = path / "bin" / "python"
    ran = run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", requirement],
              cwd=path.parent)  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    return python
