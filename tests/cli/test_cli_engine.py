"""The batch engine in-process against the mock service: resume, interrupt, budget, failures."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest

import realdream
import realdream.mock as mocks
from realdream import read_parameters, request_from_parameters
from realdream.cli._backoff import BackoffGate, batch_client
from realdream.cli._batchfile import BatchItem, parse_batch
from realdream.cli._engine import BatchRunner
from realdream.cli._manifest import MANIFEST_NAME, Manifest
from realdream.cli._run import BatchOptions, BatchReport, Outcome, Plan
from realdream.mock._ledger import to_micros
from realdream.testing.clock import SkipAheadClock

SMALL = {"img_width": 256, "img_height": 256}  # quick to render and encode


def items_of(count: int) -> list[BatchItem]:
    text = "\n".join(f"prompt number {i}" for i in range(count))
    return parse_batch(text, source="b.txt", defaults=SMALL)


class Interrupter:
    """A listener that presses Ctrl-C ``times`` times: when the first item finishes, or, with
    ``reserved``, once the mock holds credits for that many images (requests in flight)."""

    def __init__(self, times: int, service: mocks.MockService, reserved: int | None) -> None:
        self.times = times
        self.service = service
        self.reserved = reserved
        self.runner: BatchRunner | None = None
        self._watch: asyncio.Task[None] | None = None

    def press(self) -> None:
        assert self.runner is not None
        for _ in range(self.times):
            self.runner.interrupt()
        self.times = 0

    async def _press_when_reserved(self, count: int) -> None:
        target = count * to_micros(self.service.config.cost_per_image)
        while self.service.ledger.reserved_micros < target:
            await asyncio.sleep(0.001)  # polls an event; no deadline, so no timing assumption
        self.press()

    def started(self, plan: Plan) -> None:
        if self.reserved is not None:
            self._watch = asyncio.create_task(self._press_when_reserved(self.reserved))

    def finished(self, outcome: Outcome, spent: float) -> None:
        if self.reserved is None:
            self.press()

    def stopping(self, message: str) -> None:
        pass


def run_batch(
    items: list[BatchItem],
    out: Path,
    service: mocks.MockService,
    *,
    concurrency: int = 4,
    max_cost: float | None = None,
    retry_unknown: bool = False,
    interrupts: int = 0,
    interrupt_when_reserved: int | None = None,
) -> BatchReport:
    async def go() -> BatchReport:
        clock = SkipAheadClock(frozen=True)  # retries and back-offs take no real time
        client = batch_client(
            mocks.MOCK_API_KEY,
            base_url="http://mock",
            concurrency=concurrency,
            max_retries=8,
            transport=mocks.AsyncMockTransport(service),
            gate=BackoffGate(clock=clock, sleep=clock.async_sleep),
            sleep=clock.async_sleep,
            clock=clock,
        )
        options = BatchOptions(out, concurrency, ".png", max_cost, retry_unknown)
        listener = Interrupter(interrupts, service, interrupt_when_reserved)
        with Manifest(out).load() as manifest:
            runner = BatchRunner(client, manifest, options, listener if interrupts else None)
            listener.runner = runner
            try:
                return await runner.run(items)
            finally:
                await client.aclose()

    return asyncio.run(go())


def done_records(out: Path) -> Counter[str]:
    lines = (out / MANIFEST_NAME).read_text().splitlines()
    return Counter(r["key"] for r in map(json.loads, lines) if r["status"] == "done")


def images_in(out: Path) -> list[Path]:
    return sorted(out.glob("*.png"))


def test_a_batch_with_faults_completes_and_a_rerun_sends_nothing(tmp_path: Path) -> None:
    service = mocks.MockService(mocks.MockConfig(latency=0, fault_rate=0.3, seed=11))
    items = items_of(20)
    report = run_batch(items, tmp_path, service, concurrency=8)
    assert report.exit_code == 0
    assert len(report.done) == 20
    assert not report.failed
    assert service.stats.by_status.get(500, 0) + service.stats.by_status.get(502, 0) > 0
    again = run_batch(items, tmp_path, service)
    assert (again.already_done, len(again.done), again.exit_code) == (20, 0, 0)
    assert service.stats.images == 20
    assert set(done_records(tmp_path).values()) == {1}
    assert len(images_in(tmp_path)) == 20


def test_images_carry_their_parameters(tmp_path: Path) -> None:
    service = mocks.MockService(mocks.MockConfig(latency=0))
    items = parse_batch('{"prompt": "a fox", "samples": 2, "seed": 9}', source="b", defaults=SMALL)
    report = run_batch(items, tmp_path, service)
    (outcome,) = report.done
    assert [p.name for p in outcome.files] == [
        f"0001-a-fox-{items[0].key[:8]}_1of2.png",
        f"0001-a-fox-{items[0].key[:8]}_2of2.png",
    ]
    for path in outcome.files:
        text = read_parameters(path)
        assert text is not None
        assert request_from_parameters(text).seed == 9


def test_one_interrupt_finishes_what_is_in_flight_and_a_rerun_finishes_the_rest(
    tmp_path: Path,
) -> None:
    service = mocks.MockService(mocks.MockConfig(latency=0.05, credits=100.0))
    items = items_of(12)
    first = run_batch(items, tmp_path, service, concurrency=3, interrupts=1)
    assert first.interrupted
    assert first.exit_code == 130
    assert not first.abandoned
    assert not first.failed
    assert 1 <= len(first.done) < 12
    assert len(first.not_started) == 12 - len(first.done)
    second = run_batch(items, tmp_path, service, concurrency=3)
    assert second.exit_code == 0
    assert len(first.done) + len(second.done) == 12
    assert service.stats.images == 12
    assert service.balance == pytest.approx(100.0 - 12 * service.config.cost_per_image)
    assert set(done_records(tmp_path).values()) == {1}


def test_two_interrupts_abandon_in_flight_items_which_a_rerun_does_not_pay_again_silently(
    tmp_path: Path,
) -> None:
    # The first three answers are held back (far longer than any test): they are surely in
    # flight when Ctrl-C is pressed twice, once the mock has reserved credits for all three.
    service = mocks.MockService(mocks.MockConfig(latency=0, hang_seconds=60))
    service.script([mocks.TIMEOUT] * 3)
    items = items_of(5)
    first = run_batch(
        items, tmp_path, service, concurrency=3, interrupts=2, interrupt_when_reserved=3
    )
    assert (len(first.abandoned), len(first.done), first.exit_code) == (3, 0, 130)
    assert service.balance == service.config.credits  # dropped while held: nothing billed
    second = run_batch(items, tmp_path, service, concurrency=1)
    assert (len(second.unknown), len(second.done), second.exit_code) == (3, 2, 1)
    service_third = mocks.MockService(mocks.MockConfig(latency=0))
    third = run_batch(items, tmp_path, service_third, retry_unknown=True)
    assert (len(third.done), third.exit_code) == (3, 0)
    assert len(images_in(tmp_path)) == 5


def test_the_budget_stops_launches_before_the_spend_passes_it(tmp_path: Path) -> None:
    # The server charges more than the contract's price: the estimate must catch up.
    service = mocks.MockService(mocks.MockConfig(latency=0, cost_per_image=0.003))
    report = run_batch(items_of(10), tmp_path, service, concurrency=1, max_cost=0.02)
    assert report.budget_stopped
    assert report.spent <= 0.02
    assert len(report.done) == 6
    assert len(report.not_started) == 4
    assert report.exit_code == 1


def test_a_refused_item_fails_alone_and_is_retried_by_a_rerun(tmp_path: Path) -> None:
    service = mocks.MockService(mocks.MockConfig(latency=0))
    service.script([403])
    items = items_of(3)
    report = run_batch(items, tmp_path, service, concurrency=1)
    (rule,) = realdream.contract.rules_for_status(403)
    assert [o.error for o in report.failed] == [f"{rule.title} (403): {rule.message}. {rule.hint}"]
    assert report.exit_code == 1
    again = run_batch(items, tmp_path, service)
    assert (len(again.done), again.exit_code) == (1, 0)
