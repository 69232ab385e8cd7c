"""The core's messages in the command line's words, translated at the edge.

The core speaks to Python callers: ``pass api_key=...``, ``see realdream.SCHEDULERS``, a
parameter as ``num_inference_steps=0``. The command line names its own options instead
(``--api-key``, ``realdream schedulers``, ``--num-inference-steps 0``). A server's message
often repeats the error's title or hint (``Service unavailable (503): Service unavailable.
Try again shortly. The service is temporarily unavailable; try again shortly.``): a sentence
whose words all appear in the title or in another sentence is said once. Option parsing's
``Value error,`` prefix (pydantic's) is dropped.
"""

from __future__ import annotations

import re
from typing import Final

from realdream import ValidationError

__all__ = ["cli_text", "option_problems"]

#: Python names in core messages, and what the command line calls them.
_NAMES: Final = (
    (re.compile(r"\bapi_key=(?:\.\.\.)?"), "--api-key"),
    (re.compile(r"\brealdream\.SCHEDULERS\b"), "`realdream schedulers`"),
    (re.compile(r"\brate_limit_per_minute="), "--rpm "),
)
_VALUE_ERROR: Final = re.compile(r"\bValue error, ")
_TITLED: Final = re.compile(r"(?P<title>[A-Z][^():]*) \((?P<code>\d{3})\): (?P<body>.*)", re.S)
_SENTENCE_END: Final = re.compile(r"(?<=[.!?])\s+")
_WORD: Final = re.compile(r"[a-z0-9']+")
_FILLER: Final = frozenset(
    "a an and are be for in is it of or please the then this to".split()  # noqa: SIM905
)


def cli_text(message: str) -> str:
    """``message`` (from the core, a server or option parsing) as the command line says it."""
    for pattern, name in _NAMES:
        message = pattern.sub(name, message)
    return _once(_VALUE_ERROR.sub("", message))


def option_problems(exc: ValidationError) -> str:
    """A parameter error about the options given, naming each option as typed on the
    command line (``--img-width 100: ...``; the prompt is the ``PROMPT`` argument)."""
    return cli_text("; ".join(_as_option(field, text) for field, text in exc.errors))


def _as_option(field: str, text: str) -> str:
    name = "PROMPT" if field == "prompt" else "--" + field.replace("_", "-")
    if text.startswith(f"{field}="):
        return f"{name} {text[len(field) + 1 :]}"
    if text.startswith(f"{field}:"):
        return f"{name}{text[len(field) :]}"
    return text


def _once(message: str) -> str:
    """Drop each sentence whose words are all in the title, in a longer sentence, or in an
    earlier one with the same words."""
    titled = _TITLED.fullmatch(message)
    head, title, body = "", "", message
    if titled is not None:
        title, body = titled["title"], titled["body"]
        head = f"{title} ({titled['code']}): "
    sentences = _SENTENCE_END.split(body)
    words = [_words(sentence) for sentence in sentences]
    kept = [
        sentence for i, sentence in enumerate(sentences) if not _repeats(i, words, _words(title))
    ]
    return head + " ".join(kept) if kept else message


def _repeats(i: int, words: list[frozenset[str]], title: frozenset[str]) -> bool:
    mine = words[i]
    if not mine:
        return False
    if title and mine <= title:
        return True
    return any(
        mine <= other and (len(other) > len(mine) or j < i)
        for j, other in enumerate(words)
        if j != i
    )


def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower())) - _FILLER
