"""What a successful call returns: the images, and the exact request that made them."""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from realdream import contract
from realdream._errors import InvalidResponseError
from realdream._headers import reported_amount, reported_seed
from realdream._metadata import encode_image, format_parameters, write_atomic
from realdream._params import GenerationRequest

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

__all__ = [
    "Credits",
    "GeneratedImage",
    "GenerationResult",
    "image_size",
    "parse_images",
    "sniff_mime_type",
]

_DATA_URL_PREFIX = "data:"


@dataclass(frozen=True, eq=False)
class GeneratedImage:
    """One generated image: its encoded bytes, their type and size, and how it was made."""

    data: bytes = field(repr=False)
    mime_type: str
    width: int
    height: int
    request: GenerationRequest | None = field(default=None, repr=False)
    index: int = 0

    @cached_property
    def parameters(self) -> str | None:
        """AUTOMATIC1111 ``parameters`` text for this image (``None`` without a request)."""
        if self.request is None:
            return None
        return format_parameters(self.request, index=self.index)

    @property
    def extension(self) -> str:
        return {"image/png": ".png", "image/webp": ".webp"}.get(self.mime_type, ".jpg")

    def to_pil(self) -> PILImage:
        """The image decoded with Pillow."""
        from PIL import Image  # Pillow loads on first use, not with ``import realdream``

        image = Image.open(io.BytesIO(self.data))
        image.load()
        return image

    def encode(self, suffix: str, *, embed_parameters: bool = True) -> bytes:
        """The image as ``suffix`` (``.png``, ``.jpg``, ``.webp``), parameters embedded."""
        if not embed_parameters or self.request is None:
            return encode_image(self.data, suffix, None)
        exact = self.request.to_json().decode()
        return encode_image(self.data, suffix, self.parameters, exact)

    def save(self, path: str | os.PathLike[str], *, embed_parameters: bool = True) -> Path:
        """Write the image atomically; the format follows the suffix (none: the original's).

        The generation parameters are embedded as AUTOMATIC1111 ``parameters`` text.
        """
        target = Path(path)
        if not target.suffix:
            target = target.with_suffix(self.extension)
        return write_atomic(target, self.encode(target.suffix, embed_parameters=embed_parameters))


@dataclass(frozen=True)
class GenerationResult:
    """The images of one call, the request actually sent (seed resolved), and what it cost.

    ``request`` is ``None`` only for a v2 job resumed from its id alone (``client.job(id)``),
    whose parameters this client never saw; ``seed`` is then the one the server reports, if any.
    """

    images: tuple[GeneratedImage, ...]
    request: GenerationRequest | None
    elapsed: float
    remaining_credits: float | None = None
    request_id: str | None = None
    cost: float | None = None
    generation_time: float | None = None
    retries: int = 0
    #: The seed the server reported, when it did (v2 results; the ``x-seed-value`` header).
    server_seed: int | None = None

    @property
    def seed(self) -> int | None:
        """The seed that made the images (resolved; ``None`` only if nobody says)."""
        return self.request.seed if self.request is not None else self.server_seed

    @property
    def image(self) -> GeneratedImage:
        """The first image."""
        return self.images[0]

    @classmethod
    def from_response(
        cls,
        request: GenerationRequest,
        body: bytes,
        headers: Mapping[str, str],
        *,
        elapsed: float,
        retries: int = 0,
        status_code: int = 200,
    ) -> GenerationResult:
        """Parse a 2xx response once into a result. ``headers`` must have lowercase names.

        An unreadable body raises :class:`~realdream.InvalidResponseError`, which keeps the raw
        body and the headers (after a 200 it was billed: see ``billed``).
        """
        request = _with_server_seed(request, headers.get(contract.HEADER_SEED))
        blobs = parse_images(body, headers, status_code=status_code)
        images = tuple(
            _image(blob, request, i, headers, status_code) for i, blob in enumerate(blobs)
        )
        cost = reported_amount(headers.get(contract.HEADER_COST), field=contract.HEADER_COST)
        return cls(
            images=images,
            request=request,
            elapsed=elapsed,
            remaining_credits=reported_amount(
                headers.get(contract.HEADER_REMAINING_CREDITS),
                field=contract.HEADER_REMAINING_CREDITS,
            ),
            request_id=headers.get(contract.HEADER_REQUEST_ID),
            cost=cost if cost is not None else len(images) * contract.COST_PER_IMAGE_USD,
            generation_time=reported_amount(
                headers.get(contract.HEADER_GENERATION_TIME), field=contract.HEADER_GENERATION_TIME
            ),
            retries=retries,
        )


