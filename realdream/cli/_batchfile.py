"""Batch files: one prompt per line, or JSON Lines with per-line parameters.

Each item is validated by :meth:`realdream.GenerationRequest.create` (the line's parameters over
the command line's), and the whole file is checked before anything is sent: a problem is one
line naming the file, the line number and the field, such as
``batch.jsonl:7: num_inference_steps=0: must be between 1 and 100``.

Every item gets a stable key (see :func:`item_key`) under which the manifest records it.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from realdream import GenerationRequest, ValidationError, contract

__all__ = ["BatchFileError", "BatchItem", "item_key", "parse_batch", "read_batch"]

_COMMENT = "#"
_JSON_START = "{"


class BatchFileError(Exception):
    """The batch file cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class BatchItem:
    """One validated line of a batch file."""

    line: int
    request: GenerationRequest
    key: str

    @property
    def estimated_cost(self) -> float:
        return contract.cost(self.request.samples)


def item_key(request: GenerationRequest, occurrence: int) -> str:
    """A stable key for the ``occurrence``-th item (from 0) asking for exactly ``request``.

    The key is a hash of the validated request as written (a random seed stays ``-1``, so a
    rerun finds it again) and of how many identical requests came before it in the file (so
    two identical lines are two images). The line number is deliberately not part of it:
    inserting or deleting a line above must not make finished items look new and be paid again.
    """
    canonical = json.dumps(
        {"request": request.payload, "occurrence": occurrence},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def read_batch(path: Path, defaults: Mapping[str, Any]) -> list[BatchItem]:
    """Read and validate a batch file; raise :class:`BatchFileError` naming every bad line."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise BatchFileError(
            [f"{path}: cannot read the batch file ({exc.strerror or exc})"]
        ) from None
    except UnicodeDecodeError as exc:
        raise BatchFileError(
            [f"{path}: is not UTF-8 text ({exc.reason} at byte {exc.start})"]
        ) from None
    return parse_batch(text, source=str(path), defaults=defaults)


def parse_batch(text: str, *, source: str, defaults: Mapping[str, Any]) -> list[BatchItem]:
    """Validate every line of ``text``; raise :class:`BatchFileError` naming every bad line."""
    items: list[BatchItem] = []
    problems: list[str] = []
    seen: Counter[str] = Counter()
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith(_COMMENT):
            continue
        try:
            request = GenerationRequest.create(defaults, **_line_params(line))
        except _LineError as exc:
            problems.append(f"{source}:{number}: {exc}")
            continue
        except ValidationError as exc:
            problems.append(f"{source}:{number}: {exc}")
            continue
        identity = item_key(request, 0)
        items.append(BatchItem(number, request, item_key(request, seen[identity])))
        seen[identity] += 1
    if problems:
        raise BatchFileError(problems)
    if not items:
        raise BatchFileError([f"{source}: no prompts (every line is blank or a # comment)"])
    return items


class _LineError(Exception):
    """A line that is not a prompt and not a JSON object."""


def _line_params(line: str) -> dict[str, Any]:
    if not line.startswith(_JSON_START):
        return {"prompt": line}
    try:
        data: dict[str, Any] = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _LineError(
            f"line starts with {{ but is not valid JSON ({exc.msg} at column {exc.colno})"
        ) from None
    return data
