"""`realdream generate --api v2`, `realdream job` and `--rpm`, against the in-process mock on
one skip-ahead clock (a job of minutes takes no real time)."""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import realdream.mock as mocks
from realdream import GenerationRequest, read_parameters, request_from_parameters
from realdream.cli._app import run
from tests.cli._offline import BASE, SMALL, Offline, records

SLOW = mocks.MockConfig(latency=1.5, queue_time=3.5, credits=1.0)


def assert_one_line(err: str) -> None:
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def sent(prompt: str = "a fox", **params: object) -> GenerationRequest:
    return GenerationRequest.create(prompt=prompt, img_width=256, img_height=256, **params)


# --- generate --api v2 ---------------------------------------------------------------------------
def test_generate_over_v2_submits_polls_downloads_and_saves_the_image_paid_once(
    tmp_path: Path,
) -> None:
    offline = Offline()
    ran = offline.run("generate", "a fox", "--api", "v2", "--seed", "42", *SMALL, "-o", tmp_path)
    assert ran.code == 0, ran.err
    assert ran.err == ""  # stderr is not a terminal: nothing is shown while waiting
    *paths, summary = ran.out.splitlines()
    assert [Path(p).name for p in paths] == ["a-fox_seed42.jpg"]
    text = read_parameters(paths[0])
    assert text is not None
    assert request_from_parameters(text) == sent(seed=42)
    assert summary.startswith("seed 42 · ")
    kinds = offline.kinds()
    assert kinds[0] == "submit"
    assert kinds[-2:] == ["result", "image"]
    assert set(kinds[1:-2]) == {"status"}
    assert not offline.exchanges[-1].keyed  # the key never goes to the image host
    assert offline.charged_images() == 1


def test_generate_over_v1_is_still_the_default(tmp_path: Path) -> None:
    offline = Offline(mocks.MockConfig(latency=0.0))  # (v1's latency is real time)
    ran = offline.run("generate", "a fox", *SMALL, "-o", tmp_path)
    assert ran.code == 0, ran.err
    assert offline.kinds() == ["generate"]


def test_generate_over_v2_every_sample_is_saved(tmp_path: Path) -> None:
    offline = Offline()
    ran = offline.run("generate", "a fox", "--api", "v2", "-n", "3", "--seed", "5", *SMALL,
                      "-o", tmp_path)  # fmt: skip
    assert ran.code == 0, ran.err
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"a-fox_seed5_{i}of3.jpg" for i in (1, 2, 3)
    ]
    assert offline.charged_images() == 3


def test_a_failed_job_is_one_line_exit_1_and_nothing_is_billed_or_written(tmp_path: Path) -> None:
    offline = Offline()
    offline.service.script([mocks.JOB_FAILED])
    ran = offline.run("generate", "a fox", "--api", "v2", *SMALL, "-o", tmp_path)
    assert ran.code == 1
    assert_one_line(ran.err)
    assert "Inference failed" in ran.err
    assert offline.spent() == 0
    assert not list(tmp_path.iterdir())


def test_ctrl_c_while_a_job_runs_says_how_to_collect_it_and_that_command_does(
    tmp_path: Path,
) -> None:
    offline = Offline(SLOW)

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    ran = offline.run("generate", "a fox", "--api", "v2", "--seed", "8", *SMALL, "-o", tmp_path,
                      seams=offline.seams(sleep=interrupted))  # fmt: skip
    assert ran.code == 130
    assert_one_line(ran.err)
    (job_id,) = re.findall(r"job ([0-9a-f-]{32,36}) keeps running on the server", ran.err)
    command = ran.err.strip().rsplit("collect it within the hour with: ", 1)[1]
    assert command == f"realdream job {job_id} -o {tmp_path} --base-url {BASE}"
    assert offline.charged_images() == 0  # still queued
    again = offline.run(*command.split()[1:-2])  # the same command (run() adds the connection)
    assert again.code == 0, again.err
    assert [Path(p).name for p in again.out.splitlines()[:-1]] == [f"{job_id}_seed8.jpg"]
    assert "The request of job" in again.err  # generate keeps no manifest: named by its id
    assert offline.charged_images() == 1
    assert offline.kinds().count("submit") == 1


