"""Small ASGI apps for verify's tests: the mock behind a pass-through that can change one thing,
and a v2 queue that answers as v2-facts.md documents (the mock has no v2 yet)."""

from __future__ import annotations

import base64
import io
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send

import realdream
import realdream.mock as mocks
from realdream import contract
from realdream.testing.clock import SkipAheadClock


@dataclass
class Answer:
    """One answer, as a change function sees and returns it."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


#: Takes the request (method, path, headers, body) and the mock's answer; returns the answer.
Change = Callable[[Request, bytes, Answer], Answer]


def quiet(text: str) -> None:
    """verify's ``announce=`` in tests that do not read the announcement."""


def micros(usd: float) -> int:
    return round(usd * 1_000_000)


class FakeV2:
    """A v2 queue over ``service``'s ledger: submit answers QUEUED; each status poll moves one
    step through ``states``; the job is debited when it completes; the result is the composite
    body of v2-facts.md, passed through ``result`` to change it."""

    def __init__(
        self,
        service: mocks.MockService,
        *,
        states: tuple[str, ...] = ("QUEUED", "PROCESSING", "COMPLETED"),
        result: Callable[[dict[str, Any]], dict[str, Any]] = lambda body: body,
    ) -> None:
        self.service = service
        self.states = states
        self.result = result
        self.jobs: dict[str, int] = {}  # id -> polls answered
        self.debited: set[str] = set()

    def answer(self, request: Request, body: bytes) -> Answer:
        key = request.headers.get(contract.API_KEY_HEADER, "")
        if key not in self.service.config.api_keys:
            return _json(401, {contract.ERROR_BODY_KEY: contract.message("401")})
        path = request.url.path
        if request.method == "POST" and path == contract.V2_SUBMIT_PATH:
            return self.submit()
        found = re.fullmatch(r"/v2/requests/([^/]+)(/status)?", path)
        if found is None or found.group(1) not in self.jobs:
            return _json(404, {contract.ERROR_BODY_KEY: f"Request {path} not found"})
        if found.group(2):
            return self.status(found.group(1))
        return _json(200, self.result(self.completed(found.group(1))))

    def submit(self) -> Answer:
        job = str(uuid.uuid4())
        self.jobs[job] = 0
        base = contract.BASE_URL
        return _json(
            200,
            {
                "request_id": job,
                "status": "QUEUED",
                "poll_url": base + contract.job_path(contract.V1_POLL_PATH, job),
                "status_url": base + contract.job_path(contract.V2_STATUS_PATH, job),
                "response_url": base + contract.job_path(contract.V2_RESULT_PATH, job),
            },
        )

    def status(self, job: str) -> Answer:
        state = self.states[min(self.jobs[job], len(self.states) - 1)]
        self.jobs[job] += 1
        if state == "COMPLETED" and job not in self.debited:
            self.debited.add(job)
            cost = micros(self.service.config.cost_per_image)
            assert self.service.ledger.reserve(cost)
            self.service.ledger.commit(cost)
        metrics = {contract.METRIC_INFERENCE_TIME: 1.9} if state == "COMPLETED" else {}
        body: dict[str, Any] = {"status": state, "request_id": job, "metrics": metrics}
        if state == "FAILED":
            body["error"] = "Prompt is Mandatory and must be string"
            return _json(422, body)
        return _json(200, body)

    def completed(self, job: str) -> dict[str, Any]:
        url = f"https://{contract.IMAGE_HOST}/generations/{job}.jpeg"
        return {
            "status": "COMPLETED",
            "error": None,
            "output": url,
            "images": [
                {"url": url, "content_type": "image/jpeg", "file_name": f"{job}.jpeg",
                 "file_size": "1234"},
            ],
            "seed": "968875",
            "metrics": {
                contract.METRIC_COST: self.service.config.cost_per_image,
                contract.METRIC_REMAINING_CREDITS: self.service.balance,
                contract.METRIC_INFERENCE_TIME: 1.9,
                contract.METRIC_QUEUE_TIME: 0.2,
                contract.METRIC_TOTAL_TIME: 2.1,
            },
        }  # fmt: skip


def no_v2(request: Request, body: bytes) -> Answer:
    """A service without a v2 queue for this model: 404 as for any unknown path."""
    return _json(404, {contract.ERROR_BODY_KEY: contract.message("404")})


def _json(status: int, data: Any) -> Answer:
    return Answer(status, {"content-type": "application/json"}, json.dumps(data).encode())


def service_app(
    service: mocks.MockService,
    *,
    change: Change | None = None,
    refuse: Callable[[Request, bytes], Answer | None] | None = None,
    v2: FakeV2 | Callable[[Request, bytes], Answer] | None = None,
) -> Starlette:
    """The mock (``service``) behind a pass-through that applies ``change`` to v1 answers
    (after the mock answered: a 200 is billed) and lets ``refuse`` answer first (the mock
    never sees what it refuses); ``/v2/`` goes to ``v2`` (default: a :class:`FakeV2` on the
    same ledger)."""
    mock = httpx.AsyncClient(transport=mocks.AsyncMockTransport(service), base_url="http://mock")
    queue = v2 if v2 is not None else FakeV2(service)

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        body = await request.body()
        refused = refuse(request, body) if refuse is not None else None
        if refused is not None:
            answer = refused
        elif request.url.path.startswith("/v2/"):
            answer = (
                queue.answer(request, body) if isinstance(queue, FakeV2) else queue(request, body)
            )
        else:
            answer = await _forward(mock, request, body)
            answer = change(request, body, answer) if change is not None else answer
        headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-length"}
        await Response(answer.body, answer.status, headers)(scope, receive, send)

    return Starlette(routes=[Mount("", app=endpoint)])


