"""The v2 queue API over raw HTTP (in-process, on a fake clock): submit, polls, bodies,
billing, expiry, the image host, and scripts, forced cases and faults on submit and polls."""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

import realdream.mock as mocks
from realdream import GenerationRequest, contract
from realdream.mock import STATS_PATH
from realdream.mock._scenarios import JOB_FAILED_MESSAGE
from realdream.testing.clock import SkipAheadClock
from tests.mock.conftest import GENERATE, JSON_HEADERS, KEY, body

SUBMIT = contract.V2_SUBMIT_PATH
BASE = "http://mock.test"
KEY_ONLY = {contract.API_KEY_HEADER: KEY}
CONFIG = mocks.MockConfig(latency=2.0, queue_time=1.0)
ENDPOINTS = (contract.V2_STATUS_PATH, contract.V2_RESULT_PATH, contract.V1_POLL_PATH)


class Mock:
    """A service on a fake clock, and a raw httpx client talking to it in-process."""

    def __init__(self, config: mocks.MockConfig = CONFIG, base_url: str = BASE) -> None:
        self.clock = SkipAheadClock(frozen=True)
        self.service = mocks.MockService(config, clock=self.clock)
        self.http = httpx.Client(transport=mocks.MockTransport(self.service), base_url=base_url)

    def submit(self, headers: dict[str, str] | None = None, **params: Any) -> httpx.Response:
        return self.http.post(SUBMIT, content=body(**params), headers=headers or JSON_HEADERS)

    def job(self, **params: Any) -> str:
        response = self.submit(**params)
        assert response.status_code == 200, response.text
        return str(response.json()["request_id"])

    def get(self, template: str, request_id: str, **headers: str) -> httpx.Response:
        return self.http.get(contract.job_path(template, request_id), headers=KEY_ONLY | headers)

    def status(self, request_id: str) -> httpx.Response:
        return self.get(contract.V2_STATUS_PATH, request_id)

    def result(self, request_id: str) -> httpx.Response:
        return self.get(contract.V2_RESULT_PATH, request_id)

    def done(self, request_id: str) -> dict[str, Any]:
        """The result, after the clock passes the job's end."""
        self.clock.advance(CONFIG.queue_time + CONFIG.latency)
        response = self.result(request_id)
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture
def mock() -> Iterator[Mock]:
    made = Mock()
    yield made
    made.http.close()


def make(**changes: Any) -> Mock:
    return Mock(mocks.MockConfig(**{"latency": 2.0, "queue_time": 1.0, **changes}))


# --- submit --------------------------------------------------------------------------------------
def test_submit_answers_queued_with_the_three_urls_on_the_callers_base(mock: Mock) -> None:
    response = mock.submit()
    data = response.json()
    assert response.status_code == 200
    assert response.headers["content-type"] == contract.CONTENT_TYPE
    assert tuple(data) == contract.V2_SUBMIT_KEYS
    assert data["status"] == "QUEUED"
    request_id = data["request_id"]
    assert data["poll_url"] == BASE + contract.job_path(contract.V1_POLL_PATH, request_id)
    assert data["status_url"] == BASE + contract.job_path(contract.V2_STATUS_PATH, request_id)
    assert data["response_url"] == BASE + contract.job_path(contract.V2_RESULT_PATH, request_id)


def test_urls_follow_the_scheme_and_host_the_caller_used() -> None:
    other = Mock(base_url="https://gateway.example:8443")
    data = other.submit().json()
    assert data["status_url"].startswith("https://gateway.example:8443/v2/requests/")
    other.clock.advance(3.0)
    result = other.http.get(data["response_url"], headers=KEY_ONLY).json()
    assert result["output"].startswith("https://gateway.example:8443" + mocks.CDN_PREFIX)


def test_a_submit_debits_nothing(mock: Mock) -> None:
    mock.job(samples=4)
    assert mock.service.balance == 10.0
    assert mock.service.ledger.reserved_micros == 8_000


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Content-Type": "application/json"}, 401),
        ({contract.API_KEY_HEADER: "SG_ffffffffffffffff", "Content-Type": "application/json"}, 401),
        ({contract.API_KEY_HEADER: KEY}, 406),
        ({contract.API_KEY_HEADER: KEY, "Content-Type": "text/plain"}, 406),
    ],
)
def test_auth_and_content_type_refuse_at_submit_as_v1_does(
    mock: Mock, headers: dict[str, str], status: int
) -> None:
    v2 = mock.submit(headers)
    v1 = mock.http.post(GENERATE, content=body(), headers=headers)
    assert (v2.status_code, v2.json()) == (v1.status_code, v1.json()) == (status, v1.json())
    assert mock.service.stats.jobs == 0


