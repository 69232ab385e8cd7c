"""Every error realdream raises, rooted at :class:`RealDreamError`.

The tree is split by whether a response arrived::

    RealDreamError
    ├── ValidationError (also ValueError)      bad parameters, caught before any request
    ├── ConfigurationError (also ValueError)   no API key, or an unusable one
    ├── APIConnectionError                     no response arrived
    │   └── APITimeoutError
    └── APIResponseError                       a response arrived, but not a usable image
        ├── InvalidResponseError               HTTP 2xx whose body is not a readable image
        └── APIStatusError                     HTTP 4xx/5xx; status_code, message, body, headers
            ├── BadRequestError                400
            ├── AuthenticationError            401
            ├── PermissionDeniedError          403
            ├── NotFoundError                  404
            ├── MethodNotAllowedError          405
            ├── NotAcceptableError             406, one of:
            │   ├── InsufficientCreditsError       not enough credits
            │   └── UnsupportedContentTypeError    missing or wrong Content-Type
            ├── UnprocessableEntityError       422
            ├── RateLimitError                 429; retry_after, reset_at
            └── ServerError                    any 5xx
                ├── InternalServerError        500
                ├── BadGatewayError            502
                ├── ServiceUnavailableError    503
                └── GatewayTimeoutError        504

:data:`STATUS_ERRORS` is the one table from status code to class; :func:`error_for_status`
applies it (an unknown 5xx becomes :class:`ServerError`, any other status
:class:`APIStatusError`).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar

from realdream import _contract
from realdream._headers import parse_datetime, server_wait

__all__ = [
    "STATUS_ERRORS",
    "APIConnectionError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "ConfigurationError",
    "GatewayTimeoutError",
    "InsufficientCreditsError",
    "InternalServerError",
    "InvalidResponseError",
    "MethodNotAllowedError",
    "NotAcceptableError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RealDreamError",
    "ServerError",
    "ServiceUnavailableError",
    "UnprocessableEntityError",
    "UnsupportedContentTypeError",
    "ValidationError",
    "error_for_status",
    "parse_error_message",
]

_MAX_MESSAGE_CHARS = 500


class RealDreamError(Exception):
    """Base class of every error this package raises."""


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
        return self.headers.get(_contract.HEADER_REQUEST_ID)


class InvalidResponseError(APIResponseError):
    """The server answered 2xx but the body is not a readable image."""


class APIStatusError(APIResponseError):
    """The server answered with an error status (4xx or 5xx)."""

    #: What the status means, in words a user can act on.
    title: ClassVar[str] = "API error"
    #: What to do next.
    hint: ClassVar[str] = ""

    def __str__(self) -> str:
        text = f"{self.title} ({self.status_code}): {self.message}"
        if not self.hint:
            return text
        return f"{text}{'' if text.endswith(('.', '!', '?')) else '.'} {self.hint}"


class BadRequestError(APIStatusError):
    title = "Invalid request"
    hint = "Check the parameters named in the message."


class AuthenticationError(APIStatusError):
    title = "Missing or invalid API key"
    hint = "Set SEGMIND_API_KEY or pass api_key= with a valid key."


class PermissionDeniedError(APIStatusError):
    title = "Permission denied"
    hint = "This key may not use this model; check the key's permissions."


class NotFoundError(APIStatusError):
    title = "Not found"
    hint = "Check the base URL and the model path."


class MethodNotAllowedError(APIStatusError):
    title = "Method not allowed"
    hint = "The generate endpoint takes POST."


class NotAcceptableError(APIStatusError):
    title = "Not acceptable"


class InsufficientCreditsError(NotAcceptableError):
    title = "Not enough credits"
    hint = "Top up the account's credits, then try again."


class UnsupportedContentTypeError(NotAcceptableError):
    title = "Unsupported content type"
    hint = "Send the body as JSON with Content-Type: application/json."


class UnprocessableEntityError(APIStatusError):
    title = "Invalid or missing parameters"
    hint = "Check the parameters named in the message."


class RateLimitError(APIStatusError):
    title = "Rate limited"
    hint = "Wait for the rate limit to reset, or lower the request rate."

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked us to wait (``Retry-After`` or the reset header)."""
        return server_wait(self.headers)

    @property
    def reset_at(self) -> datetime | None:
        """When the rate limit resets (UTC), from ``x-rate-limit-reset-at-utc``."""
        return parse_datetime(self.headers.get(_contract.HEADER_RATE_LIMIT_RESET))


class ServerError(APIStatusError):
    title = "Server error"
    hint = "The service failed; try again shortly."


class InternalServerError(ServerError):
    title = "Internal server error"
    hint = ServerError.hint


class BadGatewayError(ServerError):
    title = "Bad gateway"
    hint = "The service is temporarily unavailable; try again shortly."


class ServiceUnavailableError(ServerError):
    title = "Service unavailable"
    hint = BadGatewayError.hint


class GatewayTimeoutError(ServerError):
    title = "Gateway timeout"
    hint = "The model may be cold-starting; try again in a minute."


#: The one table from HTTP status to error class (406 is split further by its message).
STATUS_ERRORS: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    406: NotAcceptableError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    500: InternalServerError,
    502: BadGatewayError,
    503: ServiceUnavailableError,
    504: GatewayTimeoutError,
}


def parse_error_message(body: bytes, content_type: str = "") -> str:
    """The human message of an error body: ``{"error": ...}`` when JSON, else plain text."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in (_contract.ERROR_BODY_KEY, "message", "detail"):
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                return _shorten(value.strip())
    if "html" in content_type.lower() or text.lstrip().startswith("<"):
        text = _strip_html(text)
    return _shorten(text) or "(empty response body)"


def error_for_status(
    status_code: int, body: bytes, headers: Mapping[str, str] | None = None
) -> APIStatusError:
    """Build the error for an HTTP error response, using :data:`STATUS_ERRORS`."""
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    message = parse_error_message(body, lowered.get("content-type", ""))
    cls = STATUS_ERRORS.get(status_code)
    if cls is None:
        cls = ServerError if 500 <= status_code <= 599 else APIStatusError
    elif cls is NotAcceptableError:
        cls = _classify_406(message)
    return cls(message, status_code=status_code, body=body, headers=lowered)


def _classify_406(message: str) -> type[NotAcceptableError]:
    lowered = message.lower()
    if any(marker in lowered for marker in _contract.CONTENT_TYPE_MARKERS):
        return UnsupportedContentTypeError
    return InsufficientCreditsError


def _strip_html(text: str) -> str:
    title = re.search(r"<title[^>]*>(.*?)</title>", text, flags=re.IGNORECASE | re.DOTALL)
    if title:
        return html.unescape(title.group(1)).strip()
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def _shorten(text: str) -> str:
    if len(text) <= _MAX_MESSAGE_CHARS:
        return text
    return text[: _MAX_MESSAGE_CHARS - 1] + "…"
