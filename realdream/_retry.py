"""The billing-aware retry policy, as small pure functions and one per-call state object.

Only HTTP 200 is billed, so a request that got a 429 or 5xx, or that never left this machine,
is safe to send again. A request that was sent but got no answer (a read timeout, a dropped
connection) may have been billed: it is retried only when the caller opts in.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

import httpx

from realdream._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InvalidResponseError,
    RateLimitError,
    error_for_status,
)
from realdream._headers import server_wait
from realdream._policy import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_POLICY,
    INITIAL_BACKOFF,
    MAX_BACKOFF,
    MAX_RETRY_WAIT,
    REDACTED,
    RetryPolicy,
    backoff_ceiling,
    backoff_delay,
)

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_POLICY",
    "INITIAL_BACKOFF",
    "MAX_BACKOFF",
    "MAX_RETRY_WAIT",
    "REDACTED",
    "RetryPolicy",
    "RetryState",
    "backoff_ceiling",
    "backoff_delay",
    "server_wait",
]

logger = logging.getLogger("realdream")

# Failures where the request provably never reached the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
# Failures after the request may have been received (and so billed).
_MAYBE_SENT = (
    httpx.ReadTimeout,
    httpx.ReadError,
    httpx.RemoteProtocolError,
    httpx.WriteError,
    httpx.WriteTimeout,
)


class RetryState:
    """Decides, attempt by attempt, whether to stop (raise) or wait and try again."""

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        secret: str = "",
        rand: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.retries = 0
        self._secret = secret
        self._rand = rand
        self._clock = clock
        self._started = clock()

    def timeout(self, configured: httpx.Timeout) -> httpx.Timeout:
        """The per-attempt timeout, shortened so the overall deadline holds."""
        left = self.time_left()
        if left is None:
            return configured
        read = configured.read if configured.read is not None else left
        return httpx.Timeout(
            connect=min(configured.connect or left, left),
            read=min(read, left),
            write=min(configured.write or left, left),
            pool=min(configured.pool or left, left),
        )

    def time_left(self) -> float | None:
        if self.policy.deadline is None:
            return None
        return max(0.001, self.policy.deadline - (self._clock() - self._started))

    def after_response(self, response: httpx.Response) -> float | None:
        """``None`` for a success; the delay before the next attempt; or raise the error."""
        if response.status_code < 300:
            return None
        body = response.content
        if self._secret:
            body = body.replace(self._secret.encode(), REDACTED.encode())
        error = error_for_status(response.status_code, body, response.headers)
        return self._delay_or_raise(error, error.retryable)

    def after_unreadable(self, response: httpx.Response, exc: httpx.HTTPError) -> float:
        """The status arrived but the body could not be read (dropped, or a bad encoding).

        After a 2xx nothing is retried: a 200 is billed whatever its body, so this raises an
        :class:`InvalidResponseError` that says so. An error status follows its class's rule.
        """
        status = response.status_code
        if status < 300:
            detail = f"{type(exc).__name__}: {self._redact(str(exc)) or 'no detail'}"
            billed = (
                " It was billed; its request id is kept on this error." if status == 200 else ""
            )
            error = InvalidResponseError(
                f"The server answered {status} but its body could not be read ({detail}).{billed}",
                status_code=status,
                headers=response.headers,
            )
            return self._delay_or_raise(error, False, cause=exc)
        error_status = error_for_status(status, b"", response.headers)
        return self._delay_or_raise(error_status, error_status.retryable, cause=exc)

    def after_exception(self, exc: httpx.HTTPError) -> float:
        """The delay before the next attempt after a transport failure, or raise our error."""
        error = self._connection_error(exc)
        safe = isinstance(exc, _NOT_SENT) or (
            isinstance(exc, _MAYBE_SENT) and self.policy.retry_read_errors
        )
        return self._delay_or_raise(error, safe, cause=exc)

    def _delay_or_raise(
        self, error: Exception, retryable: bool, cause: BaseException | None = None
    ) -> float:
        # The key is scrubbed from the cause (its text and its request's headers): tracebacks
        # print the chain, and structured loggers walk it.
        if isinstance(cause, httpx.HTTPError):
            _scrub(cause, self._secret)
        if not retryable or self.retries >= self.policy.max_retries:
            raise error from cause
        delay = self._delay(error)
        if delay is None:
            raise error from cause
        left = self.time_left()
        if left is not None and delay >= left:
            raise error from cause
        self.retries += 1
        logger.warning(
            "realdream: %s; retry %d/%d in %.2fs",
            _describe(error),
            self.retries,
            self.policy.max_retries,
            delay,
        )
        return delay

    def _delay(self, error: Exception) -> float | None:
        """The server's requested wait, else backoff; ``None`` if the wait is beyond the cap.

        A requested wait of zero (a reset time already past, as clocks differ) is not taken
        literally: retrying at once would only meet the same limit again.
        """
        asked = server_wait(error.headers) if isinstance(error, APIStatusError) else None
        if not asked:
            return backoff_delay(self.retries, self.policy, self._rand)
        if asked > self.policy.max_wait:
            if isinstance(error, RateLimitError):
                error.message += f" (the server asks to wait {asked:.0f}s, over the cap)"
            return None
        return asked

    def _redact(self, text: str) -> str:
        return text.replace(self._secret, REDACTED) if self._secret else text

    def _connection_error(self, exc: httpx.HTTPError) -> APIConnectionError:
        maybe_billed = isinstance(exc, _MAYBE_SENT)
        kind = type(exc).__name__
        detail = self._redact(str(exc)) or "no detail"
        if isinstance(exc, httpx.TimeoutException):
            when = "after the request was sent" if maybe_billed else "before it was sent"
            return APITimeoutError(
                f"Timed out talking to {_host(exc)} {when} ({kind}: {detail}).",
                maybe_billed=maybe_billed,
            )
        return APIConnectionError(
            f"Could not reach {_host(exc)} ({kind}: {detail}).", maybe_billed=maybe_billed
        )


def _scrub(exc: httpx.HTTPError, secret: str) -> None:
    """Replace ``secret`` in ``exc``'s text and in the headers of the request it carries."""
    if not secret:
        return
    exc.args = tuple(a.replace(secret, REDACTED) if isinstance(a, str) else a for a in exc.args)
    try:
        request = exc.request
    except RuntimeError:  # no request attached
        return
    for name, value in request.headers.items():
        if secret in value:
            request.headers[name] = value.replace(secret, REDACTED)


def _host(exc: httpx.HTTPError) -> str:
    """Where the request was going (``api.segmind.com:443``), for the message."""
    try:
        url = exc.request.url
    except RuntimeError:
        return "the server"
    return f"{url.host}:{url.port}" if url.port else url.host or "the server"


def _describe(error: Exception) -> str:
    if isinstance(error, APIStatusError):
        return f"HTTP {error.status_code} {error.title}"
    return type(error).__name__