def test_a_forbidden_key_is_403_at_submit() -> None:
    mock = make(forbidden_keys=("SG_ffffffffffffffff",))
    headers = {contract.API_KEY_HEADER: "SG_ffffffffffffffff", "Content-Type": "application/json"}
    assert mock.submit(headers).status_code == 403


def test_the_submit_path_takes_post_only_405_html(mock: Mock) -> None:
    response = mock.http.get(SUBMIT, headers=KEY_ONLY)
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["allow"] == "POST"


def test_another_v2_model_is_404(mock: Mock) -> None:
    response = mock.http.post("/v2/sdxl1.0-other", content=body(), headers=JSON_HEADERS)
    assert response.status_code == 404
    assert response.json() == {"error": contract.message("404")}


@pytest.mark.parametrize("raw", [b"[1, 2]", b"not json", b'{"prompt": "a", "prompt": "b"}', b""])
def test_a_body_that_is_not_one_json_object_is_400_with_the_v1_text(mock: Mock, raw: bytes) -> None:
    v2 = mock.http.post(SUBMIT, content=raw, headers=JSON_HEADERS)
    v1 = mock.http.post(GENERATE, content=raw, headers=JSON_HEADERS)
    assert v2.status_code == v1.status_code == 400
    assert v2.json() == v1.json()


def test_without_enough_credits_the_submit_is_406_naming_the_need() -> None:
    mock = make(credits=0.001)
    response = mock.submit()
    assert response.status_code == 406
    assert "this request needs $0.002" in response.json()["error"]
    assert mock.service.stats.jobs == 0


def test_reserved_credits_keep_concurrent_jobs_from_overdrawing() -> None:
    mock = make(credits=0.005)
    mock.job()
    mock.job()
    assert mock.submit().status_code == 406  # $0.001 left unreserved
    mock.clock.advance(3.0)
    assert mock.service.balance == pytest.approx(0.001)


@pytest.mark.parametrize(
    "params",
    [
        {"samples": 9},
        {"scheduler": "Euler b"},
        {"img_width": 1001},
        {"prompt": ""},
        {"unknown": 1},
    ],
)
def test_invalid_parameters_are_accepted_then_fail_with_the_v1_400_text(
    mock: Mock, params: dict[str, Any]
) -> None:
    v1 = mock.http.post(GENERATE, content=body(**params), headers=JSON_HEADERS)
    request_id = mock.job(**params)
    assert mock.status(request_id).json()["status"] == "QUEUED"
    mock.clock.advance(CONFIG.queue_time)  # the worker refuses it as it starts
    failed = mock.status(request_id)
    assert failed.status_code == 422
    assert failed.json()["error"] == v1.json()["error"]
    assert failed.json()["metrics"][contract.METRIC_INFERENCE_TIME] == 0.0
    assert contract.METRIC_COST not in failed.json()["metrics"]


def test_an_invalid_job_reserves_nothing_and_is_never_billed() -> None:
    mock = make(credits=0.0)
    request_id = mock.job(samples=9)  # no 406: it will never be billed
    assert mock.service.ledger.reserved_micros == 0
    mock.clock.advance(10.0)
    assert mock.status(request_id).status_code == 422
    assert mock.service.balance == 0.0


# --- states --------------------------------------------------------------------------------------
def test_status_goes_queued_processing_completed_on_the_clock(mock: Mock) -> None:
    request_id = mock.job()
    seen = []
    for _ in range(4):
        data = mock.status(request_id).json()
        seen.append(data["status"])
        mock.clock.advance(1.0)
    assert seen == ["QUEUED", "PROCESSING", "PROCESSING", "COMPLETED"]


def test_queued_and_processing_carry_the_urls_and_empty_metrics(mock: Mock) -> None:
    request_id = mock.job()
    queued = mock.status(request_id).json()
    mock.clock.advance(1.5)
    processing = mock.status(request_id).json()
    expected_urls = {
        "status_url": BASE + contract.job_path(contract.V2_STATUS_PATH, request_id),
        "response_url": BASE + contract.job_path(contract.V2_RESULT_PATH, request_id),
    }
    for data, state in ((queued, "QUEUED"), (processing, "PROCESSING")):
        assert data == {"status": state, "request_id": request_id, "metrics": {}, **expected_urls}


