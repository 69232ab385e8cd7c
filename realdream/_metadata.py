"""Generation parameters as AUTOMATIC1111's ``parameters`` text, embedded in PNG and JPEG.

The format, as other tools read it back::

    <prompt>
    Negative prompt: <negative prompt>
    Steps: 8, Sampler: DPM++ SDE, CFG scale: 1.2, Seed: 968875, Size: 768x1152, Model: ...

PNG files carry it in a ``parameters`` text chunk; JPEG and WebP files in the EXIF
``UserComment`` tag (``UNICODE`` prefix, then UTF-16 big-endian, as AUTOMATIC1111 writes it;
the reader tells the byte order of other writers from where the zero bytes of the text's ASCII
fall, never from the first character).

That text is for people and other tools; it cannot say every prompt exactly (a prompt may hold
a line that reads "Negative prompt: "). So the exact request also travels as JSON: a
``realdream`` PNG text chunk, or the EXIF ``MakerNote`` (``realdream\0`` and the JSON), and
:func:`read_request` prefers it.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from realdream import contract

# Pillow is imported where an image is decoded or encoded, not with ``import realdream``:
# it is a fifth of the package's import time, and the client reads image sizes without it.
if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

    from realdream._params import GenerationRequest

__all__ = [
    "encode_image",
    "format_parameters",
    "parse_parameters",
    "read_parameters",
    "read_request",
    "request_from_parameters",
    "write_atomic",
]

_NEGATIVE = "Negative prompt: "
_EXIF_IFD = 0x8769
_USER_COMMENT = 0x9286
_MAKER_NOTE = 0x927C
_REQUEST_MARK = b"realdream\x00"
_PNG_REQUEST_KEY = "realdream"
_UNICODE_PREFIX = b"UNICODE\x00"
_ASCII_PREFIX = b"ASCII\x00\x00\x00"
# key: value pairs, where a value may be a double-quoted string with commas inside.
_PAIR = re.compile(r'\s*([\w ./-]+):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')

FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def format_parameters(
    request: GenerationRequest, *, index: int = 0, model: str = contract.MODEL_NAME
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


_SETTINGS = frozenset({"Steps", "Seed", "Size"})


def request_from_parameters(text: str) -> GenerationRequest:
    """Rebuild the request that made an image from its ``parameters`` text.

    Raises ``ValueError`` for text that is not AUTOMATIC1111 parameters (it never guesses a
    request from the defaults), and :class:`~realdream.ValidationError` for values out of bounds.
    """
    from realdream._params import GenerationRequest

    found = parse_parameters(text)
    if not _SETTINGS.issubset(found):
        missing = ", ".join(sorted(_SETTINGS - set(found)))
        raise ValueError(
            f"not AUTOMATIC1111 parameters text: its last line has no {missing} "
            "(expected 'Steps: 8, Sampler: ..., CFG scale: ..., Seed: ..., Size: WxH')"
        )
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


def encode_image(
    data: bytes, suffix: str, parameters: str | None, request_json: str | None = None
) -> bytes:
    """``data`` (any image) as the format of ``suffix``, with ``parameters`` embedded (and the
    exact request as JSON, when given).

    A JPEG kept as JPEG is not re-encoded: the EXIF segment is spliced in, so no quality is lost.
    """
    fmt = FORMATS.get(suffix.lower())
    if fmt is None:
        allowed = ", ".join(sorted(FORMATS))
        raise ValueError(f"suffix={suffix!r}: must be one of {allowed}")
    if fmt == "JPEG" and data[:3] == b"\xff\xd8\xff":
        if not parameters:
            return data
        return _splice_jpeg_exif(data, _exif_bytes(parameters, request_json))
    from PIL import Image, PngImagePlugin

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        out = io.BytesIO()
        if fmt == "PNG":
            info = PngImagePlugin.PngInfo()
            if parameters:
                info.add_text("parameters", parameters)
            if request_json:
                info.add_text(_PNG_REQUEST_KEY, request_json)
            image.save(out, "PNG", pnginfo=info, compress_level=4)
        else:
            exif = _exif_bytes(parameters, request_json) if parameters else b""
            rgb = image.convert("RGB")
            rgb.save(out, fmt, quality=95, exif=exif)
    return out.getvalue()


def read_parameters(source: str | os.PathLike[str] | bytes) -> str | None:
    """The ``parameters`` text embedded in an image file or bytes, or ``None`` if it has none.

    Raises ``ValueError`` when the embedded text cannot be decoded (never a garbled guess), and
    Pillow's ``UnidentifiedImageError`` (an ``OSError``) for data that is not an image.
    """
    with _open(source) as image:
        text = image.info.get("parameters")
        if isinstance(text, str):
            return text
        comment = image.getexif().get_ifd(_EXIF_IFD).get(_USER_COMMENT)
    return _decode_user_comment(comment) if isinstance(comment, bytes) else None


def read_request(source: str | os.PathLike[str] | bytes) -> GenerationRequest | None:
    """The exact request that made an image: from the embedded JSON when this package wrote
    it, else rebuilt from AUTOMATIC1111 text; ``None`` when the image carries neither."""
    from realdream._params import GenerationRequest

    with _open(source) as image:
        embedded = image.info.get(_PNG_REQUEST_KEY)
        note = image.getexif().get_ifd(_EXIF_IFD).get(_MAKER_NOTE)
    if isinstance(note, bytes) and note.startswith(_REQUEST_MARK):
        embedded = note[len(_REQUEST_MARK) :].decode("utf-8")
    if isinstance(embedded, str):
        return GenerationRequest.from_json(embedded)
    text = read_parameters(source)
    return request_from_parameters(text) if text is not None else None


def _open(source: str | os.PathLike[str] | bytes) -> PILImage:
    from PIL import Image

    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    return Image.open(io.BytesIO(raw))


def write_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file and a rename: never a half-written file.

    The file gets the permissions any new file gets (0666 less the umask), not the temporary
    file's private 0600.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _umask() -> int:
    """The process's umask: from /proc where it can be read, which changes nothing.

    Elsewhere reading it means setting it and setting it straight back, under a lock.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


