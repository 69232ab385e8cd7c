"""``python app.py`` served for real, called the way the README shows: ``gradio_client``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

import realdream
import realdream.mock as mocks
from tests.demo.conftest import call_generate
from tests.served import TIMEOUT_S

pytestmark = pytest.mark.slow  # two apps in subprocesses


def _client(url: str, downloads: Path) -> Iterator[Client]:
    client = Client(
        url,
        verbose=False,
        analytics_enabled=False,
        download_files=downloads,
        httpx_kwargs={"timeout": TIMEOUT_S},
    )
    yield client
    client.close()  # stops its heartbeat thread (waits up to 1 s)


@pytest.fixture(scope="module")
def client(served_offline: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    yield from _client(served_offline.url, tmp_path_factory.mktemp("downloads"))


@pytest.fixture(scope="module")
def remote_client(served_remote: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    yield from _client(served_remote.url, tmp_path_factory.mktemp("downloads"))


def test_generate_returns_pngs_whose_parameters_match_the_request(client: Client) -> None:
    request = {
        "prompt": "portrait of a beekeeper, morning light",
        "seed": 968875,
        "img_width": 768,
        "img_height": 1152,
        "samples": 2,
        "scheduler": "DPM++ 2M Karras",
        "num_inference_steps": 10,
        "guidance_scale": 1.5,
    }
    gallery, summary, details, files = client.predict(**request, api_name="/generate")
    assert len(gallery) == len(files) == 2
    for item in gallery:
        path = Path(item["image"])
        assert path.suffix == ".png"
        sent = realdream.request_from_parameters(realdream.read_parameters(path) or "")
        assert {key: sent.payload[key] for key in request} == request
        assert sent.negative_prompt == realdream.DEFAULT_NEGATIVE_PROMPT
    assert details["request"]["seed"] == 968875
    assert details["offline"] is True
    assert "offline mock" in summary


def test_validation_errors_reach_the_client_as_the_cores_message(client: Client) -> None:
    with pytest.raises(AppError, match=r"Invalid parameters: img_width=1001: must be a multiple"):
        client.predict(prompt="a cat", img_width=1001, api_name="/generate")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("num_inference_steps", None, "num_inference_steps=None: must be an integer"),
        ("guidance_scale", None, "guidance_scale=None: must be a number"),
        ("img_width", None, "img_width=None: must be an integer"),
        ("img_height", None, "img_height=None: must be an integer"),
        ("samples", None, "samples=None: must be an integer"),
        ("samples", 2.5, "samples=2.5"),  # Gradio's slider would round it to 2 silently
        ("num_inference_steps", 101, "num_inference_steps=101: must be between 1 and 100"),
    ],
)
def test_empty_or_odd_numbers_get_the_cores_one_line_message(
    client: Client, field: str, value: object, message: str
) -> None:
    with pytest.raises(AppError) as caught:
        client.predict(prompt="a cat", **{field: value}, api_name="/generate")
    assert str(caught.value).startswith("Invalid parameters: ")
    assert message in str(caught.value)


def test_a_scripted_406_reaches_the_client_readably(
    remote_client: Client, mock_server: mocks.RunningMock
) -> None:
    mock_server.service.script([406])
    with pytest.raises(AppError, match=r"^Not enough credits \(406\): ") as caught:
        remote_client.predict(prompt="a cat", api_name="/generate")
    assert mock_server.api_key not in str(caught.value)


def test_the_app_goes_to_the_server_named_by_realdream_base_url(
    remote_client: Client, mock_server: mocks.RunningMock
) -> None:
    before = mock_server.service.stats.images
    _, summary, details, _ = remote_client.predict(prompt="a cat", api_name="/generate")
    assert mock_server.service.stats.images == before + 1
    assert details["offline"] is False
    assert mock_server.base_url in summary


def test_the_page_serves_no_run_history(served_offline: Any) -> None:
    config = httpx.get(served_offline.url + "/config", timeout=TIMEOUT_S).json()
    assert config["run_history"] is False
    assert config["show_error"] is False
    assert config["analytics_enabled"] is False


def test_gradio_serves_the_saved_images_without_copying_them(served_offline: Any) -> None:
    url = served_offline.url + "/gradio_api/call/generate"
    data = ["a cat", "", realdream.DEFAULT_SCHEDULER, 8, 1.5, 7, 256, 256, 1, "", False]
    started = httpx.post(url, json={"data": data}, timeout=TIMEOUT_S)
    stream = httpx.get(f"{url}/{started.json()['event_id']}", timeout=TIMEOUT_S).text
    assert "event: complete" in stream
    outputs = json.loads(stream.split("event: complete\ndata: ", 1)[1].splitlines()[0])
    image = Path(outputs[0][0]["image"]["path"])
    assert image.parent.parent.name.startswith("realdream-demo-")  # our file, not a copy
    assert [Path(f["path"]) for f in outputs[3]] == [image]


def test_an_api_call_with_too_few_inputs_is_told_what_is_missing_in_one_line(
    served_offline: Any,
) -> None:
    with httpx.Client(timeout=TIMEOUT_S) as http:
        answer = call_generate(http, served_offline.url, ["a cat", "", "DPM++ 2M Karras"])
    assert answer == (
        "/generate takes 11 inputs (prompt, negative_prompt, scheduler, num_inference_steps, "
        "guidance_scale, seed, img_width, img_height, samples, api_key, offline_mock) and got "
        "3: missing num_inference_steps, guidance_scale, seed, img_width, img_height, samples, "
        "api_key, offline_mock. Nothing was sent."
    )
    assert "Traceback" not in served_offline.log.read_text()
