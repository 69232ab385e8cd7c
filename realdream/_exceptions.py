"""The exception tree: every error realdream raises, rooted at :class:`RealDreamError`.

The tree is split by whether a response arrived::

    RealDreamError
    ├── ValidationError (also ValueError)      bad parameters, caught before any request
    ├── ConfigurationError (also ValueError)   no API key, or an unusable one
    ├── JobTimeoutError                        Job.wait ran out of time; the job runs on
    ├── JobPendingError                        Job.result: the job has not finished yet
    ├── APIConnectionError                     no response arrived
    │   └── APITimeoutError
    └── APIResponseError                       a response arrived, but not a usable image
        ├── InvalidResponseError               HTTP 2xx whose body is not a readable image
        └── APIStatusError                     any other status; status_code, message, body
            ├── BadRequestError                400
            ├── AuthenticationError            401 (missing or invalid key)
            ├── PermissionDeniedError          403
            ├── NotFoundError                  404 (a path, or no credits record)
            │   └── JobExpiredError                a v2 job's id: unknown, or its hour is over
            ├── MethodNotAllowedError          405
            ├── NotAcceptableError             406, one of:
            │   ├── InsufficientCreditsError       not enough credits
            │   ├── UnsupportedContentTypeError    missing or wrong Content-Type
            │   └── SpendLimitError                a team spend limit is used up
            ├── ModelRetiredError              410
            ├── UnprocessableEntityError       422
            │   └── GenerationFailedError          a v2 job ended FAILED (422 or 200)
            ├── RateLimitError                 429; retry_after, reset_at
            └── ServerError                    any 5xx
                ├── InternalServerError        500
                ├── BadGatewayError            502
                ├── ServiceUnavailableError    503
                └── GatewayTimeoutError        504

The two job errors carry the job, so they live beside it in :mod:`realdream._jobs`. Each
status class finds its row of :data:`realdream.contract.STATUS_TABLE` (``title``, ``hint``,
whether a retry can help); :mod:`realdream._errors` builds an error from a response.
``maybe_billed`` is on every error: only an answer after HTTP 200, or a request lost after it
was sent, may have cost credits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from realdream import contract
from realdream._headers import parse_datetime, server_wait
from realdream._sent import SentRequest
from realdream.contract import StatusRule

__all__ = [
    "APIConnectionError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "ConfigurationError",
    "GatewayTimeoutError",
    "GenerationFailedError",
    "InsufficientCreditsError",
    "InternalServerError",
    "InvalidResponseError",
    "JobExpiredError",
    "MethodNotAllowedError",
    "ModelRetiredError",
    "NotAcceptableError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RealDreamError",
    "ServerError",
    "ServiceUnavailableError",
    "SpendLimitError",
    "UnprocessableEntityError",
    "UnsupportedContentTypeError",
    "ValidationError",
    "class_rule",
    "json_object",
]


class RealDreamError(Exception):
    """Base class of every error this package raises."""

    #: True when the request may have cost credits: it was sent and its fate is unknown, or
    #: an HTTP 200 arrived (only 200 is billed, and anything after a 200 counts as paid).
    maybe_billed: bool = False
    #: The request as sent (seed resolved), when the error happened after sending it: the
    #: :class:`~realdream.GenerationRequest` itself, typed by its shape (:class:`SentRequest`).
    request: SentRequest | None = None


class ValidationError(RealDreamError, ValueError):
    """One or more request parameters are invalid; nothing was sent.

    ``errors`` holds one ``(field, message)`` pair per problem, in field order.
    """

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(message for _, message in errors))

    @property
    def fields(self) -> list[str]:
        """The names of the fields that are wrong, in order."""
        return [field for field, _ in self.errors]


class ConfigurationError(RealDreamError, ValueError):
    """The client cannot be used as configured (for example: no API key)."""


class APIConnectionError(RealDreamError):
    """No response arrived: the connection failed or was dropped."""

    def __init__(self, message: str, *, maybe_billed: bool = False) -> None:
        super().__init__(message)
        #: True when the request may have reached the server (and so may have been billed).
        self.maybe_billed = maybe_billed


class APITimeoutError(APIConnectionError):
    """No response arrived in time."""


class APIResponseError(RealDreamError):
    """A response arrived but it is not a usable result."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body = body
        self.headers: dict[str, str] = {k.lower(): v for k, v in (headers or {}).items()}

    @property
    def request_id(self) -> str | None:
        """The server's request id, when it sent one."""
        return self.headers.get(contract.HEADER_REQUEST_ID)


