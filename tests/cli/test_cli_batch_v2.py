"""`realdream batch --api v2`: each job's id is recorded before the run waits for it, and a
rerun collects what an earlier run submitted instead of paying again. In-process mock on one
skip-ahead clock (a job's hour passes in no real time); the mock's ledger is the judge."""

from __future__ import annotations

import asyncio
import errno
import os
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

import realdream.mock as mocks
from realdream import GenerationRequest, format_parameters, read_parameters
from realdream.cli._backoff import BackoffGate, batch_client
from realdream.cli._batchfile import read_batch
from realdream.cli._engine import BatchRunner
from realdream.cli._manifest import MANIFEST_NAME, Manifest
from realdream.cli._run import BatchOptions, BatchReport
from realdream.cli._saving import CACHE_ENV
from tests.cli._offline import (
    BASE,
    SMALL,
    AsyncRecording,
    Offline,
    history,
    last_records,
    records,
)

FILE = [
    "a red boat",
    "a green boat",
    '{"prompt": "two boats", "samples": 2}',
    "a blue boat",
    '{"prompt": "a last boat", "seed": -1}',
]
IMAGES = 6  # the third line asks for two
LONG = mocks.MockConfig(latency=300.0, queue_time=5.0, credits=1.0)  # jobs outlive a run


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(FILE) + "\n")
    return path


def command(batch: Path, out: Path, *extra: str) -> list[str | Path]:
    return ["batch", batch, "--api", "v2", "-o", out, "-c", "3", *SMALL, *extra]


def summary_value(text: str, row: str) -> str:
    match = re.search(rf"{re.escape(row)}\s*│\s*(\S+)", text)
    assert match, text
    return match.group(1)


def interrupted_run(offline: Offline, batch: Path, out: Path, after: int = 3) -> BatchReport:
    """The batch engine as the CLI drives it, with Ctrl-C pressed twice the moment the
    ``after``-th job's ``submitted`` record is written: every job in flight is abandoned."""
    items = read_batch(batch, {"img_width": 256, "img_height": 256})

    async def go() -> BatchReport:
        client = batch_client(
            mocks.MOCK_API_KEY, base_url=BASE, concurrency=3, api="v2",
            transport=AsyncRecording(mocks.AsyncMockTransport(offline.service), offline.notes),
            sleep=offline.async_sleep, clock=offline.clock,
        )  # fmt: skip
        runners: list[BatchRunner] = []
        submitted = 0

        def on_append(record: dict[str, Any]) -> None:
            nonlocal submitted
            submitted += record["status"] == "submitted"
            if record["status"] == "submitted" and submitted == after:
                runners[0].interrupt()
                runners[0].interrupt()

        options = BatchOptions(out, 3, ".jpg", api="v2")
        with Manifest(out, on_append=on_append).load() as manifest:
            runners.append(BatchRunner(client, manifest, options))
            try:
                return await runners[0].run(items)
            finally:
                await client.aclose()

    return asyncio.run(go())


# --- a normal run --------------------------------------------------------------------------------
def test_each_jobs_id_is_recorded_before_its_run_waits_and_every_image_is_paid_once(
    batch: Path, tmp_path: Path
) -> None:
    offline = Offline()
    out = tmp_path / "out"
    polled_before_record: list[int] = []

    def on_record(record: dict[str, Any]) -> None:
        if record["status"] == "submitted":
            polls = [e for e in offline.exchanges if record["request_id"] in e.path]
            polled_before_record.append(len(polls))

    ran = offline.run(*command(batch, out), seams=offline.seams(on_record=on_record))
    assert ran.code == 0, ran.err
    assert polled_before_record == [0] * len(FILE)
    assert set(map(tuple, history(out).values())) == {("sent", "submitted", "done")}
    soon = datetime.now(timezone.utc) + timedelta(hours=1)
    for line, record in last_records(out).items():
        submitted = next(
            r for r in records(out) if r["line"] == line and r["status"] == "submitted"
        )
        assert submitted["request_id"] == record["request_id"]
        assert submitted["request"] == record["request"]
        assert submitted["files"] == record["files"]
        expires = datetime.fromisoformat(submitted["expires_at"])
        assert abs((expires - soon).total_seconds()) < 120
        sent = GenerationRequest.create(submitted["request"])
        assert not sent.is_random_seed
        for index, name in enumerate(record["files"]):
            assert read_parameters(out / name) == format_parameters(sent, index=index)
    assert offline.kinds().count("submit") == len(FILE)
    assert offline.charged_images() == IMAGES
    assert offline.spent() == pytest.approx(IMAGES * offline.service.config.cost_per_image)
    assert summary_value(ran.out, "Images written") == str(IMAGES)


