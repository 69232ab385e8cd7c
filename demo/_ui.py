"""``build_demo()``: the Blocks layout and its events. Every bound and default is the core's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import gradio as gr

import realdream
from demo import _text
from demo._backend import Backend, Mode
from demo._guard import Guard
from demo._handlers import (
    GENERATION_PARAMETERS,
    Handlers,
    preset_from_size,
    random_seed,
    reuse_seed,
    size_from_preset,
)
from demo._outputs import KEEP_OUTPUTS_S
from demo._presets import CUSTOM_SIZE, DEFAULT_SIZE, EXAMPLES, SIZE_PRESETS
from demo._visitor import AddressRule

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_QUEUE",
    "EXAMPLE_INPUTS",
    "GENERATE_INPUTS",
    "GENERATE_OUTPUTS",
    "build_demo",
    "launch_options",
]

#: Generations run at once; more visitors wait in the queue (each one's place is shown).
DEFAULT_CONCURRENCY: Final = 4
DEFAULT_MAX_QUEUE: Final = 64
_LIMITS = realdream.LIMITS

#: The inputs of ``/generate``: :meth:`Handlers.generate`'s parameters, in order.
GENERATE_INPUTS: Final = (*GENERATION_PARAMETERS, "api_key", "offline_mock")
#: The components an example fills, in the order of :meth:`Example.values`.
EXAMPLE_INPUTS: Final = (
    "prompt",
    "negative_prompt",
    "scheduler",
    "num_inference_steps",
    "guidance_scale",
    "seed",
    "size",
    "img_width",
    "img_height",
    "samples",
)
GENERATE_OUTPUTS: Final = ("gallery", "summary", "details", "files", "last_seed")


@dataclass(frozen=True)
class Form:
    """The input controls."""

    prompt: gr.Textbox
    negative_prompt: gr.Textbox
    scheduler: gr.Dropdown
    num_inference_steps: gr.Slider
    guidance_scale: gr.Slider
    seed: gr.Number
    size: gr.Dropdown
    img_width: gr.Slider
    img_height: gr.Slider
    samples: gr.Slider
    api_key: gr.Textbox
    offline_mock: gr.Checkbox
    generate: gr.Button
    random_seed: gr.Button
    reuse_seed: gr.Button

    def generate_inputs(self) -> list[gr.components.Component]:
        """The inputs of ``/generate``, in the order of :meth:`Handlers.generate`'s parameters."""
        return [getattr(self, name) for name in GENERATE_INPUTS]

    def example_inputs(self) -> list[gr.components.Component]:
        """The controls an example fills, in the order of :meth:`Example.values`."""
        return [getattr(self, name) for name in EXAMPLE_INPUTS]


@dataclass(frozen=True)
class Outputs:
    """The result components; ``last_seed`` is per-visitor state for "reuse last seed"."""

    gallery: gr.Gallery
    summary: gr.Markdown
    details: gr.JSON
    files: gr.File
    last_seed: gr.State

    def generate_outputs(self) -> list[gr.components.Component]:
        return [getattr(self, name) for name in GENERATE_OUTPUTS]


def build_demo(
    backend: Backend | None = None,
    *,
    output_dir: Path | None = None,
    concurrency_limit: int = DEFAULT_CONCURRENCY,
    max_queue: int = DEFAULT_MAX_QUEUE,
    guard: Guard | None = None,
    keep_outputs_mb: float | None = None,
    addresses: AddressRule | None = None,
) -> gr.Blocks:
    """The app. ``backend`` defaults to :meth:`Backend.from_env` (read now, not at import);
    on the app's own key, ``guard`` (default: the default limits, in memory) applies, counting
    anonymous visitors by ``addresses`` (default: from the environment)."""
    backend = backend or Backend.from_env()
    handlers = Handlers(
        backend, output_dir, guard=guard, keep_outputs_mb=keep_outputs_mb, addresses=addresses
    )
    keep = int(KEEP_OUTPUTS_S)  # any copies Gradio makes live as long as our files
    with _Blocks(title=_text.TITLE, analytics_enabled=False, delete_cache=(keep, keep)) as demo:
        gr.Markdown(_text.INTRO)
        _banner(handlers)
        with gr.Row():
            with gr.Column(scale=2, min_width=320):
                form = _form(handlers.backend)
                allowance = _allowance(handlers)
            with gr.Column(scale=3, min_width=320):
                outputs = _outputs()
        _examples(form)
        _wire(handlers, form, outputs, allowance, concurrency_limit)
        if allowance is not None:
            demo.load(handlers.allowance, None, allowance, **_PRIVATE)
    # api_open=False: every call goes through the queue, so a flood meets max_size ("too
    # busy, try again") instead of skipping the queue through the REST route.
    demo.queue(max_size=max_queue, default_concurrency_limit=concurrency_limit, api_open=False)
    return demo  # type: ignore[no-any-return]  # gradio is untyped here


