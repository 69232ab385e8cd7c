r"""The v2 queue endpoints of a mock service: submit, the three polls, the image host.

Each turns a request into a :class:`~realdream.mock._plan.Plan` on a
:class:`~realdream.mock._state.ServiceState`; the jobs' states and billing live in
:mod:`realdream.mock._jobs`, their bodies in :mod:`realdream.mock._jobbodies`. A fault injected
into a poll, a result or a download (``MockConfig.fault_on``) changes nothing of the job: a job
is billed when it completes, whatever its GET requests were answered.
"""

from __future__ import annotations

import uuid
from typing import Final

from realdream import GenerationRequest, ValidationError, contract
from realdream.mock import _rules
from realdream.mock._config import FaultKind
from realdream.mock._http import MockRequest, MockResponse, error_response, json_response
from realdream.mock._jobbodies import (
    IMAGE_CONTENT_TYPE,
    JobEndpoint,
    completed_body,
    failed_response,
    image_id_of,
    job_not_found,
    pending_body,
    status_body,
    submit_body,
)
from realdream.mock._jobs import IMAGE_TTL_S, MockJob
from realdream.mock._ledger import to_micros
from realdream.mock._plan import Plan
from realdream.mock._scenarios import JOB_FAILED, JOB_FAILED_MESSAGE, TIMEOUT, documented_response
from realdream.mock._state import ServiceState

__all__ = ["JobEndpoints"]

#: The kind of fault (``MockConfig.fault_on``) each poll endpoint draws.
_POLL_KINDS: Final[dict[JobEndpoint, FaultKind]] = {
    "status": "poll",
    "poll": "poll",
    "result": "result",
}
_IMAGE_HEADERS: Final = {
    "content-type": IMAGE_CONTENT_TYPE,
    "cache-control": f"public, max-age={int(IMAGE_TTL_S)}, immutable",
}