# --- interrupted, then the same command ----------------------------------------------------------
def test_a_rerun_after_an_interruption_collects_the_submitted_jobs_without_paying_again(
    batch: Path, tmp_path: Path
) -> None:
    offline = Offline(LONG)
    out = tmp_path / "out"
    first = interrupted_run(offline, batch, out)
    assert (len(first.abandoned), len(first.not_started), first.exit_code) == (3, 2, 130)
    assert offline.charged_images() == 0  # still running
    assert [r["status"] for r in last_records(out).values()] == ["submitted"] * 3
    preview = offline.run(*command(batch, out), "--dry-run")
    assert "2 items (2 images) to send, 0 already done, 3 jobs an earlier run" in preview.out

    again = offline.run(*command(batch, out))
    assert again.code == 0, again.err
    assert "Collecting 3 jobs an earlier run submitted, by their ids" in again.err
    assert summary_value(again.out, "Collected from earlier runs") == "3"
    assert summary_value(again.out, "Done in this run") == "2"
    assert summary_value(again.out, "Images written") == str(IMAGES)
    assert summary_value(again.out, "Spent (USD)") == "$0.0040"  # the two sent now
    assert offline.kinds().count("submit") == len(FILE)  # nothing submitted twice
    assert offline.charged_images() == IMAGES  # exactly one charge per image
    assert offline.spent() == pytest.approx(IMAGES * offline.service.config.cost_per_image)
    for line in (1, 2, 3):
        assert history(out)[line] == ["sent", "submitted", "done"]
        assert last_records(out)[line]["collected"] is True
    assert len(list(out.glob("*.jpg"))) == IMAGES
    third = offline.run(*command(batch, out))
    assert (third.code, summary_value(third.out, "Done earlier (skipped)")) == (0, "5")
    assert offline.charged_images() == IMAGES


def test_jobs_past_their_hour_are_reported_unknown_and_only_retry_unknown_sends_them_again(
    batch: Path, tmp_path: Path
) -> None:
    offline = Offline(LONG)
    out = tmp_path / "out"
    interrupted_run(offline, batch, out)
    offline.clock.sleep(3601)  # the service forgets the jobs (they completed, and were billed)
    again = offline.run(*command(batch, out))
    assert again.code == 1
    assert summary_value(again.out, "Maybe billed, skipped") == "3"
    assert summary_value(again.out, "Done in this run") == "2"
    for line in (1, 2, 3):
        assert f"batch.jsonl:{line}: job " in again.err
        record = last_records(out)[line]
        assert (record["status"], record["maybe_billed"]) == ("failed", True)
        assert "expires_at" not in record  # nothing left to collect
        assert "past the hour it keeps results" in record["error"]
    assert offline.kinds().count("submit") == len(FILE)
    polls = len(offline.exchanges)
    third = offline.run(*command(batch, out))
    assert summary_value(third.out, "Maybe billed, skipped") == "3"
    assert len(offline.exchanges) == polls  # skipped without a request
    fourth = offline.run(*command(batch, out, "--retry-unknown"))
    assert fourth.code == 0, fourth.err
    assert offline.kinds().count("submit") == len(FILE) + 3
    resent = [GenerationRequest.create(last_records(out)[line]["request"]) for line in (1, 2, 3)]
    first = [GenerationRequest.create(h) for h in _submitted_requests(out, (1, 2, 3))]
    assert [r.seed for r in resent] == [r.seed for r in first]  # the same images again


def _submitted_requests(out: Path, lines: tuple[int, ...]) -> list[dict[str, Any]]:
    return [
        next(r["request"] for r in records(out) if r["line"] == line and r["status"] == "submitted")
        for line in lines
    ]


def test_a_job_whose_recorded_expiry_has_passed_is_unknown_without_a_single_poll(
    batch: Path, tmp_path: Path
) -> None:
    offline = Offline(LONG)
    out = tmp_path / "out"
    interrupted_run(offline, batch, out)
    manifest = out / MANIFEST_NAME
    past = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    manifest.write_text(
        re.sub(r'"expires_at":"[^"]+"', f'"expires_at":"{past}"', manifest.read_text())
    )
    ids = [r["request_id"] for r in last_records(out).values()]
    before = len(offline.exchanges)
    preview = offline.run(*command(batch, out), "--dry-run")
    assert "0 jobs an earlier run submitted to collect (unpaid), 3 maybe billed" in preview.out
    again = offline.run(*command(batch, out))
    assert summary_value(again.out, "Maybe billed, skipped") == "3"
    assert not [e for e in offline.exchanges[before:] if any(i in e.path for i in ids)]


