"""The local server's tools through the official MCP client, in memory, against the mock:
what comes back, what is refused before anything is spent, and what the cap counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession

import realdream
import realdream.mock as mocks
from realdream import contract
from realdream.mcp import DEFAULT_MAX_COST
from realdream.testing.clock import SkipAheadClock
from tests.mcp._session import KEY, images, pil, rig, talk, texts

PRICE = realdream.contract.COST_PER_IMAGE_USD


def call(tools: Any, name: str, arguments: dict[str, Any]) -> Any:
    async def conversation(session: ClientSession) -> Any:
        return await session.call_tool(name, arguments)

    return talk(tools, conversation)


def test_generate_image_returns_each_image_at_the_size_asked_with_its_parameters_embedded() -> None:
    state, tools = rig()
    args = {"prompt": "a lighthouse at dusk", "samples": 2, "img_width": 512, "img_height": 768}
    result = call(tools, "generate_image", {**args, "seed": 42, "scheduler": "Euler a"})
    assert not result.isError
    got = images(result)
    assert [mime for mime, _ in got] == ["image/jpeg", "image/jpeg"]
    for index, (_, data) in enumerate(got):
        assert pil(data).size == (512, 768)
        sent = realdream.read_request(data)
        assert sent is not None
        assert (sent.prompt, sent.seed, sent.scheduler, sent.samples) == (
            args["prompt"],
            42,
            "Euler a",
            2,
        )
        assert f"Batch pos: {index}" in (realdream.read_parameters(data) or "")
    facts = result.structuredContent
    assert facts["seed"] == 42
    assert facts["parameters"]["img_height"] == 768
    assert facts["cost_usd"] == pytest.approx(2 * PRICE)
    assert facts["remaining_credits"] == pytest.approx(state.balance)
    assert "seed 42" in texts(result)
    assert '"scheduler": "Euler a"' in texts(result)


def test_a_random_seed_comes_back_resolved_so_it_can_remake_the_image() -> None:
    _, tools = rig()
    first = call(tools, "generate_image", {"prompt": "a fox", "img_width": 256, "img_height": 256})
    seed = first.structuredContent["seed"]
    assert seed >= 0
    again = call(
        tools,
        "generate_image",
        {"prompt": "a fox", "img_width": 256, "img_height": 256, "seed": seed},
    )
    assert images(again)[0][1] == images(first)[0][1]


@pytest.mark.parametrize(
    ("arguments", "field", "allowed"),
    [
        ({"prompt": "a fox", "samples": 9}, "samples=9", "between 1 and 4"),
        ({"prompt": "a fox", "img_width": 1001}, "img_width=1001", "multiple of 8"),
        ({"prompt": "a fox", "scheduler": "euler"}, "scheduler='euler'", "'UniPC'"),
        ({"prompt": "   "}, "prompt='   '", "must not be blank"),
        ({"prompt": "a fox", "steps": 8}, "steps=8", "num_inference_steps"),
        ({"prompt": "a fox", "base64": True}, "base64", "not a parameter"),
        ({}, "prompt", "is required"),
    ],
    ids=["samples", "width", "scheduler", "blank", "unknown", "base64", "missing"],
)
def test_a_bad_parameter_is_a_tool_error_naming_the_field_and_nothing_is_spent(
    arguments: dict[str, Any], field: str, allowed: str
) -> None:
    state, tools = rig()
    before = state.balance
    result = call(tools, "generate_image", arguments)
    assert result.isError
    message = texts(result)
    assert field in message
    assert allowed in message
    assert "nothing was sent or spent" in message
    assert state.balance == before
    assert state.service.stats.requests == 0
    assert state.cap.budget.spent == 0
    assert state.cap.budget.reserved == 0
    assert state.log == []


def test_at_the_cap_a_call_is_refused_saying_what_is_left_and_the_ledger_is_unchanged() -> None:
    state, tools = rig(max_cost=3 * PRICE)

    async def conversation(session: ClientSession) -> Any:
        small = {"prompt": "a fox", "img_width": 256, "img_height": 256}
        paid = await session.call_tool("generate_image", {**small, "samples": 2})
        balance = state.balance
        refused = await session.call_tool("generate_image", {**small, "samples": 2})
        assert state.balance == balance
        last = await session.call_tool("generate_image", small)  # exactly what is left
        return paid, refused, last

    paid, refused, last = talk(tools, conversation)
    assert not paid.isError
    assert not last.isError
    assert refused.isError
    assert "Spend cap reached" in texts(refused)
    assert "$0.0020 is left" in texts(refused)
    assert "Nothing was spent" in texts(refused)
    assert state.service.stats.images == 3
    assert state.cap.budget.spent == pytest.approx(3 * PRICE)
    assert len(state.log) == 2  # one line per paid call, none for the refusal
    assert all(line.startswith("realdream mcp: paid $") for line in state.log)


def test_the_default_cap_is_small() -> None:
    assert DEFAULT_MAX_COST <= 0.05


def test_a_price_higher_than_the_contract_raises_what_the_cap_reserves() -> None:
    dear = mocks.MockService(mocks.MockConfig(latency=0.0, cost_per_image=0.01))
    state, tools = rig(max_cost=0.025, service=dear)
    small = {"prompt": "a fox", "img_width": 256, "img_height": 256}

    async def conversation(session: ClientSession) -> Any:
        return [await session.call_tool("generate_image", small) for _ in range(4)]

    results = talk(tools, conversation)
    assert [r.isError for r in results] == [False, False, True, True]
    assert state.cap.budget.spent <= 0.025
    assert state.cap.budget.price == pytest.approx(0.01)


def test_a_refused_request_is_released_and_a_lost_answer_counts_as_spent() -> None:
    state, tools = rig(timeout=0.05)  # the scripted "timeout" holds its answer 30 s
    state.service.script([500, "timeout"])
    small = {"prompt": "a fox", "img_width": 256, "img_height": 256}

    async def conversation(session: ClientSession) -> Any:
        return [await session.call_tool("generate_image", small) for _ in range(2)]

    failed, lost = talk(tools, conversation)
    assert failed.isError
    assert "Nothing was spent" in texts(failed)
    assert lost.isError
    assert "counted as spent" in texts(lost)
    assert state.cap.budget.spent == pytest.approx(PRICE)
    assert len(state.log) == 1


def test_a_v2_job_is_submitted_then_collected_by_its_id() -> None:
    clock = SkipAheadClock()
    service = mocks.MockService(mocks.MockConfig(latency=5.0), clock=clock)
    state, tools = rig(service=service, clock=clock)

    async def conversation(session: ClientSession) -> Any:
        submitted = await session.call_tool(
            "submit_image_job", {"prompt": "a fox", "seed": 3, "img_width": 256, "img_height": 256}
        )
        request_id = submitted.structuredContent["request_id"]
        running = await session.call_tool("get_image_job", {"request_id": request_id})
        clock.sleep(10.0)
        done = await session.call_tool("get_image_job", {"request_id": request_id})
        again = await session.call_tool("get_image_job", {"request_id": request_id})
        return submitted, running, done, again

    submitted, running, done, again = talk(tools, conversation)
    assert not submitted.isError
    assert "get_image_job" in texts(submitted)
    assert running.structuredContent["state"] == "PROCESSING"
    assert images(running) == []
    sent = realdream.read_request(images(done)[0][1])
    assert sent is not None
    assert sent.seed == 3
    assert pil(images(done)[0][1]).size == (256, 256)
    assert images(again)[0][1] == images(done)[0][1]  # collected again, not paid again
    assert state.cap.budget.spent == pytest.approx(PRICE)
    assert state.service.stats.images == 1
    held, paid = state.log  # one line when the job is queued, one when it is paid
    assert held.startswith("realdream mcp: holding $0.0020 for job ")
    assert paid.startswith("realdream mcp: paid $0.0020 for 1 image (seed 3)")
    # each call reads the job once (Job.result), polling no status: 3 reads, 2 images, 1 submit
    request_id = submitted.structuredContent["request_id"]
    reads = [r.path for r in state.service.requests if request_id in r.path]
    assert reads == [contract.job_path(contract.V2_RESULT_PATH, request_id)] * 3
    assert state.service.stats.requests == 6


def test_a_failed_job_gives_its_reservation_back() -> None:
    state, tools = rig(max_cost=PRICE)
    state.service.script(["job-failed"])

    async def conversation(session: ClientSession) -> Any:
        submitted = await session.call_tool("submit_image_job", {"prompt": "a fox"})
        request_id = submitted.structuredContent["request_id"]
        failed = await session.call_tool("get_image_job", {"request_id": request_id})
        after = await session.call_tool("estimate_cost", {"samples": 1})
        return failed, after

    failed, after = talk(tools, conversation)
    assert failed.isError
    assert "not billed" in texts(failed)
    assert after.structuredContent["fits"] is True
    assert state.cap.budget.spent == 0


@pytest.mark.parametrize(
    "arguments",
    [{"request_id": "not an id"}, {"request_id": ""}, {"request_id": 7}, {}, {"id": "x"}],
)
def test_get_image_job_refuses_what_is_not_a_job_id_without_asking(
    arguments: dict[str, Any],
) -> None:
    state, tools = rig()
    result = call(tools, "get_image_job", arguments)
    assert result.isError
    assert "request_id" in texts(result) or "id" in texts(result)
    assert state.service.stats.requests == 0


def test_credits_and_estimates_are_free_and_say_what_the_cap_leaves() -> None:
    state, tools = rig(max_cost=0.005)

    async def conversation(session: ClientSession) -> Any:
        credits = await session.call_tool("get_credits", {})
        fits = await session.call_tool("estimate_cost", {"samples": 2})
        too_many = await session.call_tool("estimate_cost", {"samples": 4})
        bad = await session.call_tool("estimate_cost", {"samples": 0})
        return credits, fits, too_many, bad

    credits, fits, too_many, bad = talk(tools, conversation)
    assert credits.structuredContent["credits"] == pytest.approx(state.balance)
    assert "$0.0050 left" in texts(credits)
    assert fits.structuredContent == {"samples": 2, "cost_usd": 2 * PRICE, "fits": True}
    assert too_many.structuredContent["fits"] is False
    assert bad.isError
    assert "samples=0" in texts(bad)
    assert state.service.stats.images == 0
    assert state.log == []


def test_out_saves_each_image_and_the_text_gives_its_path(tmp_path: Path) -> None:
    saved: list[Path] = []

    def save(result: realdream.GenerationResult) -> list[Path]:
        paths = [image.save(tmp_path / f"image{image.index}.png") for image in result.images]
        saved.extend(paths)
        return paths

    _, tools = rig(save=save)
    result = call(tools, "generate_image", {"prompt": "a fox", "img_width": 256, "img_height": 256})
    assert saved
    assert str(saved[0]) in texts(result)
    assert realdream.read_request(saved[0].read_bytes()) is not None


def test_an_image_that_cannot_be_saved_still_comes_back_and_the_text_says_so() -> None:
    def full_disk(result: realdream.GenerationResult) -> list[Path]:
        raise OSError(28, "No space left on device")

    state, tools = rig(save=full_disk)
    result = call(tools, "generate_image", {"prompt": "a fox", "img_width": 256, "img_height": 256})
    assert not result.isError
    assert len(images(result)) == 1
    assert "Not saved: [Errno 28] No space left on device" in texts(result)
    assert state.cap.budget.spent == pytest.approx(PRICE)


def test_the_key_never_reaches_a_result_even_when_the_agent_types_it() -> None:
    _, tools = rig()

    async def conversation(session: ClientSession) -> Any:
        listed = await session.list_tools()
        made = await session.call_tool(
            "generate_image",
            {"prompt": f"a sign that reads {KEY}", "img_width": 256, "img_height": 256},
        )
        refused = await session.call_tool("generate_image", {"prompt": KEY, "samples": KEY})
        return listed, made, refused

    listed, made, refused = talk(tools, conversation)
    for shown in (
        listed.model_dump_json(),
        texts(made),
        str(made.structuredContent),
        texts(refused),
    ):
        assert KEY not in shown
    assert realdream.REDACTED in texts(made)


def test_an_unknown_tool_is_a_tool_error_listing_the_tools() -> None:
    _, tools = rig()
    result = call(tools, "make_video", {})
    assert result.isError
    assert "generate_image" in texts(result)
