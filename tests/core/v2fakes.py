"""A scripted v2 server on the shipped fake clock, for the client's tests (the real mock has its
own)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from realdream import contract
from realdream.testing.clock import SkipAheadClock
from tests.core.fakes import encode

API = "https://api.example.test"
IMAGES = "https://images.example.test"


@dataclass
class Job:
    submitted: float
    payload: dict[str, Any]
    fail: str | None = None


@dataclass
class FakeV2:
    """Jobs complete ``duration`` seconds after submit; every request is recorded.

    ``shape`` picks the COMPLETED body: ``"url"`` (output is a URL), ``"list"``, ``"images"``
    (images[].url) or ``"base64"``. ``failed_status`` is the HTTP status of a FAILED job.
    ``faults`` maps a path kind ("submit", "status", "result", "image") to responses or
    exceptions to serve first.
    """

    clock: SkipAheadClock
    duration: float = 3.0
    shape: str = "url"
    failed_status: int = 422
    ttl: float = contract.RESULT_TTL_S
    jobs: dict[str, Job] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    faults: dict[str, list[httpx.Response | Exception]] = field(default_factory=dict)
    fail_next: str | None = None
    on_request: Callable[[httpx.Request], None] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.on_request is not None:
            self.on_request(request)
        kind, job_id = self._route(request)
        queued = self.faults.get(kind)
        if queued:
            fault = queued.pop(0)
            if isinstance(fault, Exception):
                raise fault
            return fault
        return getattr(self, f"_{kind}")(request, job_id)

    def requests_of(self, kind: str) -> list[httpx.Request]:
        return [r for r in self.requests if self._route(r)[0] == kind]

    def _route(self, request: httpx.Request) -> tuple[str, str]:
        path = request.url.path
        if request.url.host == httpx.URL(IMAGES).host:
            return "image", path
        if path == contract.V2_SUBMIT_PATH:
            return "submit", ""
        parts = path.strip("/").split("/")
        if len(parts) == 4 and parts[-1] == "status":
            return "status", parts[2]
        return "result", parts[-1]

    def _submit(self, request: httpx.Request, _: str) -> httpx.Response:
        job_id = str(uuid.uuid4())
        self.jobs[job_id] = Job(self.clock(), json.loads(request.content), self.fail_next)
        self.fail_next = None
        base = f"{API}/v2/requests/{job_id}"
        return httpx.Response(
            200,
            json={
                "request_id": job_id,
                "status": "QUEUED",
                "poll_url": f"{API}/v1/requests/{job_id}",
                "status_url": f"{base}/status",
                "response_url": base,
            },
        )

    def _job(self, job_id: str) -> Job | None:
        job = self.jobs.get(job_id)
        if job is None or self.clock() - job.submitted > self.ttl:
            return None
        return job

    def _state(self, job: Job) -> str:
        elapsed = self.clock() - job.submitted
        if elapsed < 0.2:
            return "QUEUED"
        if elapsed < self.duration:
            return "PROCESSING"
        return "FAILED" if job.fail else "COMPLETED"

    def _status(self, request: httpx.Request, job_id: str) -> httpx.Response:
        job = self._job(job_id)
        if job is None:
            return httpx.Response(404, json={"error": f"Request {job_id} not found"})
        state = self._state(job)
        if state == "FAILED":
            return self._failed(job_id, job)
        metrics = {"inference_time": 2.9} if state == "COMPLETED" else {}
        return httpx.Response(200, json={"status": state, "request_id": job_id, "metrics": metrics})

    def _failed(self, job_id: str, job: Job) -> httpx.Response:
        body = {
            "status": "FAILED",
            "request_id": job_id,
            "error": job.fail,
            "metrics": {"inference_time": 0.007, "queue_time": 0.23, "total_time": 0.24},
        }
        return httpx.Response(self.failed_status, json=body)

    def _result(self, request: httpx.Request, job_id: str) -> httpx.Response:
        job = self._job(job_id)
        if job is None:
            return httpx.Response(404, json={"error": f"Request {job_id} not found"})
        state = self._state(job)
        if state == "FAILED":
            return self._failed(job_id, job)
        if state != "COMPLETED":
            return httpx.Response(200, json={"status": state, "metrics": {}})
        return httpx.Response(200, json=self._completed(job_id, job))

    def _completed(self, job_id: str, job: Job) -> dict[str, Any]:
        count = job.payload.get("samples", 1)
        size = (job.payload["img_width"] // 8, job.payload["img_height"] // 8)
        urls = [f"{IMAGES}/generations/{job_id}-{i}.jpeg" for i in range(count)]
        body: dict[str, Any] = {
            "status": "COMPLETED",
            "error": None,
            "seed": str(job.payload["seed"]),
            "metrics": {
                "cost": round(0.0024 * count, 6),
                "remaining_credits": 9.87,
                "inference_time": 2.9,
                "queue_time": 0.2,
                "total_time": self.duration,
            },
        }
        if self.shape == "url":
            body["output"] = urls[0] if count == 1 else urls
        elif self.shape == "list":
            body["output"] = urls
        elif self.shape == "images":
            body["output"] = "ignored-when-images-are-present"
            body["images"] = [{"url": url, "content_type": "image/jpeg"} for url in urls]
        else:
            blob = base64.b64encode(encode("JPEG", size)).decode()
            body["output"] = [f"data:image/jpeg;base64,{blob}"] * count
        return body

    def _image(self, request: httpx.Request, path: str) -> httpx.Response:
        job_id = path.rsplit("/", 1)[-1].rsplit("-", 1)[0]
        job = self.jobs[job_id]
        size = (job.payload["img_width"] // 8, job.payload["img_height"] // 8)
        return httpx.Response(
            200, content=encode("JPEG", size), headers={"content-type": "image/jpeg"}
        )