class InvalidResponseError(APIResponseError):
    """The server answered 2xx but the body is not a readable result.

    After an HTTP 200 the request was billed (:attr:`billed`): the raw :attr:`body`, the
    :attr:`request_id` and the :attr:`request` as sent are kept for support, and nobody should
    send it again believing it free.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, body=body, headers=headers)
        #: Whether this answer was billed (it was an HTTP 200).
        self.billed = status_code in contract.BILLED_STATUSES
        self.maybe_billed = self.billed


class APIStatusError(APIResponseError):
    """The server answered with an error status; :attr:`rule` is its row of the status table."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        rule: StatusRule | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, body=body, headers=headers)
        #: The row of :data:`realdream.contract.STATUS_TABLE` this answer matched.
        self.rule = rule or class_rule(type(self))

    @property
    def title(self) -> str:
        """What the status means, in words a user can act on."""
        return self.rule.title

    @property
    def hint(self) -> str:
        """What to do next."""
        return self.rule.hint

    @property
    def retryable(self) -> bool:
        """Whether sending the same request again can help (429 and every 5xx)."""
        return self.rule.retry

    def __str__(self) -> str:
        text = f"{self.title} ({self.status_code}): {self.message}"
        if not self.hint:
            return text
        return f"{text}{'' if text.endswith(('.', '!', '?')) else '.'} {self.hint}"


class BadRequestError(APIStatusError):
    """400: the server refused the parameters."""


class AuthenticationError(APIStatusError):
    """401: the key is missing or invalid."""


class PermissionDeniedError(APIStatusError):
    """403: this key may not use this model."""


class NotFoundError(APIStatusError):
    """404: no such path (or, on the credits endpoint, no credits record)."""


class JobExpiredError(NotFoundError):
    """404 for a v2 job: its id is unknown, or its hour of storage is over."""


class MethodNotAllowedError(APIStatusError):
    """405: wrong HTTP method (an HTML page, not JSON)."""


class NotAcceptableError(APIStatusError):
    """406: one of three meanings, told apart by the message."""


class InsufficientCreditsError(NotAcceptableError):
    """406: not enough credits for this request."""


class UnsupportedContentTypeError(NotAcceptableError):
    """406: the body was not sent as ``application/json``."""


class SpendLimitError(NotAcceptableError):
    """406: a team spend limit is used up."""


class ModelRetiredError(APIStatusError):
    """410: the model is retired; never retried."""


class UnprocessableEntityError(APIStatusError):
    """422: invalid or missing parameters."""


class GenerationFailedError(UnprocessableEntityError):
    """A v2 job ended FAILED (HTTP 422, or 200): nothing was billed.

    :attr:`message` is the server's error text; :attr:`metrics` its timings, when sent.
    """

    @property
    def metrics(self) -> dict[str, object]:
        data = json_object(self.body.decode("utf-8", errors="replace").strip())
        metrics = data.get(contract.JOB_METRICS_KEY) if data else None
        return dict(metrics) if isinstance(metrics, dict) else {}

    @property
    def request_id(self) -> str | None:
        data = json_object(self.body.decode("utf-8", errors="replace").strip())
        found = data.get("request_id") if data else None
        return found if isinstance(found, str) else super().request_id


class RateLimitError(APIStatusError):
    """429: too many requests; :attr:`retry_after` says how long to wait."""

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked us to wait (``Retry-After`` or the reset header)."""
        return server_wait(self.headers)

    @property
    def reset_at(self) -> datetime | None:
        """When the rate limit resets (UTC), from ``x-rate-limit-reset-at-utc``."""
        return parse_datetime(self.headers.get(contract.HEADER_RATE_LIMIT_RESET))


class ServerError(APIStatusError):
    """Any 5xx: the service failed."""


class InternalServerError(ServerError):
    """500."""


class BadGatewayError(ServerError):
    """502."""


class ServiceUnavailableError(ServerError):
    """503."""


class GatewayTimeoutError(ServerError):
    """504: often a cold start."""


def class_rule(cls: type[APIStatusError]) -> StatusRule:
    """The rule of ``cls`` (or of its nearest ancestor that has one)."""
    for base in cls.__mro__:
        for rule in contract.STATUS_TABLE:
            if rule.error == base.__name__:
                return rule
    raise LookupError(cls)  # pragma: no cover - APIStatusError has a row


def json_object(text: str) -> dict[str, object] | None:
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None
