"""The OpenAPI 3.1 document of the mock (and of the real endpoint as we understand it).

Built from the core's ``GenerationRequest.json_schema()``: every bound, enum, default and
pattern comes from there. Pure: :func:`build_openapi` returns a fresh dict.
"""

from __future__ import annotations

from typing import Any, Final

from mocks._scenarios import FORCE_STATUS_HEADER, FORCEABLE_STATUSES
from realdream import (
    STATUS_ERRORS,
    GenerationRequest,
    InsufficientCreditsError,
    UnsupportedContentTypeError,
    __version__,
    _contract,
)

__all__ = ["SECURITY_SCHEME", "build_openapi"]

SECURITY_SCHEME: Final = "ApiKeyAuth"

#: Statuses about a generate request's body; the credits endpoint takes none.
_BODY_STATUSES: Final = frozenset({400, 406, 422})
#: What the credits endpoint may answer besides 200 (``X-Mock-Status`` included).
_CREDITS_STATUSES: Final = tuple(s for s in FORCEABLE_STATUSES if s not in _BODY_STATUSES)
_ERROR_SCHEMA: Final = {"$ref": "#/components/schemas/Error"}
_STRING: Final = {"type": "string"}


def build_openapi() -> dict[str, Any]:
    """The whole document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{_contract.MODEL_NAME} (realdream mock)",
            "version": __version__,
            "description": (
                "Offline mock of Segmind's RealDream Lightning API. Mock only, not part of the"
                f" API: the request header {FORCE_STATUS_HEADER} forces a documented status."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": {
            _contract.GENERATE_PATH: {"post": _generate_operation()},
            _contract.CREDITS_PATH: {"get": _credits_operation()},
        },
        "components": _components(),
        "security": [{SECURITY_SCHEME: []}],
    }


def _components() -> dict[str, Any]:
    schema = GenerationRequest.json_schema()
    return {
        "schemas": {
            "GenerationRequest": schema,
            "Error": {
                "type": "object",
                "properties": {_contract.ERROR_BODY_KEY: _STRING},
                "required": [_contract.ERROR_BODY_KEY],
            },
            "Base64Images": _base64_schema(),
            "Credits": {
                "type": "object",
                "properties": {"credits": {"type": "number"}, "free-credits": {"type": "number"}},
                "required": ["credits", "free-credits"],
            },
        },
        "securitySchemes": {
            SECURITY_SCHEME: {"type": "apiKey", "in": "header", "name": _contract.API_KEY_HEADER}
        },
    }


def _base64_schema() -> dict[str, Any]:
    strings = {"type": "array", "items": _STRING, "minItems": 1}
    return {
        "oneOf": [
            {"type": "object", "properties": {"image": _STRING}, "required": ["image"]},
            {"type": "object", "properties": {"images": strings}, "required": ["images"]},
        ]
    }


def _generate_operation() -> dict[str, Any]:
    responses = {"200": _image_response()}
    responses.update({str(status): _error_response(status) for status in FORCEABLE_STATUSES})
    return {
        "operationId": "generate",
        "summary": f"Generate images with {_contract.MODEL_NAME}",
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/GenerationRequest"}}
            },
        },
        "responses": responses,
    }


def _credits_operation() -> dict[str, Any]:
    responses = {
        "200": {
            "description": "The account's balance in USD.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Credits"}}},
        }
    }
    for status in _CREDITS_STATUSES:
        responses[str(status)] = _error_response(status)
    return {"operationId": "getUserCredits", "summary": "Account credits", "responses": responses}


def _image_response() -> dict[str, Any]:
    header = {"required": True, "schema": _STRING}
    headers = {
        name: {**header, "description": text}
        for name, text in (
            (_contract.HEADER_REMAINING_CREDITS, "Balance after this request, USD."),
            (_contract.HEADER_REQUEST_ID, "The request's id."),
            (_contract.HEADER_COST, "What this request cost, USD."),
            (_contract.HEADER_GENERATION_TIME, "Seconds spent generating."),
            (_contract.HEADER_SEED, "The seed used (also when -1 was sent)."),
        )
    }
    return {
        "description": "The image: raw JPEG bytes (base64=false; the first sample) or JSON.",
        "headers": headers,
        "content": {
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": {"$ref": "#/components/schemas/Base64Images"}},
        },
    }


def _describe(status: int) -> str:
    """The core's title for ``status``: 406 has two meanings, told apart by the message."""
    if status == 406:
        credits, content_type = InsufficientCreditsError.title, UnsupportedContentTypeError.title
        return f"{credits}, or {content_type[0].lower()}{content_type[1:]} (see the message)"
    if status == 405:
        return f"{STATUS_ERRORS[status].title} (an HTML page, not JSON)"
    return STATUS_ERRORS[status].title


def _error_response(status: int) -> dict[str, Any]:
    if status == 405:
        return {
            "description": _describe(status),
            "headers": {"allow": {"required": True, "schema": _STRING}},
            "content": {"text/html": {"schema": _STRING}},
        }
    response: dict[str, Any] = {
        "description": _describe(status),
        "content": {"application/json": {"schema": _ERROR_SCHEMA}},
    }
    if status == 429:
        response["headers"] = {
            _contract.HEADER_RATE_LIMIT_RESET: {
                "required": True,
                "description": "When the limit resets: ISO 8601 UTC, e.g. 2026-11-25T16:00:00Z.",
                "schema": {"type": "string", "format": "date-time"},
            },
            _contract.HEADER_RETRY_AFTER: {
                "required": True,
                "description": "Seconds to wait.",
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            },
        }
    return response
