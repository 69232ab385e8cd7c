"""The live plugin's cap, through its transports, against a stand-in with its own ledger (an
``httpx.MockTransport``): it reserves at the highest price seen, counts what the balance
measured (not what the service announced), holds a v2 job until a poll sees it end, and stops
when the balance cannot be read."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

import httpx
import pytest

from realdream import Budget, contract
from realdream.testing._live import AsyncCappedTransport, CappedTransport, LiveMeter

KEY = "SG_0123456789abcdef"
URL = "http://stand-in.test"
BODY = {"prompt": "a fox", "samples": 1}


@dataclass
class StandIn:
    """A service that bills ``price`` an image on its ledger and announces ``announced``."""

    price: float
    announced: float
    balance: float = 10.0
    credits_answer: int = 200
    jobs: dict[str, bool] = field(default_factory=dict)  # id -> billed
    requests: list[str] = field(default_factory=list)

    @property
    def spent(self) -> float:
        return round(10.0 - self.balance, 6)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests.append(f"{request.method} {path}")
        if path == contract.CREDITS_PATH:
            data = f'{{"credits": {self.balance}, "free-credits": 0}}'.encode()  # NaN stays NaN
            return httpx.Response(self.credits_answer, content=data)
        if path == contract.GENERATE_PATH:
            self.balance -= self.price
            headers = {contract.HEADER_COST: str(self.announced)}
            return httpx.Response(200, headers=headers, content=b"\xff\xd8\xff")
        if path == contract.V2_SUBMIT_PATH:
            job = str(uuid.uuid4())
            self.jobs[job] = False
            return httpx.Response(200, json={"request_id": job, "status": "QUEUED"})
        job = path.split("/")[3]
        if not self.jobs[job]:  # the job completes on its first poll, and is billed then
            self.jobs[job] = True
            self.balance -= self.price
        return httpx.Response(200, json={"status": "COMPLETED", "request_id": job})


def _client(service: StandIn, cap: float) -> tuple[httpx.Client, LiveMeter]:
    meter = LiveMeter(Budget(cap))
    transport = CappedTransport(httpx.MockTransport(service), meter)
    return httpx.Client(base_url=URL, transport=transport, headers={"x-api-key": KEY}), meter


def _images_until_skipped(http: httpx.Client) -> tuple[int, str]:
    for sent in range(100):
        try:
            http.post(contract.GENERATE_PATH, json=BODY)
        except pytest.skip.Exception as skipped:
            return sent, str(skipped)
    raise AssertionError("never skipped")


#: (what the stand-in takes per image, what it announces in x-cost)
PRICES = [(0.005, 0.002), (0.005, 0.005), (0.01, 0.002), (0.02, 0.02)]


@pytest.mark.parametrize(("price", "announced"), PRICES)
def test_the_cap_holds_on_the_ledger_past_the_first_image(price: float, announced: float) -> None:
    service = StandIn(price, announced)
    http, meter = _client(service, cap=0.012)
    sent, why = _images_until_skipped(http)
    # Only the first image, reserved at the contract's price, could pass the cap on its own.
    assert service.spent <= max(0.012, price)
    assert service.spent == pytest.approx(sent * price)
    assert meter.budget.spent == pytest.approx(service.spent)  # as measured, not as announced
    assert meter.budget.price == pytest.approx(price)
    assert f"${price:g} more would pass the $0.012 cap" in why


def test_a_service_that_announces_more_than_it_takes_is_counted_at_its_word() -> None:
    service = StandIn(price=0.001, announced=0.002)
    http, meter = _client(service, cap=0.01)
    sent, _ = _images_until_skipped(http)
    assert sent == 5
    assert service.spent == pytest.approx(0.005)
    assert meter.budget.spent == pytest.approx(0.01)  # never less than a 200 announced


def test_a_v2_job_is_held_until_a_poll_sees_it_end_then_counted_once() -> None:
    service = StandIn(price=0.003, announced=0.003)
    http, meter = _client(service, cap=0.01)
    job = http.post(contract.V2_SUBMIT_PATH, json=BODY).json()["request_id"]
    assert (meter.budget.spent, meter.pending) == (0.0, pytest.approx(0.002))
    assert meter.budget.reserved == pytest.approx(0.002)
    http.get(contract.job_path(contract.V2_STATUS_PATH, job))
    assert service.spent == pytest.approx(0.003)
    assert meter.budget.spent == pytest.approx(0.003)
    assert (meter.pending, meter.budget.reserved) == (0.0, 0.0)
    http.post(contract.GENERATE_PATH, json=BODY)
    assert meter.budget.spent == pytest.approx(service.spent) == pytest.approx(0.006)


@pytest.mark.parametrize("answer", [500, 200])
def test_a_balance_that_cannot_be_read_sends_nothing_billable(answer: int) -> None:
    service = StandIn(price=0.002, announced=0.002, credits_answer=answer)
    if answer == 200:
        service.balance = float("nan")  # answered, but not a balance that can be true
    http, meter = _client(service, cap=0.01)
    with pytest.raises(pytest.skip.Exception, match="the balance could not be read before"):
        http.post(contract.GENERATE_PATH, json=BODY)
    assert service.requests == [f"GET {contract.CREDITS_PATH}"]
    assert meter.stopped


async def _async_images_until_skipped(http: httpx.AsyncClient) -> tuple[int, str]:
    for sent in range(100):
        try:
            await http.post(contract.GENERATE_PATH, content=json.dumps(BODY))
        except pytest.skip.Exception as skipped:
            return sent, str(skipped)
    raise AssertionError("never skipped")


@pytest.mark.anyio
async def test_the_async_twin_holds_the_same_cap() -> None:
    service = StandIn(price=0.005, announced=0.002)
    meter = LiveMeter(Budget(0.012))
    transport = AsyncCappedTransport(httpx.MockTransport(service), meter)
    async with httpx.AsyncClient(
        base_url=URL, transport=transport, headers={"x-api-key": KEY}
    ) as http:
        sent, why = await _async_images_until_skipped(http)
    assert sent == 2
    assert "$0.005 more would pass the $0.012 cap" in why
    assert service.spent == pytest.approx(0.01)
    assert meter.budget.spent == pytest.approx(0.01)
