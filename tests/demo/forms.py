"""The form as the browser sends it, for tests that call the handlers directly."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pytest

import realdream
from demo import Handlers

LIMITS = realdream.LIMITS


def form(**changes: Any) -> dict[str, Any]:
    """The form's values as the browser sends them (sliders send floats)."""
    values: dict[str, Any] = {
        "prompt": "studio portrait of a lighthouse keeper",
        "negative_prompt": realdream.DEFAULT_NEGATIVE_PROMPT,
        "scheduler": realdream.DEFAULT_SCHEDULER,
        "num_inference_steps": float(LIMITS["num_inference_steps"].default),
        "guidance_scale": LIMITS["guidance_scale"].default,
        "seed": LIMITS["seed"].default,
        "img_width": float(LIMITS["img_width"].default),
        "img_height": float(LIMITS["img_height"].default),
        "samples": float(LIMITS["samples"].default),
        "api_key": "",
    }
    values.update(changes)
    return values


def error_message(handlers: Handlers, **changes: Any) -> str:
    with pytest.raises(gr.Error) as caught:
        handlers.generate(**form(**changes))
    return caught.value.message
