"""Batch files: one prompt per line, or JSON Lines with per-line parameters.

Each item is validated by the core (the line's parameters over the command line's); a JSON
line is read strictly by :meth:`realdream.GenerationRequest.from_json` (no duplicate keys, no
deep nesting, no giant numbers). The whole file is checked before anything is sent, and every
problem is one line naming the file, the line number and the field, such as
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
_KEY_SHOWN = 40
_BODY = "body"  # the field the core names for a problem of the JSON document itself


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
            request = _request(line, defaults)
        except ValidationError as exc:
            problems.append(f"{source}:{number}: {_describe(exc, line)}")
            continue
        identity = item_key(request, 0)
        items.append(BatchItem(number, request, item_key(request, seen[identity])))
        seen[identity] += 1
    if problems:
        raise BatchFileError(problems)
    if not items:
        raise BatchFileError([f"{source}: no prompts (every line is blank or a # comment)"])
    return items


def _request(line: str, defaults: Mapping[str, Any]) -> GenerationRequest:
    """A plain line is a prompt; a line starting with ``{`` is one strict JSON object
    (no duplicate keys, no deep nesting, no giant numbers: see
    :func:`realdream.parse_json_object`)."""
    if not line.startswith(_JSON_START):
        return GenerationRequest.create(defaults, prompt=line)
    return GenerationRequest.from_json(line, defaults)


def _describe(exc: ValidationError, line: str) -> str:
    """The core's message, with a problem of the JSON itself said in a batch file's terms."""
    messages = []
    for field, message in exc.errors:
        if field != _BODY:
            messages.append(message)
            continue
        reason = message.removeprefix(f"{_BODY}: ")
        key = _deepest_key(line) if reason.startswith("nests deeper") else None
        where = f" (in {key[:_KEY_SHOWN]!r})" if key is not None else ""
        messages.append(f"the line starts with {{ but {reason}{where}")
    return "; ".join(messages)


def _deepest_key(text: str) -> str | None:
    """The top-level key of ``text`` (a JSON object) whose value nests deepest.

    A scan of brackets outside strings: it needs no parser, so it cannot recurse.
    """
    depth = 0
    best: tuple[int, str | None] = (0, None)
    key: str | None = None
    last_string = ""
    in_string = escaped = False
    start = 0
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
                last_string = text[start:index]
            continue
        if char == '"':
            in_string, start = True, index + 1
        elif char == ":" and depth == 1:
            key = last_string
        elif char in "[{":
            depth += 1
            if depth > best[0] and depth > 1:
                best = (depth, key)
        elif char in "]}":
            depth -= 1
    return best[1]
