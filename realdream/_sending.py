"""Small pieces of sending that both clients share: which errors carry their request and job,
which count as billed, the job 404, the submit's policy, and the tuning of an owned httpx client.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Final, TypeVar

import httpx

from realdream import contract
from realdream._errors import JobExpiredError, NotFoundError, RealDreamError
from realdream._jobs import _JobBase
from realdream._params import GenerationRequest
from realdream._policy import RetryPolicy

__all__ = [
    "NO_RESPONSE",
    "AsyncSleep",
    "Sleep",
    "billed",
    "expired",
    "own",
    "sent_as",
    "submit_policy",
]

#: What a sync client calls to wait, and what an async client awaits.
Sleep = Callable[[float], object]
AsyncSleep = Callable[[float], Awaitable[object]]
#: Stands for the response of an attempt that got none (a retry follows, or an error).
NO_RESPONSE: Final = httpx.Response(0)

_Http = TypeVar("_Http", httpx.Client, httpx.AsyncClient)
_EXPIRED_RULE: Final = next(r for r in contract.STATUS_TABLE if r.error == "JobExpiredError")


class sent_as:  # noqa: N801  # used like a function: ``with sent_as(request):``
    """Errors raised inside carry the request as it was sent (maybe paid for: see the error),
    and the job they belong to.

    A class rather than a ``@contextmanager`` generator: it wraps every request, and a
    generator-based manager costs several times more to enter and leave.
    """

    __slots__ = ("job", "request")

    def __init__(self, request: GenerationRequest | None, job: _JobBase | None = None) -> None:
        self.request = request
        self.job = job

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, RealDreamError):
            exc.request = self.request
            if self.job is not None:
                exc.job = self.job  # type: ignore[attr-defined]  # only job errors carry one


@contextmanager
def billed(completed: bool = True) -> Iterator[None]:
    """Errors after a job ``completed``: it was billed (its images may still be fetched)."""
    try:
        yield
    except RealDreamError as exc:
        if completed:
            exc.maybe_billed = True
        raise


def expired(exc: NotFoundError) -> JobExpiredError:
    """On a job's URL every 404 means the job is unknown, or its hour is over."""
    if isinstance(exc, JobExpiredError):
        return exc
    return JobExpiredError(
        exc.message, status_code=404, body=exc.body, headers=exc.headers, rule=_EXPIRED_RULE
    )


def submit_policy(policy: RetryPolicy) -> RetryPolicy:
    """A submit is never re-sent once it may have queued: no retry after a read error."""
    return dataclasses.replace(policy, retry_read_errors=False)


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing.

    The API authenticates with a header and sets no cookies, yet httpx runs every response
    through urllib's cookie machinery (tens of microseconds a request, the largest cost this
    client adds over a bare POST). Only clients we own get this jar.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


def own(http: _Http) -> _Http:
    """Tune an httpx client this package created (never a caller's)."""
    if isinstance(getattr(http, "_cookies", None), httpx.Cookies):  # httpx<1 keeps it here
        http._cookies = _NoCookies()
    return http