@dataclass(frozen=True)
class Credits:
    """The account's balance, from ``GET /v1/get-user-credits``."""

    credits: float
    free_credits: float


def sniff_mime_type(data: bytes) -> str | None:
    """The image type from the magic bytes (JPEG, PNG, WebP), whatever the header says."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def parse_images(
    body: bytes, headers: Mapping[str, str] | str = "", *, status_code: int = 200
) -> list[bytes]:
    """Every encoded image in a success body: raw image bytes, or any base64 JSON shape.

    JSON shapes accepted: ``{"image": "<b64>"}``, ``{"image": ["<b64>", ...]}`` and
    ``{"images": ["<b64>", ...]}``, each string optionally a ``data:image/...;base64,`` URL.
    ``headers`` are the response's (lower-case names), or just its content type.
    """
    if isinstance(headers, str):
        headers = {"content-type": headers} if headers else {}
    if sniff_mime_type(body) is not None:
        return [body]
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise _invalid(body, headers, status_code, "is neither an image nor JSON") from None
    encoded = _base64_strings(data)
    if not encoded:
        raise _invalid(body, headers, status_code, "is JSON without an image or images")
    return [_decode_base64(item, body, headers, status_code) for item in encoded]


def _base64_strings(data: Any) -> list[str]:
    if not isinstance(data, dict):
        return []
    value = data.get(contract.BASE64_ONE_KEY, data.get(contract.BASE64_MANY_KEY))
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and value and all(isinstance(v, str) for v in value):
        return list(value)
    return []


def _decode_base64(text: str, body: bytes, headers: Mapping[str, str], status_code: int) -> bytes:
    if text.startswith(_DATA_URL_PREFIX):
        text = text.partition(",")[2]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        what = "holds a string that is not valid base64"
        raise _invalid(body, headers, status_code, what) from None


def _image(
    blob: bytes,
    request: GenerationRequest,
    index: int,
    headers: Mapping[str, str],
    status_code: int,
) -> GeneratedImage:
    mime = sniff_mime_type(blob)
    size = image_size(blob, mime) if mime else None
    if mime is None or size is None:
        what = f"image {index} is not a readable JPEG, PNG or WebP image"
        raise _invalid(blob, headers, status_code, what)
    return GeneratedImage(blob, mime, size[0], size[1], request, index)


def image_size(data: bytes, mime: str | None) -> tuple[int, int] | None:
    """Width and height read from the image header (no decoding); ``None`` if unreadable.

    Hand-rolled because Pillow's open costs more than the whole HTTP round trip to a local mock.
    """
    try:
        if mime == "image/png":
            size = struct.unpack(">II", data[16:24]) if data[12:16] == b"IHDR" else None
        elif mime == "image/webp":
            size = _webp_size(data)
        else:
            size = _jpeg_size(data)
    except struct.error:
        return None
    return size if size and size[0] > 0 and size[1] > 0 else None


# Start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) are not frames.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _SOF_MARKERS:
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        if marker == 0xD9 or marker == 0xDA:  # end of image, or scan data before any frame
            return None
        at += 2 + struct.unpack(">H", data[at + 2 : at + 4])[0]
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 30:
        return None
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and data[20:21] == b"\x2f":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None


def _with_server_seed(request: GenerationRequest, header: str | None) -> GenerationRequest:
    seed = reported_seed(header)
    if seed is None or seed == request.seed:
        return request
    return request.model_copy(update={"seed": seed})


def _invalid(
    body: bytes, headers: Mapping[str, str], status_code: int, what: str
) -> InvalidResponseError:
    billed = status_code in contract.BILLED_STATUSES
    note = " It was billed: the raw body and request id are kept on this error." if billed else ""
    return InvalidResponseError(
        f"The server answered {status_code} but the body ({len(body)} bytes) {what}.{note}",
        status_code=status_code,
        body=body,
        headers=headers,
    )
