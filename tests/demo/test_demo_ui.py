"""The built app: its controls read the core's bounds, its events and launch options are safe."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

import realdream
from demo import (
    EXAMPLES,
    GENERATE_INPUTS,
    SIZE_PRESETS,
    Backend,
    Handlers,
    Mode,
    build_demo,
    build_request,
    launch_options,
)
from demo._text import banner
from demo._ui import DEFAULT_CONCURRENCY, DEFAULT_MAX_QUEUE

ROOT = Path(__file__).resolve().parents[2]
LIMITS = realdream.LIMITS


def build(backend: Backend) -> gr.Blocks:
    """Build inside a running loop: outside one, Gradio makes event loops it never closes."""

    async def inside_a_loop() -> gr.Blocks:
        return build_demo(backend)

    return asyncio.run(inside_a_loop())


@pytest.fixture(scope="module")
def demo() -> gr.Blocks:
    return build(Backend.offline(latency_s=0.0))


def by_id(demo: gr.Blocks) -> dict[str, Any]:
    return {block.elem_id: block for block in demo.blocks.values() if block.elem_id}


def generate_fn(demo: gr.Blocks) -> Any:
    (fn,) = [fn for fn in demo.fns.values() if fn.api_name == "generate"]
    return fn


# --- every bound, default and name comes from the core ----------------------------------


@pytest.mark.parametrize(
    "field", ["samples", "num_inference_steps", "guidance_scale", "img_width", "img_height"]
)
def test_sliders_use_the_cores_limits(demo: gr.Blocks, field: str) -> None:
    slider = by_id(demo)[field]
    limit = LIMITS[field]
    assert (slider.minimum, slider.maximum, slider.step) == (
        limit.minimum,
        limit.maximum,
        limit.step,
    )
    assert slider.value == limit.default


def test_text_fields_use_the_cores_defaults(demo: gr.Blocks) -> None:
    blocks = by_id(demo)
    assert blocks["negative_prompt"].value == realdream.DEFAULT_NEGATIVE_PROMPT
    assert blocks["prompt"].max_length == realdream.PROMPT_MAX_LENGTH
    assert blocks["negative_prompt"].max_length == realdream.PROMPT_MAX_LENGTH


def test_every_scheduler_is_offered_with_the_default_selected(demo: gr.Blocks) -> None:
    scheduler = by_id(demo)["scheduler"]
    assert tuple(value for _, value in scheduler.choices) == realdream.SCHEDULERS
    assert scheduler.value == realdream.DEFAULT_SCHEDULER


def test_seed_defaults_to_random(demo: gr.Blocks) -> None:
    seed = by_id(demo)["seed"]
    assert seed.value == LIMITS["seed"].default
    assert seed.precision == 0


@pytest.mark.parametrize("preset", SIZE_PRESETS, ids=lambda p: p.label)
def test_size_presets_are_valid_and_near_one_megapixel(preset: Any) -> None:
    realdream.GenerationRequest.create(prompt="x", img_width=preset.width, img_height=preset.height)
    assert 0.8e6 <= preset.width * preset.height <= 1.1e6


def test_size_presets_include_the_reference_portrait_and_the_square() -> None:
    sizes = {(p.width, p.height) for p in SIZE_PRESETS}
    assert {(768, 1152), (1024, 1024)} <= sizes


def test_the_first_example_is_the_reference_pages_request() -> None:
    reference = EXAMPLES[0]
    values = dict(zip(_example_inputs(), reference.values(), strict=True))
    assert reference.prompt.startswith("girl in a hat, in a dress Russian patterns")
    assert (values["img_width"], values["img_height"], values["seed"]) == (768, 1152, 968875)
    assert values["scheduler"] == "DPM++ SDE"
    assert values["num_inference_steps"] == 8
    assert values["guidance_scale"] == 1.2
    assert values["negative_prompt"] == (
        "blemishes,(worst quality, low quality, illustration, 3d, 2d, painting, cartoons,"
        " sketch), open mouth"
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.label)
def test_every_example_is_a_valid_request(example: Any) -> None:
    values = dict(zip(_example_inputs(), example.values(), strict=True))
    del values["size"]
    build_request(**values)


def _example_inputs() -> tuple[str, ...]:
    from demo._ui import EXAMPLE_INPUTS

    return EXAMPLE_INPUTS


def test_examples_never_run_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[Any] = []
    make_examples = gr.Examples

    def record(*args: Any, **kwargs: Any) -> Any:
        built.append(make_examples(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(gr, "Examples", record)
    monkeypatch.setenv("GRADIO_CACHE_EXAMPLES", "true")  # what a Space may set
    app = build(Backend.offline(latency_s=0.0))
    (examples,) = built
    assert examples.fn is None  # nothing to call: a click only fills the form
    assert examples.cache_examples is False  # nothing run at start-up either
    assert examples.run_on_click is False
    assert len(examples.dataset.samples) == len(EXAMPLES)
    load = [fn for fn in app.fns.values() if fn.api_name == "load_example"]
    assert [fn.fn.__name__ for fn in load] == ["load_example"]


# --- the generate event -------------------------------------------------------------------


def test_generate_is_the_one_public_api(demo: gr.Blocks) -> None:
    public = [fn.api_name for fn in demo.fns.values() if fn.api_visibility == "public"]
    assert public == ["generate"]


def test_generate_inputs_match_the_handlers_parameters(demo: gr.Blocks) -> None:
    parameters = list(inspect.signature(Handlers.generate).parameters)
    assert parameters == ["self", *GENERATE_INPUTS, "progress", "request", "profile"]
    fn = generate_fn(demo)
    ids = [block.elem_id for block in fn.inputs]
    assert ids[:5] == [
        "prompt",
        "negative_prompt",
        "scheduler",
        "num_inference_steps",
        "guidance_scale",
    ]
    assert ids[6:] == ["img_width", "img_height", "samples", "api_key", "offline_mock"]


def test_gradio_injects_the_request_and_profile_rather_than_asking_for_them(
    demo: gr.Blocks,
) -> None:
    endpoint = demo.get_api_info()["named_endpoints"]["/generate"]
    assert [p["parameter_name"] for p in endpoint["parameters"]] == list(GENERATE_INPUTS)


def test_every_output_of_generate_has_a_name(demo: gr.Blocks) -> None:
    endpoint = demo.get_api_info()["named_endpoints"]["/generate"]
    labels = [returned["label"] for returned in endpoint["returns"]]
    assert labels == ["Images", "Summary", "Run details", "Download PNGs (parameters embedded)"]


def test_generate_is_queued_with_a_concurrency_limit(demo: gr.Blocks) -> None:
    fn = generate_fn(demo)
    assert fn.queue is True
    assert fn.concurrency_limit == DEFAULT_CONCURRENCY
    assert demo._queue.max_size == DEFAULT_MAX_QUEUE


def test_gallery_gets_png_files_not_pil_images(demo: gr.Blocks) -> None:
    gallery = by_id(demo)["gallery"]
    assert gallery.format == "png"
    assert "download" in gallery.buttons


# --- the key box, banners and launch options ------------------------------------------------


def test_the_key_box_is_a_password_field_and_never_state(demo: gr.Blocks) -> None:
    key = by_id(demo)["api_key"]
    assert key.type == "password"
    assert key.visible is True
    states = [b for b in demo.blocks.values() if isinstance(b, gr.State)]
    assert all(state.value is None for state in states)


def test_forced_mock_mode_hides_the_key_box() -> None:
    forced = build(Backend.offline(mode=Mode.FORCED_MOCK, latency_s=0.0))
    assert by_id(forced)["api_key"].visible is False


@pytest.mark.parametrize(
    ("backend", "words"),
    [
        (Backend(Mode.OFFLINE), "images are offline placeholders"),
        (Backend(Mode.FORCED_MOCK), "images are offline placeholders"),
        (Backend(Mode.SERVER_KEY, server_key="SG_0000000000000000"), "Segmind's API"),
        (Backend(Mode.CUSTOM_SERVER, base_url="http://127.0.0.1:8000"), "127.0.0.1:8000"),
    ],
    ids=lambda v: v.mode.value if isinstance(v, Backend) else "",
)
def test_the_banner_says_where_images_come_from(backend: Backend, words: str) -> None:
    assert words in banner(backend)
    assert "SG_0000000000000000" not in banner(backend)


def test_launch_options_keep_inputs_and_internals_private() -> None:
    options = launch_options()
    assert options["run_history"] is False
    assert options["show_error"] is False
    assert isinstance(options["theme"], gr.themes.Base)
    assert "#backend-banner" in options["css"]
    accepted = inspect.signature(gr.Blocks.launch).parameters
    assert set(options) <= set(accepted)


# --- backend selection ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        ({}, Mode.OFFLINE),
        ({"SEGMIND_API_KEY": "SG_0000000000000000"}, Mode.SERVER_KEY),
        ({"REALDREAM_BASE_URL": "http://127.0.0.1:8000"}, Mode.CUSTOM_SERVER),
        ({"SEGMIND_API_KEY": "SG_0000000000000000", "REALDREAM_MOCK": "1"}, Mode.FORCED_MOCK),
        ({"REALDREAM_MOCK": "true"}, Mode.FORCED_MOCK),
        ({"SEGMIND_API_KEY": "  "}, Mode.OFFLINE),
    ],
)
def test_backend_follows_the_environment(env: Mapping[str, str], mode: Mode) -> None:
    assert Backend.from_env(env).mode is mode


def test_the_mock_option_forces_offline_mode() -> None:
    env = {"SEGMIND_API_KEY": "SG_0000000000000000"}
    assert Backend.from_env(env, force_mock=True).mode is Mode.FORCED_MOCK


def test_each_offline_app_has_its_own_mock_service() -> None:
    first, second = Backend.from_env({}), Backend.from_env({})
    assert first.service is not None
    assert first.service is not second.service


def test_mock_latency_comes_from_the_environment() -> None:
    assert Backend.from_env({"REALDREAM_MOCK_LATENCY": "0.25"}).mock_latency_s == 0.25
    with pytest.raises(realdream.ConfigurationError, match="REALDREAM_MOCK_LATENCY"):
        Backend.from_env({"REALDREAM_MOCK_LATENCY": "soon"})


def test_the_server_key_never_shows_in_the_backends_repr() -> None:
    backend = Backend.from_env({"SEGMIND_API_KEY": "SG_0000000000000000"})
    assert "SG_0000000000000000" not in repr(backend)


def test_without_sign_in_required_the_page_has_no_login_button() -> None:
    built = build(Backend.from_env({"SEGMIND_API_KEY": "SG_0000000000000000"}))
    assert not built.expects_oauth
    assert "login" not in by_id(built)


def test_building_the_app_writes_nothing_into_the_package(demo: gr.Blocks) -> None:
    assert not list((ROOT / "demo").glob("*.pyi"))  # Gradio writes one per component subclass
