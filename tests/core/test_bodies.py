"""Success bodies: raw images sniffed by magic bytes, every base64 JSON shape, and garbage."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import realdream
from realdream._result import image_size, parse_images, sniff_mime_type
from tests.core.fakes import encode

JPEG, PNG, WEBP = encode("JPEG"), encode("PNG"), encode("WEBP")
B64 = base64.b64encode(JPEG).decode()


@pytest.mark.parametrize(
    ("data", "mime"),
    [(JPEG, "image/jpeg"), (PNG, "image/png"), (WEBP, "image/webp"), (b"GIF89a", None)],
    ids=["jpeg", "png", "webp", "gif"],
)
def test_the_type_comes_from_the_magic_bytes(data, mime):
    assert sniff_mime_type(data) == mime


@pytest.mark.parametrize(
    ("body", "count"),
    [
        ({"image": B64}, 1),
        ({"image": [B64, B64]}, 2),
        ({"images": [B64, B64, B64]}, 3),
        ({"image": "data:image/jpeg;base64," + B64}, 1),
        ({"images": ["data:image/jpeg;base64," + B64]}, 1),
    ],
    ids=["image-str", "image-list", "images-list", "data-url", "images-data-url"],
)
def test_every_base64_json_shape_is_read(body, count):
    blobs = parse_images(json.dumps(body).encode())
    assert blobs == [JPEG] * count


@pytest.mark.parametrize("content_type", ["image/jpeg", "application/octet-stream", "text/html"])
@pytest.mark.parametrize("data", [JPEG, PNG, WEBP], ids=["jpeg", "png", "webp"])
def test_a_raw_image_is_read_whatever_the_content_type_says(client, server, data, content_type):
    server.replies = [httpx.Response(200, content=data, headers={"content-type": content_type})]
    image = client.generate("x").image
    assert image.data == data
    assert (image.width, image.height) == (64, 96)
    assert image.to_pil().size == (64, 96)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html>oops</html>",
        b'{"status": "ok"}',
        b'{"image": "!!!not base64!!!"}',
        b'{"images": []}',
        json.dumps({"image": base64.b64encode(b"plain text").decode()}).encode(),
        b"\xff\xd8\xff" + b"\x00" * 50,
    ],
    ids=["empty", "html", "no-image", "bad-base64", "empty-list", "not-an-image", "corrupt-jpeg"],
)
def test_a_200_without_a_readable_image_is_a_clear_error(client, server, body):
    server.replies = [httpx.Response(200, content=body)]
    with pytest.raises(realdream.InvalidResponseError, match="answered 200") as info:
        client.generate("x")
    assert info.value.status_code == 200
    assert f"({len(info.value.body)} bytes)" in str(info.value)


@pytest.mark.slow  # 25 examples of Pillow encoding three formats: about 1 s
@given(
    st.sampled_from(["JPEG", "PNG", "WEBP"]),
    st.integers(1, 3000),
    st.integers(1, 3000),
)
@settings(max_examples=25)
def test_header_size_parsing_agrees_with_pillow(fmt, width, height):
    data = encode(fmt, (width, height))
    assert image_size(data, sniff_mime_type(data)) == (width, height)


@pytest.mark.parametrize(
    "data", [b"\x89PNG\r\n\x1a\n" + b"\x00" * 8, b"RIFF\x00\x00\x00\x00WEBPVP8X"]
)
def test_truncated_headers_have_no_size(data):
    assert image_size(data, sniff_mime_type(data)) is None
