"""Errors built from the status table: which class an HTTP answer maps to, and its message.

Which class a status maps to, what the user reads (``title``, ``hint``) and whether a retry can
help all come from one place, :data:`realdream.contract.STATUS_TABLE`; :data:`STATUS_ERRORS`
and :func:`error_for_status` are derived from it. The classes themselves (the tree, drawn in
:mod:`realdream._exceptions`) are re-exported here, so the rest of the core has one place to
import errors from.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Final

from realdream import contract
from realdream._exceptions import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadGatewayError,
    BadRequestError,
    ConfigurationError,
    GatewayTimeoutError,
    GenerationFailedError,
    InsufficientCreditsError,
    InternalServerError,
    InvalidResponseError,
    JobExpiredError,
    MethodNotAllowedError,
    ModelRetiredError,
    NotAcceptableError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RealDreamError,
    ServerError,
    ServiceUnavailableError,
    SpendLimitError,
    UnprocessableEntityError,
    UnsupportedContentTypeError,
    ValidationError,
    class_rule,
    json_object,
)
from realdream.contract import StatusRule

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
    "error_class",
    "error_for_status",
    "parse_error_message",
]

_MAX_MESSAGE_CHARS: Final = 500


def _classes() -> dict[str, type[APIStatusError]]:
    found: dict[str, type[APIStatusError]] = {}
    pending: list[type[APIStatusError]] = [APIStatusError]
    while pending:
        cls = pending.pop()
        found[cls.__name__] = cls
        pending.extend(cls.__subclasses__())
    return found


_CLASSES: Final = _classes()


def error_class(rule: StatusRule) -> type[APIStatusError]:
    """The class a row of the status table names."""
    return _CLASSES[rule.error]


def _common_base(classes: list[type[APIStatusError]]) -> type[APIStatusError]:
    first = classes[0]
    return next(c for c in first.__mro__ if all(issubclass(o, c) for o in classes))


def _status_errors() -> dict[int, type[APIStatusError]]:
    by_status: dict[int, list[type[APIStatusError]]] = {}
    for rule in contract.STATUS_TABLE:
        if rule.status is not None:
            by_status.setdefault(rule.status, []).append(error_class(rule))
    return {status: _common_base(classes) for status, classes in sorted(by_status.items())}


#: The one table from HTTP status to error class, derived from the contract's status table
#: (406 is split further by its message, into the classes of its rules).
STATUS_ERRORS: Final[Mapping[int, type[APIStatusError]]] = _status_errors()


def parse_error_message(body: bytes, content_type: str = "") -> str:
    """The human message of an error body: ``{"error": ...}`` when JSON, else plain text.

    An auth error's ``{"error": "<code>", "error_description": "<message>"}`` gives the
    description.
    """
    return _error_fields(body, content_type)[0]


def _error_fields(body: bytes, content_type: str) -> tuple[str, str]:
    """``(message, code)``: the code is the ``error`` of an auth-style body, else ``""``."""
    text = body.decode("utf-8", errors="replace").strip()
    data = json_object(text)
    if data is not None:
        error, description = (
            data.get(contract.ERROR_BODY_KEY),
            data.get(contract.ERROR_DESCRIPTION_KEY),
        )
        if data.get(contract.JOB_STATUS_KEY) == "FAILED":  # a v2 job: its error is the message
            text = error.strip() if isinstance(error, str) and error.strip() else "no detail"
            return _shorten(text), "status:FAILED"
        if isinstance(description, str) and description.strip():
            code = error.strip() if isinstance(error, str) else ""
            return _shorten(description.strip()), code
        for key in (contract.ERROR_BODY_KEY, "message", "detail"):
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                return _shorten(value.strip()), ""
    if "html" in content_type.lower() or text.lstrip().startswith("<"):
        text = _strip_html(text)
    return _shorten(text) or "(empty response body)", ""


def error_for_status(
    status_code: int, body: bytes, headers: Mapping[str, str] | None = None
) -> APIStatusError:
    """Build the error for an HTTP error response from the contract's status table.

    The status's rules are told apart by their markers in the message; a status no row names
    becomes :class:`ServerError` (5xx) or :class:`APIStatusError`.
    """
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    message, code = _error_fields(body, lowered.get("content-type", ""))
    if 300 <= status_code <= 399:
        message = _redirect_message(lowered.get("location"))
    rule = _match(status_code, f"{code} {message}".lower())
    return error_class(rule)(
        message, status_code=status_code, body=body, headers=lowered, rule=rule
    )


def _match(status_code: int, text: str) -> StatusRule:
    rules = contract.rules_for_status(status_code)
    if not rules:
        return class_rule(ServerError if 500 <= status_code <= 599 else APIStatusError)
    for rule in rules[1:]:
        if any(marker in text for marker in rule.markers):
            return rule
    return rules[0]


def _redirect_message(location: str | None) -> str:
    where = f" to {location}" if location else ""
    return (
        f"The server redirected{where}; realdream does not follow redirects (the API key would "
        "travel with them): check the base URL"
    )


def _strip_html(text: str) -> str:
    title = re.search(r"<title[^>]*>(.*?)</title>", text, flags=re.IGNORECASE | re.DOTALL)
    if title:
        return html.unescape(title.group(1)).strip()
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def _shorten(text: str) -> str:
    if len(text) <= _MAX_MESSAGE_CHARS:
        return text
    return text[: _MAX_MESSAGE_CHARS - 1] + "…"
