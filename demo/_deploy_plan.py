"""What ``python -m demo.deploy`` sends to a Space: the files it runs and the guard's variables.

Pure: it reads the checkout and touches no network. The Space runs ``app.py`` from the
repository root without installing anything of ours, so ``realdream/`` and ``demo/`` go as
they are, and the mock's source (the top-level ``mocks/`` folder, which ``realdream/mock``
links to in a checkout) goes as real files under ``realdream/mock/``: ``import realdream.mock``
works there as it does here. Tests, benchmarks, docs, caches and ``.git`` stay behind.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

from demo._settings import (
    DAILY_BUDGET_ENV,
    DEFAULT_DAILY_BUDGET_USD,
    DEFAULT_MIN_BALANCE_USD,
    DEFAULT_VISITOR_IMAGES_PER_HOUR,
    MIN_BALANCE_ENV,
    REQUIRE_LOGIN_ENV,
    VISITOR_LIMIT_ENV,
)

__all__ = [
    "MANAGED_FOLDERS",
    "TOP_LEVEL_FILES",
    "Limits",
    "Upload",
    "front_matter",
    "front_matter_problem",
    "restart_warning",
    "space_files",
]

#: Files at the root of the Space: the entry point, its requirements, and the README whose
#: front matter (sdk, app_file, hf_oauth...) is the Space's configuration.
TOP_LEVEL_FILES: Final = ("app.py", "requirements.txt", "README.md")
#: Folders the Space imports from; a file under them that this checkout no longer has is
#: deleted from the Space on the next deploy.
MANAGED_FOLDERS: Final = ("realdream", "demo")
_MOCK_SOURCE: Final = "mocks"
_MOCK_TARGET: Final = PurePosixPath("realdream", "mock")
_SKIPPED_DIRS: Final = frozenset({"__pycache__"})
_SKIPPED_SUFFIXES: Final = frozenset({".pyc", ".pyo"})


@dataclass(frozen=True)
class Upload:
    """One file of the Space: where it goes (``path_in_repo``) and where it comes from."""

    path_in_repo: str
    local: Path


def space_files(root: Path) -> list[Upload]:
    """Every file the Space runs, from the checkout at ``root``, sorted by path in the Space."""
    uploads = [Upload(name, root / name) for name in TOP_LEVEL_FILES]
    for folder in MANAGED_FOLDERS:
        uploads += [
            Upload(str(PurePosixPath(folder, relative)), root / folder / relative)
            for relative in _files_under(root / folder)
        ]
    uploads += [
        Upload(str(_MOCK_TARGET / relative), root / _MOCK_SOURCE / relative)
        for relative in _files_under(root / _MOCK_SOURCE)
    ]
    missing = [upload.path_in_repo for upload in uploads if not upload.local.is_file()]
    if missing:
        raise FileNotFoundError(f"{root} is not a realdream checkout: missing {missing[0]}")
    return sorted(uploads, key=lambda upload: upload.path_in_repo)


def _files_under(folder: Path) -> Iterator[PurePosixPath]:
    """Regular files under ``folder`` (links not followed, so ``realdream/mock`` is left out),
    without caches or hidden files, relative to ``folder``."""
    for directory, dirs, files in os.walk(folder):
        here = Path(directory)
        dirs[:] = sorted(
            name
            for name in dirs
            if name not in _SKIPPED_DIRS
            and not name.startswith(".")
            and not (here / name).is_symlink()
        )
        for name in sorted(files):
            path = here / name
            if name.startswith(".") or path.suffix in _SKIPPED_SUFFIXES or path.is_symlink():
                continue
            yield PurePosixPath(path.relative_to(folder).as_posix())


def front_matter(readme: str) -> dict[str, str]:
    """The ``key: value`` lines between the README's opening ``---`` lines (empty if none)."""
    lines = readme.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    found: dict[str, str] = {}
    for line in lines[1:]:
        if line.strip() == "---":
            return found
        key, sep, value = line.partition(":")
        if sep and not line.startswith((" ", "\t", "-")):
            found[key.strip()] = value.strip().strip("\"'")
    return {}  # never closed: not front matter


def front_matter_problem(readme: str, *, require_login: bool) -> str | None:
    """Why this README cannot configure a Gradio Space running ``app.py``, or ``None``."""
    meta = front_matter(readme)
    wanted = {"sdk": "gradio", "app_file": "app.py"}
    if require_login:
        wanted["hf_oauth"] = "true"
    for key, value in wanted.items():
        if meta.get(key, "").lower() != value:
            return (
                f"README.md's front matter must say '{key}: {value}' (it has "
                f"{meta.get(key, 'nothing')!r}); the Space reads its settings there"
            )
    return None


@dataclass(frozen=True)
class Limits:
    """The guard's limits to set as Space variables; ``None``: leave the Space's value as is."""

    daily_budget_usd: float | None = None
    visitor_images_per_hour: int | None = None
    min_balance_usd: float | None = None
    require_login: bool | None = None

    def variables(self) -> dict[str, str]:
        """The Space variables to set, by name (the app reads the same names)."""
        chosen = {
            DAILY_BUDGET_ENV: self.daily_budget_usd,
            VISITOR_LIMIT_ENV: self.visitor_images_per_hour,
            MIN_BALANCE_ENV: self.min_balance_usd,
            REQUIRE_LOGIN_ENV: None if self.require_login is None else int(self.require_login),
        }
        return {name: _text(value) for name, value in chosen.items() if value is not None}

    @staticmethod
    def defaults() -> dict[str, str]:
        """What the app uses for a variable the Space does not have."""
        return {
            DAILY_BUDGET_ENV: _text(DEFAULT_DAILY_BUDGET_USD),
            VISITOR_LIMIT_ENV: _text(DEFAULT_VISITOR_IMAGES_PER_HOUR),
            MIN_BALANCE_ENV: _text(DEFAULT_MIN_BALANCE_USD),
            REQUIRE_LOGIN_ENV: "0",
        }


def _text(value: float) -> str:
    """A number as the app's parser reads it back exactly: ``10``, ``2.5``, ``1e-05``."""
    if isinstance(value, int) or (math.isfinite(value) and value.is_integer()):
        return str(int(value))
    return repr(value)


def restart_warning(min_balance_usd: float, *, storage: bool | None) -> str | None:
    """The warning for a Space whose only limit across restarts would be none at all.

    ``storage`` is whether the Space mounts persistent storage (``None``: unknown, as in a dry
    run). Without storage each restart starts the day's ledger afresh, so the daily budget
    counts from the last restart; the balance floor is read from the API and survives.
    """
    if min_balance_usd > 0 or storage:
        return None
    where = (
        "unless the Space has persistent storage (Settings → Persistent storage), "
        if storage is None
        else "the Space has no persistent storage, so "
    )
    return (
        f"warning: no balance floor (--min-balance) is set, and {where}every restart starts "
        "the day's ledger afresh: the daily budget then counts only from the last restart. "
        "The balance floor is the limit that survives restarts."
    )
