"""The facts the billed v1 probes show: the raw image, its headers and seed, the price (judged
on the balance, see ``_money_checks``), and the base64 answer's shape."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from realdream import contract
from realdream._amounts import parse_amount
from realdream._result import image_size, sniff_mime_type
from realdream.verify._describe import clip, describe
from realdream.verify._exchange import Exchange
from realdream.verify._money_checks import money_checks
from realdream.verify._observations import Observations
from realdream.verify._rows import Check, Judge, Seen

__all__ = ["image_checks", "images", "ok"]

_SEED_MAX: Final = float(contract.LIMITS["seed"].maximum)
_HEADERS: Final = (
    "HEADER_REMAINING_CREDITS",
    "HEADER_REQUEST_ID",
    "HEADER_COST",
    "HEADER_GENERATION_TIME",
    "HEADER_SEED",
)


def ok(ex: Exchange, obs: Observations) -> Seen:
    """Holds on a 200."""
    return Seen(describe(ex), ex.status == 200)


def _on_200(judge: Callable[[Exchange], Seen | str]) -> Judge:
    """``judge`` reads a 200; any other answer means the fact could not be seen."""

    def judged(ex: Exchange, obs: Observations) -> Seen | str:
        if ex.status != 200:
            return f"the {ex.probe} probe answered {describe(ex)}"
        return judge(ex)

    return judged


def _jpeg(ex: Exchange) -> Seen:
    mime = sniff_mime_type(ex.body) or "unknown bytes"
    seen = f"content-type {ex.content_type or 'absent'}, {mime} body"
    return Seen(seen, ex.content_type == mime == contract.IMAGE_CONTENT_TYPE)


def _size(ex: Exchange) -> Seen | str:
    mime = sniff_mime_type(ex.body)
    size = image_size(ex.body, mime) if mime else None
    if size is None:
        return "the body is not a readable image"
    data = json.loads(ex.request_body)
    asked = (data["img_width"], data["img_height"])
    return Seen(f"{size[0]}x{size[1]} for {asked[0]}x{asked[1]}", size == asked)


def _header_check(fact: str) -> Check:
    """The row of header ``contract.<fact>``: present on the image's 200."""
    name: str = getattr(contract, fact)

    def judge(ex: Exchange) -> Seen:
        present = bool((ex.header(name) or "").strip())
        return Seen("present" if present else "absent", present)

    return Check(fact, f"{name} on a 200", "present", "image", _on_200(judge))


def _seed(ex: Exchange) -> Seen | str:
    value = ex.header(contract.HEADER_SEED)
    if value is None:
        return f"no {contract.HEADER_SEED} header"
    try:
        seed = parse_amount(value, field=contract.HEADER_SEED, maximum=_SEED_MAX)
    except ValueError:
        return Seen(f"{contract.HEADER_SEED}: {clip(value)}", False)
    return Seen(f"{contract.HEADER_SEED}: {clip(value)}", seed.is_integer())


# --- base64 ----------------------------------------------------------------------------------
def images(ex: Exchange) -> list[bytes]:
    """Every image in a success body (raw, or base64 under either key, prefix or not)."""
    if sniff_mime_type(ex.body) is not None:
        return [ex.body]
    found = []
    for text in _base64_texts(ex.json()):
        try:
            found.append(base64.b64decode(text.partition(",")[2] if _prefixed(text) else text))
        except (binascii.Error, ValueError):
            continue
    return [blob for blob in found if sniff_mime_type(blob) is not None]


def _base64_texts(data: object) -> list[str]:
    if not isinstance(data, dict):
        return []
    found: list[str] = []
    for key in (contract.BASE64_ONE_KEY, contract.BASE64_MANY_KEY):
        value = data.get(key)
        items = value if isinstance(value, list) else [value]
        found += [item for item in items if isinstance(item, str)]
    return found


def _prefixed(text: str) -> bool:
    return text.startswith("data:")


def _many_key(ex: Exchange) -> Seen:
    data = ex.json()
    if not isinstance(data, dict):
        return Seen(describe(ex), False)
    samples = json.loads(ex.request_body)["samples"]
    value = data.get(contract.BASE64_MANY_KEY)
    items = value if isinstance(value, list) else []
    holds = isinstance(value, list) and len(items) == samples
    holds = holds and all(isinstance(item, str) for item in items)
    return Seen(clip(json.dumps(_b64_shape(data))), holds)


def _b64_shape(data: Mapping[str, Any]) -> dict[str, Any]:
    def one(value: Any) -> Any:
        if isinstance(value, list):
            return [one(item) for item in value]
        return "<base64>" if isinstance(value, str) and len(value) > 40 else value

    return {key: one(value) for key, value in data.items()}


def _data_prefix(ex: Exchange) -> Seen | str:
    texts = _base64_texts(ex.json())
    if not texts:
        return "no base64 strings in the answer"
    prefixed = [text.split(",", 1)[0] for text in texts if _prefixed(text)]
    seen = f"prefix {prefixed[0]!r}" if prefixed else "no prefix"
    return Seen(seen, bool(prefixed) == contract.BASE64_DATA_PREFIX)


def _all_samples(ex: Exchange) -> Seen:
    samples = json.loads(ex.request_body)["samples"]
    found = len(images(ex))
    return Seen(f"{found} images for samples={samples}", found == samples)


def image_checks() -> tuple[Check, ...]:
    """The checks, in the order the probes are sent (read from the contract when called)."""
    jpeg, many = contract.IMAGE_CONTENT_TYPE, contract.BASE64_MANY_KEY
    return (
        Check("GENERATE_PATH", "POST one image", "200", "image", ok),
        Check(
            "IMAGE_CONTENT_TYPE",
            "base64: false answers the raw image",
            f"content-type {jpeg}, {jpeg} body",
            "image",
            _on_200(_jpeg),
        ),
        Check(
            "IMAGE_SIZE_AS_REQUESTED",
            "the image has the size asked for",
            "the requested width x height",
            "image",
            _on_200(_size),
        ),
        *(_header_check(name) for name in _HEADERS),
        Check(
            "RANDOM_SEED",
            "seed -1 comes back as the seed used",
            f"{contract.HEADER_SEED}: a whole number >= 0",
            "image",
            _on_200(_seed),
        ),
        *money_checks(),
        Check(
            "BASE64_MANY_KEY",
            "base64 with 2 samples: the JSON shape",
            f'{{"{many}": ["<base64>", "<base64>"]}}',
            "base64",
            _on_200(_many_key),
        ),
        Check(
            "BASE64_DATA_PREFIX",
            "base64 strings carry a data: prefix",
            "a prefix" if contract.BASE64_DATA_PREFIX else "no prefix",
            "base64",
            _on_200(_data_prefix),
        ),
        Check(
            "BASE64_ALL_SAMPLES",
            "base64 with 2 samples returns both images",
            "2 images for samples=2",
            "base64",
            _on_200(_all_samples),
        ),
    )
