"""Generation parameters as AUTOMATIC1111's ``parameters`` text, embedded in PNG and JPEG.

The format, as other tools read it back::

    <prompt>
    Negative prompt: <negative prompt>
    Steps: 8, Sampler: DPM++ SDE, CFG scale: 1.2, Seed: 968875, Size: 768x1152, Model: ...

PNG files carry it in a ``parameters`` text chunk; JPEG and WebP files in the EXIF
``UserComment`` tag (``UNICODE`` prefix, UTF-16), as AUTOMATIC1111 writes them.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from realdream import _contract

# Pillow is imported where an image is decoded or encoded, not with ``import realdream``:
# it is a fifth of the package's import time, and the client reads image sizes without it.
if TYPE_CHECKING:
    from realdream._params import GenerationRequest

__all__ = [
    "encode_image",
    "format_parameters",
    "parse_parameters",
    "read_parameters",
    "request_from_parameters",
    "write_atomic",
]

_NEGATIVE = "Negative prompt: "
_EXIF_IFD = 0x8769
_USER_COMMENT = 0x9286
_UNICODE_PREFIX = b"UNICODE\x00"
_ASCII_PREFIX = b"ASCII\x00\x00\x00"
# key: value pairs, where a value may be a double-quoted string with commas inside.
_PAIR = re.compile(r'\s*([\w ./-]+):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')

FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def format_parameters(
    request: GenerationRequest, *, index: int = 0, model: str = _contract.MODEL_NAME
) -> str:
    """The AUTOMATIC1111 ``parameters`` text for sample ``index`` of ``request``."""
    pairs = [
        ("Steps", str(request.num_inference_steps)),
        ("Sampler", request.scheduler),
        ("CFG scale", str(float(request.guidance_scale))),
        ("Seed", str(request.seed)),
        ("Size", f"{request.img_width}x{request.img_height}"),
        ("Model", model),
    ]
    if request.samples > 1:
        pairs += [("Batch size", str(request.samples)), ("Batch pos", str(index))]
    tail = ", ".join(f"{key}: {_quote(value)}" for key, value in pairs)
    return f"{request.prompt}\n{_NEGATIVE}{request.negative_prompt}\n{tail}"


def parse_parameters(text: str) -> dict[str, str]:
    """Read AUTOMATIC1111 ``parameters`` text into a dict.

    Keys: ``prompt``, ``negative_prompt`` and every ``Key: value`` of the last line.
    """
    lines = text.strip("\n").split("\n")
    result: dict[str, str] = {}
    if len(lines) > 1 and _PAIR.match(lines[-1]) and ":" in lines[-1]:
        result.update(_parse_pairs(lines.pop()))
    negative_at = next((i for i, ln in enumerate(lines) if ln.startswith(_NEGATIVE)), None)
    if negative_at is None:
        result["prompt"] = "\n".join(lines)
        result["negative_prompt"] = ""
    else:
        result["prompt"] = "\n".join(lines[:negative_at])
        negative = "\n".join(lines[negative_at:])
        result["negative_prompt"] = negative[len(_NEGATIVE) :]
    return result


def request_from_parameters(text: str) -> GenerationRequest:
    """Rebuild the request that made an image from its ``parameters`` text."""
    from realdream._params import GenerationRequest

    found = parse_parameters(text)
    data: dict[str, Any] = {"prompt": found["prompt"], "negative_prompt": found["negative_prompt"]}
    numbers = {"Steps": "num_inference_steps", "Seed": "seed", "Batch size": "samples"}
    for key, field in numbers.items():
        if key in found:
            data[field] = _to_int(found[key])
    if "CFG scale" in found:
        data["guidance_scale"] = _to_float(found["CFG scale"])
    if "Sampler" in found:
        data["scheduler"] = found["Sampler"]
    if "Size" in found:
        width, _, height = found["Size"].partition("x")
        data["img_width"], data["img_height"] = _to_int(width), _to_int(height)
    return GenerationRequest.create(data)


def encode_image(data: bytes, suffix: str, parameters: str | None) -> bytes:
    """``data`` (any image) as the format of ``suffix``, with ``parameters`` embedded.

    A JPEG kept as JPEG is not re-encoded: the EXIF segment is spliced in, so no quality is lost.
    """
    fmt = FORMATS.get(suffix.lower())
    if fmt is None:
        allowed = ", ".join(sorted(FORMATS))
        raise ValueError(f"suffix={suffix!r}: must be one of {allowed}")
    if fmt == "JPEG" and data[:3] == b"\xff\xd8\xff":
        return _splice_jpeg_exif(data, parameters) if parameters else data
    from PIL import Image, PngImagePlugin

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        out = io.BytesIO()
        if fmt == "PNG":
            info = PngImagePlugin.PngInfo()
            if parameters:
                info.add_text("parameters", parameters)
            image.save(out, "PNG", pnginfo=info, compress_level=4)
        else:
            exif = _exif_bytes(parameters) if parameters else b""
            rgb = image.convert("RGB")
            rgb.save(out, fmt, quality=95, exif=exif)
    return out.getvalue()


def read_parameters(source: str | os.PathLike[str] | bytes) -> str | None:
    """The ``parameters`` text embedded in an image file or bytes, or ``None``."""
    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    from PIL import Image

    with Image.open(io.BytesIO(raw)) as image:
        text = image.info.get("parameters")
        if isinstance(text, str):
            return text
        comment = image.getexif().get_ifd(_EXIF_IFD).get(_USER_COMMENT)
    return _decode_user_comment(comment) if isinstance(comment, bytes) else None


def write_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file and a rename: never a half-written file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _splice_jpeg_exif(data: bytes, parameters: str) -> bytes:
    segment = b"Exif\x00\x00" + _exif_bytes(parameters)[6:]
    if len(segment) + 2 > 0xFFFF:  # an APP1 segment holds at most 64 KiB
        raise ValueError("parameters text is too long to embed in a JPEG")
    app1 = b"\xff\xe1" + (len(segment) + 2).to_bytes(2, "big") + segment
    insert_at = 2
    if data[2:4] == b"\xff\xe0":  # keep JFIF's APP0 first, as readers expect
        insert_at = 4 + int.from_bytes(data[4:6], "big")
    return data[:insert_at] + app1 + data[insert_at:]


def _exif_bytes(parameters: str) -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif.get_ifd(_EXIF_IFD)[_USER_COMMENT] = _UNICODE_PREFIX + parameters.encode("utf-16-be")
    return exif.tobytes()


def _decode_user_comment(comment: bytes) -> str:
    if comment.startswith(_UNICODE_PREFIX):
        body = comment[len(_UNICODE_PREFIX) :]
        # Writers differ in byte order; ASCII text in UTF-16-BE starts with a zero byte.
        encoding = "utf-16-be" if body[:1] == b"\x00" or not body else "utf-16-le"
        if body[:2] in (b"\xfe\xff", b"\xff\xfe"):
            encoding = "utf-16"
        return body.decode(encoding, errors="replace")
    if comment.startswith(_ASCII_PREFIX):
        comment = comment[len(_ASCII_PREFIX) :]
    return comment.decode("utf-8", errors="replace").rstrip("\x00")


def _parse_pairs(line: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for match in _PAIR.finditer(line):
        key, value = match.group(1).strip(), match.group(2).strip()
        if not key:
            continue
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        pairs[key] = value
    return pairs


def _quote(value: str) -> str:
    if any(ch in value for ch in ',:"\n'):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def _to_int(text: str) -> int | str:
    try:
        return int(text.strip())
    except ValueError:
        return text  # let GenerationRequest name the field and the rule


def _to_float(text: str) -> float | str:
    try:
        return float(text.strip())
    except ValueError:
        return text