class _Blocks(gr.Blocks):
    """Gradio's Blocks, answering an API call that sends too few inputs with one line naming
    what is missing (Gradio's own error is a multi-line traceback, shown as ``null``)."""

    def validate_inputs(self, block_fn: Any, inputs: list[Any]) -> None:
        wanted = list(block_fn.inputs)
        if len(inputs) < len(wanted):
            raise gr.Error(_missing_message(block_fn, wanted, inputs), print_exception=False)
        super().validate_inputs(block_fn, inputs)


def _missing_message(block_fn: Any, wanted: list[Any], inputs: list[Any]) -> str:
    names = [_input_name(component, n) for n, component in enumerate(wanted, 1)]
    api = f"/{block_fn.api_name}" if isinstance(block_fn.api_name, str) else "this call"
    return (
        f"{api} takes {len(wanted)} inputs ({', '.join(names)}) and got {len(inputs)}: "
        f"missing {', '.join(names[len(inputs) :])}. Nothing was sent."
    )


def _input_name(component: Any, position: int) -> str:
    name = getattr(component, "elem_id", None) or getattr(component, "label", None)
    return str(name) if name else f"input {position}"


def launch_options() -> dict[str, Any]:
    """Keyword arguments for ``demo.launch()``: Gradio 6 takes theme and CSS there.

    Run history stays off: it would keep every input, the key box included, in the
    visitor's browser. ``show_error`` stays off: only our own messages reach visitors.
    """
    return {
        "theme": _text.theme(),
        "css": _text.CSS,
        "run_history": False,
        "show_error": False,
    }


_PRIVATE: Final[dict[str, Any]] = {"api_visibility": "private", "queue": False}


def _banner(handlers: Handlers) -> None:
    backend = handlers.backend
    offline = backend.mode in (Mode.OFFLINE, Mode.FORCED_MOCK)
    kind = "offline" if offline else "online"
    settings = handlers.guard.settings if handlers.guard is not None else None
    text = _text.banner(backend, settings)
    with gr.Row(equal_height=True):
        gr.Markdown(text, elem_id="backend-banner", elem_classes=[kind], scale=4)
        if settings is not None and settings.require_login:
            gr.LoginButton(elem_id="login", scale=1, min_width=200)


def _allowance(handlers: Handlers) -> gr.Markdown | None:
    """The visitor's own allowance on the app's key (filled on page load and after a run)."""
    if handlers.guard is None:
        return None
    return gr.Markdown(elem_id="allowance", label="Your allowance")


def _slider(field: str, label: str, **options: Any) -> gr.Slider:
    limit = _LIMITS[field]
    return gr.Slider(
        limit.minimum,
        limit.maximum,
        value=limit.default,
        step=limit.step,
        label=label,
        elem_id=field,
        **options,
    )


