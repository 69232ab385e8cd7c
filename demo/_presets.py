"""Size presets and example prompts. Bounds and defaults come from :mod:`realdream`."""

from __future__ import annotations

from typing import Any, Final, NamedTuple

import realdream

__all__ = [
    "CUSTOM_SIZE",
    "DEFAULT_SIZE",
    "EXAMPLES",
    "SIZE_PRESETS",
    "Example",
    "SizePreset",
    "preset_for",
    "size_of",
]


class SizePreset(NamedTuple):
    """An SDXL size near one megapixel, and its label in the size menu."""

    width: int
    height: int
    shape: str

    @property
    def label(self) -> str:
        return f"{self.width} × {self.height} ({self.shape})"


#: The sizes SDXL was trained on (about one megapixel each), plus the reference page's size.
SIZE_PRESETS: Final = (
    SizePreset(1024, 1024, "square"),
    SizePreset(768, 1152, "2:3, reference"),
    SizePreset(832, 1216, "portrait"),
    SizePreset(896, 1152, "portrait"),
    SizePreset(768, 1344, "tall"),
    SizePreset(640, 1536, "tallest"),
    SizePreset(1152, 896, "landscape"),
    SizePreset(1216, 832, "landscape"),
    SizePreset(1344, 768, "wide"),
    SizePreset(1536, 640, "widest"),
)
CUSTOM_SIZE: Final = "Custom"


def preset_for(width: float | None, height: float | None) -> str:
    """The menu label for ``width`` × ``height``: a preset's, or :data:`CUSTOM_SIZE`."""
    for preset in SIZE_PRESETS:
        if (preset.width, preset.height) == (width, height):
            return preset.label
    return CUSTOM_SIZE


def size_of(label: str) -> tuple[int, int] | None:
    """The width and height of a preset label; ``None`` for :data:`CUSTOM_SIZE`."""
    for preset in SIZE_PRESETS:
        if preset.label == label:
            return preset.width, preset.height
    return None


DEFAULT_SIZE: Final = preset_for(
    realdream.LIMITS["img_width"].default, realdream.LIMITS["img_height"].default
)


class Example(NamedTuple):
    """A prompt that shows the model off; unset parameters take the API's defaults."""

    label: str
    prompt: str
    seed: int
    width: int
    height: int

    def values(self) -> list[Any]:
        """The example as the generate inputs, in order (see ``demo._ui.INPUT_NAMES``)."""
        limits = realdream.LIMITS
        return [
            self.prompt,
            realdream.DEFAULT_NEGATIVE_PROMPT,
            realdream.DEFAULT_SCHEDULER,
            int(limits["num_inference_steps"].default),
            limits["guidance_scale"].default,
            self.seed,
            preset_for(self.width, self.height),
            self.width,
            self.height,
            int(limits["samples"].default),
        ]


#: The first is the reference page's own sample: 768×1152, seed 968875, DPM++ SDE, 8 steps,
#: guidance 1.2 and its negative prompt (which are also the API's defaults).
EXAMPLES: Final = (
    Example(
        "Reference page: girl in a hat in a cornfield",
        "girl in a hat, in a dress Russian patterns, freckles, cornfield, nature background, "
        "beautiful landscape, retro style, fashion, magazine cover, professional quality, "
        "aesthetics, gentle, beautiful, realism,high detail,high quality, 64k, high resolution, "
        "professional photo",
        968875,
        768,
        1152,
    ),
    Example(
        "Old fisherman, harbour light",
        "close-up portrait of an elderly fisherman with a weathered face and a white beard, "
        "wool cap, overcast harbour light, 85mm lens, shallow depth of field, film grain, "
        "professional photo",
        42,
        832,
        1216,
    ),
    Example(
        "Red curls, window light",
        "studio portrait of a young woman with short curly red hair and freckles, soft window "
        "light, neutral grey backdrop, natural skin texture, 50mm photo, high detail",
        1234,
        896,
        1152,
    ),
    Example(
        "Jazz saxophonist on stage",
        "environmental portrait of a jazz saxophonist on a dim club stage, warm tungsten "
        "spotlight, smoke haze, candid expression, high detail, professional photo",
        2024,
        768,
        1344,
    ),
    Example(
        "Chef in a busy kitchen",
        "portrait of a chef in a white jacket in a busy restaurant kitchen, arms crossed, "
        "background bokeh, natural light, realism, professional photo",
        777,
        1024,
        1024,
    ),
)
