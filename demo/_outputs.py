"""Where generated PNGs live, and how long: an hour at most, and at most so many bytes.

Each run writes a fresh folder inside the app's output folder. The output folder sits inside
Gradio's own cache folder, so Gradio serves the files where they are instead of copying them:
the cap on bytes is the cap on disk. As new runs arrive, earlier runs' folders older than an
hour are deleted, then the oldest until the rest fit the cap (the newest run always stays).
"""

from __future__ import annotations

import os
import shutil
import stat
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import realdream
from demo._settings import env_number

__all__ = [
    "DEFAULT_KEEP_OUTPUTS_MB",
    "KEEP_OUTPUTS_MB_ENV",
    "KEEP_OUTPUTS_S",
    "OutputFolder",
    "default_output_dir",
    "prune",
]

#: Generated files older than this are deleted as new requests arrive.
KEEP_OUTPUTS_S: Final = 3600.0
KEEP_OUTPUTS_MB_ENV: Final = "REALDREAM_KEEP_OUTPUTS_MB"
#: About 300 full-size PNGs; 0 keeps an hour of images whatever their size.
DEFAULT_KEEP_OUTPUTS_MB: Final = 500.0
_MB: Final = 1_000_000


def default_output_dir() -> Path:
    """A fresh folder inside Gradio's cache (``GRADIO_TEMP_DIR``, or the system's temp)."""
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()) / f"realdream-demo-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class OutputFolder:
    """The app's output folder and its limits (``max_bytes`` 0: no cap on bytes)."""

    root: Path
    max_bytes: int = int(DEFAULT_KEEP_OUTPUTS_MB * _MB)
    max_age_s: float = KEEP_OUTPUTS_S

    @classmethod
    def from_env(
        cls, root: Path, environ: Mapping[str, str] | None = None, *, max_mb: float | None = None
    ) -> OutputFolder:
        env = os.environ if environ is None else environ
        if max_mb is None:
            max_mb = env_number(env, KEEP_OUTPUTS_MB_ENV, DEFAULT_KEEP_OUTPUTS_MB)
        return cls(root, max_bytes=int(max_mb * _MB))

    def new_run(self) -> Path:
        """A fresh folder for one run's files (created by the first save)."""
        return self.root / uuid.uuid4().hex

    def prune(self, keep: Path) -> None:
        prune(self.root, keep=keep, max_age_s=self.max_age_s, max_bytes=self.max_bytes)


def prune(
    output_dir: Path, *, keep: Path, max_age_s: float = KEEP_OUTPUTS_S, max_bytes: int = 0
) -> None:
    """Delete earlier runs' folders older than ``max_age_s``, then the oldest until what is
    left (``keep`` included) fits ``max_bytes``; best effort, never raises.

    Several visitors' requests prune the same folder at once, so an entry listed here may be
    gone (or going) by the time it is looked at: that is fine, someone else removed it.
    """
    cutoff = time.time() - max_age_s
    runs = sorted(_runs(output_dir, keep))  # oldest first
    kept: list[tuple[float, int, Path]] = []
    for modified, size, folder in runs:
        if modified < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            kept.append((modified, size, folder))
    if max_bytes <= 0:
        return
    total = _size(keep) + sum(size for _, size, _ in kept)
    for _, size, folder in kept:
        if total <= max_bytes:
            break
        shutil.rmtree(folder, ignore_errors=True)
        total -= size


def _runs(output_dir: Path, keep: Path) -> list[tuple[float, int, Path]]:
    try:
        entries = list(output_dir.iterdir())
    except OSError:
        return []
    runs = []
    for folder in entries:
        if folder == keep:
            continue
        try:
            info = folder.stat()
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode):
            runs.append((info.st_mtime, _size(folder), folder))
    return runs


def _size(folder: Path) -> int:
    """Bytes of the files directly in ``folder`` (a run's PNGs); 0 when it is gone."""
    total = 0
    try:
        files = list(folder.iterdir())
    except OSError:
        return 0
    for path in files:
        try:
            total += path.stat().st_size
        except OSError:
            continue
    return total


def save(image: realdream.GeneratedImage, folder: Path, seed: int | None) -> Path:
    """One image as a PNG with its parameters embedded."""
    return image.save(folder / f"realdream-{seed}-{image.index + 1}.png")