def test_a_download_failing_after_the_job_completed_gives_the_command_that_collects_it(
    tmp_path: Path,
) -> None:
    offline = Offline()
    offline.fail = lambda r: (
        httpx.Response(503) if r.url.path.startswith(mocks.CDN_PREFIX) else None
    )
    out = tmp_path / "my images {1}"  # a folder a shell (and str.format) would trip on
    ran = offline.run("generate", "a fox", "--api", "v2", "--seed", "9", "--retries", "0", *SMALL,
                      "-o", out)  # fmt: skip
    assert ran.code == 1
    assert_one_line(ran.err)
    assert "Service unavailable (503)" in ran.err
    assert offline.charged_images() == 1  # the job completed: billed
    command = shlex.split(ran.err.strip().rsplit("within the hour with: ", 1)[1])
    assert command[:2] == ["realdream", "job"]
    assert command[3:] == ["-o", str(out), "--base-url", BASE]
    offline.fail = None
    again = offline.run(*command[1:-2])
    assert again.code == 0, again.err
    assert [Path(p).parent for p in again.out.splitlines()[:-1]] == [out]
    assert offline.charged_images() == 1
    assert offline.kinds().count("submit") == 1


def test_a_job_still_running_after_ten_minutes_is_exit_1_with_the_command_to_collect_it(
    tmp_path: Path,
) -> None:
    offline = Offline(mocks.MockConfig(latency=900.0, credits=1.0))
    ran = offline.run("generate", "a fox", "--api", "v2", *SMALL, "-o", tmp_path)
    assert ran.code == 1
    assert_one_line(ran.err)
    (job_id,) = re.findall(r"^error: job (\S+) is still processing after 600 s; it keeps", ran.err)
    assert ran.err.rstrip().endswith(
        f"within the hour, collect it with: realdream job {job_id} -o {tmp_path} --base-url {BASE}"
    )
    assert not list(tmp_path.iterdir())
    offline.clock.sleep(300)
    assert offline.run("job", job_id, "-o", tmp_path).code == 0
    assert offline.charged_images() == 1


def test_generate_timeout_bounds_the_wait_and_the_job_is_collected_later(tmp_path: Path) -> None:
    offline = Offline(mocks.MockConfig(latency=90.0, credits=1.0))
    start = offline.clock()
    ran = offline.run("generate", "a fox", "--api", "v2", *SMALL, "-o", tmp_path, "--timeout", "45")
    assert ran.code == 1
    assert_one_line(ran.err)
    (job_id,) = re.findall(r"^error: job (\S+) is still processing after 45 s; it keeps", ran.err)
    assert 45 <= offline.clock() - start < 90  # it gave up when told, before the job could end
    offline.clock.sleep(60)
    assert offline.run("job", job_id, "-o", tmp_path).code == 0
    assert offline.charged_images() == 1


@pytest.mark.parametrize("value", ["0", "-3", "nan", "inf"])
def test_generate_timeout_must_be_positive_seconds(tmp_path: Path, value: str) -> None:
    offline = Offline()
    args = ("generate", "a fox", "--api", "v2", *SMALL, "-o", tmp_path, "--timeout", value)
    ran = offline.run(*args)
    assert ran.code == 2
    assert "must be a number of seconds > 0" in ran.err
    assert offline.exchanges == []