async def _forward(mock: httpx.AsyncClient, request: Request, body: bytes) -> Answer:
    headers = {
        k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
    }
    found = await mock.request(request.method, request.url.path, content=body, headers=headers)
    return Answer(found.status_code, dict(found.headers), found.content)


def transport(app: Starlette) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=app)


def run_verify(app: Starlette, **options: Any) -> realdream.VerifyReport:
    """``realdream.verify`` against ``app`` in-process, with the mock's key, its waits on a
    frozen :class:`SkipAheadClock` (nothing really waits)."""
    options.setdefault("announce", quiet)
    return realdream.verify(
        options.pop("api_key", mocks.MOCK_API_KEY),
        base_url="http://verify.test",
        transport=transport(app),
        sleep=SkipAheadClock(frozen=True).async_sleep,
        **options,
    )


def differing(report: realdream.VerifyReport) -> list[str]:
    return [row.fact for row in report.rows if row.verdict == "differs"]


def row(report: realdream.VerifyReport, fact: str) -> realdream.VerifyRow:
    (found,) = [r for r in report.rows if r.fact == fact]
    return found


# --- Deliberate differences --------------------------------------------------------------------
def other_401_text(request: Request, body: bytes, answer: Answer) -> Answer:
    if answer.status == 401 and contract.API_KEY_HEADER not in request.headers:
        return _json(401, {contract.ERROR_BODY_KEY: "Authentication required"})
    return answer


def png_instead_of_jpeg(request: Request, body: bytes, answer: Answer) -> Answer:
    if answer.status != 200 or answer.headers.get("content-type") != "image/jpeg":
        return answer
    out = io.BytesIO()
    Image.open(io.BytesIO(answer.body)).save(out, "PNG")
    return Answer(200, {**answer.headers, "content-type": "image/png"}, out.getvalue())


def without_header(name: str) -> Change:
    def change(request: Request, body: bytes, answer: Answer) -> Answer:
        headers = {k: v for k, v in answer.headers.items() if k.lower() != name}
        return Answer(answer.status, headers, answer.body)

    return change


def images_under_image(request: Request, body: bytes, answer: Answer) -> Answer:
    if answer.status != 200 or "json" not in answer.headers.get("content-type", ""):
        return answer
    data = answer.json()
    if contract.BASE64_MANY_KEY not in data:
        return answer
    shape = {contract.BASE64_ONE_KEY: data[contract.BASE64_MANY_KEY]}
    return Answer(200, answer.headers, json.dumps(shape).encode())


def data_url_prefix(request: Request, body: bytes, answer: Answer) -> Answer:
    if answer.status != 200 or "json" not in answer.headers.get("content-type", ""):
        return answer
    data = answer.json()
    for key, value in data.items():
        if isinstance(value, list):
            data[key] = [f"data:image/jpeg;base64,{item}" for item in value]
    return Answer(200, answer.headers, json.dumps(data).encode())


def json_405(request: Request, body: bytes, answer: Answer) -> Answer:
    if answer.status == 405:
        return _json(405, {contract.ERROR_BODY_KEY: "Method Not Allowed"})
    return answer


def out_of_range_is_422(request: Request, body: bytes, answer: Answer) -> Answer:
    if answer.status == 400:
        return _json(422, {contract.ERROR_BODY_KEY: "Unprocessable request"})
    return answer


def echo_key_on_404(request: Request, body: bytes, answer: Answer) -> Answer:
    """A careless service that repeats the key it was sent in an error."""
    if answer.status == 404:
        key = request.headers.get(contract.API_KEY_HEADER, "")
        return _json(404, {contract.ERROR_BODY_KEY: f"{contract.message('404')} (key {key})"})
    return answer


def rejecting(names: set[str]) -> Callable[[Request, bytes], Answer | None]:
    """A service that refuses these scheduler names with a free 400."""

    def refuse(request: Request, body: bytes) -> Answer | None:
        try:
            scheduler = json.loads(body).get("scheduler")
        except ValueError:
            return None
        if scheduler in names:
            return _json(400, {contract.ERROR_BODY_KEY: f"scheduler={scheduler!r}: unknown"})
        return None

    return refuse


def decode(text: str) -> bytes:
    return base64.b64decode(text)


# --- Loopback ----------------------------------------------------------------------------------
@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """``app`` on a free loopback port in a background thread; yields its base URL.

    The socket names TCP and turns Nagle off, as ``mocks.serve`` does: otherwise every request on
    a reused connection waits about 40 ms for the client's delayed ACK."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_config=None, log_level="error", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive(), "the server stopped before it started"
            assert time.monotonic() < deadline, "the server did not start in time"
            time.sleep(0.005)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
