"""The request contract: bounds, defaults, names and the messages of every rejection."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import realdream
from realdream import LIMITS, SCHEDULERS, GenerationRequest, ValidationError
from realdream.testing.strategies import FIELDS, invalid_payloads, valid_payloads, valid_requests
from tests.reference import REFERENCE_PAYLOAD


def test_defaults_are_the_reference_pages():
    request = GenerationRequest.create(prompt="a lighthouse")
    assert request.payload == {
        "prompt": "a lighthouse",
        "negative_prompt": realdream.DEFAULT_NEGATIVE_PROMPT,
        "samples": 1,
        "scheduler": "DPM++ SDE",
        "num_inference_steps": 8,
        "guidance_scale": 1.2,
        "seed": -1,
        "img_width": 1024,
        "img_height": 1024,
        "base64": False,
    }


def test_reference_sample_payload_is_valid():
    assert REFERENCE_PAYLOAD["img_width"] == 768
    assert GenerationRequest.create(REFERENCE_PAYLOAD).payload == REFERENCE_PAYLOAD


@given(valid_payloads())
def test_every_valid_payload_round_trips_to_an_identical_body(payload):
    request = GenerationRequest.create(payload)
    body = request.payload
    assert {key: body[key] for key in payload} == payload
    assert list(body) == list(FIELDS)
    assert GenerationRequest.from_json(json.dumps(body)) == request


@given(valid_requests())
def test_a_request_rebuilt_from_its_payload_is_equal(request):
    assert GenerationRequest.create(request.payload) == request


@given(invalid_payloads())
def test_any_one_bad_field_is_rejected_naming_that_field(case):
    with pytest.raises(ValidationError) as info:
        GenerationRequest.create(case.payload)
    assert info.value.fields == [case.field]
    assert str(info.value).startswith(case.field)


_G = "between 1 and 25"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"num_inference_steps": 0}, "num_inference_steps=0: must be between 1 and 100"),
        ({"num_inference_steps": 101}, "num_inference_steps=101: must be between 1 and 100"),
        ({"samples": 5}, "samples=5: must be between 1 and 4"),
        ({"guidance_scale": 25.5}, "guidance_scale=25.5: must be between 1 and 25"),
        ({"seed": -2}, "seed=-2: must be between -1 and 999999999999999"),
        ({"img_width": 1001}, "img_width=1001: must be a multiple of 8 between 256 and 2048"),
        ({"img_height": 2056}, "img_height=2056: must be a multiple of 8 between 256 and 2048"),
        ({"seed": True}, "seed=True: must be an integer, between -1 and 999999999999999, not bool"),
        ({"samples": 2.5}, "samples=2.5: must be an integer, between 1 and 4, not float"),
        (
            {"guidance_scale": math.nan},
            "guidance_scale=nan: must be a finite number between 1 and 25",
        ),
        (
            {"guidance_scale": math.inf},
            "guidance_scale=inf: must be a finite number between 1 and 25",
        ),
        ({"base64": 1}, "base64=1: must be true or false"),
        ({"prompt": "   "}, "prompt='   ': must not be blank"),
        ({"prompt": ""}, "prompt='': must not be blank"),
        ({"guidance": 2}, "guidance=2: is not a parameter; did you mean 'guidance_scale'?"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_rejections_name_the_field_the_value_and_the_rule(changes, message):
    with pytest.raises(ValidationError) as info:
        GenerationRequest.create({"prompt": "x", **changes})
    assert str(info.value) == message


def test_whole_number_floats_count_as_integers_as_in_json_schema():
    request = GenerationRequest.create(prompt="x", samples=2.0, img_width=768.0)
    assert request.payload["samples"] == 2
    assert type(request.payload["samples"]) is int
    assert request.img_width == 768


def test_a_missing_prompt_is_named():
    with pytest.raises(ValidationError, match=r"^prompt: is required$"):
        GenerationRequest.create()


def test_an_overlong_prompt_reports_its_length_not_its_whole_text():
    prompt = "x" * (realdream.PROMPT_MAX_LENGTH + 1)
    with pytest.raises(ValidationError) as info:
        GenerationRequest.create(prompt=prompt)
    text = str(info.value)
    assert f"must be at most {realdream.PROMPT_MAX_LENGTH} characters" in text
    assert len(text) < 200


def test_an_unknown_scheduler_suggests_the_closest_names():
    with pytest.raises(ValidationError) as info:
        GenerationRequest.create(prompt="x", scheduler="DPM++ 2M Karas")
    assert "did you mean 'DPM++ 2M Karras'" in str(info.value)


def test_every_bad_field_is_reported_in_field_order():
    with pytest.raises(ValidationError) as info:
        GenerationRequest.create(prompt="x", seed=-5, samples=0, steps=3)
    assert info.value.fields == ["samples", "seed", "steps"]


def test_validation_error_is_also_a_value_error():
    assert issubclass(ValidationError, ValueError)
    assert issubclass(ValidationError, realdream.RealDreamError)


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"prompt"', b"{"])
def test_a_body_that_is_not_a_json_object_is_rejected_as_body(body):
    with pytest.raises(ValidationError) as info:
        GenerationRequest.from_json(body)
    assert info.value.fields == ["body"]


def test_schedulers_are_thirty_unique_names_with_the_confirmed_eleven():
    assert len(SCHEDULERS) == len(set(SCHEDULERS)) == 30
    assert len(realdream.CONFIRMED_SCHEDULERS) == 11
    assert set(SCHEDULERS) > realdream.CONFIRMED_SCHEDULERS
    assert realdream.DEFAULT_SCHEDULER in realdream.CONFIRMED_SCHEDULERS


def test_json_schema_carries_every_bound_enum_and_default():
    schema = GenerationRequest.json_schema()
    props = schema["properties"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["prompt"]
    for field, lim in LIMITS.items():
        assert props[field]["minimum"] == lim.minimum, field
        assert props[field]["maximum"] == lim.maximum, field
        assert props[field]["default"] == lim.default, field
    assert props["img_width"]["multipleOf"] == props["img_height"]["multipleOf"] == 8
    assert props["scheduler"]["enum"] == list(SCHEDULERS)
    assert props["prompt"]["maxLength"] == realdream.PROMPT_MAX_LENGTH


def test_requests_are_immutable():
    request = GenerationRequest.create(prompt="x")
    with pytest.raises(Exception, match="frozen"):
        request.seed = 3  # type: ignore[misc]


@given(st.integers(0, int(LIMITS["seed"].maximum)))
def test_a_concrete_seed_is_kept_and_minus_one_is_resolved(seed):
    assert GenerationRequest.create(prompt="x", seed=seed).with_resolved_seed().seed == seed
    resolved = GenerationRequest.create(prompt="x").with_resolved_seed()
    assert 0 <= resolved.seed <= LIMITS["seed"].maximum


def test_replace_validates_the_change():
    request = GenerationRequest.create(prompt="x")
    assert request.replace(seed=5).seed == 5
    with pytest.raises(ValidationError, match="seed=-9"):
        request.replace(seed=-9)


def test_as_sent_resolves_the_seed_and_asks_for_json_for_several_samples():
    sent = GenerationRequest.create(prompt="x", samples=3).as_sent()
    assert sent.seed >= 0
    assert sent.base64 is True
    one = GenerationRequest.create(prompt="x", seed=4)
    assert one.as_sent() == one
    assert json.loads(one.to_json()) == one.payload
