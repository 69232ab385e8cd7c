"""Safe output file names derived from prompts.

A prompt is user text: it may hold path separators, ``..``, control characters, or run for
thousands of characters. :func:`slugify` keeps letters and digits (any script), turns every
other run of characters into one ``-``, and caps the length, so a name can never leave the
output directory, hide itself, or exceed a file system's limit.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Final

__all__ = ["MAX_SLUG_LENGTH", "batch_stem", "slugify", "unique_path"]

#: Characters of prompt kept in a file name (a name stays far below the common 255-byte limit).
MAX_SLUG_LENGTH: Final = 48
_FALLBACK: Final = "image"


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


def batch_stem(line: int, prompt: str, key: str) -> str:
    """The file stem of a batch item: its line, its prompt, and its key (unique per item)."""
    return f"{line:04d}-{slugify(prompt)}-{key[:8]}"


def unique_path(directory: Path, stem: str, suffix: str, taken: set[Path] | None = None) -> Path:
    """``directory/stem+suffix``, or ``stem-2``, ``stem-3``... if that exists (or is taken)."""
    taken = taken if taken is not None else set()
    candidate = directory / f"{stem}{suffix}"
    number = 1
    while candidate.exists() or candidate in taken:
        number += 1
        candidate = directory / f"{stem}-{number}{suffix}"
    return candidate
