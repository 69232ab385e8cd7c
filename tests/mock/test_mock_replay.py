"""A cassette that cannot be true is refused when the replaying mock loads it (exit 2, one line
naming the file and the field), never mid-request; one that can be is replayed byte for byte."""

from __future__ import annotations

import copy
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import realdream.mock as mocks
from realdream import contract
from realdream.testing.cassettes import REDACTED

ROOT = Path(__file__).resolve().parents[2]
URL = "https://api.segmind.com"
IMAGE_BODY = '{"image": "aGVsbG8="}'


def exchange(**changes: Any) -> dict[str, Any]:
    """A recorded v1 base64 200: one image, with its price and generation time."""
    recorded: dict[str, Any] = {
        "request": {
            "body": '{"prompt": "a lighthouse", "base64": true}',
            "headers": {"content-type": ["application/json"], "x-api-key": [REDACTED]},
            "method": "POST",
            "uri": URL + contract.GENERATE_PATH,
        },
        "response": {
            "body": {"string": IMAGE_BODY},
            "headers": {
                "content-type": ["application/json"],
                contract.HEADER_COST: ["0.002"],
                contract.HEADER_GENERATION_TIME: ["2.91"],
                contract.HEADER_REMAINING_CREDITS: [REDACTED],
                contract.HEADER_SEED: ["123456"],
            },
            "status": {"code": 200, "message": "OK"},
        },
    }
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = recorded
        for part in parents:
            node = node[part]
        node[last] = value
    return recorded


def write(folder: Path, *exchanges: dict[str, Any], name: str = "probe") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"interactions": list(exchanges), "version": 1}))
    return path


def json_body(text: str) -> dict[str, Any]:
    return {"response.body": {"string": text}}


def header(name: str, value: str) -> dict[str, Any]:
    headers = copy.deepcopy(exchange()["response"]["headers"])
    headers[name] = [value]
    return {"response.headers": headers}


IMPOSSIBLE = [
    ({"response.status.code": 99999}, "response.status.code=99999"),
    ({"response.status.code": 600}, "response.status.code=600"),
    ({"response.status.code": 99}, "response.status.code=99"),
    ({"response.status.code": -1}, "response.status.code=-1"),
    ({"response.status.code": "200"}, "response.status.code='200'"),
    ({"response.status.code": 200.5}, "response.status.code=200.5"),
    ({"response.status.code": True}, "response.status.code=True"),
    ({"response.status.code": None}, "response.status.code=None"),
    ({"response.status.code": math.nan}, "response.status.code=nan"),
    (header(contract.HEADER_COST, "nan"), "response.headers.x-cost='nan'"),
    (header(contract.HEADER_COST, "inf"), "response.headers.x-cost='inf'"),
    (header(contract.HEADER_COST, "-0.5"), "response.headers.x-cost='-0.5'"),
    (header(contract.HEADER_COST, "1e999"), "response.headers.x-cost='1e999'"),
    (header(contract.HEADER_COST, "two cents"), "response.headers.x-cost='two cents'"),
    (header(contract.HEADER_GENERATION_TIME, "NaN"), "response.headers.x-generation-time='NaN'"),
    (header(contract.HEADER_REMAINING_CREDITS, "nan"), "response.headers.x-remaining-credits"),
    (header(contract.HEADER_SEED, "-1"), "response.headers.x-seed-value='-1'"),
    (header(contract.HEADER_RETRY_AFTER, "-5"), "response.headers.retry-after='-5'"),
    (json_body('{"credits": NaN}'), "response.body: holds NaN"),
    (json_body('{"metrics": {"cost": -Infinity}}'), "response.body: holds -Infinity"),
    (json_body('{"metrics": {"cost": -1}}'), "response.body.metrics.cost=-1"),
    (json_body('{"metrics": {"cost": 1e999}}'), "response.body.metrics.cost=inf"),
    (json_body('{"metrics": {"cost": "nan"}}'), "response.body.metrics.cost='nan'"),
    (json_body('{"metrics": {"queue_time": {"s": 1}}}'), "response.body.metrics.queue_time="),
    (json_body('{"remaining_credits": 1' + "0" * 400 + "}"), "response.body.remaining_credits="),
    (json_body('{"seed": "12abc"}'), "response.body.seed='12abc'"),
    (json_body('{"images": [{"file_size": -3}]}'), "response.body.images[0].file_size=-3"),
    (json_body('{"anything": [1, 1e999]}'), "response.body.anything[1]=inf"),
    (
        {"request.body": '{"prompt": "a", "base64": true, "samples": 99}'},
        "request.body.samples=99",
    ),
    ({"request.body": '{"prompt": "a", "samples": "2"}'}, "request.body.samples='2'"),
]


