"""``--max-cost`` against a service that charges more than the contract's price: the mock's
own ledger is the judge, never the batch's report of what it spent."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

import realdream.mock as mocks
from realdream import contract
from realdream.cli._spending import Spending
from tests.cli._offline import SMALL, Offline

PRICE = 0.005  # what the mock bills per image: 2.5 times the contract's price


def write_batch(path: Path, count: int, samples: int = 1) -> Path:
    lines = [f'{{"prompt": "a dear fox {i}", "samples": {samples}}}' for i in range(count)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("api", ["v1", "v2"])
@pytest.mark.parametrize(
    ("cap", "items", "samples", "concurrency"),
    [
        (0.02, 10, 1, 4),
        (0.013, 6, 1, 4),
        (0.009, 4, 1, 8),
        (0.031, 7, 2, 3),
        (0.05, 25, 1, 6),
    ],
)
def test_a_dearer_service_never_takes_the_ledger_past_max_cost(
    tmp_path: Path, api: str, cap: float, items: int, samples: int, concurrency: int
) -> None:
    # The file's estimate at the contract's price fits the cap, so the run starts.
    assert items * samples * contract.COST_PER_IMAGE_USD <= cap
    offline = Offline(
        mocks.MockConfig(latency=0.0 if api == "v1" else 2.0, queue_time=1.0, credits=1.0,
                         cost_per_image=PRICE)
    )  # fmt: skip
    batch = write_batch(tmp_path / "batch.jsonl", items, samples)
    ran = offline.run("batch", batch, "-o", tmp_path / "out", "--api", api, "-c",
                      str(concurrency), "--max-cost", str(cap), *SMALL)  # fmt: skip
    billed = offline.spent()
    assert billed <= cap + 1e-9, ran.err
    # ...and it stops no earlier than it must: every item that fits at the real price is bought.
    affordable = min(items, math.floor(cap / (PRICE * samples) + 1e-9))
    assert offline.charged_images() == affordable * samples
    assert billed == pytest.approx(affordable * samples * PRICE)
    assert ran.code == 1
    assert "Stopped at the --max-cost budget" in ran.err


def test_under_a_cap_the_first_launch_goes_alone_until_an_answer_prices_an_image() -> None:
    async def scenario() -> None:
        spending = Spending(0.05)
        first = await spending.reserve(1)
        assert first is not None
        assert first.amount == contract.cost(1)
        second = asyncio.create_task(spending.reserve(1))
        third = asyncio.create_task(spending.reserve(1))
        for _ in range(5):
            await asyncio.sleep(0)  # let them run as far as they can
        assert not second.done()
        assert not third.done()
        spending.release(first)  # unbilled: nothing was priced, the next goes alone
        for _ in range(5):
            await asyncio.sleep(0)
        assert second.done() != third.done()
        turn = second if second.done() else third
        hold = turn.result()
        assert hold is not None
        spending.settle(hold, PRICE, 1)  # the answer says what an image costs
        rest = await (third if turn is second else second)
        assert rest is not None
        assert rest.amount == pytest.approx(PRICE)

    asyncio.run(scenario())


def test_without_a_cap_no_launch_waits() -> None:
    async def scenario() -> None:
        spending = Spending(None)
        holds = [await spending.reserve(1) for _ in range(8)]
        assert all(hold is not None for hold in holds)

    asyncio.run(scenario())


def test_a_price_rise_raises_every_hold_in_flight_before_anything_more_is_launched() -> None:
    async def scenario() -> None:
        spending = Spending(0.027)
        probe = await spending.reserve(1)
        assert probe is not None
        spending.settle(probe, 0.005, 1)
        a, b = await spending.reserve(1), await spending.reserve(1)
        assert a is not None
        assert b is not None
        spending.settle(a, 0.008, 1)  # dearer again: b may cost 0.008 too
        assert b.amount == pytest.approx(0.008)
        # spent 0.013 + b 0.008 + one more at 0.008 = 0.029: over the cap
        assert await spending.reserve(1) is None

    asyncio.run(scenario())


def test_when_the_cap_cannot_take_a_raised_hold_nothing_more_is_launched() -> None:
    async def scenario() -> None:
        spending = Spending(0.02)
        probe = await spending.reserve(1)
        assert probe is not None
        spending.settle(probe, 0.002, 1)
        holds = [await spending.reserve(1) for _ in range(8)]  # 0.002 + 8 * 0.002 = 0.018
        assert all(hold is not None for hold in holds)
        first = holds[0]
        assert first is not None
        spending.settle(first, 0.004, 1)  # 0.006 spent; 7 in flight need 0.028 now
        assert await spending.reserve(1) is None
        for hold in holds[1:]:
            assert hold is not None
            spending.release(hold)
        assert await spending.reserve(1) is None  # once short, the run launches no more

    asyncio.run(scenario())