def test_generate_timeout_is_refused_on_v1_before_anything_is_sent(tmp_path: Path) -> None:
    offline = Offline(mocks.MockConfig(latency=0.0))
    ran = offline.run("generate", "a fox", *SMALL, "-o", tmp_path, "--timeout", "30")
    assert ran.code == 2
    assert_one_line(ran.err)
    assert "--timeout applies to --api v2" in ran.err
    assert "may still be billed" in ran.err
    assert offline.exchanges == []


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_on_a_terminal_generate_shows_the_jobs_state_and_the_time_it_has_waited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pty

    offline = Offline(SLOW)  # first poll at 3 s: QUEUED; then PROCESSING; then COMPLETED
    leader, follower = pty.openpty()
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.setenv("TERM", "xterm")
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    chunks: list[bytes] = []
    reader = threading.Thread(target=_drain, args=(leader, chunks))
    reader.start()
    with os.fdopen(follower, "w", buffering=1) as terminal:
        monkeypatch.setattr(sys, "stderr", terminal)
        code = run(
            ["generate", "a fox", "--api", "v2", *SMALL, "-o", str(tmp_path),
             "--base-url", BASE, "--api-key", mocks.MOCK_API_KEY],
            seams=offline.seams(),
        )  # fmt: skip
        monkeypatch.undo()
    reader.join(timeout=30)
    shown = b"".join(chunks).decode(errors="replace")
    assert code == 0, shown
    job_id = json.loads(offline.exchanges[0].body)["request_id"]
    order = [
        "Submitting a job for 1 image",
        f"Job {job_id}",
        "queued (1 image; a cold start can take minutes)",
        "processing",
        "completed; downloading 1 image",
    ]
    positions = [shown.find(text) for text in order]
    assert -1 not in positions, shown
    assert positions == sorted(positions)
    assert re.search(r"0:00:0[5-9]", shown), shown  # the time waited, on the client's clock


