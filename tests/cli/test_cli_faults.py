"""Faults a batch must survive without paying twice or losing a paid image.

- a server that answers 200 with a body nobody can read (garbage, bad gzip, cut short);
- a disk that refuses writes (full, read-only, gone), injected at the engine's write seam;
- ``kill -9`` of a real ``realdream batch`` process at chosen points, then the same command.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import realdream.mock as mocks
from realdream import (
    API_KEY_ENV,
    BASE_URL_ENV,
    GenerationRequest,
    contract,
    format_parameters,
    read_parameters,
    write_atomic,
)
from realdream.cli._app import Seams, run
from realdream.cli._manifest import MANIFEST_NAME
from realdream.cli._saving import CACHE_ENV, UNREADABLE_DIR, Writer
from tests.cli.conftest import Ran

REPO = Path(__file__).resolve().parents[2]
SMALL = ["--width", "256", "--height", "256"]
KEY = mocks.MOCK_API_KEY


def records(out: Path) -> list[dict[str, Any]]:
    lines = (out / MANIFEST_NAME).read_text().splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]


def last_records(out: Path) -> dict[str, dict[str, Any]]:
    return {record["key"]: record for record in records(out)}


def done_counts(out: Path) -> Counter[str]:
    return Counter(r["key"] for r in records(out) if r["status"] == "done")


def summary_value(out_text: str, row: str) -> str:
    match = re.search(rf"{re.escape(row)}\s*│\s*(\S+)", out_text)
    assert match, out_text
    return match.group(1)


@pytest.fixture
def batch_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """``realdream ARGS...`` in-process, with an optional ``writer=`` seam."""

    def go(*args: str | Path, writer: Writer = write_atomic) -> Ran:
        capsys.readouterr()
        code = run([str(arg) for arg in args], seams=Seams(writer=writer))
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return go


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The first fallback folder lives under the test's own directory."""
    cache = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(cache))
    return cache


# --- a 200 nobody can read -------------------------------------------------------------------
class _BadTwoHundreds(BaseHTTPRequestHandler):
    """Answers every POST with HTTP 200 and a body that cannot be read as images."""

    server: _StubServer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        number = self.server.count()
        mode = self.server.mode
        body = b"\x00\x01 this is not an image"
        headers = {"content-type": "image/jpeg", contract.HEADER_REQUEST_ID: f"stub-{number}"}
        if mode == "bad-json":
            headers["content-type"] = "application/json"
            body = b'{"image": "not base64!'
        if mode == "bad-gzip":
            headers["content-encoding"] = "gzip"
        length = len(body) + (4096 if mode == "truncated" else 0)
        self.send_response(200)
        for name, value in {**headers, "content-length": str(length)}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)  # "truncated": the connection closes 4096 bytes short

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _StubServer(ThreadingHTTPServer):
    def __init__(self, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), _BadTwoHundreds)
        self.mode = mode
        self.requests = 0
        self._lock = threading.Lock()

    def count(self) -> int:
        with self._lock:
            self.requests += 1
            return self.requests

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def stub(request: pytest.FixtureRequest) -> Iterator[_StubServer]:
    server = _StubServer(request.param)
    # shutdown() waits for the loop's next look at its flag: every 50 ms, not the default 0.5 s
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


BAD_BODIES = ["garbage", "bad-json", "bad-gzip", "truncated"]


@pytest.mark.parametrize("stub", BAD_BODIES, indirect=True)
def test_an_unreadable_200_is_spent_kept_and_never_sent_again_by_a_rerun(
    batch_cli: Callable[..., Ran], stub: _StubServer, tmp_path: Path
) -> None:
    batch = tmp_path / "batch.txt"
    batch.write_text("a fox\nan owl\n")
    out = tmp_path / "out"
    command = ["batch", batch, "-o", out, "-c", "1", "--base-url", stub.base_url, "--api-key", KEY]
    runs = [batch_cli(*command) for _ in range(3)]
    assert stub.requests == 2  # three runs, two prompts: each sent once
    assert [ran.code for ran in runs] == [1, 1, 1]
    assert summary_value(runs[0].out, "Spent (USD)") == "$0.0040"
    assert [summary_value(ran.out, "Maybe billed, skipped") for ran in runs[1:]] == ["2", "2"]
    assert "--retry-unknown" in runs[1].err
    for number, record in enumerate(last_records(out).values(), start=1):
        assert (record["status"], record["maybe_billed"], record["billed"]) == (
            "failed",
            True,
            True,
        )
        assert record["request_id"] == f"stub-{number}"
        sent = GenerationRequest.create(record["request"])
        assert not sent.is_random_seed  # the seed it was sent with: it can be made again
        if stub.mode in ("garbage", "bad-json"):  # the raw body is kept for support
            assert record["raw_body"] == f"{UNREADABLE_DIR}/stub-{number}.bin"
            assert (out / record["raw_body"]).read_bytes().startswith((b"\x00\x01", b'{"image'))
        else:  # nothing readable arrived to keep
            assert "raw_body" not in record


