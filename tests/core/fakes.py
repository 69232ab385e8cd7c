"""Images and a recording fake server for the core's tests."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from PIL import Image

KEY = "SG_00112233445566aa"


def encode(fmt: str, size: tuple[int, int] = (64, 96), color: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


@dataclass
class FakeServer:
    """An httpx handler that answers from a queue of responses and records every request."""

    replies: list[httpx.Response | Exception] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    default: Callable[[httpx.Request], httpx.Response] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.replies:
            reply = self.replies.pop(0)
            if isinstance(reply, Exception):
                raise reply
            return reply
        if self.default is not None:
            return self.default(request)
        payload = json.loads(request.content)
        size = (payload["img_width"], payload["img_height"])
        return httpx.Response(200, content=encode("JPEG", size))

    @property
    def payloads(self) -> list[dict[str, object]]:
        return [json.loads(r.content) for r in self.requests]
