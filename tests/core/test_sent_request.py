"""``RealDreamError.request`` is typed :class:`realdream.SentRequest`, the shape of a
:class:`realdream.GenerationRequest`: the two name the same parameters, and the request an
error carries is the very one that was sent."""

from __future__ import annotations

import inspect

import httpx
import pytest

import realdream

SHAPE = {
    name
    for name, member in inspect.getmembers(realdream.SentRequest)
    if isinstance(member, property)
}


def test_a_sent_request_names_every_parameter_of_a_generation_request_and_its_payload() -> None:
    assert set(realdream.GenerationRequest.model_fields) | {"payload"} == SHAPE


def test_the_request_an_error_carries_is_the_generation_request_that_was_sent() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"message": "busy"})

    client = realdream.Client(
        "sk-test",
        transport=httpx.MockTransport(refuse),
        retry=realdream.RetryPolicy(max_retries=0),
    )
    with pytest.raises(realdream.ServerError) as raised:
        client.generate("a fox", seed=5)
    sent = raised.value.request
    assert isinstance(sent, realdream.GenerationRequest)
    assert (sent.prompt, sent.seed) == ("a fox", 5)
