"""realdream: a typed client, offline mock and tools for Segmind's RealDream Lightning API.

>>> import realdream                                                   # doctest: +SKIP
>>> with realdream.Client() as client:                                 # SEGMIND_API_KEY
...     result = client.generate("studio portrait of an old fisherman", seed=7)
...     result.image.save("fisherman.png")                             # parameters embedded
"""

from __future__ import annotations

import typing as _typing

from realdream._errors import (
    STATUS_ERRORS,
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadGatewayError,
    BadRequestError,
    ConfigurationError,
    GatewayTimeoutError,
    InsufficientCreditsError,
    InternalServerError,
    InvalidResponseError,
    MethodNotAllowedError,
    NotAcceptableError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RealDreamError,
    ServerError,
    ServiceUnavailableError,
    UnprocessableEntityError,
    UnsupportedContentTypeError,
    ValidationError,
    error_for_status,
)
from realdream._metadata import (
    format_parameters,
    parse_parameters,
    read_parameters,
    request_from_parameters,
)
from realdream._params import (
    CONFIRMED_SCHEDULERS,
    DEFAULT_NEGATIVE_PROMPT,
    DEFAULT_SCHEDULER,
    LIMITS,
    PROMPT_MAX_LENGTH,
    SCHEDULERS,
    GenerationRequest,
    Limit,
    Scheduler,
)
from realdream._result import Credits, GeneratedImage, GenerationResult
from realdream._version import __version__

#: Names whose modules import httpx (and asyncio): loaded on first use, so code that only
#: validates requests or reads image metadata, and the CLI's --help, start without them.
_LAZY = {
    **dict.fromkeys(
        ("API_KEY_ENV", "BASE_URL_ENV", "DEFAULT_TIMEOUT", "AsyncClient", "Client"),
        "realdream._client",
    ),
    **dict.fromkeys(("MAX_RETRY_WAIT", "RETRYABLE_STATUSES", "RetryPolicy"), "realdream._retry"),
}

if _typing.TYPE_CHECKING:  # type checkers see plain imports (and still flag unknown names)
    from realdream._client import API_KEY_ENV, BASE_URL_ENV, DEFAULT_TIMEOUT, AsyncClient, Client
    from realdream._retry import MAX_RETRY_WAIT, RETRYABLE_STATUSES, RetryPolicy
else:

    def __getattr__(name: str) -> object:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'realdream' has no attribute {name!r}")
        from importlib import import_module

        value = getattr(import_module(module), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *_LAZY})


__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "CONFIRMED_SCHEDULERS",
    "DEFAULT_NEGATIVE_PROMPT",
    "DEFAULT_SCHEDULER",
    "DEFAULT_TIMEOUT",
    "LIMITS",
    "MAX_RETRY_WAIT",
    "PROMPT_MAX_LENGTH",
    "RETRYABLE_STATUSES",
    "SCHEDULERS",
    "STATUS_ERRORS",
    "APIConnectionError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "Client",
    "ConfigurationError",
    "Credits",
    "GatewayTimeoutError",
    "GeneratedImage",
    "GenerationRequest",
    "GenerationResult",
    "InsufficientCreditsError",
    "InternalServerError",
    "InvalidResponseError",
    "Limit",
    "MethodNotAllowedError",
    "NotAcceptableError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RealDreamError",
    "RetryPolicy",
    "Scheduler",
    "ServerError",
    "ServiceUnavailableError",
    "UnprocessableEntityError",
    "UnsupportedContentTypeError",
    "ValidationError",
    "__version__",
    "error_for_status",
    "format_parameters",
    "parse_parameters",
    "read_parameters",
    "request_from_parameters",
]
