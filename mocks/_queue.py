"""The v2 queue endpoints of a :class:`~mocks.MockService`: submit, the three polls, the image
host. Each turns a request into a :class:`~mocks._service.Plan`; the jobs' states and billing
live in :mod:`mocks._jobs`, their bodies in :mod:`mocks._jobbodies`.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from realdream import GenerationRequest, ValidationError, contract
from realdream.mock import _rules
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
from realdream.mock._scenarios import JOB_FAILED, JOB_FAILED_MESSAGE, TIMEOUT, documented_response

if TYPE_CHECKING:
    from realdream.mock._service import MockService, Plan

__all__ = ["JobEndpoints"]

_IMAGE_HEADERS = {
    "content-type": IMAGE_CONTENT_TYPE,
    "cache-control": f"public, max-age={int(IMAGE_TTL_S)}, immutable",
}


class JobEndpoints:
    """Submit, poll and image-host answers for one service (sharing its ledger, limiter,
    scripts, random draws and clock)."""

    def __init__(self, service: MockService) -> None:
        self.service = service

    # --- POST /v2/<model> ------------------------------------------------------------------
    def submit(self, request: MockRequest, key: str) -> Plan:
        """Accept a job (see :data:`mocks.SUBMIT_CHECK_ORDER`)."""
        service = self.service
        entry = service.scripts.pop(key)
        if entry is not None and entry not in (200, TIMEOUT, JOB_FAILED):
            return service.answer_now(documented_response(entry, service.clock()))
        hang = service.config.hang_seconds if entry == TIMEOUT else 0.0
        refused = _rules.check_content_type(request) or _rules.read_json_object(request.body)
        if refused is not None:
            return service.answer_now(refused)
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
        service = self.service
        cost = 0  # a job bound to fail is never billed, so it holds nothing
        if params is not None and error is None:
            cost = to_micros(contract.cost(params.samples, service.config.cost_per_image))
        if not service.ledger.reserve(cost):
            return service.answer_now(service.insufficient(cost))
        now = service.clock()
        reset_at = service.limiter.acquire(key)
        if reset_at is not None:
            service.ledger.release(cost)
            return service.answer_now(_rules.rate_limited(reset_at, now))
        drawn, fault, run_time = service.draw(params)
        if fault is not None:
            service.ledger.release(cost)
            return service.answer_later(hang, lambda: documented_response(fault, service.clock()))
        job = self._job(key, now, drawn, error, cost, run_time)
        service.jobs.add(job)
        body = submit_body(job, request.base_url)
        return service.answer_later(
            hang,
            lambda: json_response(200, body),
            cancel=lambda: service.jobs.cancel(job.request_id),
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
        config = self.service.config
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
        """Answer a poll (see :data:`mocks.POLL_CHECK_ORDER`)."""
        service = self.service
        if request.method != "GET":
            return service.answer_now(_rules.method_not_allowed("GET"))
        entry = service.scripts.pop(key)
        if entry is not None and entry not in (200, TIMEOUT):
            return service.answer_now(service.scripted_response(entry))
        hang = service.config.hang_seconds if entry == TIMEOUT else 0.0
        reset_at = service.limiter.acquire(key)
        if reset_at is not None:
            return service.answer_now(_rules.rate_limited(reset_at, service.clock()))
        _, fault, _ = service.draw(None)
        if fault is not None:
            return service.answer_later(hang, lambda: documented_response(fault, service.clock()))
        base = request.base_url

        def finish() -> MockResponse:
            return self._job_answer(key, endpoint, request_id, base)

        return service.answer_later(hang, finish, blocking=endpoint != "status")

    def _job_answer(
        self, key: str, endpoint: JobEndpoint, request_id: str, base: str
    ) -> MockResponse:
        service = self.service
        now = service.clock()
        found = service.jobs.get(key, request_id, now)
        state = found[0].state_at(now) if found is not None else None
        if found is None or state is None:
            return job_not_found(request_id)
        job, settlement = found
        if state == "FAILED":
            return failed_response(job, service.config.failed_status)
        if endpoint == "status":
            return json_response(200, status_body(job, state, base))
        if state != "COMPLETED":
            return json_response(200, pending_body(job, state, base))
        assert job.request is not None
        assert settlement is not None
        with_images = service.config.result_images
        needed = not job.image_ids or with_images  # base64 output, or images[].file_size
        blobs = service.render(job.request, range(job.request.samples)) if needed else []
        body = completed_body(job, settlement, blobs, base=base, with_images=with_images)
        return json_response(200, body)

    # --- GET /cdn/generations/<id>.jpeg ----------------------------------------------------
    def image(self, request: MockRequest) -> Plan:
        """A file of the image host: public (any key header is ignored), GET or HEAD."""
        service = self.service
        if request.method not in ("GET", "HEAD"):
            return service.answer_now(_rules.method_not_allowed("GET"))
        image_id = image_id_of(request.path)
        stored = service.jobs.image(image_id, service.clock()) if image_id else None
        if stored is None:
            return service.answer_now(error_response(404, "Not found"))

        def finish() -> MockResponse:
            (blob,) = service.render(stored.request, [stored.index])
            return MockResponse(200, blob, _IMAGE_HEADERS)

        return service.answer_later(0.0, finish, blocking=True)