@pytest.mark.parametrize(("changes", "field"), IMPOSSIBLE, ids=[f for _, f in IMPOSSIBLE])
def test_an_impossible_cassette_is_refused_at_load_naming_file_and_field(
    tmp_path: Path, changes: dict[str, Any], field: str
) -> None:
    path = write(tmp_path, exchange(), exchange(**changes))
    with pytest.raises(ValueError, match="must") as caught:
        mocks.MockService(mocks.MockConfig(replay=str(tmp_path)))
    message = str(caught.value)
    assert message.startswith(f"{path}: interaction 2: {field}")
    assert "\n" not in message
    assert len(message) < len(str(path)) + 200


def test_a_possible_cassette_loads_and_is_replayed_and_billed(tmp_path: Path) -> None:
    unbilled_odd = exchange(**{"request.body": '{"samples": 99}', "response.status.code": 400})
    write(tmp_path, exchange(), unbilled_odd)
    service = mocks.MockService(mocks.MockConfig(latency=0, replay=str(tmp_path)))
    with httpx.Client(transport=mocks.MockTransport(service), base_url="http://mock") as http:
        answer = http.post(
            contract.GENERATE_PATH,
            content=exchange()["request"]["body"],
            headers={contract.API_KEY_HEADER: mocks.MOCK_API_KEY},
        )
    assert (answer.status_code, answer.text) == (200, IMAGE_BODY)
    assert answer.headers[contract.HEADER_REMAINING_CREDITS] == "9.998"
    assert service.balance == pytest.approx(10 - 0.002)


def test_python_m_realdream_mock_refuses_an_impossible_status_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, exchange(**{"response.status.code": 99999}))
    done = subprocess.run(
        [sys.executable, "-m", "realdream.mock", "--replay", str(tmp_path), "--port", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"realdream mock: error: {path}: interaction 1: response.status.code=99999: "
        "must be an HTTP status, a whole number from 100 to 599"
    ]


def test_realdream_mock_refuses_it_in_one_line_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from realdream.cli import main

    path = write(tmp_path, exchange(**{"response.status.code": 99999}))
    assert main(["mock", "--replay", str(tmp_path), "--port", "0"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: {path}: interaction 1: response.status.code=99999: ")


def test_a_cassette_that_is_not_an_exchange_is_refused_naming_the_file(tmp_path: Path) -> None:
    broken = exchange()
    del broken["response"]["status"]
    path = write(tmp_path, broken)
    with pytest.raises(ValueError, match=rf"^{path}: interaction 1: not a recorded exchange"):
        mocks.MockService(mocks.MockConfig(replay=str(tmp_path)))


HOSTILE_TEXT = st.sampled_from(["nan", "NaN", "inf", "-inf", "1e999", "-1", "-0.001", "", "x"])


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(
        [contract.HEADER_COST, contract.HEADER_GENERATION_TIME, contract.HEADER_REMAINING_CREDITS]
    ),
    value=HOSTILE_TEXT | st.just("9" * 400),
)
def test_any_hostile_amount_header_is_refused(tmp_path: Path, name: str, value: str) -> None:
    write(tmp_path, exchange(**header(name, value)))
    with pytest.raises(ValueError, match=rf"response\.headers\.{name}="):
        mocks.MockService(mocks.MockConfig(replay=str(tmp_path)))


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    key=st.sampled_from(["cost", "remaining_credits", "inference_time", "queue_time"]),
    value=st.floats(0, 1e6) | st.integers(0, 10**6),
)
def test_any_true_metric_is_accepted(tmp_path: Path, key: str, value: float) -> None:
    write(tmp_path, exchange(**json_body(f'{{"metrics": {{"{key}": {value!r}}}}}')))
    service = mocks.MockService(mocks.MockConfig(replay=str(tmp_path)))
    assert service.replay is not None
    assert len(service.replay) == 1