class JobEndpoints:
    """Submit, poll and image-host answers for one service state (sharing its ledger, limiter,
    scripts, random draws and clock)."""

    def __init__(self, state: ServiceState) -> None:
        self.state = state

    # --- POST /v2/<model> ------------------------------------------------------------------
    def submit(self, request: MockRequest, key: str) -> Plan:
        """Accept a job (see :data:`realdream.mock.SUBMIT_CHECK_ORDER`)."""
        state = self.state
        entry = state.scripts.pop(key)
        if entry is not None and entry not in (200, TIMEOUT, JOB_FAILED):
            return state.answer_now(documented_response(entry, state.clock()))
        hang = state.config.hang_seconds if entry == TIMEOUT else 0.0
        refused = _rules.check_content_type(request) or _rules.read_json_object(request.body)
        if refused is not None:
            return state.answer_now(refused)
        checked = _rules.validate_generation(request.body)
        params = checked if isinstance(checked, GenerationRequest) else None
        error = str(checked) if isinstance(checked, ValidationError) else None
        if params is not None and entry == JOB_FAILED:
            error = JOB_FAILED_MESSAGE
        return self._accept(request, key, params, error, hang)

    def _accept(
        self,
        request: MockRequest,
        key: str,
        params: GenerationRequest | None,
        error: str | None,
        hang: float,
    ) -> Plan:
        state = self.state
        cost = 0  # a job bound to fail is never billed, so it holds nothing
        if params is not None and error is None:
            cost = to_micros(contract.cost(params.samples, state.config.cost_per_image))
        if not state.ledger.reserve(cost):
            return state.answer_now(state.insufficient(cost))
        now = state.clock()
        reset_at = state.limiter.acquire(key)
        if reset_at is not None:
            state.ledger.release(cost)
            return state.answer_now(_rules.rate_limited(reset_at, now))
        drawn, fault, run_time = state.draw(params, "submit")
        if fault is not None:
            state.ledger.release(cost)
            return state.answer_later(hang, lambda: state.fault_response(fault))
        job = self._job(key, now, drawn, error, cost, run_time)
        state.jobs.add(job)
        body = submit_body(job, request.base_url)
        return state.answer_later(
            hang,
            lambda: json_response(200, body),
            cancel=lambda: state.jobs.cancel(job.request_id),
        )

    def _job(
        self,
        key: str,
        now: float,
        params: GenerationRequest | None,
        error: str | None,
        cost: int,
        run_time: float,
    ) -> MockJob:
        config = self.state.config
        urls = params is not None and error is None and not params.base64
        samples = params.samples if params is not None and urls else 0
        return MockJob(
            request_id=str(uuid.uuid4()),
            key=key,
            submitted=now,
            queue_time=config.queue_time,
            run_time=run_time,
            request=params,
            error=error,
            cost_micros=cost,
            image_ids=tuple(uuid.uuid4().hex for _ in range(samples)),
            expires=now + config.result_ttl,
        )

    # --- GET /v2/requests/{id}[/status], GET /v1/requests/{id} -----------------------------
    def poll(self, request: MockRequest, key: str, endpoint: JobEndpoint, request_id: str) -> Plan:
        """Answer a poll (see :data:`realdream.mock.POLL_CHECK_ORDER`)."""
        state = self.state
        if request.method != "GET":
            return state.answer_now(_rules.method_not_allowed("GET"))
        entry = state.scripts.pop(key)
        if entry is not None and entry not in (200, TIMEOUT):
            return state.answer_now(state.scripted_response(entry))
        hang = state.config.hang_seconds if entry == TIMEOUT else 0.0
        reset_at = state.limiter.acquire(key)
        if reset_at is not None:
            return state.answer_now(_rules.rate_limited(reset_at, state.clock()))
        _, fault, _ = state.draw(None, _POLL_KINDS[endpoint])
        if fault is not None:
            return state.answer_later(hang, lambda: state.fault_response(fault))
        base = request.base_url

        def finish() -> MockResponse:
            return self._job_answer(key, endpoint, request_id, base)

        return state.answer_later(hang, finish, blocking=endpoint != "status")

    def _job_answer(
        self, key: str, endpoint: JobEndpoint, request_id: str, base: str
    ) -> MockResponse:
        config, now = self.state.config, self.state.clock()
        found = self.state.jobs.get(key, request_id, now)
        phase = found[0].state_at(now) if found is not None else None
        if found is None or phase is None:
            return job_not_found(request_id)
        job, settlement = found
        if phase == "FAILED":
            return failed_response(job, config.failed_status)
        if endpoint == "status":
            return json_response(200, status_body(job, phase, base))
        if phase != "COMPLETED":
            return json_response(200, pending_body(job, phase, base))
        assert job.request is not None
        assert settlement is not None
        with_images = config.result_images
        needed = not job.image_ids or with_images  # base64 output, or images[].file_size
        blobs = self.state.render(job.request, range(job.request.samples)) if needed else []
        body = completed_body(job, settlement, blobs, base=base, with_images=with_images)
        return json_response(200, body)

    # --- GET /cdn/generations/<id>.jpeg ----------------------------------------------------
    def image(self, request: MockRequest) -> Plan:
        """A file of the image host: public (any key header is ignored), GET or HEAD."""
        state = self.state
        if request.method not in ("GET", "HEAD"):
            return state.answer_now(_rules.method_not_allowed("GET"))
        image_id = image_id_of(request.path)
        stored = state.jobs.image(image_id, state.clock()) if image_id else None
        if stored is None:
            return state.answer_now(error_response(404, "Not found"))
        fault = state.fault("download")
        if fault is not None:
            return state.answer_now(state.fault_response(fault))

        def finish() -> MockResponse:
            (blob,) = state.render(stored.request, [stored.index])
            return MockResponse(200, blob, _IMAGE_HEADERS)

        return state.answer_later(0.0, finish, blocking=True)
