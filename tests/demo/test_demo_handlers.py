"""The handlers, called directly: results, parameters embedded, every error as one message."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import realdream
import realdream.mock as mocks
from demo import Backend, Handlers, Mode, build_request
from demo._handlers import (
    preset_from_size,
    random_seed,
    reuse_seed,
    size_from_preset,
)
from demo._presets import CUSTOM_SIZE, SIZE_PRESETS
from realdream import contract
from tests.demo.forms import error_message, form

LIMITS = realdream.LIMITS
ApiBackend = Callable[..., Backend]


# --- success ---------------------------------------------------------------------------------


@pytest.mark.parametrize("samples", [1, 2, 4])
def test_every_sample_is_a_png_with_the_requests_parameters(
    handlers: Handlers, samples: int
) -> None:
    values = form(
        samples=float(samples),
        seed=968875,
        img_width=768.0,
        img_height=1152.0,
        scheduler="Euler a",
        num_inference_steps=12.0,
        guidance_scale=2.5,
    )
    out = handlers.generate(**values)
    assert len(out.gallery) == len(out.files) == samples
    for index, (path, caption) in enumerate(out.gallery):
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"#{index + 1}" in caption
        sent = realdream.request_from_parameters(realdream.read_parameters(path) or "")
        expected = {k: v for k, v in values.items() if k not in ("api_key", "samples")}
        assert {k: sent.payload[k] for k in expected} == expected
    assert out.last_seed == 968875


def test_a_random_seed_is_resolved_and_shown_everywhere(handlers: Handlers) -> None:
    out = handlers.generate(**form(seed=-1))
    assert out.last_seed >= 0
    assert f"Seed: {out.last_seed}" in (realdream.read_parameters(out.files[0]) or "")
    assert f"`{out.last_seed}`" in out.summary
    assert out.details["request"]["seed"] == out.last_seed


def test_an_empty_seed_means_random(handlers: Handlers) -> None:
    assert handlers.generate(**form(seed=None)).last_seed >= 0


def test_offline_results_say_nothing_was_spent(handlers: Handlers) -> None:
    out = handlers.generate(**form(samples=2.0, seed=7))
    assert out.details["cost_usd"] == 0.0
    assert out.details["remaining_credits"] is None
    assert out.details["elapsed_s"] >= 0
    assert out.details["offline"] is True
    assert "offline: nothing spent" in out.summary
    assert "credits left" not in out.summary
    assert "999,99" not in out.summary
    for image in out.details["images"]:
        assert image["parameters"] in out.summary
    json.dumps(out.details)  # what gr.JSON sends must be plain JSON


def test_a_visitors_own_key_shows_its_cost_and_credits(tmp_path: Path) -> None:
    service = mocks.MockService(mocks.MockConfig(latency=0, credits=1_000_000.0))
    backend = Backend(
        Mode.OFFLINE, api_transport=lambda: mocks.MockTransport(service), max_retries=0
    )
    out = Handlers(backend, tmp_path).generate(**form(samples=2.0, api_key=mocks.MOCK_API_KEY))
    cost = 2 * contract.COST_PER_IMAGE_USD
    assert out.details["cost_usd"] == pytest.approx(cost)
    assert out.details["remaining_credits"] == pytest.approx(1_000_000.0 - cost)
    assert f"cost ${cost:.4f}" in out.summary
    assert "999,999.996 credits left" in out.summary  # separated, never 1e+06
    assert "On this app's key" not in out.summary


def test_prompts_with_backticks_stay_inside_their_code_block(handlers: Handlers) -> None:
    out = handlers.generate(**form(prompt="a ``` fence ```` inside"))
    assert "`````text" in out.summary


def test_old_output_folders_are_pruned(handlers: Handlers) -> None:
    old = handlers.output_dir / "old-run"
    old.mkdir(parents=True)
    os.utime(old, (0, 0))
    handlers.generate(**form())
    assert not old.exists()


def test_a_folder_another_visitor_prunes_first_is_no_error(
    handlers: Handlers, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = handlers.output_dir / "old-run"
    old.mkdir(parents=True)
    os.utime(old, (0, 0))
    look = Path.stat

    def pruned_by_another_request_after_one_look(self: Path, **kwargs: Any) -> os.stat_result:
        info = look(self, **kwargs)
        if self == old:
            shutil.rmtree(old)  # the other visitor's prune wins the race
        return info

    monkeypatch.setattr(Path, "stat", pruned_by_another_request_after_one_look)
    out = handlers.generate(**form())
    assert not old.exists()
    assert all(Path(path).is_file() for path in out.files)


def paid_backend() -> Backend:
    """The "real API" route (credits spent), answered by an in-process mock."""
    service = mocks.MockService(mocks.MockConfig(latency=0))
    return Backend(
        Mode.SERVER_KEY,
        server_key=mocks.MOCK_API_KEY,
        api_transport=lambda: mocks.MockTransport(service),
        max_retries=0,
    )


@pytest.mark.parametrize(
    ("offline", "samples", "words"),
    [
        (False, 1, "The image was generated and paid for, but the app could not save it."),
        (False, 2, "The 2 images were generated and paid for, but the app could not save them."),
        (True, 1, "generated by the offline mock (no credits spent), but the app could not save"),
    ],
    ids=["paid", "paid-samples", "offline"],
)
def test_a_failure_to_save_after_the_call_says_it_was_generated_and_gives_the_seed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    offline: bool,
    samples: int,
    words: str,
) -> None:
    backend = Backend.offline(latency_s=0.0, max_retries=0) if offline else paid_backend()
    handlers = Handlers(backend, tmp_path / "outputs")

    def disk_full(*args: Any) -> Path:
        raise OSError(28, "No space left on device", "/srv/internal/path")

    monkeypatch.setattr("demo._outputs.save", disk_full)
    message = error_message(handlers, seed=968875.0, samples=float(samples))
    assert words in message
    assert "Generate again with seed 968875" in message
    assert "nothing was generated" not in message
    assert "/srv/internal" not in message
    assert "No space left on device" in caplog.text  # the cause is logged for the operator


# --- validation: stopped before any request, with the core's message ---------------------


@pytest.mark.parametrize(
    ("changes", "core_message"),
    [
        ({"prompt": "   "}, "prompt='   ': must not be blank"),
        ({"img_width": 1001.0}, "img_width=1001: must be a multiple of 8 between 256 and 2048"),
        ({"num_inference_steps": 101.0}, "num_inference_steps=101: must be between 1 and 100"),
        ({"scheduler": "Euler A"}, "scheduler='Euler A'"),
        ({"samples": 2.5}, "samples=2.5"),
    ],
    ids=["blank-prompt", "width-not-multiple", "too-many-steps", "bad-scheduler", "half-sample"],
)
def test_invalid_input_is_stopped_with_the_cores_message(
    handlers: Handlers, changes: dict[str, Any], core_message: str
) -> None:
    with pytest.raises(realdream.ValidationError) as core:
        build_request(**{k: v for k, v in form(**changes).items() if k != "api_key"})
    message = error_message(handlers, **changes)
    assert message == f"Invalid parameters: {core.value}"
    assert core_message in message
    assert handlers.backend.service is not None
    assert handlers.backend.service.stats.requests == 0


# --- API errors: one readable message each -------------------------------------------------


@pytest.mark.parametrize("case", mocks.FORCEABLE_CASES)
def test_each_api_error_becomes_one_readable_message(handlers: Handlers, case: str) -> None:
    assert handlers.backend.service is not None
    handlers.backend.service.script([case])
    message = error_message(handlers)
    rule = contract.rule_for_case(case)
    assert rule is not None
    assert message.startswith(f"{rule.title} ({rule.status}): ")
    assert "Traceback" not in message
    assert ".." not in message


def test_no_credits_is_a_406_that_says_so(handlers: Handlers) -> None:
    assert handlers.backend.service is not None
    handlers.backend.service.script([406])
    message = error_message(handlers)
    assert message.startswith("Not enough credits (406): ")
    assert contract.rules_for_status(406)[0].hint in message


def test_a_content_type_406_is_told_apart(api_backend: ApiBackend) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(406, json={"error": contract.message("406-content-type")})

    handlers = Handlers(api_backend(refuse))
    assert error_message(handlers).startswith("Unsupported content type (406): ")


def test_a_rate_limit_says_when_it_resets(api_backend: ApiBackend) -> None:
    def limited(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"error": "slow down"}, headers={"retry-after": "12"})

    message = error_message(Handlers(api_backend(limited)))
    assert message.startswith("Rate limited (429): slow down.")
    assert "resets in about 12 s" in message


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (httpx.ConnectError("refused"), "Could not reach api.example.test"),
        (httpx.ReadTimeout("slow"), "may have been billed"),
    ],
    ids=["connect", "read-timeout"],
)
def test_connection_failures_are_readable(
    api_backend: ApiBackend, failure: Exception, expected: str
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise failure

    assert expected in error_message(Handlers(api_backend(fail)))


def test_an_unreadable_success_body_is_readable(api_backend: ApiBackend) -> None:
    def garbage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"not an image")

    assert error_message(Handlers(api_backend(garbage))).startswith("Unreadable answer (200)")


def test_an_unexpected_crash_shows_no_internals(
    handlers: Handlers, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("internal detail /srv/secret/path")

    monkeypatch.setattr(handlers, "_call", crash)
    message = error_message(handlers)
    assert "internal detail" not in message
    assert message.startswith("Unexpected error")


# --- small controls ------------------------------------------------------------------------


def test_random_seed_is_the_cores_random_value() -> None:
    assert random_seed() == LIMITS["seed"].default


def test_reuse_seed_gives_the_last_resolved_seed() -> None:
    assert reuse_seed(968875, -1) == 968875
    assert reuse_seed(None, 5) == 5


@pytest.mark.parametrize("preset", SIZE_PRESETS, ids=lambda p: p.label)
def test_size_presets_round_trip(preset: Any) -> None:
    assert size_from_preset(preset.label, 1, 1) == (preset.width, preset.height)
    assert preset_from_size(float(preset.width), float(preset.height)) == preset.label


def test_custom_size_keeps_the_current_values() -> None:
    assert size_from_preset(CUSTOM_SIZE, 640.0, 800.0) == (640.0, 800.0)
    assert preset_from_size(640.0, 800.0) == CUSTOM_SIZE
