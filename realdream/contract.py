"""What we know about Segmind's RealDream Lightning API, as data: the one source of truth.

Every fact is a plain constant here, and each is also listed in :data:`FACTS` with its mark:

``VERIFIED``
    The vendor's reference page, its platform docs or its official SDK.
``REPORTED``
    Careful secondary sources; not confirmed by the vendor.
``CHOSEN``
    Nothing could be verified: this is our choice, written down in the README's "Contract
    notes". When a fact is verified (``realdream verify`` checks many), change its one line.

The client, the mock server, the demo and the CLI read every path, header, bound, default,
scheduler name, price and status from here. :data:`STATUS_TABLE` is the one table of error
statuses: the error class (by name; :mod:`realdream` builds ``STATUS_ERRORS`` from it), the
words a user reads, the mock's message, whether to retry and whether it is billed.

This module imports nothing from the rest of the package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple, TypeVar, get_args

__all__ = [
    "ADVERTISED_LATENCY_S",
    "APIS",
    "API_KEY_ENV",
    "API_KEY_HEADER",
    "API_KEY_PATTERN",
    "API_KEY_SHAPE",
    "BASE64_ALL_SAMPLES",
    "BASE64_DATA_PREFIX",
    "BASE64_MANY_KEY",
    "BASE64_ONE_KEY",
    "BASE_URL",
    "BASE_URL_ENV",
    "BILLED_STATUSES",
    "CONFIRMED_SCHEDULERS",
    "CONTENT_TYPE",
    "COST_PER_IMAGE_USD",
    "CREDITS_KEYS",
    "CREDITS_PATH",
    "DEFAULT_NEGATIVE_PROMPT",
    "DEFAULT_SCHEDULER",
    "DOCUMENTED_STATUSES",
    "ERROR_BODY_KEY",
    "ERROR_DESCRIPTION_KEY",
    "FACTS",
    "FAILED_STATUS_CODES",
    "GENERATE_PATH",
    "HEADER_COST",
    "HEADER_GENERATION_TIME",
    "HEADER_RATE_LIMIT_RESET",
    "HEADER_REMAINING_CREDITS",
    "HEADER_REQUEST_ID",
    "HEADER_RETRY_AFTER",
    "HEADER_SEED",
    "IMAGE_CONTENT_TYPE",
    "IMAGE_HOST",
    "IMAGE_SIZE_AS_REQUESTED",
    "JOB_ERROR_KEY",
    "JOB_IMAGES_KEY",
    "JOB_METRICS_KEY",
    "JOB_OUTPUT_KEY",
    "JOB_SEED_KEY",
    "JOB_STATES",
    "JOB_STATUS_KEY",
    "LIMITS",
    "METHOD_NOT_ALLOWED_HTML",
    "METRIC_COST",
    "METRIC_INFERENCE_TIME",
    "METRIC_QUEUE_TIME",
    "METRIC_REMAINING_CREDITS",
    "METRIC_TOTAL_TIME",
    "MODEL_NAME",
    "MODEL_SLUG",
    "POLLS_COUNT_AGAINST_RATE_LIMIT",
    "PROMPT_MAX_LENGTH",
    "RANDOM_SEED",
    "RATE_LIMIT_FREE_PER_MINUTE",
    "RATE_LIMIT_PRO_PER_MINUTE",
    "RESULT_TTL_S",
    "SCHEDULERS",
    "SIZE_MULTIPLE",
    "STATUS_TABLE",
    "TERMINAL_STATES",
    "V1_POLL_PATH",
    "V2_RESULT_PATH",
    "V2_STATUS_PATH",
    "V2_SUBMIT_KEYS",
    "V2_SUBMIT_PATH",
    "Api",
    "Body",
    "Fact",
    "JobState",
    "Limit",
    "Mark",
    "Scheduler",
    "StatusRule",
    "cost",
    "job_path",
    "message",
    "rule_for_case",
    "rules_for_status",
]

Mark = Literal["VERIFIED", "REPORTED", "CHOSEN"]
_T = TypeVar("_T")


@dataclass(frozen=True)
class Fact:
    """One fact about the service: its name, value, mark and where it comes from."""

    name: str
    value: object
    mark: Mark
    source: str = ""


#: Every named fact of this module, by constant name, with its mark.
FACTS: dict[str, Fact] = {}


def _fact(name: str, value: _T, mark: Mark, source: str = "") -> _T:
    FACTS[name] = Fact(name, value, mark, source)
    return value


# --- Endpoints -------------------------------------------------------------------------------
BASE_URL: Final = _fact("BASE_URL", "https://api.segmind.com", "VERIFIED")
MODEL_SLUG: Final = _fact("MODEL_SLUG", "sdxl1.0-realdream-lightning", "VERIFIED")
MODEL_NAME: Final = _fact("MODEL_NAME", "RealDream Lightning", "VERIFIED", "the page's title")
GENERATE_PATH: Final = _fact("GENERATE_PATH", f"/v1/{MODEL_SLUG}", "VERIFIED")
CREDITS_PATH: Final = _fact("CREDITS_PATH", "/v1/get-user-credits", "VERIFIED")
#: The credits endpoint answers ``{"credits": <float>, "free-credits": <float>}``.
CREDITS_KEYS: Final = _fact("CREDITS_KEYS", ("credits", "free-credits"), "VERIFIED", "numbers")

# --- The v2 queue API (submit, then poll; see ../shared/api/v2-facts.md) --------------------
#: The two paths the vendor serves: ``"v1"`` (one blocking call) and ``"v2"`` (the queue).
Api = Literal["v1", "v2"]
APIS: Final[tuple[Api, ...]] = _fact("APIS", get_args(Api), "VERIFIED")
V2_SUBMIT_PATH: Final = _fact("V2_SUBMIT_PATH", f"/v2/{MODEL_SLUG}", "VERIFIED")
#: ``{request_id}`` is filled in; status "returns only status and metrics".
V2_STATUS_PATH: Final = _fact("V2_STATUS_PATH", "/v2/requests/{request_id}/status", "VERIFIED")
V2_RESULT_PATH: Final = _fact("V2_RESULT_PATH", "/v2/requests/{request_id}", "VERIFIED")
#: "V1 poll endpoint (backward compatible)": its body is UNKNOWN; we never need it.
V1_POLL_PATH: Final = _fact("V1_POLL_PATH", "/v1/requests/{request_id}", "VERIFIED")
#: What a submit answers with (any 2xx: its exact code is UNKNOWN, 200 INFERRED).
V2_SUBMIT_KEYS: Final = _fact(
    "V2_SUBMIT_KEYS", ("request_id", "status", "poll_url", "status_url", "response_url"), "VERIFIED"
)
JobState = Literal["QUEUED", "PROCESSING", "COMPLETED", "FAILED"]
JOB_STATES: Final[tuple[JobState, ...]] = _fact("JOB_STATES", get_args(JobState), "VERIFIED")
TERMINAL_STATES: Final[frozenset[JobState]] = frozenset({"COMPLETED", "FAILED"})
#: "Request status and results are stored for 1 hour after submission."
RESULT_TTL_S: Final = _fact("RESULT_TTL_S", 3600.0, "VERIFIED")
#: A FAILED job is served with HTTP 422 (VERIFIED; the SDK's tests use 200: both are accepted).
FAILED_STATUS_CODES: Final = _fact("FAILED_STATUS_CODES", frozenset({200, 422}), "VERIFIED")
#: Keys of a job body: ``status`` and ``metrics`` always (VERIFIED); ``output`` on a result is a
#: URL, a list of them, or base64 (INFERRED), ``images[].url`` and ``seed`` REPORTED.
JOB_STATUS_KEY: Final = "status"
JOB_ERROR_KEY: Final = "error"
JOB_METRICS_KEY: Final = "metrics"
JOB_OUTPUT_KEY: Final = _fact("JOB_OUTPUT_KEY", "output", "VERIFIED", "always present")
JOB_IMAGES_KEY: Final = _fact("JOB_IMAGES_KEY", "images", "REPORTED", "[{url, content_type, ...}]")
JOB_SEED_KEY: Final = _fact("JOB_SEED_KEY", "seed", "REPORTED", "a string")
#: ``metrics`` fields (REPORTED): credits, and seconds.
METRIC_COST: Final = _fact("METRIC_COST", "cost", "REPORTED")
METRIC_REMAINING_CREDITS: Final = _fact("METRIC_REMAINING_CREDITS", "remaining_credits", "REPORTED")
METRIC_INFERENCE_TIME: Final = _fact("METRIC_INFERENCE_TIME", "inference_time", "VERIFIED")
METRIC_QUEUE_TIME: Final = _fact("METRIC_QUEUE_TIME", "queue_time", "REPORTED")
METRIC_TOTAL_TIME: Final = _fact("METRIC_TOTAL_TIME", "total_time", "REPORTED")
#: Whether status and result GETs count against the per-minute limit is UNKNOWN: we assume
#: they do (the safe reading), so the client's pacing counts every request.
POLLS_COUNT_AGAINST_RATE_LIMIT: Final = _fact("POLLS_COUNT_AGAINST_RATE_LIMIT", True, "CHOSEN")
#: Generated files live on a public host and need no key (REPORTED): never send it there.
IMAGE_HOST: Final = _fact("IMAGE_HOST", "images.segmind.com", "REPORTED", "public, kept 7 days")

# --- Environment -----------------------------------------------------------------------------
API_KEY_ENV: Final = "SEGMIND_API_KEY"
BASE_URL_ENV: Final = "REALDREAM_BASE_URL"

# --- Requests and authentication -------------------------------------------------------------
API_KEY_HEADER: Final = _fact("API_KEY_HEADER", "x-api-key", "VERIFIED", "no Bearer tokens")
API_KEY_PATTERN: Final = _fact("API_KEY_PATTERN", r"SG_[0-9a-f]{16}", "VERIFIED")
API_KEY_SHAPE: Final = "SG_ followed by 16 hex characters"  # API_KEY_PATTERN, in words
CONTENT_TYPE: Final = _fact(
    "CONTENT_TYPE", "application/json", "VERIFIED", "anything else is a 406"
)

# --- Success bodies --------------------------------------------------------------------------
#: ``base64: false`` answers the raw image with this content type.
IMAGE_CONTENT_TYPE: Final = _fact(
    "IMAGE_CONTENT_TYPE", "image/jpeg", "REPORTED", "the vendor's pages for sibling SDXL endpoints"
)
#: The image has the width and height asked for.
IMAGE_SIZE_AS_REQUESTED: Final = _fact(
    "IMAGE_SIZE_AS_REQUESTED", True, "CHOSEN", "the page says 'can only be 1024'"
)
#: ``base64: true`` answers JSON: ``{"image": "<b64>"}`` for one sample and
#: ``{"images": ["<b64>", ...]}`` for several (the shape is unverified; clients accept either
#: key with a string or a list, and strip a ``data:`` prefix).
BASE64_ONE_KEY: Final = _fact("BASE64_ONE_KEY", "image", "CHOSEN", "one sample")
BASE64_MANY_KEY: Final = _fact("BASE64_MANY_KEY", "images", "CHOSEN", "several samples")
BASE64_DATA_PREFIX: Final = _fact(
    "BASE64_DATA_PREFIX", False, "CHOSEN", "no data:image/...;base64, prefix"
)
#: With ``base64: true`` every sample asked for comes back (and is billed).
BASE64_ALL_SAMPLES: Final = _fact("BASE64_ALL_SAMPLES", True, "CHOSEN")

# --- Response headers ------------------------------------------------------------------------
HEADER_REMAINING_CREDITS: Final = _fact(
    "HEADER_REMAINING_CREDITS", "x-remaining-credits", "VERIFIED"
)
HEADER_REQUEST_ID: Final = _fact("HEADER_REQUEST_ID", "x-request-id", "REPORTED")
HEADER_COST: Final = _fact("HEADER_COST", "x-cost", "REPORTED")
HEADER_GENERATION_TIME: Final = _fact("HEADER_GENERATION_TIME", "x-generation-time", "REPORTED")
HEADER_SEED: Final = _fact(
    "HEADER_SEED", "x-seed-value", "REPORTED", "the vendor says 'a header', unnamed"
)
HEADER_RATE_LIMIT_RESET: Final = _fact(
    "HEADER_RATE_LIMIT_RESET",
    "x-rate-limit-reset-at-utc",
    "VERIFIED",
    "name only; we send ISO 8601 UTC and accept ISO 8601, epoch seconds or an HTTP date",
)
HEADER_RETRY_AFTER: Final = _fact(
    "HEADER_RETRY_AFTER", "retry-after", "REPORTED", "standard HTTP; reportedly absent on 429s"
)

# --- Error bodies ----------------------------------------------------------------------------
ERROR_BODY_KEY: Final = _fact(
    "ERROR_BODY_KEY", "error", "VERIFIED", 'errors are {"error": "<message>"}; 405 is HTML'
)
ERROR_DESCRIPTION_KEY: Final = _fact(
    "ERROR_DESCRIPTION_KEY",
    "error_description",
    "REPORTED",
    'auth errors: {"error": "<code>", "error_description": "<message>", "status_code": N}',
)
METHOD_NOT_ALLOWED_HTML: Final = (  # CHOSEN text; that 405 is an HTML page is VERIFIED
    "<html>\r\n<head><title>405 Not Allowed</title></head>\r\n<body>\r\n"
    "<center><h1>405 Not Allowed</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)

# --- Parameters ------------------------------------------------------------------------------
#: Every scheduler name we accept: the AUTOMATIC1111 sampler list. The vendor's page shows 11
#: of its "29" in this style (VERIFIED); the rest are our inference (CHOSEN).
Scheduler = Literal[
    "DPM++ SDE",
    "DPM++ SDE Karras",
    "DPM++ 2M Karras",
    "DPM++ 2M SDE Karras",
    "DPM++ 2M SDE Heun Karras",
    "DPM++ 3M SDE Karras",
    "LMS Karras",
    "DPM2 Karras",
    "DPM2 a Karras",
    "DPM++ 2S a Karras",
    "DPM++ 2M SDE Exponential",
    "DPM++ 2M SDE Heun Exponential",
    "DPM++ 3M SDE Exponential",
    "Euler a",
    "Euler",
    "LMS",
    "Heun",
    "DPM2",
    "DPM2 a",
    "DPM++ 2S a",
    "DPM++ 2M",
    "DPM++ 2M SDE",
    "DPM++ 2M SDE Heun",
    "DPM++ 3M SDE",
    "DPM fast",
    "DPM adaptive",
    "Restart",
    "DDIM",
    "PLMS",
    "UniPC",
]
SCHEDULERS: Final[tuple[Scheduler, ...]] = _fact("SCHEDULERS", get_args(Scheduler), "CHOSEN")
CONFIRMED_SCHEDULERS: Final[frozenset[Scheduler]] = _fact(
    "CONFIRMED_SCHEDULERS", frozenset(SCHEDULERS[:11]), "VERIFIED", "shown on the vendor's page"
)
DEFAULT_SCHEDULER: Final[Scheduler] = _fact("DEFAULT_SCHEDULER", "DPM++ SDE", "VERIFIED")
DEFAULT_NEGATIVE_PROMPT: Final = _fact(
    "DEFAULT_NEGATIVE_PROMPT",
    "blemishes,(worst quality, low quality, illustration, 3d, 2d, painting, cartoons, sketch),"
    " open mouth",
    "VERIFIED",
)
PROMPT_MAX_LENGTH: Final = _fact(
    "PROMPT_MAX_LENGTH", 2000, "CHOSEN", "no documented limit; SDXL reads ~77 tokens"
)
SIZE_MULTIPLE: Final = _fact(
    "SIZE_MULTIPLE", 8, "CHOSEN", "the page says 'can only be 1024'; its sample sends 768x1152"
)
#: The seed that asks for a random one (the client resolves it before sending).
RANDOM_SEED: Final = _fact("RANDOM_SEED", -1, "VERIFIED")


class Limit(NamedTuple):
    """The allowed range and default of a numeric parameter."""

    minimum: float
    maximum: float
    default: float
    step: float = 1


#: Bounds and defaults (VERIFIED from the reference page, except the sizes: CHOSEN).
LIMITS: Final[Mapping[str, Limit]] = _fact(
    "LIMITS",
    {
        "samples": Limit(1, 4, 1),
        "num_inference_steps": Limit(1, 100, 8),
        "guidance_scale": Limit(1.0, 25.0, 1.2, 0.1),
        "seed": Limit(RANDOM_SEED, 999_999_999_999_999, RANDOM_SEED),
        "img_width": Limit(256, 2048, 1024, SIZE_MULTIPLE),
        "img_height": Limit(256, 2048, 1024, SIZE_MULTIPLE),
    },
    "VERIFIED",
)

# --- Rate limits, latency and billing --------------------------------------------------------
RATE_LIMIT_FREE_PER_MINUTE: Final = _fact("RATE_LIMIT_FREE_PER_MINUTE", 5, "VERIFIED")
RATE_LIMIT_PRO_PER_MINUTE: Final = _fact("RATE_LIMIT_PRO_PER_MINUTE", 50, "VERIFIED")
ADVERTISED_LATENCY_S: Final = _fact("ADVERTISED_LATENCY_S", 3.02, "VERIFIED", "the page's ~3.02s")
COST_PER_IMAGE_USD: Final = _fact(
    "COST_PER_IMAGE_USD", 0.002, "VERIFIED", "'~$0.002'; the listing says 0.002366"
)
BILLED_STATUSES: Final = _fact(
    "BILLED_STATUSES", frozenset({200}), "VERIFIED", "only HTTP 200 is billed"
)


def cost(samples: int, price: float = COST_PER_IMAGE_USD) -> float:
    """What ``samples`` images cost in USD at ``price`` each (rounded to a micro-dollar)."""
    return round(samples * price, 6)


# --- The status table ------------------------------------------------------------------------
#: The shape of an error body: ``{"error": ...}``, an HTML page, an auth error with
#: ``error_description``, or a v2 job (``{"status": "FAILED", "error": ..., "metrics": {...}}``).
Body = Literal["json", "html", "auth", "job"]


@dataclass(frozen=True)
class StatusRule:
    """One documented way the API answers with an error status.

    A status can have several rules (401: missing or invalid key; 406: credits, Content-Type
    or spend limit); the first listed is the status's default, and ``markers`` (lower-case
    words of the message) pick the others. ``status=None`` is a class's rule for statuses no
    row names (any other 5xx is a ``ServerError``).
    """

    status: int | None
    #: The name of the error class in :mod:`realdream`.
    error: str
    #: What happened, in words a user can act on.
    title: str
    #: What to do next.
    hint: str
    #: The mock's message (``None``: the core's own validation text).
    message: str | None
    #: Whether sending the same request again can help (decided per class, not per status).
    retry: bool
    mark: Mark
    #: What the mock's ``X-Mock-Status`` and scripts call this case.
    case: str = ""
    markers: tuple[str, ...] = ()
    body: Body = "json"
    #: Only HTTP 200 is billed: no error status is.
    billed: bool = False

    def __post_init__(self) -> None:
        if not self.case and self.status is not None:
            object.__setattr__(self, "case", str(self.status))


_ANY = None  # a class's rule for the statuses no row names

#: Every error the API documents (and the fallbacks), in order; see :class:`StatusRule`.
STATUS_TABLE: Final[tuple[StatusRule, ...]] = (
    StatusRule(
        400,
        "BadRequestError",
        "Invalid request",
        "Check the parameters named in the message.",
        None,
        retry=False,
        mark="VERIFIED",
    ),
    StatusRule(
        401,
        "AuthenticationError",
        "Invalid API key",
        f"Check the key (set {API_KEY_ENV} or pass api_key=); create a new one if it expired.",
        "Unauthorized. API key is invalid or may have expired...",
        retry=False,
        mark="VERIFIED",
    ),
    StatusRule(
        401,
        "AuthenticationError",
        "Missing API key",
        f"Send the key in the {API_KEY_HEADER} header (set {API_KEY_ENV} or pass api_key=).",
        "Missing Authorization or x-api-key in header",
        retry=False,
        mark="VERIFIED",
        case="401-missing-key",
        markers=("missing",),
    ),
    StatusRule(
        401,
        "AuthenticationError",
        "Invalid API key",
        f"Check the key (set {API_KEY_ENV} or pass api_key=); create a new one if it expired.",
        "API key is invalid.",
        retry=False,
        mark="REPORTED",
        case="401-invalid-api-key",
        markers=("invalid_api_key", "invalid_token"),
        body="auth",
    ),
    StatusRule(
        403,
        "PermissionDeniedError",
        "Permission denied",
        "Retrying will not help: check the team's model restrictions for this key.",
        "Forbidden",
        retry=False,
        mark="REPORTED",
    ),
    StatusRule(
        404,
        "NotFoundError",
        "Not found",
        "Check the base URL and the model path.",
        "Model not found. Check the endpoint path.",
        retry=False,
        mark="VERIFIED",
    ),
    StatusRule(
        404,
        "NotFoundError",
        "No credits found",
        "The account has no balance record yet: add credits in Segmind's console.",
        "No credits found for the user",
        retry=False,
        mark="REPORTED",
        case="404-no-credits",
        markers=("no credits found",),
    ),
    StatusRule(
        404,
        "JobExpiredError",
        "Job not found",
        "Results are kept one hour after submission: past that, or for an unknown id, the job "
        "is gone (its images may still be on the image host if you saved their URLs).",
        "Request 00000000-0000-0000-0000-000000000000 not found",
        retry=False,
        mark="REPORTED",
        case="404-job-expired",
        markers=("request ",),
    ),
    StatusRule(
        405,
        "MethodNotAllowedError",
        "Method not allowed",
        "The generate endpoint takes POST.",
        "405 Not Allowed",
        retry=False,
        mark="VERIFIED",
        body="html",
    ),
    StatusRule(
        406,
        "InsufficientCreditsError",
        "Not enough credits",
        "Top up the account's credits, then try again.",
        "Insufficient credits. Not enough credits to process request.",
        retry=False,
        mark="VERIFIED",
        markers=("credit",),
    ),
    StatusRule(
        406,
        "UnsupportedContentTypeError",
        "Unsupported content type",
        f"Send the body as JSON with Content-Type: {CONTENT_TYPE}.",
        "Invalid content type",
        retry=False,
        mark="VERIFIED",
        case="406-content-type",
        markers=("content-type", "content type"),
    ),
    StatusRule(
        406,
        "SpendLimitError",
        "Spend limit reached",
        "A team spend limit is used up: raise it in Segmind's console, or wait for its period.",
        "Team spend limit reached: the monthly limit of $50.00 is used up.",
        retry=False,
        mark="REPORTED",
        case="406-spend-limit",
        markers=("spend limit", "spending limit"),
    ),
    StatusRule(
        410,
        "ModelRetiredError",
        "Model retired",
        "This model is no longer served: retrying will not help; choose another model.",
        "This model has been retired.",
        retry=False,
        mark="REPORTED",
    ),
    StatusRule(
        422,
        "UnprocessableEntityError",
        "Invalid or missing parameters",
        "Check the parameters named in the message.",
        "Unprocessable request: invalid or missing parameters.",
        retry=False,
        mark="VERIFIED",
    ),
    StatusRule(
        422,
        "GenerationFailedError",
        "Generation failed",
        "The job ran and failed (nothing was billed): check the parameters named in the message.",
        "Prompt is Mandatory and must be string",
        retry=False,
        mark="VERIFIED",
        case="422-job-failed",
        markers=("status:failed",),
        body="job",
    ),
    StatusRule(
        429,
        "RateLimitError",
        "Rate limited",
        "Wait for the rate limit to reset, or lower the request rate.",
        "Rate limit exceeded. Too many requests.",
        retry=True,
        mark="VERIFIED",
    ),
    StatusRule(
        500,
        "InternalServerError",
        "Internal server error",
        "The service failed; try again shortly.",
        "Internal server error.",
        retry=True,
        mark="VERIFIED",
    ),
    StatusRule(
        502,
        "BadGatewayError",
        "Bad gateway",
        "The service is temporarily unavailable; try again shortly.",
        "Bad gateway. Service temporarily unavailable.",
        retry=True,
        mark="VERIFIED",
    ),
    StatusRule(
        503,
        "ServiceUnavailableError",
        "Service unavailable",
        "The service is temporarily unavailable; try again shortly.",
        "Service unavailable. Try again shortly.",
        retry=True,
        mark="CHOSEN",
    ),
    StatusRule(
        504,
        "GatewayTimeoutError",
        "Gateway timeout",
        "The model may be cold-starting; try again in a minute.",
        "Gateway timeout. The request timed out.",
        retry=True,
        mark="VERIFIED",
    ),
    StatusRule(
        _ANY,
        "ServerError",
        "Server error",
        "The service failed; try again shortly.",
        None,
        retry=True,
        mark="CHOSEN",
    ),
    StatusRule(
        _ANY,
        "NotAcceptableError",
        "Not acceptable",
        "",
        None,
        retry=False,
        mark="CHOSEN",
    ),
    StatusRule(_ANY, "APIStatusError", "API error", "", None, retry=False, mark="CHOSEN"),
)

#: Statuses the reference page or the platform docs name.
DOCUMENTED_STATUSES: Final = tuple(
    sorted(
        {rule.status for rule in STATUS_TABLE if rule.status is not None and rule.mark != "CHOSEN"}
    )
)


def rules_for_status(status: int) -> tuple[StatusRule, ...]:
    """The rules of ``status``, its default first (empty for a status no row names)."""
    return tuple(rule for rule in STATUS_TABLE if rule.status == status)


def rule_for_case(case: str) -> StatusRule | None:
    """The rule the mock calls ``case`` (``"406-spend-limit"``, ``"429"``), or ``None``."""
    return next((rule for rule in STATUS_TABLE if rule.case == case and rule.case), None)


def job_path(template: str, request_id: str) -> str:
    """A v2 path with its request id filled in (``V2_STATUS_PATH``, ``V2_RESULT_PATH``...)."""
    return template.format(request_id=request_id)


def message(case: str) -> str:
    """The message the rule ``case`` answers with (``"401-missing-key"``, ``"429"``)."""
    rule = rule_for_case(case)
    if rule is None or rule.message is None:
        raise KeyError(f"case={case!r}: no status rule with a fixed message has that case")
    return rule.message
