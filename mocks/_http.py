"""The mock's own request and response values, independent of any web framework."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from realdream import contract

__all__ = ["JSON_TYPE", "MockRequest", "MockResponse", "error_response", "json_response"]

JSON_TYPE = contract.CONTENT_TYPE
#: The host of :attr:`MockRequest.base_url` for a request without a ``host`` header.
DEFAULT_HOST = "localhost"


@dataclass(frozen=True)
class MockRequest:
    """One HTTP request as the rules see it: header names are lower case.

    ``scheme`` and the ``host`` header give :attr:`base_url`, where the mock's own absolute
    URLs (v2 job and image URLs) point: right over loopback and in-process alike.
    """

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    scheme: str = "http"

    @classmethod
    def build(
        cls,
        method: str,
        path: str,
        headers: Iterable[tuple[str, str]],
        body: bytes = b"",
        *,
        scheme: str = "http",
    ) -> MockRequest:
        lowered = {name.lower(): value for name, value in headers}
        return cls(method.upper(), path, lowered, body, scheme)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def base_url(self) -> str:
        """``scheme://host[:port]`` as the caller addressed this server (``localhost`` when the
        request names no host)."""
        host = (self.header("host") or "").strip() or DEFAULT_HOST
        return f"{self.scheme}://{host}"


@dataclass(frozen=True)
class MockResponse:
    """One HTTP response: status, headers (``content-type`` included) and body."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def json_response(status: int, data: Any, headers: Mapping[str, str] | None = None) -> MockResponse:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return MockResponse(status, body, {"content-type": JSON_TYPE, **(headers or {})})


def error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> MockResponse:
    """The documented error shape: ``{"error": "<message>"}``."""
    return json_response(status, {contract.ERROR_BODY_KEY: message}, headers)
