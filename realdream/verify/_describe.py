"""Answers in a few words, for a row's "observed" cell: never a balance, never a key (the
caller scrubs the key from every row)."""

from __future__ import annotations

import json
from typing import Any, Final

from realdream import contract
from realdream._errors import error_for_status
from realdream._result import image_size, sniff_mime_type
from realdream.verify._exchange import Exchange

__all__ = ["body_shape", "clip", "describe", "is_html"]

_SHOWN: Final = 120  # characters of a body shown in a row


def describe(ex: Exchange, *, values: bool = True) -> str:
    """An answer in a few words: status and body (JSON shape only when ``values`` is false)."""
    mime = sniff_mime_type(ex.body)
    if mime is not None:
        size = image_size(ex.body, mime)
        shown = f" {size[0]}x{size[1]}" if size else ""
        return f"{ex.status} {ex.content_type or 'no content-type'}, {mime} bytes{shown}"
    data = ex.json()
    if data is not None:
        text = json.dumps(data if values else _shape(data), ensure_ascii=False)
        return f"{ex.status} {clip(text)}"
    if is_html(ex):
        return f"{ex.status} HTML {error_for_status(ex.status, ex.body, ex.headers).message!r}"
    text = ex.body.decode("utf-8", errors="replace").strip()
    return f"{ex.status} {ex.content_type or 'no content-type'} {clip(text)!r}"


def _shape(data: Any) -> Any:
    """The JSON with every leaf replaced by its type (for bodies that carry a balance)."""
    if isinstance(data, dict):
        return {key: _shape(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_shape(value) for value in data]
    if isinstance(data, bool) or data is None:
        return data
    return "number" if isinstance(data, (int, float)) else "string"


def clip(text: str) -> str:
    """``text``, cut to what a row shows."""
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def is_html(ex: Exchange) -> bool:
    return "html" in ex.content_type or ex.body.lstrip().startswith(b"<")


def body_shape(ex: Exchange) -> contract.Body | None:
    """Which of the status table's error bodies the answer is (``None``: none of them)."""
    data = ex.json()
    if isinstance(data, dict):
        if contract.JOB_STATUS_KEY in data and contract.ERROR_BODY_KEY in data:
            return "job"
        if contract.ERROR_DESCRIPTION_KEY in data:
            return "auth"
        return "json" if contract.ERROR_BODY_KEY in data else None
    return "html" if is_html(ex) else None
