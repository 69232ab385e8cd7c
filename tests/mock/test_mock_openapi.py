"""``/openapi.json`` carries every bound of the core's model; schemathesis finds nothing wrong."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

import realdream.mock as mocks
from realdream import (
    DEFAULT_SCHEDULER,
    LIMITS,
    PROMPT_MAX_LENGTH,
    SCHEDULERS,
    contract,
)
from realdream.mock._openapi import SECURITY_SCHEME, build_openapi
from realdream.mock._openapi_jobs import IMAGE_OPERATION, POLL_OPERATIONS, SUBMIT_OPERATION
from tests.mock.conftest import KEY


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    with httpx.Client(transport=mocks.MockTransport(mocks.MockConfig(latency=0))) as client:
        response = client.get("http://m" + mocks.OPENAPI_PATH)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return dict(response.json())


def request_schema(document: dict[str, Any]) -> dict[str, Any]:
    return dict(document["components"]["schemas"]["GenerationRequest"])


def test_the_document_is_openapi_3_1_with_every_endpoint(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    v2 = {contract.V2_STATUS_PATH, contract.V2_RESULT_PATH, contract.V1_POLL_PATH}
    image = mocks.CDN_PREFIX + "{file_name}"
    assert set(document["paths"]) == {
        contract.GENERATE_PATH,
        contract.CREDITS_PATH,
        contract.V2_SUBMIT_PATH,
        image,
        *v2,
    }
    assert set(document["paths"][contract.GENERATE_PATH]) == {"post"}
    assert set(document["paths"][contract.CREDITS_PATH]) == {"get"}
    assert set(document["paths"][contract.V2_SUBMIT_PATH]) == {"post"}
    assert all(set(document["paths"][path]) == {"get"} for path in (*v2, image))


@pytest.mark.parametrize("field", sorted(LIMITS))
def test_every_numeric_bound_and_default_is_published(document: dict[str, Any], field: str) -> None:
    limit = LIMITS[field]
    published = request_schema(document)["properties"][field]
    assert published["minimum"] == limit.minimum
    assert published["maximum"] == limit.maximum
    assert published["default"] == limit.default
    if field in ("img_width", "img_height"):
        assert published["multipleOf"] == limit.step


def test_the_text_and_enum_rules_are_published(document: dict[str, Any]) -> None:
    schema = request_schema(document)
    properties = schema["properties"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["prompt"]
    assert properties["prompt"]["maxLength"] == PROMPT_MAX_LENGTH
    assert properties["prompt"]["minLength"] == 1
    assert "pattern" in properties["prompt"]
    assert properties["scheduler"]["enum"] == list(SCHEDULERS)
    assert properties["scheduler"]["default"] == DEFAULT_SCHEDULER
    assert properties["base64"] == {**properties["base64"], "type": "boolean", "default": False}


def test_the_api_key_security_scheme(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"][SECURITY_SCHEME]
    assert scheme == {"type": "apiKey", "in": "header", "name": contract.API_KEY_HEADER}
    assert document["security"] == [{SECURITY_SCHEME: []}]


def test_every_documented_response_is_described(document: dict[str, Any]) -> None:
    responses = document["paths"][contract.GENERATE_PATH]["post"]["responses"]
    assert {"200", *map(str, contract.DOCUMENTED_STATUSES)} <= set(responses)
    assert set(responses["200"]["content"]) == {"image/jpeg", "application/json"}
    assert set(responses["200"]["headers"]) == {
        contract.HEADER_REMAINING_CREDITS,
        contract.HEADER_REQUEST_ID,
        contract.HEADER_COST,
        contract.HEADER_GENERATION_TIME,
        contract.HEADER_SEED,
    }
    error = {"$ref": "#/components/schemas/Error"}
    auth = {"anyOf": [error, {"$ref": "#/components/schemas/AuthError"}]}
    for status in contract.DOCUMENTED_STATUSES:
        content = responses[str(status)]["content"]
        shapes = {rule.body for rule in contract.rules_for_status(status)}
        if status == 405:
            assert set(content) == {"text/html"}
        else:
            schema = auth if "auth" in shapes else error
            assert content == {"application/json": {"schema": schema}}
    assert contract.HEADER_RATE_LIMIT_RESET in responses["429"]["headers"]
    assert contract.HEADER_RETRY_AFTER in responses["429"]["headers"]


def test_error_descriptions_are_the_cores_titles(document: dict[str, Any]) -> None:
    for operation in ("post", "get"):
        path = contract.GENERATE_PATH if operation == "post" else contract.CREDITS_PATH
        responses = document["paths"][path][operation]["responses"]
        statuses = {int(code) for code in responses} - {200}
        assert statuses <= set(mocks.FORCEABLE_STATUSES)
        for status in statuses:
            text = responses[str(status)]["description"]
            for rule in contract.rules_for_status(status):
                assert rule.title in text
                assert rule.error in text


# --- schemathesis --------------------------------------------------------------------------------
_EXPECTED_REJECTIONS = [400, 401, 403, 404, 405, 406, 422, 429]

_SETTINGS: dict[str, Any] = {
    "seed": 20261125,
    "checks": {
        "enabled": True,
        "negative_data_rejection": {"expected-statuses": _EXPECTED_REJECTIONS},
        "positive_data_acceptance": {"expected-statuses": ["2xx"]},
        "missing_required_header": {"expected-statuses": _EXPECTED_REJECTIONS},
    },
    "auth": {"openapi": {SECURITY_SCHEME: {"api_key": KEY}}},
    "operations": [
        # The v2 submit accepts a body that breaks the parameters' schema: that job ends
        # FAILED (only a body that is not one JSON object is refused).
        {
            "include-operation-id": SUBMIT_OPERATION,
            "checks": {"negative_data_rejection": {"enabled": False}},
            "generation": {"max-examples": 15},
        },
        # A schema-valid id is still one the mock may never have issued (404), or a job that
        # ended FAILED (422); a file name, one it never served (404).
        # (Few examples: a random id only reaches the 404; the stateful test polls real jobs.)
        {
            "include-operation-id": list(POLL_OPERATIONS),
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "404", "422"]}},
            "generation": {"max-examples": 5},
        },
        {
            "include-operation-id": IMAGE_OPERATION,
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "404"]}},
            "generation": {"max-examples": 5},
        },
    ],
}
CONFIG = schemathesis.Config.from_dict(
    {**_SETTINGS, "generation": {"mode": "all", "max-examples": 40}}
)
#: The decorator's settings start from Hypothesis's defaults, not from the loaded profile: a
#: profile's ``max_examples`` (150 under ``ci``) would override the example counts set above for
#: every operation. The profile still decides whether runs are derandomized.
SCHEMATHESIS_SETTINGS = settings(
    settings.get_profile("default"),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=settings.default.derandomize,
    database=settings.default.database,
)
APP = mocks.create_app(mocks.MockConfig(latency=0, credits=1_000_000.0))
SCHEMA = schemathesis.openapi.from_asgi(mocks.OPENAPI_PATH, APP, config=CONFIG)


@pytest.mark.slow  # schemathesis: 7 operations, up to 40 examples each
@SCHEMA.parametrize()
@SCHEMATHESIS_SETTINGS
def test_schemathesis_in_process_finds_nothing(case: schemathesis.Case) -> None:
    case.call_and_validate()


@pytest.mark.slow  # schemathesis: 25 runs of up to 6 steps
def test_schemathesis_stateful_submit_then_poll_finds_nothing() -> None:
    # Links take each submit's request_id to the three polls: real jobs, in every state.
    app = mocks.create_app(mocks.MockConfig(latency=0.02, queue_time=0.01, credits=1_000_000.0))
    schema = schemathesis.openapi.from_asgi(mocks.OPENAPI_PATH, app, config=CONFIG)
    machine = schema.as_state_machine()
    machine.run(
        settings=settings(
            max_examples=25,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )


@pytest.fixture(scope="module")
def rich_live() -> Iterator[mocks.RunningMock]:
    with mocks.serve(mocks.MockConfig(latency=0, credits=1_000_000.0)) as live:
        yield live


LOOPBACK = schemathesis.openapi.from_dict(
    build_openapi(),
    config=schemathesis.Config.from_dict(
        {**_SETTINGS, "generation": {"mode": "all", "max-examples": 15}}
    ),
)


@pytest.mark.slow  # schemathesis over loopback: 7 operations
@LOOPBACK.parametrize()
@SCHEMATHESIS_SETTINGS
def test_schemathesis_over_loopback_finds_nothing(
    case: schemathesis.Case, rich_live: mocks.RunningMock
) -> None:
    case.call_and_validate(base_url=rich_live.base_url)