# --- a disk that refuses writes --------------------------------------------------------------
def refusing(out: Path, code: int, *, everywhere: bool = False) -> Writer:
    """A writer for which ``out`` (or every folder) fails with ``code``."""

    def writer(path: Path, data: bytes) -> Path:
        if everywhere or path.is_relative_to(out):
            raise OSError(code, os.strerror(code), str(path))
        return write_atomic(path, data)

    return writer


def eight_prompts(tmp_path: Path) -> Path:
    batch = tmp_path / "batch.txt"
    batch.write_text("".join(f"a lighthouse, take {i}\n" for i in range(8)))
    return batch


@pytest.mark.parametrize(
    "code",
    [errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.ENOENT, errno.EACCES, errno.EPERM],
    ids=errno.errorcode.get,
)
def test_a_save_failure_that_will_repeat_stops_the_batch_and_keeps_the_paid_image(
    batch_cli: Callable[..., Ran], tmp_path: Path, private_cache: Path, code: int
) -> None:
    out = tmp_path / "out"
    batch = eight_prompts(tmp_path)
    with mocks.serve(mocks.MockConfig(latency=0, credits=1.0)) as server:
        command = ["batch", batch, "-o", out, "-c", "1", *SMALL, "--base-url", server.base_url,
                   "--api-key", KEY]  # fmt: skip
        ran = batch_cli(*command, writer=refusing(out, code))
        assert server.service.stats.images == 1  # one image bought, then no more launches
        assert ran.code == 1
        assert f"Stopped launching: cannot save images in {out} ({os.strerror(code)})" in ran.err
        assert summary_value(ran.out, "Held in a fallback folder") == "1"
        assert summary_value(ran.out, "Not started") == "7"
        (held,) = [r for r in last_records(out).values() if r["status"] == "held"]
        (kept,) = map(Path, held["fallback"])
        assert kept.is_relative_to(private_cache)
        assert str(kept.parent) in ran.err  # the message says where the image is
        sent = GenerationRequest.create(held["request"])
        assert not sent.is_random_seed
        assert held["seed"] == sent.seed
        assert re.fullmatch(r"[0-9a-f]{32}", held["request_id"])
        assert read_parameters(kept) == format_parameters(sent)

        preview = batch_cli(*command, "--dry-run")
        assert "1 maybe billed (1 of them to pick up from disk, unpaid)" in preview.out
        again = batch_cli(*command)  # the disk is back: pick the image up, buy the other 7
        assert again.code == 0, again.err
        assert summary_value(again.out, "Picked up from an earlier run") == "1"
        assert server.service.stats.images == 8
    assert not kept.exists()
    assert sorted(done_counts(out).values()) == [1] * 8
    assert len(list(out.glob("*.jpg"))) == 8
    recovered = [r for r in last_records(out).values() if r.get("recovered") == "fallback"]
    assert [r["files"] for r in recovered] == [[kept.name]]
    assert read_parameters(out / kept.name) == format_parameters(sent)


