"""Fault injection at the client: whatever arrives after an HTTP 200 is paid for, and says so.

A stub server answers 200 with bodies no image can be read from (garbage, an HTML page, a JSON
error, a bad gzip encoding, a body cut short), and the client must raise an error that says it
was billed, keeps the raw body, the request id and the request as sent, and is never retried.
"""

from __future__ import annotations

import gzip
import json
import logging

import httpx
import pytest

import realdream
from realdream.testing.clock import SkipAheadClock
from tests.core.fakes import KEY, FakeServer, encode

REQUEST_ID = "req-bad-200"


def _ok(content: bytes, **headers: str) -> httpx.Response:
    # A stream, not content=: httpx would decode content (gzip) before the client sees it.
    return httpx.Response(
        200, stream=httpx.ByteStream(content), headers={"x-request-id": REQUEST_ID, **headers}
    )


class _CutShort(httpx.SyncByteStream):
    """A body that breaks off after its first bytes, as a dropped connection does."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield encode("JPEG")[:40]
        raise httpx.ReadError("connection reset by peer")


BAD_200 = {
    "garbage": lambda: _ok(b"\x00\x01not an image"),
    "html": lambda: _ok(b"<html><body>Service page</body></html>", **{"content-type": "text/html"}),
    "json-error": lambda: _ok(json.dumps({"error": "upstream failed"}).encode()),
    "bad-gzip": lambda: _ok(b"this is not gzip", **{"content-encoding": "gzip"}),
    "truncated-gzip": lambda: _ok(
        gzip.compress(encode("JPEG"))[:30], **{"content-encoding": "gzip"}
    ),
    "cut-short": lambda: httpx.Response(
        200, stream=_CutShort(), headers={"x-request-id": REQUEST_ID}
    ),
    "empty": lambda: _ok(b""),
}


def _client(
    server: FakeServer, clock: SkipAheadClock | None = None, **policy: object
) -> realdream.Client:
    clock = SkipAheadClock(frozen=True) if clock is None else clock
    retry = realdream.RetryPolicy(max_retries=3, retry_read_errors=True, **policy)  # type: ignore[arg-type]
    return realdream.Client(
        KEY, transport=httpx.MockTransport(server), retry=retry, sleep=clock.sleep, clock=clock
    )


@pytest.mark.parametrize("kind", sorted(BAD_200))
def test_any_unreadable_200_is_billed_kept_and_never_sent_again(kind: str) -> None:
    server = FakeServer(replies=[BAD_200[kind]()])
    clock = SkipAheadClock(frozen=True)
    with _client(server, clock) as client, pytest.raises(realdream.InvalidResponseError) as info:
        client.generate("a lighthouse", seed=-1)
    error = info.value
    assert (error.billed, error.maybe_billed) == (True, True)
    assert error.status_code == 200
    assert error.request_id == REQUEST_ID
    assert error.request is not None
    assert error.request.seed != -1
    assert error.request.payload == json.loads(server.requests[0].content)
    assert "billed" in str(error)
    assert len(server.requests) == 1  # even with read errors opted in: a 200 is never re-sent
    assert clock.slept == []


def test_an_unreadable_200_keeps_the_raw_body_for_support() -> None:
    raw = json.dumps({"error": "upstream failed"}).encode()
    server = FakeServer(replies=[_ok(raw)])
    with (
        _client(server) as client,
        pytest.raises(realdream.InvalidResponseError) as info,
    ):
        client.generate("x")
    assert info.value.body == raw


def test_an_unreadable_error_body_still_follows_its_status() -> None:
    broken = httpx.Response(
        503, stream=httpx.ByteStream(b"not gzip"), headers={"content-encoding": "gzip"}
    )
    server = FakeServer(replies=[broken])
    clock = SkipAheadClock(frozen=True)
    with _client(server, clock) as client:
        result = client.generate("x")
    assert result.retries == 1
    assert len(clock.slept) == 1
    assert len(server.requests) == 2


def test_a_non_200_success_is_not_billed() -> None:
    server = FakeServer(replies=[httpx.Response(204)])
    with (
        _client(server) as client,
        pytest.raises(realdream.InvalidResponseError) as info,
    ):
        client.generate("x")
    assert (info.value.status_code, info.value.billed, info.value.maybe_billed) == (
        204,
        False,
        False,
    )
    assert "204" in str(info.value)


def test_a_redirect_is_reported_as_a_redirect_not_as_200() -> None:
    moved = httpx.Response(302, headers={"location": "https://elsewhere.example/v1/x"})
    server = FakeServer(replies=[moved])
    with (
        _client(server) as client,
        pytest.raises(realdream.APIStatusError) as info,
    ):
        client.generate("x")
    text = str(info.value)
    assert "(302)" in text
    assert "redirected to https://elsewhere.example/v1/x" in text
    assert "200" not in text
    assert not info.value.retryable
    assert not info.value.maybe_billed
    assert len(server.requests) == 1  # the key never followed the redirect


def test_the_403_message_does_not_repeat_itself() -> None:
    (rule,) = realdream.contract.rules_for_status(403)
    error = realdream.error_for_status(403, json.dumps({"error": rule.message}).encode(), {})
    sentences = [s.strip() for s in str(error).split(":", 1)[1].split(".") if s.strip()]
    assert len(sentences) == len(set(sentences))
    assert rule.message.lower() not in rule.hint.lower()


def test_a_connection_error_names_the_host_and_hides_the_key_on_its_cause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = FakeServer(replies=[httpx.ConnectError("refused")] * 3)
    client = realdream.Client(
        KEY,
        base_url="https://api.example.test",
        transport=httpx.MockTransport(server),
        retry=realdream.RetryPolicy(max_retries=0),
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(realdream.APIConnectionError) as info:
        client.generate("x")
    assert "api.example.test" in str(info.value)
    seen = []
    error: BaseException | None = info.value
    while error is not None:  # what a structured logger walking the chain would write
        seen.append(repr(error))
        request = getattr(error, "_request", None)
        if request is not None:
            seen.append(repr(dict(request.headers)))
        error = error.__cause__ or error.__context__
    assert not any(KEY in item for item in seen)
