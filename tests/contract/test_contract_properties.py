"""Client, mock and documented contract agree, driven by the shipped hypothesis strategies."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import realdream
import realdream.mock as mocks
from realdream import contract
from realdream.testing.strategies import invalid_payloads, valid_payloads

_SERVICE = mocks.MockService(mocks.MockConfig(latency=0.0, credits=1e9))
_CLIENT = realdream.Client(
    mocks.MOCK_API_KEY, base_url="http://mock", transport=mocks.MockTransport(_SERVICE)
)
_RAW = httpx.Client(base_url="http://mock", transport=mocks.MockTransport(_SERVICE))
_HEADERS = {"x-api-key": mocks.MOCK_API_KEY, "Content-Type": "application/json"}

# Rendering big images dominates these examples: keep sizes small but every other field free.
_small = st.sampled_from([256, 264, 512])


@pytest.mark.slow  # 60 examples, each rendering images: about 1 s
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(valid_payloads(), _small, _small)
def test_valid_requests_get_every_image_at_the_requested_size(payload, width, height):
    payload |= {"img_width": width, "img_height": height}
    result = _CLIENT.generate(**payload)
    request = realdream.GenerationRequest.create(payload)
    assert len(result.images) == request.samples
    for image in result.images:
        assert (image.width, image.height) == (width, height)
        assert image.mime_type == "image/jpeg"
    assert result.request.replace(seed=request.seed, base64=request.base64) == request


@given(invalid_payloads())
def test_invalid_requests_are_refused_by_the_client_and_by_the_mock_naming_one_field(case):
    before = _SERVICE.stats.requests
    with pytest.raises(realdream.ValidationError) as refused:
        _CLIENT.generate(**case.payload)
    assert _SERVICE.stats.requests == before  # the client sent nothing

    response = _RAW.post(contract.GENERATE_PATH, content=json.dumps(case.payload), headers=_HEADERS)
    assert response.status_code == 400
    message = response.json()["error"]
    assert message == str(refused.value)
    assert message.startswith(case.field)
