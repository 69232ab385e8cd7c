"""What we know about the real service, as data, each line marked with where it comes from.

``VERIFIED``: the vendor's reference page, its platform docs or its official SDK.
``REPORTED``: careful secondary sources; not confirmed by the vendor.
``CHOSEN``: nothing could be verified; this is our choice, written down in the README's
"Contract notes". When a fact is verified, change the one line that states it.

Everything else in the project (client, mock server, demo, CLI) imports from here or from
``realdream._params``; nothing re-declares a path, header, message or price.
"""

from __future__ import annotations

from typing import Final

# --- Endpoint ------------------------------------------------------------------------------
BASE_URL: Final = "https://api.segmind.com"  # VERIFIED
MODEL_SLUG: Final = "sdxl1.0-realdream-lightning"  # VERIFIED
GENERATE_PATH: Final = f"/v1/{MODEL_SLUG}"  # VERIFIED
CREDITS_PATH: Final = "/v1/get-user-credits"  # VERIFIED
MODEL_NAME: Final = "RealDream Lightning"  # VERIFIED (the reference page's title)

# --- Authentication ------------------------------------------------------------------------
API_KEY_HEADER: Final = "x-api-key"  # VERIFIED; Bearer tokens are not accepted
API_KEY_PATTERN: Final = r"SG_[0-9a-f]{16}"  # VERIFIED (what real keys look like)
API_KEY_SHAPE: Final = "SG_ followed by 16 hex characters"  # the same, in words

# --- Response headers ----------------------------------------------------------------------
HEADER_REMAINING_CREDITS: Final = "x-remaining-credits"  # VERIFIED
HEADER_REQUEST_ID: Final = "x-request-id"  # REPORTED
HEADER_COST: Final = "x-cost"  # REPORTED
HEADER_GENERATION_TIME: Final = "x-generation-time"  # REPORTED
HEADER_SEED: Final = "x-seed-value"  # REPORTED (the vendor says "a header", unnamed)
HEADER_RATE_LIMIT_RESET: Final = "x-rate-limit-reset-at-utc"  # VERIFIED (name only)
HEADER_RETRY_AFTER: Final = "retry-after"  # standard HTTP; reportedly absent on real 429s
# CHOSEN: the value's format is unknown; we send ISO 8601 UTC and accept ISO 8601, epoch
# seconds or an HTTP date.

# --- Error bodies --------------------------------------------------------------------------
ERROR_BODY_KEY: Final = "error"  # VERIFIED: errors are {"error": "<message>"}, 405 is HTML
MESSAGE_MISSING_KEY: Final = "Missing Authorization or x-api-key in header"  # VERIFIED
MESSAGE_INVALID_KEY: Final = (  # VERIFIED (the text is cut off on the vendor's page)
    "Unauthorized. API key is invalid or may have expired..."
)
#: CHOSEN: the real 405 is an HTML page from the proxy (VERIFIED); its exact text is not.
METHOD_NOT_ALLOWED_HTML: Final = (
    "<html>\r\n<head><title>405 Not Allowed</title></head>\r\n<body>\r\n"
    "<center><h1>405 Not Allowed</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
MESSAGE_FORBIDDEN: Final = "Forbidden. This API key may not use this model."  # CHOSEN
MESSAGE_NOT_FOUND: Final = "Model not found. Check the endpoint path."  # CHOSEN
MESSAGE_INSUFFICIENT_CREDITS: Final = (  # CHOSEN (406 #1: the documented meaning)
    "Insufficient credits. Not enough credits to process request."
)
MESSAGE_BAD_CONTENT_TYPE: Final = (  # CHOSEN (406 #2: told apart from credits by its text)
    "Invalid or missing Content-Type header: send Content-Type: application/json"
)
MESSAGE_RATE_LIMITED: Final = "Rate limit exceeded. Too many requests."  # CHOSEN
MESSAGE_UNPROCESSABLE: Final = "Unprocessable request: invalid or missing parameters."  # CHOSEN
MESSAGE_SERVER_ERROR: Final = "Internal server error."  # CHOSEN
MESSAGE_BAD_GATEWAY: Final = "Bad gateway. Service temporarily unavailable."  # CHOSEN
MESSAGE_SERVICE_UNAVAILABLE: Final = "Service unavailable. Try again shortly."  # CHOSEN
MESSAGE_GATEWAY_TIMEOUT: Final = "Gateway timeout. The request timed out."  # CHOSEN
# Words that mark a 406 as a Content-Type problem rather than missing credits.
CONTENT_TYPE_MARKERS: Final = ("content-type", "content type")  # CHOSEN

# Statuses named by the reference page or the platform docs, in one place.
DOCUMENTED_STATUSES: Final = (400, 401, 403, 404, 405, 406, 422, 429, 500, 502, 504)  # VERIFIED

# --- Rate limits and billing ---------------------------------------------------------------
RATE_LIMIT_FREE_PER_MINUTE: Final = 5  # VERIFIED
RATE_LIMIT_PRO_PER_MINUTE: Final = 50  # VERIFIED
COST_PER_IMAGE_USD: Final = 0.002  # VERIFIED as "~$0.002" (the listing says 0.002366)
ADVERTISED_LATENCY_S: Final = 3.02  # VERIFIED (the reference page's "~3.02s")
BILLED_STATUSES: Final = frozenset({200})  # VERIFIED: only HTTP 200 is billed
