"""The OpenAPI 3.1 document of the mock (and of the real endpoint as we understand it).

Built from the core's ``GenerationRequest.json_schema()``: every bound, enum, default and
pattern comes from there. Pure: :func:`build_openapi` returns a fresh dict.
"""

from __future__ import annotations

from typing import Any, Final

from realdream import GenerationRequest, __version__, contract
from realdream.mock._openapi_jobs import job_paths, job_schemas
from realdream.mock._scenarios import FORCE_STATUS_HEADER, FORCEABLE_STATUSES

__all__ = ["SECURITY_SCHEME", "build_openapi", "error_response_spec"]

SECURITY_SCHEME: Final = "ApiKeyAuth"

#: Statuses about a generate request's body; the credits endpoint takes none.
_BODY_STATUSES: Final = frozenset({400, 406, 422})
#: What the credits endpoint may answer besides 200 (``X-Mock-Status`` included).
_CREDITS_STATUSES: Final = tuple(s for s in FORCEABLE_STATUSES if s not in _BODY_STATUSES)
_ERROR_SCHEMA: Final = {"$ref": "#/components/schemas/Error"}
_AUTH_ERROR_SCHEMA: Final = {"$ref": "#/components/schemas/AuthError"}
_STRING: Final = {"type": "string"}


def build_openapi() -> dict[str, Any]:
    """The whole document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{contract.MODEL_NAME} (realdream mock)",
            "version": __version__,
            "description": (
                "Offline mock of Segmind's RealDream Lightning API. Mock only, not part of the"
                f" API: the request header {FORCE_STATUS_HEADER} forces a documented status."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": {
            contract.GENERATE_PATH: {"post": _generate_operation()},
            contract.CREDITS_PATH: {"get": _credits_operation()},
            **job_paths(error_response_spec),
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
                "properties": {contract.ERROR_BODY_KEY: _STRING},
                "required": [contract.ERROR_BODY_KEY],
            },
            "AuthError": {
                "type": "object",
                "properties": {
                    contract.ERROR_BODY_KEY: _STRING,
                    contract.ERROR_DESCRIPTION_KEY: _STRING,
                    "status_code": {"type": "integer"},
                },
                "required": [contract.ERROR_BODY_KEY, contract.ERROR_DESCRIPTION_KEY],
            },
            "Base64Images": _base64_schema(),
            "Credits": {
                "type": "object",
                "properties": {"credits": {"type": "number"}, "free-credits": {"type": "number"}},
                "required": ["credits", "free-credits"],
            },
            **job_schemas(),
        },
        "securitySchemes": {
            SECURITY_SCHEME: {"type": "apiKey", "in": "header", "name": contract.API_KEY_HEADER}
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
    responses.update({str(status): error_response_spec(status) for status in FORCEABLE_STATUSES})
    return {
        "operationId": "generate",
        "summary": f"Generate images with {contract.MODEL_NAME}",
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
        responses[str(status)] = error_response_spec(status)
    return {"operationId": "getUserCredits", "summary": "Account credits", "responses": responses}


def _image_response() -> dict[str, Any]:
    header = {"required": True, "schema": _STRING}
    headers = {
        name: {**header, "description": text}
        for name, text in (
            (contract.HEADER_REMAINING_CREDITS, "Balance after this request, USD."),
            (contract.HEADER_REQUEST_ID, "The request's id."),
            (contract.HEADER_COST, "What this request cost, USD."),
            (contract.HEADER_GENERATION_TIME, "Seconds spent generating."),
            (contract.HEADER_SEED, "The seed used (also when -1 was sent)."),
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
    """Every meaning of ``status`` in the contract's table, with the class the client raises.

    ``X-Mock-Status`` forces a named case (``406-spend-limit``); the plain status forces the first.
    """
    parts = []
    for rule in contract.rules_for_status(status):
        forced = "" if rule.case == str(status) else f"; {FORCE_STATUS_HEADER}: {rule.case}"
        parts.append(f"{rule.title} ({rule.error}{forced})")
    shape = " An HTML page, not JSON." if status == 405 else ""
    return "; or ".join(parts) + "." + shape


def error_response_spec(status: int) -> dict[str, Any]:
    """The documented response of error ``status``: its shapes, its headers, every meaning."""
    if status == 405:
        return {
            "description": _describe(status),
            "headers": {"allow": {"required": True, "schema": _STRING}},
            "content": {"text/html": {"schema": _STRING}},
        }
    shapes = {rule.body for rule in contract.rules_for_status(status)}
    # anyOf, not oneOf: an auth body has an "error" string too, so it also matches Error
    schema = {"anyOf": [_ERROR_SCHEMA, _AUTH_ERROR_SCHEMA]} if "auth" in shapes else _ERROR_SCHEMA
    response: dict[str, Any] = {
        "description": _describe(status),
        "content": {"application/json": {"schema": schema}},
    }
    if status == 429:
        response["headers"] = {
            contract.HEADER_RATE_LIMIT_RESET: {
                "required": True,
                "description": "When the limit resets: ISO 8601 UTC, e.g. 2026-11-25T16:00:00Z.",
                "schema": {"type": "string", "format": "date-time"},
            },
            contract.HEADER_RETRY_AFTER: {
                "required": True,
                "description": "Seconds to wait.",
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            },
        }
    return response