def test_completed_status_has_only_its_inference_time(mock: Mock) -> None:
    request_id = mock.job()
    mock.clock.advance(3.0)
    assert mock.status(request_id).json() == {
        "status": "COMPLETED",
        "request_id": request_id,
        "metrics": {contract.METRIC_INFERENCE_TIME: 2.0},
    }


def test_the_result_before_completion_is_the_status_with_null_output(mock: Mock) -> None:
    request_id = mock.job()
    response = mock.result(request_id)
    assert response.status_code == 200
    assert response.json() == {**mock.status(request_id).json(), "output": None}


# --- result bodies -------------------------------------------------------------------------------
def test_one_sample_result_is_the_inferred_composite(mock: Mock) -> None:
    request_id = mock.job(seed=42, img_width=512)
    data = mock.done(request_id)
    url = data["output"]
    image_id = url.removeprefix(BASE + mocks.CDN_PREFIX).removesuffix(".jpeg")
    blob = mock.http.get(url).content
    assert data == {
        "status": "COMPLETED",
        "request_id": request_id,
        "error": None,
        "output": url,
        "images": [
            {
                "url": url,
                "content_type": "image/jpeg",
                "file_name": image_id + ".jpeg",
                "file_size": len(blob),
            }
        ],
        "seed": "42",
        "metrics": {
            "cost": 0.002,
            "remaining_credits": 9.998,
            "inference_time": 2.0,
            "queue_time": 1.0,
            "total_time": 3.0,
        },
    }
    assert Image.open(io.BytesIO(blob)).size == (512, 1024)


def test_several_samples_return_every_image_and_bill_each(mock: Mock) -> None:
    data = mock.done(mock.job(samples=3, seed=1))
    assert isinstance(data["output"], list)
    assert len(data["output"]) == 3
    assert [image["url"] for image in data["images"]] == data["output"]
    blobs = {mock.http.get(url).content for url in data["output"]}
    assert len(blobs) == 3
    assert data["metrics"]["cost"] == 0.006
    assert mock.service.balance == pytest.approx(10 - 0.006)


def test_without_result_images_the_output_stands_alone() -> None:
    mock = make(result_images=False)
    data = mock.done(mock.job(samples=2))
    assert "images" not in data
    assert len(data["output"]) == 2


def test_base64_true_puts_the_jpegs_in_output_and_lists_no_images(mock: Mock) -> None:
    request = GenerationRequest.create(prompt="a lighthouse at dusk", seed=3, samples=2)
    data = mock.done(mock.job(seed=3, samples=2, base64=True))
    assert "images" not in data
    decoded = [base64.b64decode(item) for item in data["output"]]
    assert decoded == [mocks.render_jpeg(request, 0), mocks.render_jpeg(request, 1)]
    single = mock.done(mock.job(seed=3, base64=True))
    assert base64.b64decode(single["output"]) == decoded[0]


def test_a_random_seed_is_resolved_and_reported_as_a_string(mock: Mock) -> None:
    data = mock.done(mock.job(seed=-1))
    assert 0 <= int(data["seed"]) <= contract.LIMITS["seed"].maximum


def test_the_v1_poll_url_answers_as_the_result(mock: Mock) -> None:
    request_id = mock.job(seed=3)
    mock.clock.advance(3.0)
    assert mock.get(contract.V1_POLL_PATH, request_id).json() == mock.result(request_id).json()


# --- FAILED and 404 ------------------------------------------------------------------------------
@pytest.mark.parametrize("template", ENDPOINTS)
@pytest.mark.parametrize("status", sorted(contract.FAILED_STATUS_CODES))
def test_a_failed_job_is_served_with_the_configured_status(template: str, status: int) -> None:
    mock = make(failed_status=status)
    mock.service.script([mocks.JOB_FAILED])
    request_id = mock.job()
    mock.clock.advance(3.0)
    response = mock.get(template, request_id)
    assert response.status_code == status
    assert response.json() == {
        "status": "FAILED",
        "error": JOB_FAILED_MESSAGE,
        "request_id": request_id,
        "metrics": {"inference_time": 2.0, "queue_time": 1.0, "total_time": 3.0},
    }


def test_a_job_failed_at_run_time_processes_first_and_is_not_billed(mock: Mock) -> None:
    mock.service.script([mocks.JOB_FAILED])
    request_id = mock.job()
    mock.clock.advance(1.5)
    assert mock.status(request_id).json()["status"] == "PROCESSING"
    assert mock.service.ledger.reserved_micros == 0
    mock.clock.advance(1.5)
    assert mock.status(request_id).json()["status"] == "FAILED"
    assert mock.service.balance == 10.0
    assert mock.service.stats.images == 0