def _form(backend: Backend) -> Form:
    prompt = gr.Textbox(
        label="Prompt",
        lines=3,
        max_length=realdream.PROMPT_MAX_LENGTH,
        placeholder="studio portrait of an old fisherman, soft window light, 85mm photo",
        elem_id="prompt",
    )
    negative = gr.Textbox(
        realdream.DEFAULT_NEGATIVE_PROMPT,
        label="Negative prompt",
        lines=2,
        max_length=realdream.PROMPT_MAX_LENGTH,
        elem_id="negative_prompt",
    )
    with gr.Row():
        size = gr.Dropdown(
            [p.label for p in SIZE_PRESETS] + [CUSTOM_SIZE],
            value=DEFAULT_SIZE,
            label="Size",
            info="SDXL sizes near one megapixel; Custom: set width and height",
            elem_id="size",
            scale=2,
        )
        samples = _slider("samples", "Images", precision=0, scale=1)
    with gr.Row():
        width = _slider("img_width", "Width", precision=0)
        height = _slider("img_height", "Height", precision=0)
    with gr.Row(equal_height=True):
        seed = gr.Number(
            _LIMITS["seed"].default,
            label="Seed",
            precision=0,
            info=_text.SEED_INFO,
            scale=3,
            elem_id="seed",
        )
        with gr.Column(scale=1, min_width=120):
            random_btn = gr.Button("Random", size="sm", elem_id="random-seed")
            reuse_btn = gr.Button("Reuse last seed", size="sm", elem_id="reuse-seed")
    with gr.Accordion("Sampler", open=False):
        scheduler = gr.Dropdown(
            _text.scheduler_choices(),
            value=realdream.DEFAULT_SCHEDULER,
            label="Scheduler",
            info=_text.SCHEDULER_INFO,
            elem_id="scheduler",
        )
        steps = _slider("num_inference_steps", "Steps", precision=0)
        guidance = _slider("guidance_scale", "Guidance scale")
    api_key = gr.Textbox(
        label="Segmind API key (optional)",
        type="password",
        placeholder="SG_…",
        info=_text.KEY_INFO,
        visible=backend.accepts_typed_key,
        elem_id="api_key",
        html_attributes=gr.InputHTMLAttributes(autocomplete="off", spellcheck=False),
    )
    offline_mock = gr.Checkbox(
        False,
        label="Offline mock (free placeholder images, nothing spent)",
        visible=backend.offers_offline_mock,
        elem_id="offline_mock",
    )
    generate = gr.Button("Generate", variant="primary", elem_id="generate")
    return Form(
        prompt=prompt,
        negative_prompt=negative,
        scheduler=scheduler,
        num_inference_steps=steps,
        guidance_scale=guidance,
        seed=seed,
        size=size,
        img_width=width,
        img_height=height,
        samples=samples,
        api_key=api_key,
        offline_mock=offline_mock,
        generate=generate,
        random_seed=random_btn,
        reuse_seed=reuse_btn,
    )


def _outputs() -> Outputs:
    gallery = gr.Gallery(
        label="Images",
        show_label=False,  # the label floated over the first image; the API keeps the name
        columns=2,
        height="auto",
        object_fit="contain",
        format="png",
        buttons=["download", "fullscreen"],
        interactive=False,
        elem_id="gallery",
    )
    summary = gr.Markdown(elem_id="summary", label="Summary")
    files = gr.File(
        label="Download PNGs (parameters embedded)",
        file_count="multiple",
        interactive=False,
        elem_id="files",
    )
    with gr.Accordion("Run details (JSON)", open=False):
        details = gr.JSON(elem_id="details", label="Run details")
    return Outputs(gallery, summary, details, files, gr.State(None))


def _examples(form: Form) -> None:
    # No fn, and cache_examples=False: examples only fill the form, never call the paid API.
    gr.Examples(
        [example.values() for example in EXAMPLES],
        inputs=form.example_inputs(),
        cache_examples=False,
        example_labels=[example.label for example in EXAMPLES],
        label="Examples (click one to fill the form)",
    )


def _wire(
    handlers: Handlers,
    form: Form,
    outputs: Outputs,
    allowance: gr.Markdown | None,
    concurrency_limit: int,
) -> None:
    run = form.generate.click(
        handlers.generate,
        inputs=form.generate_inputs(),
        outputs=outputs.generate_outputs(),
        api_name="generate",
        concurrency_limit=concurrency_limit,
        concurrency_id="generate",
        # Values reach the handler as sent, for the core to judge: Gradio's own checks answer
        # an API call's None with a generic "upstream app raised an exception", round
        # samples=2.5 to 2 silently, and word a bad scheduler their own way.
        preprocess=False,
    )
    if allowance is not None:  # after every run, refused or not
        run.then(handlers.allowance, None, allowance, **_PRIVATE)
    private = _PRIVATE
    size, width, height = form.size, form.img_width, form.img_height
    size.input(size_from_preset, [size, width, height], [width, height], **private)
    width.input(preset_from_size, [width, height], size, **private)
    height.input(preset_from_size, [width, height], size, **private)
    form.random_seed.click(random_seed, None, form.seed, **private)
    form.reuse_seed.click(
        reuse_seed, [outputs.last_seed, form.seed], form.seed, api_visibility="private"
    )
