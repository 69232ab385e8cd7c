"""The demo on v2: the handler submits a job, shows its state while it waits, then collects it;
on the app's key the guard settles a completed job with its cost, releases a FAILED one and
counts one it stopped waiting for as spent. The mock and the handler share one fake clock, so
a job's states follow the schedule exactly and nothing really waits."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from hypothesis import given
from hypothesis import strategies as st

import realdream
import realdream.mock as mocks
from demo import API_ENV, AddressRule, Backend, Guard, GuardSettings, Handlers, Mode
from demo._backend import api_from_env
from demo._jobs import FIRST_LOOK_S, MAX_INTERVAL_S, PollTimes, describe
from demo._ledger import MemoryLedger
from realdream.contract import cost

PRICE = cost(1)


class FakeClock:
    """Seconds that move only when someone sleeps (the worker thread does; reads are safe)."""

    def __init__(self) -> None:
        self._now = 1_000_000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, seconds)


class Progress:
    """Records what the handler shows: ``(fraction, desc)`` per call."""

    def __init__(self) -> None:
        self.calls: list[tuple[float | None, str | None]] = []

    def __call__(self, fraction: float | None = None, desc: str | None = None, **_: Any) -> None:
        self.calls.append((fraction, desc))

    def words(self) -> list[str]:
        """Each text shown, without its seconds, consecutive repeats dropped."""
        seen: list[str] = []
        for _, desc in self.calls:
            word = (desc or "").split("…")[0]
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
    clock: FakeClock, tmp_path: Path, **config: Any
) -> tuple[Handlers, mocks.MockService]:
    """The offline mock on v2, its jobs on ``clock``; the handler polls on the same clock."""
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
    clock: FakeClock, tmp_path: Path, **config: Any
) -> tuple[Handlers, mocks.MockService, Guard]:
    """The app's key on v2 (the "real API" a mock on ``clock``), with a guard in memory."""
    service = mocks.MockService(mocks.MockConfig(credits=10.0, **config), clock=clock)
    backend = Backend(
        Mode.SERVER_KEY,
        server_key=mocks.MOCK_API_KEY,
        api_transport=lambda: mocks.MockTransport(service),
        max_retries=0,
        api="v2",
    )
    guard = Guard(GuardSettings(daily_budget_usd=1.0, visitor_images_per_hour=10), MemoryLedger())
    handlers = Handlers(
        backend,
        tmp_path / "out",
        guard=guard,
        addresses=AddressRule(),
        clock=clock,
        sleep=clock.sleep,
    )
    return handlers, service, guard


def refused(handlers: Handlers, **changes: Any) -> str:
    with pytest.raises(gr.Error) as caught:
        handlers.generate(**form(**changes), progress=Progress())
    return str(caught.value.message)


# --- the progress text ------------------------------------------------------------------------


def test_the_progress_shows_each_state_of_the_job_in_order(tmp_path: Path) -> None:
    clock = FakeClock()
    handlers, service = offline_v2(clock, tmp_path, queue_time=2.0, latency=1.0)
    progress = Progress()
    out = handlers.generate(**form(samples=2.0), progress=progress)
    assert progress.words() == [
        "Sending the request (2 images)",
        "Submitting the job",
        "Submitted, waiting for its state",
        "Queued",
        "Processing",
        "Completed, downloading the images",
    ]
    assert len(out.files) == 2
    assert out.details["api"] == "v2"
    assert service.stats.jobs == 1  # the images came from a job on the queue, not from v1


def test_the_progress_shows_the_seconds_since_the_submit(tmp_path: Path) -> None:
    clock = FakeClock()
    handlers, _ = offline_v2(clock, tmp_path, queue_time=4.0, latency=2.0)
    progress = Progress()
    out = handlers.generate(**form(), progress=progress)
    shown = [desc for _, desc in progress.calls if desc and desc.startswith("Processing")]
    polls = _poll_times(expected=2.0)
    first_processing = next(at for at in polls if at >= 4.0)  # it leaves the queue at 4 s
    assert shown[0] == f"Processing… {first_processing:.0f} s"
    noticed = next(at for at in polls if at >= 6.0)  # 4 s queued + 2 s running
    assert out.details["elapsed_s"] == round(noticed, 3)  # details round to milliseconds
    fractions = [fraction for fraction, _ in progress.calls if fraction is not None]
    assert fractions == sorted(fractions)
    assert max(fractions) < 1.0


def test_a_completed_job_is_noticed_soon_after_it_finishes(tmp_path: Path) -> None:
    clock = FakeClock()
    handlers, service = offline_v2(clock, tmp_path, queue_time=0.0, latency=3.0)
    started = clock()
    handlers.generate(**form(), progress=Progress())
    assert clock() - started <= 3.0 + 0.2 + 1e-6  # polls 0.2 s apart after the expected finish
    # submit, a first look, polls at 3.0 and 3.2, the resumed job's poll, result, image
    assert service.stats.requests <= 7


def test_a_v1_backend_sends_no_job(tmp_path: Path) -> None:
    backend = Backend.offline(latency_s=0.0, max_retries=0)
    assert backend.service is not None
    out = Handlers(backend, tmp_path / "out").generate(**form(), progress=Progress())
    assert out.details["api"] == "v1"
    assert backend.service.stats.jobs == 0


def test_a_failed_job_says_why_and_nothing_was_spent(tmp_path: Path) -> None:
    clock = FakeClock()
    handlers, service = offline_v2(clock, tmp_path, latency=1.0)
    service.script(["job-failed"])
    message = refused(handlers)
    assert message.startswith("Generation failed (422): Inference failed: ")
    assert "nothing was billed" in message
    assert "may have been billed" not in message


