"""realdream: a typed client, offline mock and tools for Segmind's RealDream Lightning API.

>>> import realdream                                                   # doctest: +SKIP
>>> with realdream.Client() as client:                                 # SEGMIND_API_KEY
...     result = client.generate("studio portrait of an old fisherman", seed=7)
...     result.image.save("fisherman.png")                             # parameters embedded
"""

import typing as _typing

from realdream import contract
from realdream._amounts import parse_amount, reported_amount
from realdream._budget import Budget
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
    error_class,
    error_for_status,
)
from realdream._headers import server_wait
from realdream._jobs import (
    DEFAULT_WAIT_TIMEOUT,
    AsyncJob,
    Job,
    JobPendingError,
    JobStatus,
    JobTimeoutError,
)
from realdream._metadata import (
    format_parameters,
    parse_parameters,
    read_parameters,
    read_request,
    request_from_parameters,
    write_atomic,
)
from realdream._params import GenerationRequest, parse_json_object
from realdream._policy import MAX_RETRY_WAIT, REDACTED, RetryPolicy
from realdream._result import Credits, GeneratedImage, GenerationResult
from realdream._sent import SentRequest
from realdream._version import __version__
from realdream.contract import (
    API_KEY_ENV,
    BASE_URL_ENV,
    CONFIRMED_SCHEDULERS,
    DEFAULT_NEGATIVE_PROMPT,
    DEFAULT_SCHEDULER,
    LIMITS,
    PROMPT_MAX_LENGTH,
    SCHEDULERS,
    Api,
    Limit,
    Scheduler,
)
from realdream.verify._probes import DEFAULT_VERIFY_MAX_COST

# Importing the ``realdream/verify/`` package bound the name ``verify`` here to it; the name is
# the function's (loaded on first use, below), and nothing rebinds it once the package is loaded.
del verify  # noqa: F821

#: Names whose modules import httpx (and asyncio): loaded on first use, so code that only
#: validates requests or reads image metadata, and the CLI's --help, start without them.
_LAZY = {
    **dict.fromkeys(("DEFAULT_MAX_IN_FLIGHT", "AsyncClient"), "realdream._async_client"),
    "Client": "realdream._client",
    **dict.fromkeys(("averify", "verify"), "realdream.verify._api"),
    "VerifyReport": "realdream.verify._report",
    "VerifyRow": "realdream.verify._rows",
    "DEFAULT_TIMEOUT": "realdream._base",
}

if _typing.TYPE_CHECKING:  # type checkers see plain imports (and still flag unknown names)
    from realdream._async_client import DEFAULT_MAX_IN_FLIGHT, AsyncClient
    from realdream._base import DEFAULT_TIMEOUT
    from realdream._client import Client
    from realdream.verify._api import averify, verify
    from realdream.verify._report import VerifyReport
    from realdream.verify._rows import VerifyRow
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
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_NEGATIVE_PROMPT",
    "DEFAULT_SCHEDULER",
    "DEFAULT_TIMEOUT",
    "DEFAULT_VERIFY_MAX_COST",
    "DEFAULT_WAIT_TIMEOUT",
    "LIMITS",
    "MAX_RETRY_WAIT",
    "PROMPT_MAX_LENGTH",
    "REDACTED",
    "SCHEDULERS",
    "STATUS_ERRORS",
    "APIConnectionError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "Api",
    "AsyncClient",
    "AsyncJob",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "Budget",
    "Client",
    "ConfigurationError",
    "Credits",
    "GatewayTimeoutError",
    "GeneratedImage",
    "GenerationFailedError",
    "GenerationRequest",
    "GenerationResult",
    "InsufficientCreditsError",
    "InternalServerError",
    "InvalidResponseError",
    "Job",
    "JobExpiredError",
    "JobPendingError",
    "JobStatus",
    "JobTimeoutError",
    "Limit",
    "MethodNotAllowedError",
    "ModelRetiredError",
    "NotAcceptableError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RealDreamError",
    "RetryPolicy",
    "Scheduler",
    "SentRequest",
    "ServerError",
    "ServiceUnavailableError",
    "SpendLimitError",
    "UnprocessableEntityError",
    "UnsupportedContentTypeError",
    "ValidationError",
    "VerifyReport",
    "VerifyRow",
    "__version__",
    "averify",
    "contract",
    "error_class",
    "error_for_status",
    "format_parameters",
    "parse_amount",
    "parse_json_object",
    "parse_parameters",
    "read_parameters",
    "read_request",
    "reported_amount",
    "request_from_parameters",
    "server_wait",
    "verify",
    "write_atomic",
]