def test_images_a_killed_run_wrote_for_a_submitted_job_are_picked_up_without_a_poll(
    batch: Path, tmp_path: Path
) -> None:
    # The state a kill between writing a job's images and recording them leaves: the last
    # record of each item is "submitted", its images are in the folder.
    offline = Offline()
    out = tmp_path / "out"
    assert offline.run(*command(batch, out)).code == 0
    manifest = out / MANIFEST_NAME
    kept = [line for line in manifest.read_text().splitlines() if '"status":"done"' not in line]
    manifest.write_text("\n".join(kept) + "\n")
    before = len(offline.exchanges)
    again = offline.run(*command(batch, out))
    assert again.code == 0, again.err
    assert summary_value(again.out, "Picked up from an earlier run") == str(len(FILE))
    assert len(offline.exchanges) == before  # not even a status poll
    assert {r["recovered"] for r in last_records(out).values()} == {"out"}
    assert offline.charged_images() == IMAGES


# --- failures ------------------------------------------------------------------------------------
def test_a_failed_job_is_a_failed_item_not_billed_and_a_rerun_sends_it_again(
    batch: Path, tmp_path: Path
) -> None:
    offline = Offline()
    offline.service.script([mocks.JOB_FAILED])  # the first submit's job ends FAILED
    out = tmp_path / "out"
    ran = offline.run(*command(batch, out, "-c", "1"))
    assert ran.code == 1
    assert summary_value(ran.out, "Failed") == "1"
    record = last_records(out)[1]
    assert (record["status"], record["maybe_billed"], record["billed"]) == ("failed", False, False)
    assert "expires_at" not in record
    assert record["error"].startswith(f"job {record['request_id']} failed: Inference failed")
    assert "nothing was billed" in ran.err
    assert offline.charged_images() == IMAGES - 1
    again = offline.run(*command(batch, out))
    assert again.code == 0, again.err
    assert summary_value(again.out, "Done in this run") == "1"
    assert offline.kinds().count("submit") == len(FILE) + 1
    assert offline.charged_images() == IMAGES
    assert offline.spent() == pytest.approx(IMAGES * offline.service.config.cost_per_image)


def run_engine(
    offline: Offline, batch: Path, out: Path, *, job_timeout: float | None
) -> BatchReport:
    items = read_batch(batch, {"img_width": 256, "img_height": 256})

    async def go() -> BatchReport:
        client = batch_client(
            mocks.MOCK_API_KEY, base_url=BASE, concurrency=3, api="v2",
            transport=AsyncRecording(mocks.AsyncMockTransport(offline.service), offline.notes),
            sleep=offline.async_sleep, clock=offline.clock,
        )  # fmt: skip
        options = BatchOptions(out, 3, ".jpg", api="v2", job_timeout=job_timeout)
        with Manifest(out).load() as manifest:
            try:
                return await BatchRunner(client, manifest, options).run(items)
            finally:
                await client.aclose()

    return asyncio.run(go())


def test_a_job_that_outlasts_the_wait_is_left_running_and_the_next_run_collects_it(
    batch: Path, tmp_path: Path
) -> None:
    offline = Offline(mocks.MockConfig(latency=100.0, credits=1.0))
    out = tmp_path / "out"
    first = run_engine(offline, batch, out, job_timeout=20.0)
    assert (len(first.failed), first.exit_code) == (len(FILE), 1)
    assert first.spent == pytest.approx(IMAGES * 0.002)  # submitted: billed if they complete
    for record in last_records(out).values():
        assert record["maybe_billed"] is True
        assert record["expires_at"]
        assert "still processing after 20 s" in record["error"]
        assert "run the same command again within the hour to collect it" in record["error"]
    again = offline.run(*command(batch, out))
    assert again.code == 0, again.err
    assert summary_value(again.out, "Collected from earlier runs") == str(len(FILE))
    assert offline.kinds().count("submit") == len(FILE)  # collected, not submitted again
    assert offline.charged_images() == IMAGES


def image_host_down(request: httpx.Request) -> httpx.Response | None:
    return (
        httpx.Response(503, text="down") if request.url.path.startswith(mocks.CDN_PREFIX) else None
    )


