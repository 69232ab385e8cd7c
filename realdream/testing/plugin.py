"""pytest fixtures for testing code that calls RealDream Lightning, without spending credits.

Registered automatically (``pytest11`` entry point) when realdream is installed. The fixtures
need the ``testing`` extra (``pip install "realdream[testing]"``: the mock's server libraries,
pytest and hypothesis); without it a fixture fails with that command, and merely installing the
plugin imports nothing heavy.

Fixtures:

``realdream_mock``
    A fresh in-process :class:`realdream.mock.MockService` (latency 0, $10 of credits). Force a
    status with ``realdream_mock.script([...])`` or inspect ``realdream_mock.balance``.
``realdream_client``
    A :class:`realdream.Client` wired to ``realdream_mock`` without sockets. Retries never
    really wait: their waits are recorded in ``realdream_sleeps``.
``realdream_async_client``
    The :class:`realdream.AsyncClient` twin, over an in-process ASGI transport.
``realdream_server``
    A real mock HTTP server on a free loopback port; ``.base_url`` and ``.api_key``. Point any
    HTTP code (``requests``, the vendor's sample, a subprocess) at it.

Override ``realdream_mock_config`` to change latency, credits, rate limits or faults.

``pytest --realdream-live`` runs the same tests against the real API instead: the key comes
from ``SEGMIND_API_KEY`` (without it the run stops before any test), the base URL from
``REALDREAM_BASE_URL`` (else Segmind's), and ``--realdream-max-cost`` (USD, default 0.05) caps
what the whole session may spend, as the balance measures it (read, free, around every billable
request): a request whose images, at the highest price per image seen, would pass it is not
sent and its test is skipped. ``realdream_client`` and ``realdream_async_client`` then talk to
the API; ``realdream_mock`` and ``realdream_server`` (the mock's controls, raw HTTP that no cap
can hold) skip their tests. ``realdream_live`` says which mode a test runs in.
"""

from __future__ import annotations

import math
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import realdream
    import realdream.mock as mocks
    from realdream.testing._live import Live
    from realdream.testing.clock import SkipAheadClock


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


