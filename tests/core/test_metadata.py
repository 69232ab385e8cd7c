"""AUTOMATIC1111 parameters text: written, embedded, read back by us and by Pillow."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import assume, given
from PIL import Image, PngImagePlugin

import realdream
from realdream import GeneratedImage, GenerationRequest
from realdream._metadata import encode_image, write_atomic
from realdream.testing.strategies import valid_requests
from tests.core.fakes import encode

REQUEST = GenerationRequest.create(
    prompt="portrait, 85mm", seed=968875, img_width=768, img_height=1152, scheduler="Euler a"
)


def test_parameters_text_has_the_automatic1111_layout():
    assert realdream.format_parameters(REQUEST) == (
        "portrait, 85mm\n"
        f"Negative prompt: {realdream.DEFAULT_NEGATIVE_PROMPT}\n"
        "Steps: 8, Sampler: Euler a, CFG scale: 1.2, Seed: 968875, Size: 768x1152, "
        "Model: RealDream Lightning"
    )


@given(valid_requests())
def test_parameters_text_round_trips_to_the_same_request(request):
    for text in (request.prompt, request.negative_prompt):
        assume("Negative prompt:" not in text and "\r" not in text)
    assume(request.prompt == request.prompt.strip("\n"))
    assume(request.negative_prompt == request.negative_prompt.rstrip("\n"))
    text = realdream.format_parameters(request)
    rebuilt = realdream.request_from_parameters(text)
    assert rebuilt == request.replace(base64=False)


def test_a_batch_records_size_and_position():
    text = realdream.format_parameters(REQUEST.replace(samples=3), index=2)
    parsed = realdream.parse_parameters(text)
    assert parsed["Batch size"] == "3"
    assert parsed["Batch pos"] == "2"


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".jpeg", ".webp"])
@pytest.mark.parametrize("source", ["JPEG", "PNG"])
def test_saved_images_carry_their_parameters(tmp_path, suffix, source):
    image = GeneratedImage(encode(source, (64, 96)), f"image/{source.lower()}", 64, 96, REQUEST)
    path = image.save(tmp_path / f"out{suffix}")
    assert realdream.read_parameters(path) == image.parameters
    with Image.open(path) as reopened:
        assert reopened.size == (64, 96)
    assert realdream.request_from_parameters(realdream.read_parameters(path) or "") == REQUEST


def test_a_jpeg_kept_as_jpeg_is_not_re_encoded():
    original = encode("JPEG", (64, 96))
    embedded = encode_image(original, ".jpg", "hello")
    with Image.open(io.BytesIO(original)) as a, Image.open(io.BytesIO(embedded)) as b:
        assert a.tobytes() == b.tobytes()
    assert embedded.startswith(original[:20])  # SOI and JFIF's APP0 stay first
    assert embedded.endswith(original[20:])


def test_an_automatic1111_png_is_read(tmp_path):
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler a")
    path = tmp_path / "a1111.png"
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    parsed = realdream.parse_parameters(realdream.read_parameters(path) or "")
    assert parsed["prompt"] == "a cat"
    assert parsed["negative_prompt"] == "dog"
    assert parsed["Sampler"] == "Euler a"


def test_an_image_without_parameters_reads_none(tmp_path):
    path = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(path)
    assert realdream.read_parameters(path) is None


def test_save_without_a_suffix_uses_the_original_format(tmp_path):
    image = GeneratedImage(encode("JPEG"), "image/jpeg", 64, 96, REQUEST)
    assert image.save(tmp_path / "photo").suffix == ".jpg"


def test_an_unknown_suffix_is_refused_and_nothing_is_written(tmp_path):
    image = GeneratedImage(encode("JPEG"), "image/jpeg", 64, 96, REQUEST)
    with pytest.raises(ValueError, match=r"suffix='.gif'"):
        image.save(tmp_path / "x.gif")
    assert list(tmp_path.iterdir()) == []


def test_write_atomic_leaves_no_temporary_file(tmp_path):
    target = write_atomic(tmp_path / "deep" / "file.bin", b"data")
    assert target.read_bytes() == b"data"
    assert [p.name for p in target.parent.iterdir()] == ["file.bin"]


def test_an_interrupted_write_leaves_nothing_behind(tmp_path, monkeypatch):
    def fail(self: Path, target: Path) -> Path:
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "replace", fail)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "file.bin", b"data")
    assert list(tmp_path.iterdir()) == []


# --- Exact round trips for any prompt, in every format (issue 11: non-Latin prompts) ----------
UNICODE_PROMPTS = [
    "портрет рыбака",
    "漁師の肖像, 85mm",
    "€ portrait",
    "🎣 old fisherman",
    "Ārvo\nNegative prompt: not really",
]


@pytest.mark.parametrize("prompt", UNICODE_PROMPTS)
@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp"])
def test_a_non_latin_prompt_reads_back_exactly(prompt, suffix):
    request = GenerationRequest.create(prompt=prompt, seed=77, img_width=512, img_height=768)
    image = GeneratedImage(encode("JPEG", (32, 48)), "image/jpeg", 32, 48, request)
    data = image.encode(suffix)
    assert realdream.read_parameters(data) == image.parameters
    assert realdream.read_request(data) == request


@given(valid_requests())
def test_any_request_round_trips_through_every_format(request):
    request = request.replace(base64=False)
    image = GeneratedImage(encode("PNG", (16, 16)), "image/png", 16, 16, request)
    for suffix in (".png", ".jpg", ".webp"):
        data = image.encode(suffix)
        assert realdream.read_parameters(data) == image.parameters, suffix
        assert realdream.read_request(data) == request, suffix


def _user_comment_jpeg(comment: bytes) -> bytes:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = comment
    out = io.BytesIO()
    Image.open(io.BytesIO(encode("JPEG", (8, 8)))).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.mark.parametrize("encoding", ["utf-16-be", "utf-16-le"])
def test_either_utf16_byte_order_is_read_whatever_the_first_character(encoding):
    text = realdream.format_parameters(REQUEST.replace(prompt="портрет рыбака"))
    data = _user_comment_jpeg(b"UNICODE\x00" + text.encode(encoding))
    assert realdream.read_parameters(data) == text


def test_an_undecodable_user_comment_is_reported_not_guessed():
    data = _user_comment_jpeg(b"UNICODE\x00" + b"\x00S\x00t\x00e\x00p\xd8")  # odd length
    with pytest.raises(ValueError, match="UserComment"):
        realdream.read_parameters(data)


@pytest.mark.parametrize(
    "text", ["㼄㸄䀄", "just a caption", "a prompt\nNegative prompt: b\nno settings here"]
)
def test_text_without_settings_is_refused_never_rebuilt_from_defaults(text):
    with pytest.raises(ValueError, match="not AUTOMATIC1111 parameters"):
        realdream.request_from_parameters(text)


def test_an_image_from_another_tool_is_rebuilt_from_its_text():
    text = realdream.format_parameters(REQUEST)
    data = _user_comment_jpeg(b"UNICODE\x00" + text.encode("utf-16-be"))
    assert realdream.read_request(data) == REQUEST