# --- the guard on the app's key ----------------------------------------------------------------


def test_a_completed_job_settles_its_reported_cost(tmp_path: Path) -> None:
    clock = FakeClock()
    handlers, service, guard = on_apps_key(clock, tmp_path, latency=2.0)
    handlers.generate(**form(samples=3.0), progress=Progress())
    assert guard.spent_today_usd() == pytest.approx(3 * PRICE) == 10.0 - service.balance
    assert guard.open_reservations() == 0


@pytest.mark.parametrize("failed_status", [422, 200])
def test_a_failed_job_releases_its_reservation(tmp_path: Path, failed_status: int) -> None:
    clock = FakeClock()
    handlers, service, guard = on_apps_key(
        clock, tmp_path, latency=1.0, failed_status=failed_status
    )
    service.script(["job-failed"])
    refused(handlers, samples=4.0)
    assert guard.spent_today_usd() == 0 == 10.0 - service.balance
    assert guard.open_reservations() == 0
    assert "10 of 10 images left for you this hour" in handlers.allowance()  # 4 given back


def test_a_job_still_queued_at_the_timeout_counts_as_spent(tmp_path: Path) -> None:
    clock = FakeClock()
    handlers, service, guard = on_apps_key(clock, tmp_path, queue_time=600.0, latency=1.0)
    handlers.job_timeout_s = 30.0
    message = refused(handlers, samples=2.0)
    assert message.startswith("Gave up waiting after 30 s: the job ")
    assert "is still queued" in message
    assert "billed if it completes" in message
    assert guard.spent_today_usd() == pytest.approx(2 * PRICE)  # it may yet be billed
    assert guard.open_reservations() == 0
    clock.sleep(600.0)
    assert 10.0 - service.balance == pytest.approx(2 * PRICE)  # and it was


def test_a_poll_that_fails_after_the_submit_counts_as_spent(tmp_path: Path) -> None:
    clock = FakeClock()
    handlers, service, guard = on_apps_key(clock, tmp_path, latency=1.0)
    service.script([200, 500])  # the submit is accepted, the first poll fails
    message = refused(handlers, samples=2.0)
    assert message.startswith("Internal server error (500): ")
    assert message.endswith("may have been billed: check your credits before retrying.")
    assert guard.spent_today_usd() == pytest.approx(2 * PRICE)
    assert guard.open_reservations() == 0


def test_a_refused_submit_releases_its_reservation(tmp_path: Path) -> None:
    clock = FakeClock()
    handlers, service, guard = on_apps_key(clock, tmp_path, latency=1.0)
    service.script([500])  # the submit itself: nothing was queued
    assert refused(handlers).startswith("Internal server error (500): ")
    assert guard.spent_today_usd() == 0
    assert guard.open_reservations() == 0
    assert service.stats.jobs == 0


def _poll_times(expected: float, count: int = 30) -> list[float]:
    """When polls that take no time happen, in seconds after the submit."""
    times, now, out = PollTimes(expected), 0.0, []
    for _ in range(count):
        now += times.delay(now)
        out.append(now)
    return out


# --- the poll schedule and the option ---------------------------------------------------------


@given(
    expected=st.floats(0.0, 60.0),
    took=st.lists(st.floats(0.0, 3.0), min_size=1, max_size=30),
)
def test_polls_come_early_then_at_the_expected_finish_then_back_off_never_in_a_burst(
    expected: float, took: list[float]
) -> None:
    times = PollTimes(expected)
    now, polls = 0.0, []
    for seconds in took:  # each poll takes that long
        now += times.delay(now)
        polls.append(now)
        now += seconds
    # ``now + (due - now)`` need not be ``due`` in floating point: compare to the nanosecond.
    assert polls[0] == pytest.approx(FIRST_LOOK_S, rel=0, abs=1e-9)
    if len(polls) > 1:
        due = max(expected, FIRST_LOOK_S + 0.2, polls[0] + took[0])
        assert polls[1] == pytest.approx(due, rel=0, abs=1e-9)
    for index in range(2, len(polls)):
        returned = polls[index - 1] + took[index - 1]
        assert 0.2 - 1e-9 <= polls[index] - returned <= MAX_INTERVAL_S + 1e-9


@pytest.mark.parametrize(
    ("state", "waited", "text"),
    [
        ("QUEUED", 3.2, "Queued… 3 s"),
        ("PROCESSING", 12.0, "Processing… 12 s"),
        ("COMPLETED", 4.0, "Completed, downloading the images… 4 s"),
    ],
)
def test_states_read_as_words(state: str, waited: float, text: str) -> None:
    assert describe(state, waited) == text


@pytest.mark.parametrize(("value", "api"), [("", "v1"), ("v1", "v1"), ("v2", "v2"), (" V2 ", "v2")])
def test_the_api_comes_from_its_variable(value: str, api: str) -> None:
    assert api_from_env({API_ENV: value}) == api
    assert Backend.from_env({API_ENV: value}).api == api


def test_a_bad_api_names_the_variable_the_value_and_the_choices() -> None:
    with pytest.raises(realdream.ConfigurationError) as caught:
        api_from_env({API_ENV: "v3"})
    assert str(caught.value) == "REALDREAM_API='v3': must be v1 or v2"


def test_the_api_option_overrides_the_variable() -> None:
    assert Backend.from_env({API_ENV: "v1"}, api="v2").api == "v2"
    key_backend = Backend.from_env({realdream.API_KEY_ENV: "SG_0123456789abcdef", API_ENV: "v2"})
    assert key_backend.route(None).api == "v2"
