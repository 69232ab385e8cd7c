"""``realdream verify --record DIR``: every probe's exchanges as a vcrpy cassette, safe to commit.

What a cassette never holds: the API key (the request header reads ``REDACTED``, and the key is
scrubbed from anything else that echoes it), the account's balance (``x-remaining-credits``
reads ``REDACTED``; ``credits``, ``free-credits`` and ``remaining_credits`` in JSON bodies read
``0``), cookies, and 429 answers (met while recording, they are waited out and left out).
:mod:`realdream.testing.cassettes` reads them back (``python -m mocks --replay DIR``). vcrpy
(the ``verify`` extra) is imported only when a recording starts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Final

from realdream import contract

__all__ = ["INSTALL_HINT", "REDACTED", "Record", "recorder", "scrub_balance"]

#: What stands in for the key and the balance header in a cassette.
REDACTED: Final = "REDACTED"
INSTALL_HINT: Final = "pip install 'realdream[verify]'"
_BALANCE_KEYS: Final = (*contract.CREDITS_KEYS, contract.METRIC_REMAINING_CREDITS)
#: A JSON member holding a balance, whose value is a number or a string.
_BALANCE: Final = re.compile(
    rb'("(?:'
    + b"|".join(re.escape(key.encode()) for key in _BALANCE_KEYS)
    + rb')"\s*:\s*)(-?[0-9][0-9.eE+-]*|"[^"]*")'
)
_DROPPED_HEADERS: Final = frozenset({"set-cookie", "cookie"})

#: ``with record(name):`` records everything httpx sends inside into ``name``'s cassette.
Record = Callable[[str], AbstractContextManager[None]]


def scrub_balance(body: bytes) -> bytes:
    """``body`` with every balance in it (JSON ``credits``, ``free-credits``,
    ``remaining_credits``) replaced by ``0`` (a value recorded as a string stays a string)."""

    def put(match: re.Match[bytes]) -> bytes:
        quoted = match.group(2).startswith(b'"')
        return match.group(1) + (b'"0"' if quoted else b"0")

    return _BALANCE.sub(put, body)


def _vcr() -> Any:
    try:
        import vcr
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"recording cassettes needs vcrpy ({exc.name} is not installed); "
            f"install it with: {INSTALL_HINT}",
            name=exc.name,
        ) from None
    return vcr


def recorder(directory: Path, api_key: str) -> Record:
    """A function that records everything httpx sends inside ``with record(name):`` into
    ``directory/name.yaml`` (replacing any earlier cassette of that name)."""
    vcr = _vcr()
    directory.mkdir(parents=True, exist_ok=True)
    config = vcr.VCR(
        record_mode="all",
        decode_compressed_response=True,
        filter_headers=[(contract.API_KEY_HEADER, REDACTED), ("cookie", None)],
        before_record_request=_request_filter(api_key),
        before_record_response=_response_filter(api_key),
    )

    @contextmanager
    def record(name: str) -> Iterator[None]:
        path = directory / f"{_file_name(name)}.yaml"
        path.unlink(missing_ok=True)
        with config.use_cassette(str(path)):
            yield

    return record


def _file_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "exchange"


def _request_filter(api_key: str) -> Callable[[Any], Any]:
    secret = api_key.encode()

    def scrub(request: Any) -> Any:
        body = request.body
        if isinstance(body, bytes) and secret and secret in body:
            request.body = body.replace(secret, REDACTED.encode())
        return request

    return scrub


def _response_filter(api_key: str) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    def scrub(response: dict[str, Any]) -> dict[str, Any] | None:
        if response["status"]["code"] == 429:
            return None
        body = _scrub_text(response["body"]["string"], api_key)
        response["body"]["string"] = body
        response["headers"] = _scrub_headers(response["headers"], api_key, len(body))
        return response

    return scrub


def _scrub_text(body: bytes, api_key: str) -> bytes:
    if api_key and api_key.encode() in body:
        body = body.replace(api_key.encode(), REDACTED.encode())
    return scrub_balance(body)


def _scrub_headers(
    headers: Mapping[str, list[str]], api_key: str, length: int
) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, values in headers.items():
        lowered = name.lower()
        if lowered in _DROPPED_HEADERS:
            continue
        if lowered == contract.HEADER_REMAINING_CREDITS:
            values = [REDACTED]
        elif lowered == "content-length":
            values = [str(length)]
        out[name] = [v.replace(api_key, REDACTED) if api_key else v for v in values]
    return out