@pytest.mark.parametrize("template", ENDPOINTS)
def test_an_unknown_id_is_404_with_the_documented_body(mock: Mock, template: str) -> None:
    response = mock.get(template, "2c7f59ea-13f1-402c-9353-915a2b5a2124")
    assert response.status_code == 404
    assert response.json() == {"error": "Request 2c7f59ea-13f1-402c-9353-915a2b5a2124 not found"}


def test_a_long_unknown_id_is_shortened_in_the_404(mock: Mock) -> None:
    message = mock.get(contract.V2_STATUS_PATH, "x" * 500).json()["error"]
    assert len(message) < 100
    assert message.endswith("… not found")


@pytest.mark.parametrize("template", ENDPOINTS)
def test_after_the_ttl_every_endpoint_is_404_and_the_job_is_forgotten(template: str) -> None:
    mock = make(result_ttl=60.0)
    request_id = mock.job()
    mock.clock.advance(59.9)
    assert mock.get(template, request_id).status_code == 200
    mock.clock.advance(0.1)
    response = mock.get(template, request_id)
    assert response.status_code == 404
    assert response.json() == {"error": f"Request {request_id} not found"}
    assert mock.service.stats.jobs == 0


def test_memory_stays_bounded_as_jobs_expire() -> None:
    mock = make(result_ttl=10.0, latency=0.0, queue_time=0.0)
    for _ in range(50):
        mock.job()
        mock.clock.advance(1.0)
    assert mock.service.stats.jobs == 9  # those submitted in the last 10 s (41..49)
    assert mock.service.balance == pytest.approx(10 - 50 * 0.002)


def test_a_job_that_expires_before_completing_is_released_unbilled() -> None:
    mock = make(result_ttl=2.5)  # it would complete at 3 s
    request_id = mock.job()
    mock.clock.advance(2.5)
    assert mock.status(request_id).status_code == 404
    assert (mock.service.balance, mock.service.ledger.reserved_micros) == (10.0, 0)


def test_another_keys_job_is_not_found() -> None:
    other = "SG_1111111111111111"
    mock = make(api_keys=(KEY, other))
    request_id = mock.job()
    response = mock.get(contract.V2_STATUS_PATH, request_id, **{contract.API_KEY_HEADER: other})
    assert response.status_code == 404


@pytest.mark.parametrize("template", ENDPOINTS)
def test_polls_take_get_only_405_html(mock: Mock, template: str) -> None:
    request_id = mock.job()
    response = mock.http.post(contract.job_path(template, request_id), headers=JSON_HEADERS)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.text == contract.METHOD_NOT_ALLOWED_HTML


@pytest.mark.parametrize("template", ENDPOINTS)
def test_polls_need_the_key(mock: Mock, template: str) -> None:
    request_id = mock.job()
    response = mock.http.get(contract.job_path(template, request_id))
    assert response.status_code == 401
    assert response.json() == {"error": contract.message("401-missing-key")}


def test_polls_count_against_the_rate_limit() -> None:
    assert contract.POLLS_COUNT_AGAINST_RATE_LIMIT
    mock = make(rate_limit=3)
    request_id = mock.job()
    assert mock.status(request_id).status_code == 200
    assert mock.result(request_id).status_code == 200
    limited = mock.status(request_id)
    assert limited.status_code == 429
    assert limited.headers[contract.HEADER_RETRY_AFTER] == "60"
    assert contract.HEADER_RATE_LIMIT_RESET in limited.headers
    mock.clock.advance(60.0)
    assert mock.status(request_id).status_code == 200


# --- the image host ------------------------------------------------------------------------------
def test_image_urls_need_no_key_and_ignore_a_wrong_one(mock: Mock) -> None:
    url = mock.done(mock.job(seed=5))["output"]
    bare = mock.http.get(url)
    wrong = mock.http.get(url, headers={contract.API_KEY_HEADER: "SG_ffffffffffffffff"})
    assert bare.status_code == wrong.status_code == 200
    assert bare.headers["content-type"] == "image/jpeg"
    request = GenerationRequest.create(prompt="a lighthouse at dusk", seed=5)
    assert bare.content == wrong.content == mocks.render_jpeg(request, 0)


def test_images_outlive_the_job(mock: Mock) -> None:
    url = mock.done(mock.job())["output"]
    mock.clock.advance(contract.RESULT_TTL_S)
    assert mock.http.get(url).status_code == 200
    mock.clock.advance(mocks.IMAGE_TTL_S)
    assert mock.http.get(url).status_code == 404


