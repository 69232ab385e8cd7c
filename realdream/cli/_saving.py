"""Where a paid image goes: the output folder, else a fallback folder, never the bin.

Every write goes through one :data:`Writer` (by default :func:`realdream.write_atomic`: a
temporary file and a rename, the user's umask), so tests inject a full disk at this seam.
When the output folder refuses a write, the same bytes go to the first fallback folder that
takes them (:func:`default_fallback_dirs`: a per-user cache folder, then a per-user temporary
one); :func:`place` says where each file ended up. A refusal that will happen again for every
later image (no space, a read-only or missing folder, no permission: :func:`will_repeat`) is
the batch's cue to stop buying images it cannot save.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from realdream import GeneratedImage

__all__ = [
    "CACHE_ENV",
    "UNREADABLE_DIR",
    "Placed",
    "UnplacedError",
    "Writer",
    "default_fallback_dirs",
    "describe",
    "encoded",
    "place",
    "shown_path",
    "will_repeat",
    "write_elsewhere",
]

#: Writes ``data`` to ``path`` (whole or not at all) and returns the path written.
Writer = Callable[[Path, bytes], Path]

#: Overrides the per-user cache folder, as on any XDG system.
CACHE_ENV: Final = "XDG_CACHE_HOME"
#: Where the raw body of an unreadable HTTP 200 is kept, inside the output folder.
UNREADABLE_DIR: Final = ".realdream-unreadable"

#: Errors that every later write to the same folder will meet too.
_REPEATING: Final = frozenset(
    code
    for code in (
        errno.ENOSPC,
        getattr(errno, "EDQUOT", None),
        errno.EROFS,
        errno.ENOENT,
        errno.ENOTDIR,
        errno.EACCES,
        errno.EPERM,
    )
    if code is not None
)


def will_repeat(exc: BaseException) -> bool:
    """Whether the next write to the same place will fail the same way."""
    return isinstance(exc, OSError) and exc.errno in _REPEATING


def describe(exc: BaseException) -> str:
    """``No space left on device``: the reason, without the internals of the exception."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def default_fallback_dirs(out_dir: Path) -> tuple[Path, ...]:
    """The fallback folders for ``out_dir``: ``$XDG_CACHE_HOME/realdream/unsaved/<tag>``
    (``~/.cache`` by default), then ``<temp>/realdream-unsaved-<user>/<tag>``.

    ``<tag>`` is the output folder's name and a hash of its absolute path, so two batches
    never share one; the temporary folder is often on another disk (or in memory).
    """
    absolute = out_dir.absolute()
    digest = hashlib.sha256(str(absolute).encode()).hexdigest()[:12]
    tag = f"{absolute.name or 'out'}-{digest}"
    user = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    temp = Path(tempfile.gettempdir()) / f"realdream-unsaved-{user}" / tag
    try:
        cache = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache")
    except RuntimeError:  # no home directory to be found
        return (temp,)
    return (cache / "realdream" / "unsaved" / tag, temp)


def encoded(image: GeneratedImage, path: Path) -> tuple[Path, bytes]:
    """The bytes to write at ``path`` (its suffix picks the format, parameters embedded).

    If the image cannot be converted, its bytes as the API sent them are kept instead, under
    their own suffix: a paid image is never dropped for a format problem.
    """
    try:
        return path, image.encode(path.suffix)
    except (OSError, ValueError):
        return path.with_suffix(image.extension), image.data


@dataclass(frozen=True)
class Placed:
    """Where the files of one item were written."""

    #: Written where asked (in the output folder).
    where_asked: tuple[Path, ...]
    #: Written to a fallback folder instead.
    elsewhere: tuple[Path, ...] = ()
    #: Why the output folder refused (``None``: it took every file).
    error: OSError | None = None


class UnplacedError(Exception):
    """No folder took the files; ``error`` is the output folder's refusal."""

    def __init__(self, error: OSError) -> None:
        super().__init__(describe(error))
        self.error = error


def place(
    files: Sequence[tuple[Path, bytes]], fallback_dirs: Sequence[Path], writer: Writer
) -> Placed:
    """Write ``files``; those the output folder refuses go to the first fallback that takes
    them all. Raises :class:`UnplacedError` when none does."""
    written: list[Path] = []
    for index, (path, data) in enumerate(files):
        try:
            written.append(writer(path, data))
        except OSError as exc:
            rest = [(Path(path.name), blob) for path, blob in files[index:]]
            elsewhere = write_elsewhere(rest, fallback_dirs, writer)
            if elsewhere is None:
                raise UnplacedError(exc) from exc
            return Placed(tuple(written), elsewhere, exc)
    return Placed(tuple(written))


def write_elsewhere(
    files: Sequence[tuple[Path, bytes]], directories: Sequence[Path], writer: Writer
) -> tuple[Path, ...] | None:
    """Write ``files`` (relative paths) into the first of ``directories`` that takes them
    all; ``None`` if none does."""
    for directory in directories:
        try:
            _private_dir(directory)
            return tuple(writer(directory / name, data) for name, data in files)
        except OSError:
            continue
    return None


def shown_path(path: Path, out_dir: Path) -> str:
    """``path`` as a manifest records it: relative inside the output folder, else absolute."""
    try:
        return path.relative_to(out_dir).as_posix()
    except ValueError:
        return str(path.absolute())


def _private_dir(directory: Path) -> None:
    """Create ``directory`` (mode 0700) and refuse its top if another user owns it.

    The temporary folder is shared: a folder someone else made there must not receive our
    images.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if sys.platform == "win32":  # pragma: no cover - no owners to compare
        return
    for folder in (directory, directory.parent):
        info = os.lstat(folder)
        if folder.name.startswith("realdream-unsaved-") and (
            not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid()
        ):
            raise PermissionError(errno.EPERM, "not ours", str(folder))
