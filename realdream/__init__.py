"""realdream: a typed client, offline mock and tools for Segmind's RealDream Lightning API.

>>> import realdream                                                   # doctest: +SKIP
>>> with realdream.Client() as client:                                 # SEGMIND_API_KEY
...     result = client.generate("studio portrait of an old fisherman", seed=7)
...     result.image.save("fisherman.png")                             # parameters embedded
"""

from realdream import contract
from realdream._client import DEFAULT_MAX_IN_FLIGHT, DEFAULT_TIMEOUT, AsyncClient, Client
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
from realdream._metadata import (
    format_parameters,
    parse_parameters,
    read_parameters,
    request_from_parameters,
)
from realdream._params import GenerationRequest, parse_json_object
from realdream._result import Credits, GeneratedImage, GenerationResult
from realdream._retry import MAX_RETRY_WAIT, REDACTED, RetryPolicy
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
    Limit,
    Scheduler,
)

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "CONFIRMED_SCHEDULERS",
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_NEGATIVE_PROMPT",
    "DEFAULT_SCHEDULER",
    "DEFAULT_TIMEOUT",
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
    "ModelRetiredError",
    "NotAcceptableError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RealDreamError",
    "RetryPolicy",
    "Scheduler",
    "ServerError",
    "ServiceUnavailableError",
    "SpendLimitError",
    "UnprocessableEntityError",
    "UnsupportedContentTypeError",
    "ValidationError",
    "__version__",
    "contract",
    "error_class",
    "error_for_status",
    "format_parameters",
    "parse_json_object",
    "parse_parameters",
    "read_parameters",
    "request_from_parameters",
    "server_wait",
]
