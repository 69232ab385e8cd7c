"""``python app.py`` on v2, served for real: ``gradio_client`` gets images made by a 3 s job on
the loopback mock's queue, for one status request (the core's wait is the one poller), and the
page's progress stream shows the job's states in order."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client

import realdream
import realdream.mock as mocks
from demo import API_ENV
from tests.demo.conftest import Launcher
from tests.served import TIMEOUT_S, ServedApp

pytestmark = pytest.mark.slow  # an app in a subprocess

#: The offline mock's latency in the served app: long enough to see the wait's seconds.
OFFLINE_LATENCY_S = 1.5
STATE_WORDS = [
    "Sending the request",
    "Submitting the job",
    "Submitted, waiting for its state",
    "Queued",
    "Processing",
    "Completed, downloading the images",
]


@pytest.fixture(scope="module")
def queue_mock() -> Iterator[mocks.RunningMock]:
    """A loopback mock whose jobs take 3 s: queued 1 s, then running 2 s."""
    with mocks.serve(mocks.MockConfig(queue_time=1.0, latency=2.0)) as running:
        yield running


@pytest.fixture(scope="module")
def app(launcher: Launcher, queue_mock: mocks.RunningMock) -> ServedApp:
    """An app on v2 (``REALDREAM_API=v2``, ``REALDREAM_BASE_URL`` on :func:`queue_mock`), whose
    offline mock (ticked per request) takes :data:`OFFLINE_LATENCY_S`. A plain ``python app.py``,
    started as a Space starts it: the suite's one served app that is not forked from the zygote
    (tests/zygote.py), so that an app that only works with Gradio imported before it would fail
    here."""
    served = launcher.start(
        "v2",
        *("--mock-latency", str(OFFLINE_LATENCY_S)),
        env={API_ENV: "v2", realdream.BASE_URL_ENV: queue_mock.base_url},
        fork=False,
    )
    launcher.wait(served)
    return served


def test_gradio_client_gets_the_images_of_a_job_on_the_queue(
    app: ServedApp, queue_mock: mocks.RunningMock, tmp_path: Path
) -> None:
    client = Client(
        app.url,
        verbose=False,
        analytics_enabled=False,
        download_files=tmp_path,
        httpx_kwargs={"timeout": TIMEOUT_S},
    )
    before = _status_requests(queue_mock)
    try:
        gallery, _summary, details, files = client.predict(
            prompt="portrait of a beekeeper", seed=968875, samples=2, api_name="/generate"
        )
    finally:
        client.close()
    assert len(gallery) == len(files) == 2
    assert details["api"] == "v2"
    assert details["request"]["seed"] == 968875
    assert details["cost_usd"] == pytest.approx(2 * realdream.contract.COST_PER_IMAGE_USD)
    stats = queue_mock.service.stats
    assert stats.jobs == 1  # one job, billed once, for both images
    assert stats.images == 2
    # the wait's one poll, at the advertised 3.02 s, finds the 3 s job done (issue 20)
    assert _status_requests(queue_mock) - before == 1
    spent = queue_mock.service.config.credits - queue_mock.service.balance
    assert spent == pytest.approx(2 * realdream.contract.COST_PER_IMAGE_USD)


def test_the_progress_stream_shows_the_jobs_states_in_order(app: ServedApp) -> None:
    words = _progress_words(app.url)  # a job on the offline mock's queue: free
    assert words == [word for word in STATE_WORDS if word in words]  # in order
    assert "Submitted, waiting for its state" in words  # until the first poll, 1.5 s in
    assert words[-1] == "Completed, downloading the images"


def _status_requests(running: mocks.RunningMock) -> int:
    return sum(1 for seen in running.service.requests if seen.path.endswith("/status"))


def _progress_words(url: str) -> list[str]:
    """Join the queue as the page does and read every progress text of one ``/generate`` call,
    without its seconds, consecutive repeats dropped."""
    values = {
        "prompt": "a lighthouse at dusk",
        "seed": 7,
        "img_width": 512,
        "img_height": 512,
        "offline_mock": True,
    }
    with httpx.Client(base_url=url, timeout=TIMEOUT_S) as http:
        config = http.get("/config").json()
        (dependency,) = [d for d in config["dependencies"] if d.get("api_name") == "generate"]
        session = uuid.uuid4().hex
        data = [values.get(name, default) for name, default in _inputs(http)]
        joined = http.post(
            "/gradio_api/queue/join",
            json={"data": data, "fn_index": dependency["id"], "session_hash": session},
        )
        joined.raise_for_status()
        words: list[str] = []
        with http.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as s:
            for line in s.iter_lines():
                message = json.loads(line[5:]) if line.startswith("data:") else {}
                for unit in message.get("progress_data") or []:
                    word = str(unit.get("desc") or "").split("…")[0].split(" (")[0]
                    if not words or words[-1] != word:
                        words.append(word)
                if message.get("msg") == "process_completed":
                    assert message["success"], message
                    return words
    raise AssertionError("the stream ended before the call completed")


def _inputs(http: httpx.Client) -> list[tuple[str, Any]]:
    """``/generate``'s parameters in order, with their defaults (from the API description)."""
    info = http.get("/gradio_api/info").json()
    parameters = info["named_endpoints"]["/generate"]["parameters"]
    return [(p["parameter_name"], p.get("parameter_default")) for p in parameters]