_LIVE = pytest.StashKey["Live"]()
#: Why the mock's own fixtures do not run live.
_MOCK_ONLY = "needs the offline mock (its controls and ledger); not run with --realdream-live"
_RAW_HTTP = (
    "raw HTTP to the real API cannot be held to --realdream-max-cost; "
    "not run with --realdream-live (use realdream_client)"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("realdream", "realdream's fixtures")
    group.addoption(
        "--realdream-live",
        action="store_true",
        help="run realdream's fixtures against the real API (SEGMIND_API_KEY, "
        "REALDREAM_BASE_URL) instead of the offline mock",
    )
    group.addoption(
        "--realdream-max-cost",
        type=float,
        default=None,
        metavar="USD",
        help="with --realdream-live: the most the session may spend (default 0.05)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """With ``--realdream-live``: the key and the cap, checked before any test runs."""
    if not config.getoption("realdream_live", default=False):
        return
    from realdream import Budget, contract
    from realdream.testing._live import DEFAULT_LIVE_MAX_COST, Live, LiveMeter

    key = os.environ.get(contract.API_KEY_ENV, "").strip()
    if not key:
        raise pytest.UsageError(
            f"--realdream-live needs an API key in {contract.API_KEY_ENV}; "
            "no test was run (without --realdream-live the offline mock needs none)"
        )
    cap = config.getoption("realdream_max_cost")
    cap = DEFAULT_LIVE_MAX_COST if cap is None else cap
    if not math.isfinite(cap) or cap < 0:
        raise pytest.UsageError(f"--realdream-max-cost={cap}: must be a number of USD >= 0")
    base_url = os.environ.get(contract.BASE_URL_ENV) or contract.BASE_URL
    config.stash[_LIVE] = Live(key, base_url, LiveMeter(Budget(cap)))


def pytest_report_header(config: pytest.Config) -> str | None:
    live = config.stash.get(_LIVE, None)
    if live is None:
        return None
    return f"realdream: live against {live.base_url}, at most ${live.budget.limit:g} spent"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    live = config.stash.get(_LIVE, None)
    if live is None:
        return
    budget, pending = live.budget, live.meter.pending
    held = f" (${pending:g} more held for v2 jobs not seen to end)" if pending else ""
    terminalreporter.write_line(
        f"realdream live: spent ${budget.spent:g} of ${budget.limit:g} at {live.base_url}{held}"
    )
    if live.meter.stopped:
        terminalreporter.write_line(f"realdream live: spending stopped: {live.meter.stopped}")


def _live(request: pytest.FixtureRequest) -> Live | None:
    return request.config.stash.get(_LIVE, None)


@pytest.fixture
def realdream_live(request: pytest.FixtureRequest) -> bool:
    """True when the session runs with ``--realdream-live`` (against the real API)."""
    return _live(request) is not None


@pytest.fixture
def realdream_mock_config() -> mocks.MockConfig:
    """The mock's configuration; override this fixture to change it."""
    with _extra():
        import realdream.mock as mocks

    return mocks.MockConfig(latency=0.0)


@pytest.fixture
def realdream_mock(
    request: pytest.FixtureRequest, realdream_mock_config: mocks.MockConfig
) -> mocks.MockService:
    """An in-process mock service with its own ledger and scripts."""
    if _live(request) is not None:
        pytest.skip(_MOCK_ONLY)
    with _extra():
        import realdream.mock as mocks

    clock = request.getfixturevalue("realdream_clock")
    return mocks.MockService(realdream_mock_config, clock=clock)


@pytest.fixture
def realdream_client(
    request: pytest.FixtureRequest, realdream_sleeps: list[float]
) -> Iterator[realdream.Client]:
    """A sync client talking to ``realdream_mock`` in-process (no sockets), or, live, to the
    real API within the session's cap."""
    import realdream

    live = _live(request)
    if live is not None:
        import httpx

        from realdream.testing._live import CappedTransport

        transport = CappedTransport(httpx.HTTPTransport(), live.meter)
        with realdream.Client(live.api_key, base_url=live.base_url, transport=transport) as client:
            yield client
        return
    with _extra():
        import realdream.mock as mocks
    service = request.getfixturevalue("realdream_mock")
    clock: SkipAheadClock = request.getfixturevalue("realdream_clock")
    with realdream.Client(
        mocks.MOCK_API_KEY,
        base_url="http://mock",
        transport=mocks.MockTransport(service),
        sleep=clock.sleep,
        clock=clock,
    ) as client:
        yield client


@pytest.fixture
async def realdream_async_client(
    request: pytest.FixtureRequest, realdream_sleeps: list[float]
) -> AsyncIterator[realdream.AsyncClient]:
    """An async client talking to ``realdream_mock`` through an in-process ASGI transport, or,
    live, to the real API within the session's cap."""
    import httpx

    import realdream

    live = _live(request)
    if live is not None:
        from realdream.testing._live import AsyncCappedTransport

        capped = AsyncCappedTransport(httpx.AsyncHTTPTransport(), live.meter)
        async with realdream.AsyncClient(
            live.api_key, base_url=live.base_url, transport=capped
        ) as client:
            yield client
        return
    with _extra():
        import realdream.mock as mocks
    service = request.getfixturevalue("realdream_mock")
    transport = httpx.ASGITransport(app=mocks.create_app(service=service))
    clock: SkipAheadClock = request.getfixturevalue("realdream_clock")
    async with realdream.AsyncClient(
        mocks.MOCK_API_KEY,
        base_url="http://mock",
        transport=transport,
        sleep=clock.async_sleep,
        clock=clock,
    ) as client:
        yield client


@pytest.fixture
def realdream_server(request: pytest.FixtureRequest) -> Iterator[mocks.RunningMock]:
    """A real mock HTTP server on a free loopback port, sharing ``realdream_mock``'s state."""
    if _live(request) is not None:
        pytest.skip(_RAW_HTTP)
    with _extra():
        import realdream.mock as mocks
    service = request.getfixturevalue("realdream_mock")
    with mocks.serve(service=service) as running:
        yield running


@pytest.fixture
def realdream_clock() -> SkipAheadClock:
    """The clock the mock and the clients share: real time, but every wait the clients ask for
    (retries, rate limits, v2 polls) returns at once and moves the clock ahead that far."""
    from realdream.testing.clock import SkipAheadClock

    return SkipAheadClock()


@pytest.fixture
def realdream_sleeps(realdream_clock: SkipAheadClock) -> list[float]:
    """The waits the clients asked for, in order; nothing really waits in tests."""
    return realdream_clock.slept
