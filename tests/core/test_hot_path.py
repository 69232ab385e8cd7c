"""What every request costs the client, checked by counting work rather than timing it.

httpx parses a string URL on every request (about a third of a small request's client time), so
the clients parse each fixed endpoint once; and httpcore looks for ``sniffio`` on every async
request, which costs about 11 failed imports each when the package is missing (issue 12).
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys

import httpx
import pytest

import realdream
import realdream.mock as mocks
from realdream import contract
from tests.core.fakes import KEY, FakeServer, encode

JPEG = encode("JPEG", (512, 512))


def _answer(request: httpx.Request) -> httpx.Response:
    """A JPEG for a generate, a balance for a credits GET."""
    if request.url.path == contract.CREDITS_PATH:
        paid, free = contract.CREDITS_KEYS
        return httpx.Response(200, json={paid: 9.5, free: 0.0})
    return httpx.Response(200, content=JPEG, headers={"content-type": "image/jpeg"})


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every string httpx parses into a URL while the test runs."""
    seen: list[str] = []
    original = httpx.URL.__init__

    def counting(self: httpx.URL, url: object = "", **kwargs: object) -> None:
        if isinstance(url, str):
            seen.append(url)
        original(self, url, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(httpx.URL, "__init__", counting)
    return seen


def test_repeated_requests_parse_no_url_after_the_first(parsed: list[str]) -> None:
    server = FakeServer(default=_answer)
    with realdream.Client(KEY, transport=httpx.MockTransport(server)) as client:
        client.generate("a lighthouse", seed=1)
        client.credits()
        first = list(parsed)
        for seed in range(2, 12):
            result = client.generate("a lighthouse", seed=seed)
            assert result.seed == seed
            assert client.credits().credits == 9.5
    assert any(url.endswith(contract.GENERATE_PATH) for url in first)
    assert parsed == first, parsed[len(first) :]
    assert [str(r.url) for r in server.requests[-2:]] == [
        contract.BASE_URL + contract.GENERATE_PATH,
        contract.BASE_URL + contract.CREDITS_PATH,
    ]


def test_each_client_parses_its_own_base_url(parsed: list[str]) -> None:
    server = FakeServer(default=_answer)
    hosts = ("http://one.invalid", "http://two.invalid/prefix")
    for base_url in hosts:
        with realdream.Client(KEY, base_url=base_url, transport=httpx.MockTransport(server)) as c:
            c.generate("a lighthouse", seed=1)
    assert [str(r.url) for r in server.requests] == [h + contract.GENERATE_PATH for h in hosts]


def test_the_async_client_parses_no_url_after_the_first(parsed: list[str]) -> None:
    server = FakeServer(default=_answer)

    async def handler(request: httpx.Request) -> httpx.Response:
        return server(request)

    async def run() -> None:
        transport = httpx.MockTransport(handler)
        async with realdream.AsyncClient(KEY, transport=transport) as client:
            await client.generate("a lighthouse", seed=1)
            count = len(parsed)
            await asyncio.gather(*(client.generate("a lighthouse", seed=s) for s in range(9)))
            assert len(parsed) == count

    asyncio.run(run())
    assert len(server.requests) == 10


def test_httpcore_finds_sniffio_so_async_requests_import_nothing() -> None:
    """A declared dependency: without it every async request retries a failed import."""
    assert importlib.util.find_spec("sniffio") is not None

    async def run(base_url: str, key: str) -> None:
        async with realdream.AsyncClient(key, base_url=base_url) as client:
            await client.credits()

    with mocks.serve(mocks.MockConfig(latency=0)) as live:
        asyncio.run(run(live.base_url, live.api_key))
    assert "sniffio" in sys.modules
