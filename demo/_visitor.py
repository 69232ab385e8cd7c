"""Who a visitor is, for the per-visitor limit: a signed-in username, or else an address.

- Signed in with Hugging Face: ``user:<username>``.
- On a Space (``SPACE_ID`` set): the first ``X-Forwarded-For`` hop, which Hugging Face's proxy
  fills with the visitor's address.
- Anywhere else: the socket peer. A forged ``X-Forwarded-For`` buys nothing: ``app.py`` tells
  uvicorn to trust no proxy headers off Spaces (see :func:`distrust_proxy_headers`).

Addresses are never kept or logged as they are: ``addr:`` and a keyed hash (the key is random
per process), so the owner's log can tell visitors apart without naming them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "FORWARDED_ALLOW_IPS_ENV",
    "SPACE_ID_ENV",
    "Visitor",
    "distrust_proxy_headers",
    "on_spaces",
    "visitor_from",
]

SPACE_ID_ENV: Final = "SPACE_ID"
#: uvicorn's list of proxies whose X-Forwarded-For it believes (default: 127.0.0.1).
FORWARDED_ALLOW_IPS_ENV: Final = "FORWARDED_ALLOW_IPS"
_SALT: Final = secrets.token_bytes(16)
_UNKNOWN: Final = "unknown"


@dataclass(frozen=True)
class Visitor:
    """``id`` is what limits are counted by and what the log shows; never a raw address."""

    id: str
    signed_in: bool = False


def on_spaces(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return bool(env.get(SPACE_ID_ENV, "").strip())


def visitor_from(request: Any, username: str | None, *, spaces: bool) -> Visitor:
    """The visitor behind a Gradio ``request`` (``None`` when called directly)."""
    if username:
        return Visitor(f"user:{username}", signed_in=True)
    address = _forwarded(request) if spaces else None
    return Visitor(f"addr:{_hash(address or _peer(request))}")


def distrust_proxy_headers(environ: MutableMapping[str, str] | None = None) -> None:
    """Off Spaces, make uvicorn keep the socket peer as the client address.

    uvicorn believes ``X-Forwarded-For`` from 127.0.0.1 by default, so any local caller could
    pick its own address (and a fresh visitor quota). An explicit ``FORWARDED_ALLOW_IPS`` (the
    owner's own reverse proxy) is left alone.
    """
    env = os.environ if environ is None else environ
    if not on_spaces(env):
        env.setdefault(FORWARDED_ALLOW_IPS_ENV, "")


def _forwarded(request: Any) -> str | None:
    headers = _headers(request)
    first = headers.get("x-forwarded-for", "").split(",")[0].strip()
    return first or None


def _headers(request: Any) -> dict[str, str]:
    try:
        raw = dict(request.headers)
    except (AttributeError, TypeError):
        return {}
    return {str(name).lower(): str(value) for name, value in raw.items()}


def _peer(request: Any) -> str:
    try:
        host = request.client.host
    except AttributeError:
        return _UNKNOWN
    return str(host) if host else _UNKNOWN


def _hash(address: str) -> str:
    return hmac.new(_SALT, address.encode(), hashlib.sha256).hexdigest()[:12]
