"""Stand-ins that differ from the mock on money, on purpose: they bill on the mock's own ledger
(the one the credits call reads) and say something else. Money is counted on that ledger."""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.requests import Request

import realdream.mock as mocks
from realdream import contract
from tests.verify.apps import Answer, Change, micros


def debit(service: mocks.MockService, usd: float) -> None:
    """Take ``usd`` from the stand-in's ledger (what its credits call then reports)."""
    cost = micros(usd)
    assert service.ledger.reserve(cost)
    service.ledger.commit(cost)


def spent(service: mocks.MockService) -> float:
    """What the stand-in's own ledger says was spent."""
    return round(service.config.credits - service.balance, 6)


def announcing(price: float) -> Change:
    """A v1 service that announces ``price`` per image in ``x-cost``, whatever it billed."""

    def change(request: Request, body: bytes, answer: Answer) -> Answer:
        if answer.status != 200 or contract.HEADER_COST not in answer.headers:
            return answer
        images = json.loads(body).get("samples", 1)
        headers = {**answer.headers, contract.HEADER_COST: f"{round(price * images, 6)}"}
        return Answer(200, headers, answer.body)

    return change


def billing_errors(service: mocks.MockService, status: int, usd: float) -> Change:
    """A v1 service that bills ``usd`` for every ``status`` answer (the contract bills none)."""

    def change(request: Request, body: bytes, answer: Answer) -> Answer:
        if answer.status == status:
            debit(service, usd)
        return answer

    return change


def credits_body(text: bytes) -> Change:
    """A service whose credits call answers ``text`` (200, JSON) instead of the balance."""

    def change(request: Request, body: bytes, answer: Answer) -> Answer:
        if request.url.path != contract.CREDITS_PATH or answer.status != 200:
            return answer
        return Answer(200, {"content-type": "application/json"}, text)

    return change


class NoIdQueue:
    """A v2 queue that answers every submit 200 with no usable ``request_id`` and bills one
    image for it: at once on its ledger (``late=False``), or only when :meth:`run_late` runs
    the jobs it queued (a bill that comes after the run)."""

    def __init__(self, service: mocks.MockService, *, late: bool = False) -> None:
        self.service = service
        self.late = late
        self.queued = 0

    def __call__(self, request: Request, body: bytes) -> Answer:
        if request.method != "POST" or request.url.path != contract.V2_SUBMIT_PATH:
            data = {contract.ERROR_BODY_KEY: contract.message("404")}
            return Answer(404, {"content-type": "application/json"}, json.dumps(data).encode())
        if self.late:
            self.queued += 1
        else:
            debit(self.service, self.service.config.cost_per_image)
        data = {"request_id": "", "status": "QUEUED"}
        return Answer(200, {"content-type": "application/json"}, json.dumps(data).encode())

    def run_late(self) -> None:
        for _ in range(self.queued):
            debit(self.service, self.service.config.cost_per_image)
        self.queued = 0


def result_announcing(price: float) -> Callable[[dict[str, object]], dict[str, object]]:
    """A v2 result whose ``metrics.cost`` says ``price``, whatever the job was billed."""

    def change(body: dict[str, object]) -> dict[str, object]:
        metrics = body[contract.JOB_METRICS_KEY]
        assert isinstance(metrics, dict)
        metrics[contract.METRIC_COST] = price
        return body

    return change
