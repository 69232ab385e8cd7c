"""The Space as an MCP server: one tool, ``generate_image``, through the page's own handler.

``python app.py --mcp`` (or ``REALDREAM_MCP=1``) switches on Gradio's MCP server at
``/gradio_api/mcp/``. The tool calls the same :meth:`Handlers.generate` the Generate button
calls, so the spend guard (daily budget, balance floor, visitor limit, sign-in) applies to an
agent exactly as to a visitor; nothing here decides about money.

- **What an agent sees.** A real description and typed parameters from the contract (bounds,
  defaults, the scheduler names as an enum). It returns a text part (the seed, the exact
  parameters, the cost, the visitor's allowance) and each image as image content: one output
  per image, because a gallery reaches an agent as text. Every other endpoint of the page is
  hidden from the tool list (it stays callable by ``gradio_client``, undocumented).
- **Who the caller is.** Gradio hands the handler the MCP request itself, so the visitor is
  counted by the demo's own rule (:func:`demo._visitor.visitor_from`), which an MCP caller
  cannot forge any more than a page visitor can.
- **Sign-in.** Hugging Face sign-in does not reach MCP callers. Under
  ``REALDREAM_REQUIRE_LOGIN`` an agent sends the user's own Segmind key in the ``X-Segmind-Key``
  header (declared with :class:`gradio.Header`, so Gradio lists it in the connection details);
  that key pays for that call only and is never logged, echoed or stored.

The tool runs outside Gradio's queue (``queue=False``): Gradio 6.31's queued MCP path returns a
tool's several outputs as one text unless the client asked for progress notifications. A small
gate of its own (the page's concurrency) answers "busy" instead of queueing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from typing import Any, Final, Optional, get_type_hints

import gradio as gr
from gradio.components import Component
from gradio.events import api as gradio_api

from demo._handlers import GENERATION_PARAMETERS, GenerateOutput, Handlers
from demo._settings import env_flag
from realdream import DEFAULT_NEGATIVE_PROMPT, DEFAULT_SCHEDULER, LIMITS, Scheduler

__all__ = [
    "KEY_HEADER",
    "MAX_IMAGES",
    "MCP_ENV",
    "TOOL_NAME",
    "enable_mcp",
    "mcp_from_env",
    "tool_description",
]

MCP_ENV: Final = "REALDREAM_MCP"
TOOL_NAME: Final = "generate_image"
#: The header that carries an MCP caller's own Segmind key (Gradio lists it as x-segmind-key).
KEY_HEADER: Final = "X-Segmind-Key"
#: One image output per sample the contract allows; unused ones come back empty.
MAX_IMAGES: Final = int(LIMITS["samples"].maximum)
_PAGE_ENDPOINT: Final = "generate"
#: The guard's advice to a page visitor, and the same advice to an MCP caller.
_PAGE_HINT: Final = "Paste your own Segmind key to generate now."
_MCP_HINT: Final = f"Send your own Segmind key in the {KEY_HEADER} header to generate now."
_ERROR_TITLE: Final = "Could not generate"

ImageOutput = gr.FileData | str
ToolOutputs = tuple[str, ImageOutput, ImageOutput, ImageOutput, ImageOutput]


def mcp_from_env(env: Mapping[str, str]) -> bool:
    """``REALDREAM_MCP`` as a flag (1/true/yes/on); a bad value names the variable."""
    return env_flag(env, MCP_ENV)


class _ToolError(gr.Error):
    """A gr.Error whose text (what an MCP client shows) is the message, not its repr."""

    def __str__(self) -> str:
        return str(self.message)


def tool_description() -> str:
    """The tool's docstring: what it does and costs, then one line per parameter."""
    from realdream.mcp import parameter_descriptions

    lines = [
        "Generate photorealistic images from a text prompt with Segmind's RealDream Lightning "
        "(SDXL), through this app. Returns a text part (the seed, the exact parameters, the "
        "cost, what you may still make) and each image. On the app's own key a daily budget "
        "and a per-caller hourly limit apply; a refusal says why and when it lifts. An invalid "
        f"call is refused before anything is spent. Send your own Segmind key in the "
        f"{KEY_HEADER} header to use it instead (required when the app requires sign-in).",
        "",
        "Args:",
    ]
    lines += [f"    {name}: {text}" for name, text in parameter_descriptions().items()]
    return "\n".join(lines)


