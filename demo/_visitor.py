"""Who a visitor is, for the per-visitor limit: a signed-in username, or else an address.

- Signed in with Hugging Face: ``user:<username>``.
- Behind trusted proxies (on a Space, or wherever ``REALDREAM_TRUSTED_PROXY_HOPS`` is set): the
  ``X-Forwarded-For`` entry the trusted proxy added, the Nth from the right for N proxies (one on
  a Space). Never the leftmost: a proxy appends the address it saw to whatever the visitor sent,
  so everything left of the trusted entries is the visitor's to choose. A header with fewer
  entries than that falls back to the socket peer (one shared quota, the safe reading).
- Anywhere else: the socket peer. A forged ``X-Forwarded-For`` buys nothing: ``app.py`` tells
  uvicorn to trust no proxy headers off Spaces (see :func:`distrust_proxy_headers`).

Addresses are never kept or logged as they are: ``addr:`` and a keyed hash (the key is random
per process), so the owner's log can tell visitors apart without naming them.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Final

import realdream

__all__ = [
    "FORWARDED_ALLOW_IPS_ENV",
    "MAX_PROXY_HOPS",
    "SPACE_ID_ENV",
    "TRUSTED_PROXY_HOPS_ENV",
    "AddressRule",
    "Visitor",
    "distrust_proxy_headers",
    "on_spaces",
    "visitor_from",
]

logger = logging.getLogger("demo")

SPACE_ID_ENV: Final = "SPACE_ID"
#: uvicorn's list of proxies whose X-Forwarded-For it believes (default: 127.0.0.1).
FORWARDED_ALLOW_IPS_ENV: Final = "FORWARDED_ALLOW_IPS"
#: How many trusted proxies append to X-Forwarded-For in front of the app (a Space: 1).
TRUSTED_PROXY_HOPS_ENV: Final = "REALDREAM_TRUSTED_PROXY_HOPS"
MAX_PROXY_HOPS: Final = 10
_SALT: Final = secrets.token_bytes(16)
_UNKNOWN: Final = "unknown"
#: How many different X-Forwarded-For lengths are logged (so a forged header cannot flood it).
_LOGGED_LENGTHS: Final = 8


@dataclass(frozen=True)
class Visitor:
    """``id`` is what limits are counted by and what the log shows; never a raw address."""

    id: str
    signed_in: bool = False


def on_spaces(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return bool(env.get(SPACE_ID_ENV, "").strip())


class AddressRule:
    """Which address an anonymous visitor is counted by: the socket peer (``hops=0``), or the
    ``X-Forwarded-For`` entry the ``hops``-th trusted proxy from the app added."""

    def __init__(self, hops: int = 0) -> None:
        if not 0 <= hops <= MAX_PROXY_HOPS:
            raise ValueError(f"hops={hops!r}: must be from 0 to {MAX_PROXY_HOPS}")
        self.hops = hops
        self._lengths: set[int] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AddressRule(hops={self.hops})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AddressRule) and other.hops == self.hops

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AddressRule:
        """``REALDREAM_TRUSTED_PROXY_HOPS`` when set (a bad value is a
        :class:`realdream.ConfigurationError`), else 1 on a Space and 0 elsewhere."""
        env = os.environ if environ is None else environ
        text = env.get(TRUSTED_PROXY_HOPS_ENV, "").strip()
        if text:
            return cls(_hops(text))
        return cls(1 if on_spaces(env) else 0)

    def describe(self) -> str:
        """The rule in one line, for the start-up log."""
        if not self.hops:
            return "anonymous visitors are counted by the socket peer (X-Forwarded-For ignored)"
        return (
            f"anonymous visitors are counted by the X-Forwarded-For entry {_ordinal(self.hops)} "
            f"from the right, the one the trusted proxy added ({TRUSTED_PROXY_HOPS_ENV}="
            f"{self.hops}); never by the leftmost, which a visitor can forge"
        )

    def address(self, request: Any) -> str:
        """The address ``request`` is counted by (the peer when the header is too short)."""
        if self.hops:
            entries = _forwarded(request)
            self._log_length(len(entries))
            if len(entries) >= self.hops and entries[-self.hops]:
                return entries[-self.hops]
        return _peer(request)

    def _log_length(self, length: int) -> None:
        """Once per length: how many entries arrive (never the addresses), so an owner can
        confirm the rule by sending a forged header and reading the log."""
        with self._lock:
            if length in self._lengths or len(self._lengths) >= _LOGGED_LENGTHS:
                return
            self._lengths.add(length)
        logger.info(
            "a request arrived with %d X-Forwarded-For entries; it is counted by the one %s "
            "from the right",
            length,
            _ordinal(self.hops),
        )


def visitor_from(request: Any, username: str | None, *, addresses: AddressRule) -> Visitor:
    """The visitor behind a Gradio ``request`` (``None`` when called directly)."""
    if username:
        return Visitor(f"user:{username}", signed_in=True)
    return Visitor(f"addr:{_hash(addresses.address(request))}")


def distrust_proxy_headers(environ: MutableMapping[str, str] | None = None) -> None:
    """Off Spaces, make uvicorn keep the socket peer as the client address.

    uvicorn believes ``X-Forwarded-For`` from 127.0.0.1 by default, so any local caller could
    pick its own address (and a fresh visitor quota). An explicit ``FORWARDED_ALLOW_IPS`` (the
    owner's own reverse proxy) is left alone.
    """
    env = os.environ if environ is None else environ
    if not on_spaces(env):
        env.setdefault(FORWARDED_ALLOW_IPS_ENV, "")


def _forwarded(request: Any) -> list[str]:
    """Every ``X-Forwarded-For`` entry, in order, over all the header's lines."""
    values = _header_values(request, "x-forwarded-for")
    return [entry.strip() for value in values for entry in value.split(",")]


def _header_values(request: Any, name: str) -> list[str]:
    try:
        headers = request.headers
    except AttributeError:
        return []
    getlist = getattr(headers, "getlist", None)
    if callable(getlist):
        return [str(value) for value in getlist(name)]
    try:
        raw = dict(headers)
    except (TypeError, ValueError):
        return []
    return [str(value) for key, value in raw.items() if str(key).lower() == name]


def _hops(text: str) -> int:
    hops = int(text) if text.isascii() and text.isdigit() and len(text) <= 2 else -1
    if not 1 <= hops <= MAX_PROXY_HOPS:
        raise realdream.ConfigurationError(
            f"{TRUSTED_PROXY_HOPS_ENV}={text!r}: must be a whole number from 1 to "
            f"{MAX_PROXY_HOPS} (the proxies in front of the app that add to X-Forwarded-For; "
            "on a Space, 1)"
        )
    return hops


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _peer(request: Any) -> str:
    try:
        host = request.client.host
    except AttributeError:
        return _UNKNOWN
    return str(host) if host else _UNKNOWN


def _hash(address: str) -> str:
    return hmac.new(_SALT, address.encode(), hashlib.sha256).hexdigest()[:12]
