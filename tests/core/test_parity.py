"""The sync and async twins cannot drift: the same public methods with the same parameters, and
one scenario run through both sends the same requests, as the mock's request log records them."""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Callable
from typing import Any

import pytest

import realdream
import realdream.mock as mocks
from realdream.testing.clock import SkipAheadClock

#: The async spelling of a sync name, where the two differ.
ASYNC_NAMES = {"close": "aclose", "__enter__": "__aenter__", "__exit__": "__aexit__"}
#: Methods that send nothing, so stay plain functions in the async twin.
SENDS_NOTHING = {"job"}
#: What the async twin's annotations say where the sync one's say the key.
ASYNC_TYPES = {
    "AsyncJob": "Job",
    "AsyncSleep": "Sleep",
    "AsyncBaseTransport": "BaseTransport",
    "httpx.AsyncClient": "httpx.Client",
}
#: The async client's one extra option: how many requests it sends at once.
ASYNC_ONLY_OPTIONS = frozenset({"max_in_flight"})
PAIRS = [(realdream.Client, realdream.AsyncClient), (realdream.Job, realdream.AsyncJob)]
SMALL = {"img_width": 256, "img_height": 256}


def public_methods(cls: type) -> dict[str, Callable[..., Any]]:
    return {
        name: member
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") or name in {*ASYNC_NAMES, *ASYNC_NAMES.values(), "__init__"}
    }


def as_sync(annotation: object) -> object:
    if not isinstance(annotation, str):
        return annotation
    for async_name, sync_name in ASYNC_TYPES.items():
        annotation = annotation.replace(async_name, sync_name)
    return annotation


def shape(
    function: Callable[..., Any], *, skip: frozenset[str] = frozenset()
) -> list[tuple[Any, ...]]:
    signature = inspect.signature(function)
    parameters = [
        (p.name, p.kind, p.default, as_sync(p.annotation))
        for p in signature.parameters.values()
        if p.name not in skip
    ]
    return [*parameters, ("return", as_sync(signature.return_annotation))]


@pytest.mark.parametrize(("sync", "twin"), PAIRS, ids=["Client", "Job"])
def test_every_public_method_has_an_async_twin_with_the_same_parameters(
    sync: type, twin: type
) -> None:
    ours, theirs = public_methods(sync), public_methods(twin)
    assert {ASYNC_NAMES.get(name, name) for name in ours} == set(theirs)
    for name, method in ours.items():
        counterpart = theirs[ASYNC_NAMES.get(name, name)]
        if name == "__init__":
            sync_shape = [p for p in shape(method) if p[0] != "sleep"]
            twin_shape = [p for p in shape(counterpart, skip=ASYNC_ONLY_OPTIONS) if p[0] != "sleep"]
            assert sync_shape == twin_shape
            continue
        awaited = inspect.iscoroutinefunction(counterpart)
        assert awaited == (name not in SENDS_NOTHING), name
        assert shape(method) == shape(counterpart), name


def test_the_async_clients_only_extra_option_is_max_in_flight() -> None:
    sync = set(inspect.signature(realdream.Client).parameters)
    twin = set(inspect.signature(realdream.AsyncClient).parameters)
    assert twin - sync == ASYNC_ONLY_OPTIONS
    assert sync <= twin


# --- one scenario, both clients, the same requests ------------------------------------------------
_IDS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}")


def _log(records: list[logging.LogRecord]) -> list[str]:
    """The mock's request log (``METHOD path status time``), ids and timings left out."""
    lines = [r.getMessage() for r in records if r.name == "realdream.mock"]
    return [_IDS.sub("<id>", line.rsplit(" ", 1)[0]) for line in lines]


def _service() -> tuple[mocks.MockService, SkipAheadClock]:
    clock = SkipAheadClock(frozen=True)
    config = mocks.MockConfig(latency=0.0, queue_time=5.0, seed=1)
    return mocks.MockService(config, clock=clock), clock


def _run_sync() -> tuple[mocks.MockService, list[float]]:
    service, clock = _service()
    with realdream.Client(
        mocks.MOCK_API_KEY, base_url="http://mock", transport=mocks.MockTransport(service),
        sleep=clock.sleep, clock=clock,
    ) as client:  # fmt: skip
        client.generate("a lighthouse", seed=1, **SMALL)
        client.credits()
        client.submit("a fox", seed=2, samples=2, **SMALL).wait()
    return service, clock.slept


def _run_async() -> tuple[mocks.MockService, list[float]]:
    service, clock = _service()

    async def go() -> None:
        async with realdream.AsyncClient(
            mocks.MOCK_API_KEY, base_url="http://mock",
            transport=mocks.AsyncMockTransport(service),
            sleep=clock.async_sleep, clock=clock,
        ) as client:  # fmt: skip
            await client.generate("a lighthouse", seed=1, **SMALL)
            await client.credits()
            await (await client.submit("a fox", seed=2, samples=2, **SMALL)).wait()

    asyncio.run(go())
    return service, clock.slept


def test_one_scenario_through_both_clients_sends_the_same_requests(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="realdream.mock")
    sync_service, sync_slept = _run_sync()
    sync_log = _log(caplog.records)
    caplog.clear()
    async_service, async_slept = _run_async()
    async_log = _log(caplog.records)
    assert sync_log == async_log
    assert sync_log[:3] == [
        f"POST {realdream.contract.GENERATE_PATH} 200",
        f"GET {realdream.contract.CREDITS_PATH} 200",
        f"POST {realdream.contract.V2_SUBMIT_PATH} 200",
    ]
    assert sync_log.count("GET /v2/requests/<id>/status 200") >= 2  # queued, then done
    assert sync_log[-2:] == [f"GET {mocks.CDN_PREFIX}<id>.jpeg 200"] * 2
    assert sync_slept == async_slept
    assert sync_service.stats.by_status == async_service.stats.by_status
    assert sync_service.stats.images == async_service.stats.images == 3
    assert sync_service.balance == async_service.balance
