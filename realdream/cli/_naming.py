"""Output file names: safe, derived from the prompt, and never mistaken for one another.

A prompt is user text: it may hold path separators, ``..``, control characters, or run for
thousands of characters. :func:`slugify` keeps letters and digits (any script), turns every
other run of characters into one ``-``, and caps the length, so a name can never leave the
output directory, hide itself, or exceed a file system's limit.

A slug never holds ``_``, so ``_`` separates labelled parts that cannot be confused:

- ``generate``: ``<slug>_seed<seed>[_<i>of<n>][_copy<k>]``: ``a-fox_seed42.jpg``,
  ``a-fox_seed42_2of4.jpg`` (sample 2 of 4), and ``a-fox_seed42_copy2.jpg`` for a second run
  that would otherwise overwrite the first;
- ``batch``: ``<line>-<slug>-<key>[_<i>of<n>]``: ``0007-a-fox-1f2e3d4c_2of4.jpg``;
- ``job`` when the job's request is unknown: ``<request-id>[_seed<seed>]...``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Final

__all__ = [
    "MAX_SLUG_LENGTH",
    "batch_names",
    "generate_paths",
    "job_paths",
    "sample_names",
    "slugify",
    "stale_temporaries",
]

#: Characters of prompt kept in a file name (a name stays far below the common 255-byte limit).
MAX_SLUG_LENGTH: Final = 48
_FALLBACK: Final = "image"
_MAX_ID_LENGTH: Final = 128  # a request id is at most 128 characters (the client checks)


def slugify(text: str, max_length: int = MAX_SLUG_LENGTH) -> str:
    """A lower-case, file-name-safe slug of ``text``: letters and digits joined by ``-``."""
    normalized = unicodedata.normalize("NFKC", text).lower()
    words: list[str] = []
    current: list[str] = []
    for char in normalized:
        kind = unicodedata.category(char)[0]
        if kind in "LN" or (kind == "M" and current):  # marks only inside a word
            current.append(char)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    slug = "-".join(words)[:max_length].strip("-")
    return slug or _FALLBACK


def sample_names(stem: str, count: int, suffix: str) -> list[str]:
    """``stem+suffix`` for one image; ``stem_1ofN+suffix``... for ``count`` of them."""
    if count == 1:
        return [f"{stem}{suffix}"]
    return [f"{stem}_{i}of{count}{suffix}" for i in range(1, count + 1)]


def batch_names(line: int, prompt: str, key: str, count: int, suffix: str) -> list[str]:
    """The file names of a batch item: its line, its prompt, its key (unique per item)."""
    return sample_names(f"{line:04d}-{slugify(prompt)}-{key[:8]}", count, suffix)


def generate_paths(directory: Path, prompt: str, seed: int, count: int, suffix: str) -> list[Path]:
    """Paths for the ``count`` images of one ``generate``, none of which exists yet.

    A rerun of the same prompt and seed gets ``_copy2`` (``_copy3``...) on every name, so no
    earlier image is overwritten and no name reads as another sample.
    """
    return _unused(directory, f"{slugify(prompt)}_seed{seed}", count, suffix)


def job_paths(
    directory: Path, request_id: str, seed: int | None, count: int, suffix: str
) -> list[Path]:
    """Paths for the images of a job whose request is unknown: named by its request id (and
    the seed the server reported, if it did), as :func:`generate_paths` names the rest."""
    stem = slugify(request_id, max_length=_MAX_ID_LENGTH)
    return _unused(directory, stem if seed is None else f"{stem}_seed{seed}", count, suffix)


def _unused(directory: Path, stem: str, count: int, suffix: str) -> list[Path]:
    stems = sample_names(stem, count, "")
    copy = 1
    while True:
        tag = f"_copy{copy}" if copy > 1 else ""
        paths = [directory / f"{name}{tag}{suffix}" for name in stems]
        if not any(path.exists() for path in paths):
            return paths
        copy += 1


def stale_temporaries(directory: Path, names: Sequence[str]) -> list[Path]:
    """Temporary files an interrupted atomic write of one of ``names`` left in ``directory``.

    :func:`realdream.write_atomic` writes ``.<name>.<random>.part`` and renames it; a process
    killed in between leaves that file behind.
    """
    wanted = set(names)
    try:
        entries = list(directory.iterdir())
    except OSError:
        return []
    found = []
    for entry in entries:
        name = entry.name
        if name.startswith(".") and name.endswith(".part"):
            target = name[1 : -len(".part")].rpartition(".")[0]
            if target in wanted:
                found.append(entry)
    return found
