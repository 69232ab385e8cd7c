"""A key typed into the page: used for that request only, never stored, shown or logged, and
refused before any request when it cannot be a Segmind key."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo import Backend, GenerateOutput, Handlers, Mode
from realdream import contract
from tests.demo.forms import error_message, form

ApiBackend = Callable[..., Backend]


def echo_key(seen: list[str]) -> Any:
    """A server that records the key it got and refuses it, quoting it back in the body."""

    def handler(request: httpx.Request) -> httpx.Response:
        key = request.headers[contract.API_KEY_HEADER]
        seen.append(key)
        return httpx.Response(401, json={"error": f"key {key} is invalid"})

    return handler


def test_a_typed_key_goes_to_the_api_and_never_into_messages_or_logs(
    api_backend: ApiBackend, secret_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    handlers = Handlers(api_backend(echo_key(seen), mode=Mode.OFFLINE))
    message = error_message(handlers, api_key=f"  {secret_key}\n")
    assert seen == [secret_key]
    assert message.startswith("Invalid API key (401): ")
    assert secret_key not in message
    assert secret_key not in caplog.text


def test_without_a_typed_key_the_offline_mock_answers(handlers: Handlers) -> None:
    out = handlers.generate(**form())
    assert out.details["offline"] is True
    assert out.details["backend"].startswith("offline mock")


def test_one_visitors_key_is_never_used_for_the_next(
    api_backend: ApiBackend, secret_key: str, tmp_path: Path
) -> None:
    seen: list[str] = []
    backend = api_backend(echo_key(seen), mode=Mode.SERVER_KEY)
    handlers = Handlers(backend, tmp_path)
    error_message(handlers, api_key=secret_key)
    error_message(handlers, api_key="")
    assert seen == [secret_key, backend.server_key]


def test_a_typed_key_never_appears_in_a_result(
    api_backend: ApiBackend, secret_key: str, tmp_path: Path
) -> None:
    def accept(request: httpx.Request) -> httpx.Response:
        from realdream.mock import MockConfig, MockTransport

        return MockTransport(MockConfig(latency=0, api_keys=(secret_key,))).handle_request(request)

    out = Handlers(api_backend(accept, mode=Mode.OFFLINE), tmp_path).generate(
        **form(api_key=secret_key)
    )
    assert isinstance(out, GenerateOutput)
    assert out.details["offline"] is False
    assert secret_key not in repr(out)
    assert all(secret_key not in Path(path).read_bytes().decode("latin-1") for path in out.files)


@pytest.mark.parametrize(
    "typed", ["SG_abc def", "sk-0123456789abcdef", "SG_0123456789ABCDEF", "SG_0123456789abcdef0"]
)
def test_a_typed_key_without_the_documented_shape_is_refused_before_any_request(
    api_backend: ApiBackend, typed: str
) -> None:
    seen: list[str] = []
    handlers = Handlers(api_backend(echo_key(seen), mode=Mode.OFFLINE))
    message = error_message(handlers, api_key=typed)
    assert message == (
        "The API key you typed does not look like a Segmind key: keys look like "
        f"{contract.API_KEY_SHAPE}. Nothing was sent. Check it, or clear the box."
    )
    assert seen == []
    assert typed not in message


def test_forced_mock_mode_ignores_a_typed_key(secret_key: str, tmp_path: Path) -> None:
    backend = Backend.offline(mode=Mode.FORCED_MOCK, latency_s=0.0)
    out = Handlers(backend, tmp_path).generate(**form(api_key=secret_key))
    assert out.details["offline"] is True