_UMASK_LOCK = threading.Lock()


def _splice_jpeg_exif(data: bytes, exif: bytes) -> bytes:
    segment = b"Exif\x00\x00" + exif[6:]
    if len(segment) + 2 > 0xFFFF:  # an APP1 segment holds at most 64 KiB
        raise ValueError("parameters text is too long to embed in a JPEG")
    app1 = b"\xff\xe1" + (len(segment) + 2).to_bytes(2, "big") + segment
    insert_at = 2
    if data[2:4] == b"\xff\xe0":  # keep JFIF's APP0 first, as readers expect
        insert_at = 4 + int.from_bytes(data[4:6], "big")
    return data[:insert_at] + app1 + data[insert_at:]


def _exif_bytes(parameters: str, request_json: str | None = None) -> bytes:
    from PIL import Image

    exif = Image.Exif()
    ifd = exif.get_ifd(_EXIF_IFD)
    ifd[_USER_COMMENT] = _UNICODE_PREFIX + parameters.encode("utf-16-be")
    if request_json:
        ifd[_MAKER_NOTE] = _REQUEST_MARK + request_json.encode("utf-8")
    return exif.tobytes()


def _decode_user_comment(comment: bytes) -> str:
    """The text of an EXIF ``UserComment``; ``ValueError`` if it is not valid in its encoding."""
    try:
        if comment.startswith(_UNICODE_PREFIX):
            body = comment[len(_UNICODE_PREFIX) :]
            if body[:2] in (b"\xfe\xff", b"\xff\xfe"):
                return body.decode("utf-16")
            return _decode_utf16(body)
        if comment.startswith(_ASCII_PREFIX):
            comment = comment[len(_ASCII_PREFIX) :]
        return comment.decode("utf-8").rstrip("\x00")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"the image's EXIF UserComment is not readable text ({exc.reason})"
        ) from None


def _decode_utf16(body: bytes) -> str:
    """UTF-16 of either byte order (writers differ), told apart by the text, not by a guess.

    Parameters text always holds ASCII ("Steps: ..."), which reads as ASCII in the right byte
    order only; of the orders that decode, the one with more ASCII wins, big-endian (as
    AUTOMATIC1111 and this package write it) on a tie.
    """
    readings = []
    for encoding in ("utf-16-be", "utf-16-le"):
        try:
            readings.append(body.decode(encoding))
        except UnicodeDecodeError:
            continue
    if not readings:
        body.decode("utf-16-be")  # raises the error that says why
    return max(readings, key=lambda text: sum(ch < "\x80" for ch in text))


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