def test_a_download_failing_after_completion_keeps_the_job_and_a_rerun_collects_it(
    batch: Path, tmp_path: Path
) -> None:
    offline = Offline()
    offline.fail = image_host_down
    out = tmp_path / "out"
    ran = offline.run(*command(batch, out, "--retries", "1"))
    assert ran.code == 1
    assert offline.charged_images() == IMAGES  # every job completed: billed
    for record in last_records(out).values():
        assert (record["status"], record["maybe_billed"]) == ("failed", True)
        assert record["request_id"]
        assert record["expires_at"]
        assert "run the same command again within the hour to collect it" in record["error"]
    offline.fail = None
    again = offline.run(*command(batch, out))
    assert again.code == 0, again.err
    assert summary_value(again.out, "Collected from earlier runs") == str(len(FILE))
    assert offline.kinds().count("submit") == len(FILE)
    assert offline.charged_images() == IMAGES
    assert len(list(out.glob("*.jpg"))) == IMAGES


def queued_without_an_id(request: httpx.Request) -> httpx.Response | None:
    if request.method == "POST":
        return httpx.Response(200, json={"status": "QUEUED"})
    return None


def submit_read_timeout(request: httpx.Request) -> httpx.Response | None:
    if request.method == "POST":
        raise httpx.ReadTimeout("no answer", request=request)
    return None


@pytest.mark.parametrize("fault", [queued_without_an_id, submit_read_timeout])
def test_a_submit_that_may_have_queued_without_an_id_is_unknown_and_not_sent_again(
    batch: Path, tmp_path: Path, fault: Callable[[httpx.Request], httpx.Response | None]
) -> None:
    offline = Offline()
    offline.fail = fault
    out = tmp_path / "out"
    ran = offline.run(*command(batch, out))
    assert ran.code == 1
    assert offline.kinds().count("submit") == len(FILE)  # never retried: it may have queued
    for record in last_records(out).values():
        assert (record["status"], record["maybe_billed"]) == ("failed", True)
        assert "expires_at" not in record  # no id: nothing to collect
    offline.fail = None
    again = offline.run(*command(batch, out))
    assert summary_value(again.out, "Maybe billed, skipped") == str(len(FILE))
    assert offline.kinds().count("submit") == len(FILE)


def test_images_no_folder_takes_are_collected_again_unpaid_by_the_next_run(
    batch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))

    def full(path: Path, data: bytes) -> Path:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    offline = Offline()
    out = tmp_path / "out"
    ran = offline.run(*command(batch, out, "-c", "1"), seams=offline.seams(writer=full))
    assert ran.code == 1
    assert "a rerun within the hour collects the job again, unpaid" in ran.err
    (lost,) = [r for r in last_records(out).values() if r["status"] == "failed"]
    assert (lost["maybe_billed"], lost["billed"]) == (True, True)
    assert lost["expires_at"]
    assert offline.charged_images() == 1  # a full disk stops the batch buying more
    again = offline.run(*command(batch, out))
    assert again.code == 0, again.err
    assert summary_value(again.out, "Collected from earlier runs") == "1"
    assert offline.charged_images() == IMAGES
    assert offline.kinds().count("submit") == len(FILE)
    assert len(list(out.glob("*.jpg"))) == IMAGES


# --- the shared back-off gate --------------------------------------------------------------------
class ClockedGate(BackoffGate):
    """The batch's gate on the test's clock, noting until when each 429 closes it."""

    def __init__(self, offline: Offline) -> None:
        super().__init__(clock=offline.clock, sleep=offline.async_sleep)
        self.reopens: list[float] = []
        self.clock_now = offline.clock

    def rate_limited(self, retry_after: float | None) -> float:
        delay = super().rate_limited(retry_after)
        self.reopens.append(self.clock_now() + delay)
        return delay


def test_submits_polls_and_downloads_wait_at_one_gate_that_a_429_on_a_poll_closes(
    batch: Path, tmp_path: Path
) -> None:
    offline = Offline(mocks.MockConfig(latency=1.0, credits=1.0))
    offline.service.script([200, 200, 429])  # two submits, then the first poll is refused
    gate = ClockedGate(offline)
    ran = offline.run(*command(batch, tmp_path / "out", "-c", "2"),
                      seams=offline.seams(gate=gate))  # fmt: skip
    assert ran.code == 0, ran.err
    (refused,) = [e for e in offline.exchanges if e.status == 429]
    assert refused.kind in ("status", "result")  # a poll
    (reopens,) = gate.reopens
    later = [e for e in offline.exchanges if e.at > refused.done]  # sent after the 429
    assert {e.kind for e in later} >= {"submit", "status", "result", "image"}
    assert min(e.at for e in later) >= reopens  # every kind of request waited for the gate
    assert offline.charged_images() == IMAGES
