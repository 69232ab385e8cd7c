"""The API key never appears in a repr, an exception, a log line or a result."""

from __future__ import annotations

import logging

import httpx
import pytest

import realdream
from tests.core.fakes import KEY, FakeServer


def _echo_key(request: httpx.Request) -> httpx.Response:
    key = request.headers["x-api-key"]
    return httpx.Response(401, json={"error": f"Unauthorized. API key {key} is invalid"})


def test_repr_hides_the_key():
    client = realdream.Client(KEY)
    assert KEY not in repr(client)
    assert KEY not in str(vars(client).get("policy"))


@pytest.mark.parametrize(
    "reply",
    [
        _echo_key,
        lambda r: httpx.Response(500, text=r.headers["x-api-key"]),
        lambda r: (_ for _ in ()).throw(httpx.ReadTimeout(f"timeout for {KEY}")),
        lambda r: (_ for _ in ()).throw(httpx.ConnectError(f"refused {KEY}")),
    ],
    ids=["401-echo", "500-echo", "timeout", "connect"],
)
def test_errors_never_carry_the_key_in_their_text(reply, caplog, clock):
    client = realdream.Client(
        KEY,
        retry=realdream.RetryPolicy(max_retries=1),
        transport=httpx.MockTransport(reply),
        sleep=clock.sleep,
        clock=clock,
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(realdream.RealDreamError) as info:
        client.generate("x")
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)
    assert KEY not in getattr(info.value, "message", "")
    assert KEY not in str(info.value.__cause__ or "")
    assert all(KEY not in record.getMessage() for record in caplog.records)


def test_debug_logs_and_results_never_carry_the_key(caplog, clock):
    server = FakeServer(replies=[httpx.Response(503, json={"error": "busy"})])
    client = realdream.Client(
        KEY, transport=httpx.MockTransport(server), sleep=clock.sleep, clock=clock
    )
    with caplog.at_level(logging.DEBUG):
        result = client.generate("x")
    assert caplog.records
    assert all(KEY not in record.getMessage() for record in caplog.records)
    assert KEY not in repr(result)
    assert KEY not in (result.image.parameters or "")