def _drain(fd: int, chunks: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the terminal's other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)


# --- realdream job -------------------------------------------------------------------------------
def submit(offline: Offline, prompt: str = "an owl", **params: object) -> str:
    """Queue a job directly (as another program, or an earlier run, would)."""
    import realdream

    with realdream.Client(
        mocks.MOCK_API_KEY, base_url=BASE, api="v2", transport=mocks.MockTransport(offline.service),
        sleep=offline.clock.sleep, clock=offline.clock,
    ) as client:  # fmt: skip
        return client.submit(prompt, img_width=256, img_height=256, **params).request_id


def test_job_collects_a_job_and_names_the_files_by_its_id_when_its_request_is_unknown(
    tmp_path: Path,
) -> None:
    offline = Offline()
    job_id = submit(offline, seed=3, samples=2)
    ran = offline.run("job", job_id, "-o", tmp_path, "-f", "png")
    assert ran.code == 0, ran.err
    *paths, summary = ran.out.splitlines()
    assert [Path(p).name for p in paths] == [f"{job_id}_seed3_1of2.png", f"{job_id}_seed3_2of2.png"]
    assert summary.startswith("seed 3 · ")
    assert f"The request of job {job_id} is unknown (no batch manifest in {tmp_path}" in ran.err
    assert all(read_parameters(path) is None for path in paths)  # nothing to embed
    assert "submit" not in offline.kinds()
    assert offline.charged_images() == 2  # billed once, when the job completed


def test_job_reads_the_request_from_a_batch_manifest_in_out(tmp_path: Path) -> None:
    offline = Offline()
    batch = tmp_path / "batch.txt"
    batch.write_text("a heron\n")
    out = tmp_path / "out"
    first = offline.run("batch", batch, "--api", "v2", *SMALL, "-o", out, "--seed", "12")
    assert first.code == 0, first.err
    job_id = next(r["request_id"] for r in records(out) if r["status"] == "submitted")
    again = offline.run("job", job_id, "-o", out)
    assert again.code == 0, again.err
    (path,) = map(Path, again.out.splitlines()[:-1])
    assert path.name == "a-heron_seed12.jpg"  # named as generate names it
    text = read_parameters(path)
    assert text is not None
    assert request_from_parameters(text) == sent("a heron", seed=12)
    assert "unknown" not in again.err
    assert offline.charged_images() == 1


def test_job_with_an_unknown_id_is_exit_1_and_says_so(tmp_path: Path) -> None:
    offline = Offline()
    ran = offline.run("job", "0123456789abcdef0123456789abcdef", "-o", tmp_path)
    assert ran.code == 1
    assert_one_line(ran.err)
    assert ran.err.startswith("error: job 0123456789abcdef0123456789abcdef is unknown to the")
    assert "past the hour it keeps results; nothing to collect" in ran.err
    assert not list(tmp_path.iterdir())


def test_job_past_its_hour_is_exit_1(tmp_path: Path) -> None:
    offline = Offline()
    job_id = submit(offline)
    offline.clock.sleep(3601)
    ran = offline.run("job", job_id, "-o", tmp_path)
    assert (ran.code, "is unknown to the service" in ran.err) == (1, True)


@pytest.mark.parametrize("bad", ["../etc/passwd", "a b", "x" * 200])
def test_job_with_something_that_is_not_a_job_id_is_exit_2_and_sends_nothing(
    tmp_path: Path, bad: str
) -> None:
    offline = Offline()
    ran = offline.run("job", bad, "-o", tmp_path)
    assert ran.code == 2
    assert_one_line(ran.err)
    assert "request_id=" in ran.err
    assert offline.exchanges == []


def test_job_with_a_5000_character_id_echoes_only_its_start(tmp_path: Path) -> None:
    offline = Offline()
    bad = "x" * 5000
    ran = offline.run("job", bad, "-o", tmp_path)
    assert ran.code == 2
    assert_one_line(ran.err)
    assert f"request_id='{'x' * 40}'… (5,000 characters): must be a job id" in ran.err
    assert len(ran.err) < 200
    assert offline.exchanges == []


def _poll_fault(kind: str) -> Callable[[httpx.Request], httpx.Response | None]:
    """Every status poll fails: a 503, or no connection at all."""

    def fail(request: httpx.Request) -> httpx.Response | None:
        if not request.url.path.endswith("/status"):
            return None
        if kind == "503":
            return httpx.Response(503)
        raise httpx.ConnectError("the network is down", request=request)

    return fail


@pytest.mark.parametrize("kind", ["503", "connection"])
def test_job_after_repeated_poll_faults_ends_with_the_command_that_collects_it(
    tmp_path: Path, kind: str
) -> None:
    offline = Offline()
    job_id = submit(offline, seed=6)
    offline.fail = _poll_fault(kind)
    ran = offline.run("job", job_id, "-o", tmp_path, "--retries", "2")
    assert ran.code == 1
    assert "Traceback" not in ran.err
    last = ran.err.strip().splitlines()[-1]
    assert last.startswith("error: ")
    assert f"job {job_id} " in last
    assert "billed" in last  # may have been, or will be if it completes
    collect = f"realdream job {job_id} -o {tmp_path} --base-url {BASE}"
    # A poll failing for good, or (when the wait rides faults out) the wait's deadline:
    endings = (f"within the hour with: {collect}", f"within the hour, collect it with: {collect}")
    assert last.endswith(endings)
    assert not list(tmp_path.iterdir())
    offline.fail = None  # the service recovers: the command it named collects the job
    again = offline.run(*shlex.split(collect)[1:-2])
    assert again.code == 0, again.err
    assert [Path(p).name for p in again.out.splitlines()[:-1]] == [f"{job_id}_seed6.jpg"]
    assert offline.charged_images() == 1


@pytest.mark.parametrize("kind", ["503", "connection"])
def test_generate_v2_after_repeated_poll_faults_ends_with_the_command_that_collects_it(
    tmp_path: Path, kind: str
) -> None:
    offline = Offline()
    offline.fail = _poll_fault(kind)
    ran = offline.run("generate", "a fox", "--api", "v2", "--seed", "3", "--retries", "1",
                      *SMALL, "-o", tmp_path)  # fmt: skip
    assert ran.code == 1
    last = ran.err.strip().splitlines()[-1]
    (job_id,) = re.findall(r" with: realdream job (\S+) -o ", last)
    assert f"job {job_id} " in last
    assert last.endswith(f" with: realdream job {job_id} -o {tmp_path} --base-url {BASE}")
    offline.fail = None
    assert offline.run("job", job_id, "-o", tmp_path).code == 0
    assert offline.charged_images() == 1
    assert offline.kinds().count("submit") == 1


def test_ctrl_c_while_job_waits_names_the_command_that_collects_it(tmp_path: Path) -> None:
    offline = Offline(SLOW)
    job_id = submit(offline)

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    ran = offline.run("job", job_id, "-o", tmp_path, seams=offline.seams(sleep=interrupted))
    assert ran.code == 130
    assert_one_line(ran.err)
    assert ran.err.rstrip().endswith(
        f"collect it within the hour with: realdream job {job_id} -o {tmp_path} --base-url {BASE}"
    )


def test_a_completed_job_whose_images_would_not_download_says_it_is_billed() -> None:
    import realdream
    from realdream.cli._generate_cmd import left_running

    with realdream.Client(mocks.MOCK_API_KEY, base_url=BASE, api="v2") as client:
        job = client.job("a1b2c3")  # (nothing is sent)
    timeout = realdream.JobTimeoutError("no images", job=job, state="COMPLETED")
    timeout.__cause__ = realdream.APIConnectionError("Could not reach cdn.test (ReadTimeout)")
    error = left_running(job.request_id, timeout, "realdream job a1b2c3 -o out", 600)
    assert str(error) == (
        "error: job a1b2c3 completed, but its images could not be downloaded within 600 s "
        "(Could not reach cdn.test (ReadTimeout)); it is billed: collect its images within the "
        "hour with: realdream job a1b2c3 -o out"
    )


def test_a_wait_that_ran_out_through_service_errors_says_so_and_names_the_command() -> None:
    import realdream
    from realdream.cli._generate_cmd import left_running

    with realdream.Client(mocks.MOCK_API_KEY, base_url=BASE, api="v2") as client:
        job = client.job("a1b2c3")  # (nothing is sent)
    timeout = realdream.JobTimeoutError("still running", job=job, state="PROCESSING")
    timeout.__cause__ = realdream.APIConnectionError("Could not reach mock.test (ConnectError)")
    error = left_running(job.request_id, timeout, "realdream job a1b2c3 -o out", 600)
    assert str(error) == (
        "error: job a1b2c3 is still processing after 600 s (the service kept answering with "
        "errors: Could not reach mock.test (ConnectError)); it keeps running on the server and "
        "is billed if it completes; within the hour, collect it with: realdream job a1b2c3 -o out"
    )
    assert error.exit_code == 1


def test_job_timeout_is_exit_1_the_job_keeps_running_and_the_same_command_collects_it(
    tmp_path: Path,
) -> None:
    offline = Offline(mocks.MockConfig(latency=120.0, queue_time=10.0, credits=1.0))
    job_id = submit(offline, seed=4)
    command = ["job", job_id, "-o", tmp_path, "--timeout", "30"]
    ran = offline.run(*command)
    assert ran.code == 1
    assert_one_line(ran.err)
    assert ran.err.startswith(f"error: job {job_id} is still processing after 30 s; it keeps ")
    assert ran.err.rstrip().endswith(
        f"billed if it completes; within the hour, collect it with: "
        f"realdream job {job_id} -o {tmp_path} --base-url {BASE}"
    )
    assert not list(tmp_path.iterdir())
    offline.clock.sleep(120)  # the job completes meanwhile
    again = offline.run(*command)
    assert again.code == 0, again.err
    assert offline.charged_images() == 1


def test_job_of_a_failed_job_says_nothing_was_billed(tmp_path: Path) -> None:
    offline = Offline()
    offline.service.script([mocks.JOB_FAILED])
    job_id = submit(offline)
    ran = offline.run("job", job_id, "-o", tmp_path)
    assert ran.code == 1
    assert_one_line(ran.err)
    assert ran.err.startswith(f"error: job {job_id} failed: Inference failed")
    assert ran.err.rstrip().endswith("nothing was billed")
    assert offline.spent() == 0


@pytest.mark.parametrize("args", [["--timeout", "0"], ["--timeout", "-3"], ["--rpm", "0"]])
def test_job_bad_numbers_are_one_line_exit_2(tmp_path: Path, args: list[str]) -> None:
    ran = Offline().run("job", "0123456789abcdef", "-o", tmp_path, *args)
    assert ran.code == 2
    assert_one_line(ran.err)
    assert f"Invalid value for '{args[0]}'" in ran.err


# --- --rpm ---------------------------------------------------------------------------------------
def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


@pytest.mark.parametrize("rpm", [6, 30])
def test_rpm_spaces_generates_submit_and_every_poll(tmp_path: Path, rpm: int) -> None:
    offline = Offline()
    ran = offline.run("generate", "a fox", "--api", "v2", "--rpm", str(rpm), *SMALL,
                      "-o", tmp_path)  # fmt: skip
    assert ran.code == 0, ran.err
    keyed = [e.at for e in offline.exchanges if e.keyed]
    assert len(keyed) >= 3  # a submit, a poll, the result
    assert min(gaps(keyed)) >= 60 / rpm  # (the client keeps a safety margin on top)
    assert not [e for e in offline.exchanges if e.kind == "image" and e.keyed]


def test_without_rpm_polls_follow_the_poll_schedule_alone(tmp_path: Path) -> None:
    offline = Offline(SLOW)
    ran = offline.run("generate", "a fox", "--api", "v2", *SMALL, "-o", tmp_path)
    assert ran.code == 0, ran.err
    keyed = [e.at for e in offline.exchanges if e.keyed]
    assert min(gaps(keyed)) < 1.0  # 0.2 s between the first polls: --rpm is what spaced them


def test_rpm_paces_job(tmp_path: Path) -> None:
    offline = Offline(mocks.MockConfig(latency=30.0, credits=1.0))
    job_id = submit(offline)
    ran = offline.run("job", job_id, "-o", tmp_path, "--rpm", "5")
    assert ran.code == 0, ran.err
    polls = [e.at for e in offline.exchanges if e.keyed and e.kind != "submit"]
    assert min(gaps(polls)) >= 12.0


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_rpm_paces_a_whole_batch_across_its_workers_under_the_servers_limit(
    tmp_path: Path, api: str
) -> None:
    # The mock refuses a 4th request in any minute; --rpm 3 keeps the three workers under it
    # together, v2's polls and result requests included. (v1's latency is real time: none.)
    offline = Offline(mocks.MockConfig(latency=10.0 * (api == "v2"), rate_limit=3, credits=1.0))
    batch = tmp_path / "batch.txt"
    batch.write_text("".join(f"a kite, take {i}\n" for i in range(4)))
    # A wait that lets no other task in before its request goes out: each request reaches
    # the mock at the moment the client's pacing gave it, on the skip-ahead clock.
    seams = offline.seams(async_sleep=offline.clock.async_sleep)
    ran = offline.run("batch", batch, "--api", api, "-c", "3", "--rpm", "3", "--retries", "0",
                      *SMALL, "-o", tmp_path / "out", seams=seams)  # fmt: skip
    assert ran.code == 0, ran.err
    assert 429 not in offline.service.stats.by_status
    sent_at = sorted(e.at for e in offline.exchanges if e.keyed)
    assert len(sent_at) >= 4
    assert min(gaps(sent_at)) >= 20.0
    assert offline.charged_images() == 4


def test_without_rpm_the_same_batch_meets_the_servers_limit(tmp_path: Path) -> None:
    offline = Offline(mocks.MockConfig(latency=0.0, rate_limit=3, credits=1.0))
    batch = tmp_path / "batch.txt"
    batch.write_text("".join(f"a kite, take {i}\n" for i in range(4)))
    ran = offline.run("batch", batch, "-c", "3", "--retries", "0", *SMALL, "-o", tmp_path / "out")
    assert ran.code == 1
    assert offline.service.stats.by_status[429] >= 1