def test_a_rerun_while_the_disk_is_still_full_buys_nothing_and_keeps_the_held_image(
    batch_cli: Callable[..., Ran], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    batch = eight_prompts(tmp_path)
    full = refusing(out, errno.ENOSPC)
    with mocks.serve(mocks.MockConfig(latency=0, credits=1.0)) as server:
        command = ["batch", batch, "-o", out, "-c", "1", *SMALL, "--base-url", server.base_url,
                   "--api-key", KEY]  # fmt: skip
        batch_cli(*command, writer=full)
        again = batch_cli(*command, writer=full)
        assert server.service.stats.images == 1
    assert again.code == 1
    assert f"Stopped launching: cannot move kept images into {out} (No space left" in again.err
    (held,) = [r for r in last_records(out).values() if r["status"] == "held"]
    assert all(Path(path).is_file() for path in held["fallback"])


def test_with_four_in_flight_the_batch_still_stops_at_the_first_refusal(
    batch_cli: Callable[..., Ran], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    batch = tmp_path / "batch.txt"
    batch.write_text("".join(f"a boat, take {i}\n" for i in range(20)))
    with mocks.serve(mocks.MockConfig(latency=0, credits=1.0)) as server:
        command = ["batch", batch, "-o", out, "-c", "4", *SMALL, "--base-url", server.base_url,
                   "--api-key", KEY]  # fmt: skip
        ran = batch_cli(*command, writer=refusing(out, errno.ENOSPC))
        bought = server.service.stats.images
    assert ran.code == 1
    assert bought <= 2 * 4 - 1  # those in flight, and those saved beside them
    held = [r for r in last_records(out).values() if r["status"] == "held"]
    assert len(held) == bought  # every image bought is kept
    assert all(Path(path).is_file() for r in held for path in r["fallback"])


def test_a_one_off_write_error_moves_the_image_aside_and_the_batch_goes_on(
    batch_cli: Callable[..., Ran], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    batch = eight_prompts(tmp_path)
    with mocks.serve(mocks.MockConfig(latency=0, credits=1.0)) as server:
        command = ["batch", batch, "-o", out, "-c", "2", *SMALL, "--base-url", server.base_url,
                   "--api-key", KEY]  # fmt: skip
        ran = batch_cli(*command, writer=refusing(out, errno.EIO))
        assert server.service.stats.images == 8
        assert ran.code == 1
        assert "Stopped launching" not in ran.err
        assert summary_value(ran.out, "Held in a fallback folder") == "8"
        again = batch_cli(*command)
        assert server.service.stats.images == 8  # all eight picked up, none bought again
    assert again.code == 0
    assert summary_value(again.out, "Picked up from an earlier run") == "8"
    assert len(list(out.glob("*.jpg"))) == 8


def test_images_no_folder_takes_are_reported_with_the_request_to_make_them_again(
    batch_cli: Callable[..., Ran], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    batch = tmp_path / "batch.txt"
    batch.write_text('{"prompt": "a fox", "seed": -1}\na cat\n')
    with mocks.serve(mocks.MockConfig(latency=0, credits=1.0)) as server:
        command = ["batch", batch, "-o", out, "-c", "1", *SMALL, "--base-url", server.base_url,
                   "--api-key", KEY]  # fmt: skip
        ran = batch_cli(*command, writer=refusing(out, errno.ENOSPC, everywhere=True))
        assert server.service.stats.images == 1
        assert ran.code == 1
        assert "could not be written anywhere" in ran.err
        lost = last_records(out)
        (record,) = [r for r in lost.values() if r["status"] == "failed"]
        assert record["maybe_billed"] is True
        seed = GenerationRequest.create(record["request"]).seed
        assert seed != -1
        again = batch_cli(*command, "--retry-unknown")  # buys it again, with the same seed
        assert again.code == 0, again.err
        assert server.service.stats.images == 3
    (fox,) = out.glob("0001-*.jpg")
    text = read_parameters(fox)
    assert text is not None
    assert f"Seed: {seed}," in text


def test_a_manifest_that_cannot_be_written_stops_the_batch_and_prints_the_records(
    tmp_path: Path,
) -> None:
    import asyncio

    from realdream.cli._backoff import batch_client
    from realdream.cli._batchfile import parse_batch
    from realdream.cli._engine import BatchRunner
    from realdream.cli._manifest import Manifest
    from realdream.cli._run import BatchOptions

    class FullManifest(Manifest):
        """Takes ``room`` records, then the disk is full."""

        room = 3

        def append(self, key: str, line: int, status: str, **fields: Any) -> dict[str, Any]:
            if self.room == 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.room -= 1
            return super().append(key, line, status, **fields)

    service = mocks.MockService(mocks.MockConfig(latency=0))
    items = parse_batch("a\nb\nc\nd\n", source="b", defaults={"img_width": 256, "img_height": 256})

    async def go() -> Any:
        client = batch_client(KEY, base_url="http://mock", concurrency=1,
                              transport=mocks.AsyncMockTransport(service))  # fmt: skip
        with FullManifest(tmp_path) as manifest:
            report = await BatchRunner(client, manifest, BatchOptions(tmp_path, 1)).run(items)
        await client.aclose()
        return report

    report = asyncio.run(go())
    # sent a, done a, sent b: then "done b" finds the disk full; c is never sent unrecorded
    assert service.stats.images == 2
    assert report.stop_reason.startswith("cannot write the manifest")
    (unrecorded,) = report.unrecorded
    assert json.loads(unrecorded)["status"] == "done"
    assert [item.request.prompt for item in report.not_started] == ["c", "d"]


# --- kill -9, then the same command ----------------------------------------------------------
FILE = [
    "a red boat",
    "a green boat",
    '{"prompt": "two boats", "samples": 2}',
    "a blue boat",
    '{"prompt": "a last boat", "seed": -1}',
]
IMAGES = 6  # the third line asks for two


def crash_command(out: Path, batch: Path, server: mocks.RunningMock) -> list[str]:
    return ["batch", str(batch), "--out", str(out), "--concurrency", "1", *SMALL,
            "--base-url", server.base_url, "--api-key", server.api_key]  # fmt: skip


def killed_at(point: str, at: int, command: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in (API_KEY_ENV, BASE_URL_ENV)}
    return subprocess.run(
        [sys.executable, "-m", "tests.cli._crashing_batch", point, str(at), "--", *command],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def assert_nothing_torn(out: Path) -> None:
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]
    for path in out.glob("*.jpg"):
        with Image.open(path) as image:
            image.load()  # a cut-short file fails here
        assert read_parameters(path) is not None


@pytest.mark.slow  # batch processes killed and run again: about 1 s each
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
@pytest.mark.parametrize(
    "at",
    [1, 4, 6],
    ids=["after-the-first-image", "after-both-images-of-one-item", "after-the-last-image"],
)
def test_kill_9_after_an_image_is_written_costs_nothing_more_and_loses_nothing(
    batch_cli: Callable[..., Ran], tmp_path: Path, at: int
) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(FILE) + "\n")
    out = tmp_path / "out"
    config = mocks.MockConfig(latency=0, credits=1.0)
    with mocks.serve(config) as server:
        command = crash_command(out, batch, server)
        crashed = killed_at("after-write", at, command)
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr
        assert sum(done_counts(out).values()) < len(FILE)
        again = batch_cli(*command)  # the same command, no --retry-unknown
        assert again.code == 0, again.err
        assert summary_value(again.out, "Picked up from an earlier run") == "1"
        images, balance = server.service.stats.images, server.service.balance
    assert images == IMAGES  # exactly one charge per image
    assert balance == pytest.approx(1.0 - IMAGES * config.cost_per_image)
    assert sorted(done_counts(out).values()) == [1] * len(FILE)
    assert len(list(out.glob("*.jpg"))) == IMAGES
    assert_nothing_torn(out)


@pytest.mark.slow  # batch processes killed and run again: about 1 s each
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_kill_9_in_the_middle_of_a_write_leaves_nothing_torn_and_buys_nothing_twice(
    batch_cli: Callable[..., Ran], tmp_path: Path
) -> None:
    # Killed while writing the third item's first image: that item was paid and its images
    # were only in memory, so they are gone; the rerun must neither re-buy them silently nor
    # leave the half-written temporary file behind.
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(FILE) + "\n")
    out = tmp_path / "out"
    with mocks.serve(mocks.MockConfig(latency=0, credits=1.0)) as server:
        command = crash_command(out, batch, server)
        crashed = killed_at("mid-write", 3, command)
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr
        assert [p for p in out.iterdir() if p.name.endswith(".part")]  # torn, as a kill leaves
        again = batch_cli(*command)
        assert again.code == 1
        assert summary_value(again.out, "Maybe billed, skipped") == "1"
        assert server.service.stats.images == IMAGES  # the lost item was bought once only
        sent = GenerationRequest.create(last_records(out)[_key_of_line(out, 3)]["request"])
        third = batch_cli(*command, "--retry-unknown")  # bought again, the same image
        assert third.code == 0, third.err
        assert server.service.stats.images == IMAGES + 2
    assert_nothing_torn(out)
    assert len(list(out.glob("*.jpg"))) == IMAGES
    for index, path in enumerate(sorted(out.glob("0003-*.jpg"))):
        assert read_parameters(path) == format_parameters(sent, index=index)


@pytest.mark.slow  # batch processes killed and run again: about 1 s each
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_kill_9_after_v2_jobs_are_submitted_then_the_same_command_collects_them_paid_once(
    batch_cli: Callable[..., Ran], tmp_path: Path
) -> None:
    # Three workers, killed the moment the third job's id is recorded: three jobs are queued
    # on the server (still queued: a second in its queue, and the client's first poll would
    # come later still) and nobody waits for them. The rerun must collect them by their ids.
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(FILE) + "\n")
    out = tmp_path / "out"
    config = mocks.MockConfig(latency=0.1, queue_time=1.0, credits=1.0)
    with mocks.serve(config) as server:
        command = [*crash_command(out, batch, server), "--api", "v2"]
        command[command.index("--concurrency") + 1] = "3"
        crashed = killed_at("after-submitted", 3, command)
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr
        statuses = [r["status"] for r in last_records(out).values()]
        assert statuses == ["submitted"] * 3  # lines 4 and 5 never sent
        assert server.service.stats.images == 0
        again = batch_cli(*command)  # the same command, no --retry-unknown
        assert again.code == 0, again.err
        assert summary_value(again.out, "Collected from earlier runs") == "3"
        assert summary_value(again.out, "Done in this run") == "2"
        stats, balance = server.service.stats, server.service.balance
    assert stats.jobs == len(FILE)  # the server saw one submit per line: none sent twice
    assert stats.images == IMAGES  # exactly one charge per image
    assert balance == pytest.approx(1.0 - IMAGES * config.cost_per_image)
    assert sorted(done_counts(out).values()) == [1] * len(FILE)
    assert [r["status"] for r in records(out)].count("submitted") == len(FILE)
    assert len(list(out.glob("*.jpg"))) == IMAGES
    assert_nothing_torn(out)


def _key_of_line(out: Path, line: int) -> str:
    return next(r["key"] for r in records(out) if r["line"] == line)


@pytest.mark.slow  # batch processes killed and run again: about 1 s each
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_kill_9_at_any_moment_never_charges_an_item_twice_nor_tears_a_file(
    batch_cli: Callable[..., Ran], tmp_path: Path
) -> None:
    items = 16
    batch = tmp_path / "batch.txt"
    batch.write_text("".join(f"a kite, take {i}\n" for i in range(items)))
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k not in (API_KEY_ENV, BASE_URL_ENV)}
    with mocks.serve(mocks.MockConfig(latency=0.1, credits=1.0)) as server:
        command = [*crash_command(out, batch, server)]
        command[command.index("--concurrency") + 1] = "3"
        process = subprocess.Popen(
            [sys.executable, "-m", "realdream.cli", *command],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        manifest = out / MANIFEST_NAME  # (the folder is made before the manifest is)
        _wait_until(lambda: manifest.exists() and sum(done_counts(out).values()) >= 3, process)
        process.kill()
        process.wait()
        again = batch_cli(*command)  # no --retry-unknown: what may be paid is not re-bought
        _wait_until(lambda: server.service.ledger.reserved_micros == 0)  # the killed ones end
        charged = server.service.stats.images
    done = sum(done_counts(out).values())
    skipped = int(summary_value(again.out, "Maybe billed, skipped"))
    assert sorted(done_counts(out).values()) == [1] * done
    assert done + skipped == items
    assert done <= charged <= items  # every saved image paid once; the rest at most once
    assert len(list(out.glob("*.jpg"))) == done
    assert_nothing_torn(out)


def _wait_until(
    condition: Callable[[], bool], process: subprocess.Popen[bytes] | None = None
) -> None:
    """Poll ``condition`` (the batch's manifest, the mock's ledger): no fixed sleep decides."""
    deadline = time.monotonic() + 60
    while not condition():
        if process is not None and process.poll() is not None:
            pytest.fail(f"the batch ended early ({process.returncode})")
        if time.monotonic() > deadline:
            pytest.fail("the condition did not hold within 60 s")
        time.sleep(0.01)
