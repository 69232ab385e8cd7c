"""pytest fixtures for testing code that calls RealDream Lightning, without spending credits.

Registered automatically (``pytest11`` entry point) when realdream is installed. The fixtures
need the ``testing`` extra (``pip install "realdream[testing]"``: the mock's server libraries,
pytest and hypothesis); without it a fixture fails with that command, and merely installing the
plugin imports nothing heavy.

Fixtures:

``realdream_mock``
    A fresh in-process :class:`mocks.MockService` (latency 0, $10 of credits). Force a status
    with ``realdream_mock.script([...])`` or inspect ``realdream_mock.balance``.
``realdream_client``
    A :class:`realdream.Client` wired to ``realdream_mock`` without sockets. Retries never
    really wait: their waits are recorded in ``realdream_sleeps``.
``realdream_async_client``
    The :class:`realdream.AsyncClient` twin, over an in-process ASGI transport.
``realdream_server``
    A real mock HTTP server on a free loopback port; ``.base_url`` and ``.api_key``. Point any
    HTTP code (``requests``, the vendor's sample, a subprocess) at it.

Override ``realdream_mock_config`` to change latency, credits, rate limits or faults.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import mocks
    import realdream


#: What to install when a fixture's dependency is missing.
INSTALL_HINT = "pip install 'realdream[testing]'"


@contextmanager
def _extra() -> Iterator[None]:
    """Turn a missing dependency into a test failure that says which extra to install."""
    missing = ""
    try:
        yield
    except ModuleNotFoundError as exc:
        missing = (exc.name or "a module").split(".")[0]
    if missing:
        pytest.fail(
            f"realdream's fixtures need the offline mock's dependencies ({missing} is not "
            f"installed); install them with: {INSTALL_HINT}",
            pytrace=False,
        )


@pytest.fixture
def realdream_mock_config() -> mocks.MockConfig:
    """The mock's configuration; override this fixture to change it."""
    with _extra():
        import mocks

    return mocks.MockConfig(latency=0.0)


@pytest.fixture
def realdream_mock(realdream_mock_config: mocks.MockConfig) -> mocks.MockService:
    """An in-process mock service with its own ledger and scripts."""
    with _extra():
        import mocks

    return mocks.MockService(realdream_mock_config)


@pytest.fixture
def realdream_client(
    realdream_mock: mocks.MockService, realdream_sleeps: list[float]
) -> Iterator[realdream.Client]:
    """A sync client talking to ``realdream_mock`` in-process (no sockets)."""
    with _extra():
        import mocks
    import realdream

    with realdream.Client(
        mocks.MOCK_API_KEY,
        base_url="http://mock",
        transport=mocks.MockTransport(realdream_mock),
        sleep=realdream_sleeps.append,
    ) as client:
        yield client


@pytest.fixture
async def realdream_async_client(
    realdream_mock: mocks.MockService, realdream_sleeps: list[float]
) -> AsyncIterator[realdream.AsyncClient]:
    """An async client talking to ``realdream_mock`` through an in-process ASGI transport."""
    import httpx

    with _extra():
        import mocks
    import realdream

    transport = httpx.ASGITransport(app=mocks.create_app(service=realdream_mock))

    async def record(seconds: float) -> None:
        realdream_sleeps.append(seconds)

    async with realdream.AsyncClient(
        mocks.MOCK_API_KEY, base_url="http://mock", transport=transport, sleep=record
    ) as client:
        yield client


@pytest.fixture
def realdream_server(realdream_mock: mocks.MockService) -> Iterator[mocks.RunningMock]:
    """A real mock HTTP server on a free loopback port, sharing ``realdream_mock``'s state."""
    with _extra():
        import mocks

    with mocks.serve(service=realdream_mock) as running:
        yield running


@pytest.fixture
def realdream_sleeps() -> list[float]:
    """The waits the clients' retries asked for, in order; nothing really waits in tests."""
    return []
