"""The one boundary where a :class:`realdream.RealDreamError` becomes a visitor's message.

Each message says what happened (with the HTTP status when there is one) and what to do next;
never a traceback, never a key.
"""

from __future__ import annotations

import logging
import math
import traceback
from collections.abc import Iterable
from typing import Final

import gradio as gr

import realdream
from demo._backend import KeyShapeError
from demo._refusals import RefusedError
from realdream import REDACTED

__all__ = [
    "ERROR_TITLE",
    "UNEXPECTED_MESSAGE",
    "NotSavedError",
    "readable",
    "redact",
    "to_gr_error",
]

logger = logging.getLogger("demo")

ERROR_TITLE: Final = "Could not generate"
UNEXPECTED_MESSAGE: Final = (
    "Unexpected error in the app; nothing was generated. Try again, and if it keeps "
    "happening report it with the time it happened."
)
#: Where the library's hint names code (``api_key=``), a visitor needs the page's words.
_UI_HINTS: Final[dict[type[realdream.APIStatusError], str]] = {
    realdream.AuthenticationError: (
        "Check the API key (the key box on this page, or the app's SEGMIND_API_KEY secret)."
    ),
}
_MAYBE_BILLED: Final = "The request may have been billed: check your credits before retrying."


class NotSavedError(Exception):
    """The API call succeeded (images made and, off the mock, paid for) but saving them failed.

    The visitor learns that, and the seed that remakes the same images; the cause is logged.
    """

    def __init__(self, seed: int | None, count: int, offline: bool) -> None:
        self.seed = seed
        self.count = count
        self.offline = offline
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """What the visitor reads: what happened, and how to get the images back."""
        them = "them" if self.count > 1 else "it"
        made = (
            f"The {self.count} images were generated"
            if self.count > 1
            else "The image was generated"
        )
        paid = " by the offline mock (no credits spent)" if self.offline else " and paid for"
        return (
            f"{made}{paid}, but the app could not save {them}. Generate again with seed "
            f"{self.seed} and the same settings to remake {them}; if this keeps happening, "
            "report it with the time it happened."
        )


def readable(exc: realdream.RealDreamError) -> str:
    """One readable line for ``exc``, e.g. ``Not enough credits (406): ... Top up ...``.

    An error that may have cost credits says so (a v2 job whose poll failed may still
    complete, and be billed); a v2 wait that timed out says it in its own words.
    """
    text = _readable(exc)
    if exc.maybe_billed and not isinstance(exc, realdream.JobTimeoutError):
        text = f"{text} {_MAYBE_BILLED}"
    return text


def _readable(exc: realdream.RealDreamError) -> str:
    if isinstance(exc, realdream.JobTimeoutError):
        return _gave_up(exc)
    if isinstance(exc, realdream.ValidationError):
        return f"Invalid parameters: {exc}"
    if isinstance(exc, realdream.APIStatusError):
        return _status_message(exc)
    if isinstance(exc, realdream.InvalidResponseError):
        return f"Unreadable answer ({exc.status_code}): {exc}"
    if isinstance(exc, realdream.ConfigurationError):
        return f"Configuration problem: {exc}"
    return str(exc)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every non-empty secret replaced by a placeholder."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def to_gr_error(exc: BaseException, secrets: Iterable[str | None] = ()) -> gr.Error:
    """The :class:`gradio.Error` a visitor sees for ``exc``; unexpected errors are logged."""
    if isinstance(exc, realdream.RealDreamError):
        message = readable(exc)
        logger.info("generate failed: %s", redact(message, secrets))
    elif isinstance(exc, RefusedError):  # a limit on the app's key: nothing was sent
        message = exc.message
        logger.info("generate refused: %s", exc.limit.value)
    elif isinstance(exc, KeyShapeError):
        message = exc.message
        logger.info("generate refused: a typed key without the documented shape")
    elif isinstance(exc, NotSavedError):
        message = exc.message
        trace = "".join(traceback.format_exception(exc))
        logger.error("generated but not saved:\n%s", redact(trace, secrets))
    else:
        message = UNEXPECTED_MESSAGE
        trace = "".join(traceback.format_exception(exc))
        logger.error("generate crashed:\n%s", redact(trace, secrets))
    return gr.Error(redact(message, secrets), title=ERROR_TITLE, print_exception=False)


def _status_message(exc: realdream.APIStatusError) -> str:
    hint = _UI_HINTS.get(type(exc), exc.hint)
    if isinstance(exc, realdream.RateLimitError) and exc.retry_after is not None:
        hint = f"{hint} It resets in about {math.ceil(exc.retry_after)} s."
    text = f"{exc.title} ({exc.status_code}): {_sentence(exc.message)}"
    return f"{text} {hint}".strip()


def _gave_up(exc: realdream.JobTimeoutError) -> str:
    """A v2 wait that reached its deadline: billed already (COMPLETED), or billed if it ends."""
    job = exc.job.request_id
    errors = exc.__cause__
    why = (
        f" (the service kept answering with errors: {_error_words(errors)})"
        if isinstance(errors, realdream.RealDreamError)
        else ""
    )
    if exc.state == "COMPLETED":
        seed = f" with seed {exc.request.seed}" if exc.request is not None else ""
        return (
            f"The job {job} completed and was billed, but the app gave up fetching its images"
            f"{why}. Nothing more is billed for it; generating again{seed} and the same "
            "settings remakes them (and is billed again)."
        )
    return (
        f"Gave up waiting: the job {job} is still {exc.state.lower()}{why}. It goes on running "
        "on the server and is billed if it completes; check your credits later."
    )


def _error_words(error: realdream.RealDreamError) -> str:
    if isinstance(error, realdream.APIStatusError):
        return f"{error.title} ({error.status_code})"
    return type(error).__name__


def _sentence(text: str) -> str:
    """``text`` ending in exactly one full stop (server messages vary)."""
    stripped = text.strip().rstrip(".")
    return f"{stripped}." if stripped else "(no message)."