def _tool(handlers: Handlers, gate: threading.BoundedSemaphore) -> Callable[..., ToolOutputs]:
    """The tool function: its signature and docstring are what Gradio turns into the schema."""

    def generate_image(
        prompt: str,
        negative_prompt: str = DEFAULT_NEGATIVE_PROMPT,
        scheduler: Scheduler = DEFAULT_SCHEDULER,
        num_inference_steps: int = int(LIMITS["num_inference_steps"].default),
        guidance_scale: float = LIMITS["guidance_scale"].default,
        seed: int = int(LIMITS["seed"].default),
        img_width: int = int(LIMITS["img_width"].default),
        img_height: int = int(LIMITS["img_height"].default),
        samples: int = int(LIMITS["samples"].default),
        request: gr.Request | None = None,
        # Optional[...], not `| None`: Gradio lists a header only for exactly these hints.
        x_segmind_key: Optional[gr.Header] = None,  # noqa: UP045
    ) -> ToolOutputs:
        key = (x_segmind_key or "").strip() or None
        form = (prompt, negative_prompt, scheduler, num_inference_steps, guidance_scale)
        size = (seed, img_width, img_height, samples)
        if not gate.acquire(blocking=False):
            raise _ToolError(_busy(), title=_ERROR_TITLE, print_exception=False)
        try:
            _check_sign_in(handlers, key)
            out = handlers.generate(*form, *size, key, False, _NoProgress(), request, None)
        except gr.Error as exc:
            message = str(exc.message).replace(_PAGE_HINT, _MCP_HINT)
            raise _ToolError(message, title=_ERROR_TITLE, print_exception=False) from None
        finally:
            gate.release()
        return _outputs(out)

    generate_image.__doc__ = tool_description()
    # Gradio reads the return annotation unevaluated: give it the real tuple (five outputs).
    generate_image.__annotations__ = get_type_hints(generate_image)
    return generate_image


class _NoProgress(gr.Progress):
    """An MCP call has no progress bar: the handler's progress reports go nowhere."""

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        return None


def _busy() -> str:
    return (
        "The app is busy: as many generations as it runs at once are in progress. Try again in "
        "a few seconds. Nothing was spent."
    )


def _check_sign_in(handlers: Handlers, key: str | None) -> None:
    """The guard's sign-in rule, in an MCP caller's words: a caller cannot sign in, so on the
    app's key it needs its own (the guard would refuse it all the same)."""
    guard = handlers.guard
    if key is not None or guard is None or not guard.settings.require_login:
        return
    if handlers.backend.route(None).server_key:
        raise _ToolError(
            "This app lets only signed-in users spend its own key, and Hugging Face sign-in "
            f"does not reach MCP callers: send your own Segmind key in the {KEY_HEADER} header "
            "(set it in your MCP client's configuration; it pays for your calls only and is "
            "never stored). Nothing was spent.",
            title=_ERROR_TITLE,
            print_exception=False,
        )


def _outputs(out: GenerateOutput) -> ToolOutputs:
    """The text part, then one image per output (empty where fewer images were asked for)."""
    text = f"{out.summary}\n\nRun details (JSON): {json.dumps(out.details, ensure_ascii=False)}"
    images: list[ImageOutput] = [gr.FileData(path=f, mime_type="image/png") for f in out.files]
    images += [""] * (MAX_IMAGES - len(images))
    return (text, images[0], images[1], images[2], images[3])


def _page_handlers(demo: gr.Blocks) -> Handlers:
    """The :class:`Handlers` behind the page's Generate button: one guard, one output folder."""
    for fn in demo.fns.values():
        handlers = getattr(fn.fn, "__self__", None)
        if fn.api_name == _PAGE_ENDPOINT and isinstance(handlers, Handlers):
            return handlers
    raise RuntimeError("enable_mcp needs the demo from build_demo(): no /generate endpoint found")


def _hide_page_endpoints(demo: gr.Blocks) -> None:
    """The page's endpoints stay callable (gradio_client) but leave the API docs and so the
    MCP tool list: ``/generate`` takes a key as an argument and returns a gallery."""
    for fn in demo.fns.values():
        if fn.api_visibility == "public" and fn.api_name != TOOL_NAME:
            fn.api_visibility = "undocumented"


def _add_bounds(demo: gr.Blocks) -> None:
    """Put the contract's bounds (minimum, maximum, multipleOf, lengths, the scheduler enum)
    into the tool's schema: ``gr.api`` derives only types and defaults from the signature.

    Gradio's MCP server checks calls against this schema before the handler runs (its message
    names the value and the bound); what it lets through, the core validates as for the page.
    The prompt's not-blank pattern stays out: the core's "must not be blank" reads better than
    a regular expression.
    """
    from realdream.mcp import generation_schema

    properties = generation_schema()["properties"]
    for fn in demo.fns.values():
        if fn.api_name != TOOL_NAME:
            continue
        for name, component in zip(GENERATION_PARAMETERS, fn.inputs, strict=True):
            if not isinstance(component, Component):
                continue
            bounds = {k: v for k, v in properties[name].items() if k not in _NOT_COPIED}
            component.api_info().update(bounds)  # the component's own schema dict


_NOT_COPIED: Final = frozenset({"description", "pattern"})


def enable_mcp(demo: gr.Blocks, *, concurrency: int) -> None:
    """Add the ``generate_image`` tool to ``demo`` (from :func:`build_demo`), bound to the page's
    own handler, and hide the page's endpoints from the tool list. Launch with
    ``mcp_server=True``. At most ``concurrency`` tool calls generate at once."""
    handlers = _page_handlers(demo)
    gate = threading.BoundedSemaphore(max(1, concurrency))
    with demo:
        gradio_api(
            _tool(handlers, gate),
            api_name=TOOL_NAME,
            queue=False,
            api_visibility="public",
        )
    _hide_page_endpoints(demo)  # after the block: leaving it adds the login button's event again
    _add_bounds(demo)
