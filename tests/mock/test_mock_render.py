"""Mock images: exact size, deterministic, different per seed and prompt, marked, and cheap."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageStat

from realdream import GenerationRequest
from realdream.mock import _render

BASE = GenerationRequest.create(prompt="a lighthouse on a cliff at dusk, stormy sea", seed=1)


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return image.convert("RGB")


def mean_difference(a: bytes, b: bytes) -> float:
    diff = ImageChops.difference(decode(a), decode(b))
    return sum(ImageStat.Stat(diff).mean) / 3


@pytest.mark.parametrize(("width", "height"), [(256, 256), (768, 1152), (1024, 1024), (2048, 264)])
def test_images_have_exactly_the_requested_size(width: int, height: int) -> None:
    data = _render.render_jpeg(BASE.replace(img_width=width, img_height=height))
    assert decode(data).size == (width, height)


def test_the_same_parameters_give_identical_bytes_even_uncached() -> None:
    assert _render.render_uncached(BASE) == _render.render_uncached(BASE)
    assert _render.render_jpeg(BASE) == _render.render_uncached(BASE)


@pytest.mark.parametrize(
    "change",
    [
        {"seed": 2},
        {"prompt": "a red fox in the snow"},
        {"scheduler": "Euler a"},
        {"guidance_scale": 7.5},
    ],
    ids=["seed", "prompt", "scheduler", "guidance"],
)
def test_a_different_parameter_gives_a_visibly_different_picture(change: dict[str, object]) -> None:
    assert (
        mean_difference(_render.render_jpeg(BASE), _render.render_jpeg(BASE.replace(**change))) > 8
    )


def test_samples_of_one_request_differ() -> None:
    assert mean_difference(_render.render_jpeg(BASE, 0), _render.render_jpeg(BASE, 1)) > 8


def test_samples_and_base64_do_not_change_the_picture() -> None:
    same = BASE.replace(samples=3, base64=True)
    assert _render.render_jpeg(same) == _render.render_jpeg(BASE)


def test_every_image_carries_a_dark_banner_with_light_text() -> None:
    image = decode(_render.render_jpeg(BASE))
    banner = image.crop((0, 0, 1024, 40)).convert("L")
    low, high = banner.getextrema()
    assert low < 30
    assert high > 200
    other = decode(_render.render_jpeg(BASE.replace(prompt="zebra crossing in the rain")))
    assert ImageChops.difference(
        image.crop((0, 0, 1024, 80)), other.crop((0, 0, 1024, 80))
    ).getbbox()


@pytest.mark.parametrize(
    ("prompt", "title"),
    [
        ("a lighthouse", "a lighthouse"),
        ("  many\nspaced\t words  ", "many spaced words"),
        (
            "one two three four five six seven eight nine ten",
            "one two three four five six seven eight…",
        ),
        ("x" * 50, "x" * 39 + "…"),
        ("bell\x07 ring", "bell ring"),
    ],
)
def test_the_title_is_the_first_printable_words(prompt: str, title: str) -> None:
    assert _render.title_words(prompt) == title


def test_unusual_prompts_still_render() -> None:
    for prompt in ("日本の灯台", "🦊 fox", "\u200b\u2060x", "a" * 2000):
        assert decode(_render.render_uncached(BASE.replace(prompt=prompt))).size == (1024, 1024)


def test_a_cache_hit_returns_identical_bytes_without_rendering(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    request = BASE.replace(seed=123_456)
    rendered: list[_render.ImageKey] = []
    draw = _render._render

    def spy(key: _render.ImageKey) -> bytes:
        rendered.append(key)
        return draw(key)

    _render.cache_clear()
    monkeypatch.setattr(_render, "_render", spy)
    first = _render.render_jpeg(request)
    again = [_render.render_jpeg(request) for _ in range(3)]
    assert again == [first] * 3
    assert rendered == [_render.image_key(request)]  # drawn once; the rest came from the cache


@pytest.mark.parametrize(("index", "shown"), [(0, "sample 1"), (1, "sample 2"), (3, "sample 4")])
def test_the_caption_counts_samples_from_1_as_file_names_do(index: int, shown: str) -> None:
    request = BASE.replace(seed=77, img_width=768, img_height=512, samples=4)
    assert _render.caption(_render.image_key(request, index)) == f"seed 77 · {shown} · 768x512"
