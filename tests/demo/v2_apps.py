"""The demo on v2 for tests that call the handler directly: the mock and the handler's clients
share one frozen :class:`SkipAheadClock`, so a job's states follow the schedule exactly and
nothing really waits."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr
import pytest

import realdream
import realdream.mock as mocks
from demo import AddressRule, Backend, Guard, GuardSettings, Handlers, Mode
from demo._ledger import MemoryLedger
from realdream.testing.clock import SkipAheadClock

#: The app's key starts with this many dollars on its mock.
CREDITS = 10.0


class Progress:
    """Records what the handler shows: ``(fraction, desc)`` per call."""

    def __init__(self) -> None:
        self.calls: list[tuple[float | None, str | None]] = []

    def __call__(self, fraction: float | None = None, desc: str | None = None, **_: Any) -> None:
        self.calls.append((fraction, desc))

    def texts(self) -> list[str]:
        return [desc for _, desc in self.calls if desc]

    def words(self) -> list[str]:
        """Each text shown, without its seconds, consecutive repeats dropped."""
        seen: list[str] = []
        for desc in self.texts():
            word = desc.split("…")[0]
            if not seen or seen[-1] != word:
                seen.append(word)
        return seen


def form(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "prompt": "studio portrait of a lighthouse keeper",
        "negative_prompt": "",
        "scheduler": realdream.DEFAULT_SCHEDULER,
        "num_inference_steps": 8.0,
        "guidance_scale": 1.5,
        "seed": 7.0,
        "img_width": 256.0,
        "img_height": 256.0,
        "samples": 1.0,
        "api_key": "",
    }
    values.update(changes)
    return values


def offline_v2(
    clock: SkipAheadClock, tmp_path: Path, **config: Any
) -> tuple[Handlers, mocks.MockService]:
    """The offline mock on v2, its jobs on ``clock``; the handler waits on the same clock."""
    service = mocks.MockService(mocks.MockConfig(**config), clock=clock)
    backend = Backend(
        Mode.OFFLINE,
        mock_transport=lambda: mocks.MockTransport(service),
        mock_latency_s=service.config.latency,
        service=service,
        max_retries=0,
        api="v2",
    )
    handlers = Handlers(backend, tmp_path / "out", clock=clock, sleep=clock.sleep)
    return handlers, service


def on_apps_key(
    clock: SkipAheadClock, tmp_path: Path, *, budget_usd: float = 1.0, **config: Any
) -> tuple[Handlers, mocks.MockService, Guard]:
    """The app's key on v2 (the "real API" a mock on ``clock`` with :data:`CREDITS`), with a
    guard in memory: ``budget_usd`` a day, 10 images per visitor an hour."""
    service = mocks.MockService(mocks.MockConfig(credits=CREDITS, **config), clock=clock)
    backend = Backend(
        Mode.SERVER_KEY,
        server_key=mocks.MOCK_API_KEY,
        api_transport=lambda: mocks.MockTransport(service),
        max_retries=0,
        api="v2",
    )
    settings = GuardSettings(daily_budget_usd=budget_usd, visitor_images_per_hour=10)
    guard = Guard(settings, MemoryLedger())
    handlers = Handlers(
        backend,
        tmp_path / "out",
        guard=guard,
        addresses=AddressRule(),
        clock=clock,
        sleep=clock.sleep,
    )
    return handlers, service, guard


def visitor(address: str) -> Any:
    """A visitor's request as the handler reads it: counted by its address."""
    return SimpleNamespace(headers={}, client=SimpleNamespace(host=address))


def refused(handlers: Handlers, progress: Progress | None = None, **changes: Any) -> str:
    with pytest.raises(gr.Error) as caught:
        handlers.generate(**form(**changes), progress=progress or Progress())
    return str(caught.value.message)


def spent(service: mocks.MockService) -> float:
    """What the mock's own ledger has billed the app's key."""
    return CREDITS - service.balance


def status_requests(service: mocks.MockService) -> int:
    """How many v2 status requests the mock's request log holds."""
    return sum(1 for seen in service.requests if seen.path.endswith("/status"))