@pytest.mark.parametrize("name", ["0" * 32 + ".jpeg", "not-an-id.jpeg", ""])
def test_an_unknown_image_is_404(mock: Mock, name: str) -> None:
    assert mock.http.get(mocks.CDN_PREFIX + name).status_code == 404


def test_the_image_host_takes_get_and_head_only(mock: Mock) -> None:
    url = mock.done(mock.job())["output"]
    assert mock.http.head(url).status_code == 200
    assert mock.http.delete(url).status_code == 405


# --- billing exactly once ------------------------------------------------------------------------
def test_a_completed_job_polled_by_20_threads_at_once_is_charged_once(mock: Mock) -> None:
    request_id = mock.job(seed=8)
    mock.clock.advance(3.0)
    start = threading.Barrier(20)
    bodies: list[dict[str, Any]] = []

    def poll() -> None:
        start.wait()
        bodies.append(mock.result(request_id).json())

    threads = [threading.Thread(target=poll) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(bodies) == 20
    assert {body["metrics"]["remaining_credits"] for body in bodies} == {9.998}
    assert mock.service.balance == pytest.approx(9.998)
    assert mock.service.ledger.reserved_micros == 0


def test_a_job_is_billed_when_it_completes_even_if_never_polled(mock: Mock) -> None:
    mock.job()
    mock.clock.advance(2.999)
    assert mock.service.balance == 10.0
    mock.clock.advance(0.001)
    assert mock.service.balance == pytest.approx(9.998)
    credits = mock.http.get(contract.CREDITS_PATH, headers=KEY_ONLY).json()
    assert credits["credits"] == pytest.approx(9.998)


def test_remaining_credits_is_the_balance_right_after_each_job(mock: Mock) -> None:
    first, second = mock.job(), mock.job()
    mock.clock.advance(100.0)
    mock.job()  # billed later: does not change the first two
    mock.clock.advance(100.0)
    remaining = [mock.result(rid).json()["metrics"]["remaining_credits"] for rid in (first, second)]
    assert remaining == [9.998, 9.996]


# --- scripts, forced cases, faults ---------------------------------------------------------------
def test_script_entries_are_taken_by_submits_and_polls_of_the_key_in_order(mock: Mock) -> None:
    mock.service.script([502, 200, 429, "404-job-expired"])
    assert mock.submit().status_code == 502
    assert mock.service.stats.jobs == 0
    request_id = mock.job()
    assert mock.status(request_id).status_code == 429
    expired = mock.result(request_id)
    assert expired.status_code == 404
    assert "not found" in expired.json()["error"]
    assert mock.status(request_id).status_code == 200


def test_a_job_failed_entry_taken_by_a_poll_answers_the_documented_failed_body(mock: Mock) -> None:
    request_id = mock.job()
    mock.service.script([mocks.JOB_FAILED])
    response = mock.status(request_id)
    assert response.status_code == 422
    assert response.json()["status"] == "FAILED"
    mock.clock.advance(3.0)
    assert mock.status(request_id).json()["status"] == "COMPLETED"


def test_a_job_failed_entry_on_v1_answers_422_failed(mock: Mock) -> None:
    mock.service.script([mocks.JOB_FAILED])
    response = mock.http.post(GENERATE, content=body(), headers=JSON_HEADERS)
    assert response.status_code == 422
    assert response.json()["status"] == "FAILED"


def test_a_job_failed_entry_on_an_invalid_request_keeps_the_validation_text(mock: Mock) -> None:
    mock.service.script([mocks.JOB_FAILED])
    request_id = mock.job(samples=9)
    mock.clock.advance(1.0)
    assert mock.status(request_id).json()["error"] == "samples=9: must be between 1 and 4"


@pytest.mark.parametrize("template", ENDPOINTS)
@pytest.mark.parametrize(
    ("case", "status"), [("429", 429), ("502", 502), ("422-job-failed", 422), ("404", 404)]
)
def test_x_mock_status_forces_a_case_on_polls(
    mock: Mock, template: str, case: str, status: int
) -> None:
    request_id = mock.job()
    forced = mock.get(template, request_id, **{mocks.FORCE_STATUS_HEADER: case})
    assert forced.status_code == status
    assert mock.status(request_id).status_code == 200


def test_x_mock_status_on_a_submit_queues_no_job(mock: Mock) -> None:
    response = mock.submit(JSON_HEADERS | {mocks.FORCE_STATUS_HEADER: "503"})
    assert response.status_code == 503
    assert mock.service.stats.jobs == 0
    assert mock.service.ledger.reserved_micros == 0


def test_a_faulted_submit_queues_nothing_and_holds_nothing() -> None:
    mock = make(fault_rate=1.0, seed=1)
    response = mock.submit()
    assert response.status_code in (500, 502, 504)
    assert mock.service.stats.jobs == 0
    assert mock.service.ledger.reserved_micros == 0


def test_faults_on_polls_leave_the_job_alone() -> None:
    mock = make(fault_rate=0.5, seed=3)
    submits = [mock.submit() for _ in range(10)]
    request_id = next(r.json()["request_id"] for r in submits if r.status_code == 200)
    mock.clock.advance(3.0)
    answers = [mock.status(request_id) for _ in range(20)]
    faults = [r.status_code for r in answers if r.status_code >= 500]
    states = {r.json()["status"] for r in answers if r.status_code < 500}
    assert faults
    assert set(faults) <= {500, 502, 504}
    assert states == {"COMPLETED"}


def test_a_held_submit_that_times_out_still_queues_and_bills() -> None:
    mock = make(hang_seconds=5.0, latency=0.0, queue_time=0.0)
    mock.service.script([mocks.TIMEOUT])
    with pytest.raises(httpx.ReadTimeout):
        mock.http.post(SUBMIT, content=body(), headers=JSON_HEADERS, timeout=0.01)
    assert mock.service.stats.jobs == 1
    assert mock.service.balance == pytest.approx(9.998)


def test_stats_count_jobs_and_their_images(mock: Mock) -> None:
    mock.job(samples=2)
    mock.clock.advance(3.0)
    stats = mock.http.get(STATS_PATH, headers=KEY_ONLY).json()
    assert (stats["jobs"], stats["images"]) == (1, 2)


# --- property: any schedule -----------------------------------------------------------------------
KINDS = st.sampled_from(["valid", "invalid", "job-failed"])


@given(
    queue_time=st.floats(0, 3),
    latency=st.floats(0, 3),
    jitter=st.floats(0, 1),
    fault_rate=st.floats(0, 0.5),
    seed=st.integers(0, 1000),
    plan=st.lists(st.tuples(KINDS, st.integers(1, 4), st.floats(0, 2)), min_size=1, max_size=8),
)
def test_any_schedule_bills_each_job_once_or_not_at_all(
    queue_time: float,
    latency: float,
    jitter: float,
    fault_rate: float,
    seed: int,
    plan: list[tuple[str, int, float]],
) -> None:
    config = mocks.MockConfig(
        queue_time=queue_time, latency=latency, jitter=jitter, fault_rate=fault_rate, seed=seed
    )
    mock = Mock(config)
    accepted: dict[str, int] = {}  # request id -> cost in micro-dollars if it completes
    for kind, samples, pause in plan:
        if kind == "job-failed":
            mock.service.script([mocks.JOB_FAILED])
        response = mock.submit(samples=samples if kind != "invalid" else 9)
        if response.status_code == 200:
            accepted[response.json()["request_id"]] = 2_000 * samples if kind == "valid" else 0
        else:
            assert response.status_code in (500, 502, 504)
            mock.service.scripts.clear()
        mock.clock.advance(pause)
        assert_ledger_matches_states(mock, accepted)
    mock.clock.advance(queue_time + latency + jitter + 1)
    states = assert_ledger_matches_states(mock, accepted)
    assert states == {rid: "COMPLETED" if cost else "FAILED" for rid, cost in accepted.items()}
    assert mock.service.ledger.reserved_micros == 0
    assert mock.service.stats.images == sum(cost // 2_000 for cost in accepted.values())


def assert_ledger_matches_states(mock: Mock, accepted: dict[str, int]) -> dict[str, str]:
    """Every job seen COMPLETED is billed, once; every job still running holds its cost."""
    states = {}
    for request_id in accepted:
        response = mock.status(request_id)
        while response.status_code >= 500:  # an injected fault: poll again, as clients do
            response = mock.status(request_id)
        states[request_id] = response.json()["status"]
    billed = sum(cost for rid, cost in accepted.items() if states[rid] == "COMPLETED")
    held = sum(cost for rid, cost in accepted.items() if states[rid] in ("QUEUED", "PROCESSING"))
    assert mock.service.ledger.balance_micros == 10_000_000 - billed
    assert mock.service.ledger.reserved_micros == held
    return states
