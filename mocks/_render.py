"""Mock images: deterministic, cheap, and plainly marked as mocks. Pure; Pillow only.

A hash of the parameters picks a 4×4 palette and a few discs; they are drawn on a 1/16-scale
canvas, upscaled (nearest neighbour: the cheap step), and labelled "MOCK" with the first words
of the prompt and a caption (:func:`caption`: the seed, the sample counted from 1 as the CLI's
file names count it, the size). Encoded bytes are kept in an LRU cache keyed by every parameter.
"""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache
from typing import Final

from PIL import Image, ImageDraw, ImageFont

from realdream import GenerationRequest

__all__ = ["MARK", "caption", "image_key", "render_jpeg", "render_uncached", "title_words"]

MARK: Final = "MOCK"
JPEG_QUALITY: Final = 85
_CELL: Final = 16  # the upscale factor: one canvas pixel becomes a 16×16 block
_TITLE_CHARS: Final = 40
_CACHE_SIZE: Final = 128

ImageKey = tuple[str, str, str, int, float, int, int, int, int]
_Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def image_key(request: GenerationRequest, index: int = 0) -> ImageKey:
    """Everything an image depends on (``samples`` and ``base64`` do not change a picture)."""
    return (
        request.prompt,
        request.negative_prompt,
        request.scheduler,
        request.num_inference_steps,
        request.guidance_scale,
        request.seed,
        request.img_width,
        request.img_height,
        index,
    )


def render_jpeg(request: GenerationRequest, index: int = 0) -> bytes:
    """The JPEG of sample ``index`` (from 0) of ``request``: identical bytes for identical
    parameters."""
    return _render_cached(image_key(request, index))


def render_uncached(request: GenerationRequest, index: int = 0) -> bytes:
    """:func:`render_jpeg` without the cache (for benchmarks)."""
    return _render(image_key(request, index))


def caption(key: ImageKey) -> str:
    """The line at the foot of an image: ``seed 7 · sample 1 · 1024x1024`` for the first sample
    (samples are counted from 1 here, as the CLI's file names ``_1of2`` count them)."""
    seed, width, height, index = key[5], key[6], key[7], key[8]
    return f"seed {seed} · sample {index + 1} · {width}x{height}"


def cache_clear() -> None:
    _render_cached.cache_clear()


def title_words(prompt: str, limit: int = _TITLE_CHARS) -> str:
    """The first words of ``prompt`` that fit in ``limit`` characters, printable only."""
    words = "".join(ch if ch.isprintable() else " " for ch in prompt).split()
    title = ""
    for word in words:
        candidate = f"{title} {word}".strip()
        if len(candidate) > limit:
            return (title or word[: limit - 1]) + "…"
        title = candidate
    return title


@lru_cache(maxsize=_CACHE_SIZE)
def _render_cached(key: ImageKey) -> bytes:
    return _render(key)


def _render(key: ImageKey) -> bytes:
    prompt, width, height = key[0], key[6], key[7]
    digest = hashlib.sha512(repr(key).encode()).digest()
    image = _background(digest, width, height)
    _label(image, title_words(prompt), caption(key))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def _background(digest: bytes, width: int, height: int) -> Image.Image:
    palette = Image.frombytes("RGB", (4, 4), digest[:48])
    small_size = (max(1, -(-width // _CELL)), max(1, -(-height // _CELL)))
    canvas = palette.resize(small_size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(canvas)
    for i in range(3):
        x, y, r = digest[48 + 3 * i], digest[49 + 3 * i], digest[50 + 3 * i]
        cx, cy = x * small_size[0] // 256, y * small_size[1] // 256
        radius = 2 + r * min(small_size) // 1024
        color = (digest[i], digest[i + 16], digest[i + 32])
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=color)
    full = canvas.resize((small_size[0] * _CELL, small_size[1] * _CELL), Image.Resampling.NEAREST)
    return full if full.size == (width, height) else full.crop((0, 0, width, height))


def _label(image: Image.Image, title: str, footer: str) -> None:
    width, height = image.size
    small = _font(max(10, width // 24))
    bar = small.size * 2 if isinstance(small, ImageFont.FreeTypeFont) else 24
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, bar), fill=(0, 0, 0))
    draw.rectangle((0, height - bar, width, height), fill=(0, 0, 0))
    pad = bar // 4
    draw.text((pad, pad), f"{MARK} · {title}", font=small, fill=(255, 255, 255))
    draw.text((pad, height - bar + pad), footer, font=small, fill=(220, 220, 220))
    big = _font(max(12, min(width // 4, height // 3)))
    draw.text(
        (width // 2, height // 2),
        MARK,
        font=big,
        fill=(255, 255, 255),
        anchor="mm",
        stroke_width=max(1, width // 256),
        stroke_fill=(0, 0, 0),
    )


@lru_cache(maxsize=32)
def _font(size: int) -> _Font:
    """Pillow's built-in font (no download; scalable with FreeType, else the bitmap one)."""
    return ImageFont.load_default(size=size)
