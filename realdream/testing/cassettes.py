"""Cassettes: real exchanges with the service, recorded with vcrpy and safe to commit.

``realdream verify --record DIR`` writes one YAML cassette per probe; ``realdream mock
--replay DIR`` answers matching requests from them. vcrpy (the ``verify`` extra) is imported
only when a cassette is recorded or read.

What a cassette never holds: the API key (the request header reads ``REDACTED``, and the key is
scrubbed from anything else that echoes it), the account's balance (``x-remaining-credits``
reads ``REDACTED``; ``credits``, ``free-credits`` and ``remaining_credits`` in JSON bodies read
``0``), cookies, and 429 answers (met while recording, they are waited out and left out).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from realdream import contract

__all__ = [
    "INSTALL_HINT",
    "REDACTED",
    "Recorded",
    "fill_balance",
    "load",
    "load_file",
    "recorder",
    "scrub_balance",
]

#: What stands in for the key and the balance header in a cassette.
REDACTED: Final = "REDACTED"
INSTALL_HINT: Final = "pip install 'realdream[verify]'"
_PAID_KEYS: Final = (contract.CREDITS_KEYS[0], contract.METRIC_REMAINING_CREDITS)


def _balance_pattern(keys: tuple[str, ...]) -> re.Pattern[bytes]:
    """A JSON member named one of ``keys`` whose value is a number or a string."""
    names = b"|".join(re.escape(key.encode()) for key in keys)
    return re.compile(rb'("(?:' + names + rb')"\s*:\s*)(-?[0-9][0-9.eE+-]*|"[^"]*")')


_EVERY_BALANCE: Final = _balance_pattern(
    (*contract.CREDITS_KEYS, contract.METRIC_REMAINING_CREDITS)
)
_PAID_BALANCE: Final = _balance_pattern(_PAID_KEYS)
_DROPPED_HEADERS: Final = frozenset({"set-cookie", "cookie"})


@dataclass(frozen=True)
class Recorded:
    """One recorded exchange: the request's method, path, body and whether it carried a key;
    the answer's status, headers (as sent, in order) and body."""

    method: str
    path: str
    body: bytes
    has_key: bool
    status: int
    headers: tuple[tuple[str, str], ...]
    content: bytes


def scrub_balance(body: bytes) -> bytes:
    """``body`` with every balance in it (JSON ``credits``, ``free-credits``,
    ``remaining_credits``) replaced by ``0``."""
    return _replace(_EVERY_BALANCE, body, "0")


def fill_balance(body: bytes, balance: str) -> bytes:
    """``body`` with its paid balance (``credits``, ``remaining_credits``) set to ``balance``,
    the text of a JSON number (a value recorded as a string stays a string)."""
    return _replace(_PAID_BALANCE, body, balance)


def _replace(pattern: re.Pattern[bytes], body: bytes, value: str) -> bytes:
    def put(match: re.Match[bytes]) -> bytes:
        quoted = match.group(2).startswith(b'"')
        return match.group(1) + (f'"{value}"' if quoted else value).encode()

    return pattern.sub(put, body)


def _vcr() -> Any:
    try:
        import vcr
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"recording and replaying cassettes needs vcrpy ({exc.name} is not installed); "
            f"install it with: {INSTALL_HINT}",
            name=exc.name,
        ) from None
    return vcr


def recorder(directory: Path, api_key: str) -> Callable[[str], AbstractContextManager[None]]:
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


def load(directory: Path) -> list[Recorded]:
    """Every exchange of every ``*.yaml`` cassette in ``directory``, in file then record order.

    Raises ``ValueError`` naming the file for a cassette that cannot be read (see
    :func:`load_file`).
    """
    found: list[Recorded] = []
    for path in sorted(directory.glob("*.yaml")):
        found += load_file(path)
    return found


def load_file(path: Path) -> list[Recorded]:
    """The exchanges of the cassette ``path``, in record order.

    Raises ``ValueError`` naming the file for a cassette vcrpy cannot read, and naming the file
    and the field for an exchange that cannot be true (a status that is not a whole number from
    100 to 599).
    """
    vcr = _vcr()
    from vcr.serialize import deserialize
    from vcr.serializers import yamlserializer

    del vcr
    try:
        requests, responses, *_ = deserialize(path.read_text(), yamlserializer)
        pairs = list(zip(requests, responses, strict=True))
    except Exception as exc:  # any way a file can fail to be a cassette
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ValueError(f"{path}: not a readable cassette ({reason})") from None
    found: list[Recorded] = []
    for number, (request, response) in enumerate(pairs, start=1):
        try:
            found.append(_recorded(request, response))
        except (ValueError, LookupError, TypeError, AttributeError) as exc:
            raise ValueError(f"{path}: interaction {number}: {_reason(exc)}") from None
    return found


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValueError):
        return str(exc)
    return f"not a recorded exchange ({type(exc).__name__}: {' '.join(str(exc).split())})"


def _status(code: object) -> int:
    """A recorded status: a whole number from 100 to 599 (``ValueError`` naming the field)."""
    if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
        shown = repr(code) if len(repr(code)) <= 40 else repr(code)[:39] + "…"
        raise ValueError(
            f"response.status.code={shown}: must be an HTTP status, a whole number from 100 to 599"
        )
    return code


def _recorded(request: Any, response: Mapping[str, Any]) -> Recorded:
    body = request.body if isinstance(request.body, bytes) else (request.body or b"")
    headers = tuple(
        (name, value) for name, values in response["headers"].items() for value in values
    )
    content = response["body"]["string"]
    return Recorded(
        method=str(request.method).upper(),
        path=str(request.path),
        body=body.encode() if isinstance(body, str) else bytes(body),
        has_key=contract.API_KEY_HEADER in request.headers,
        status=_status(response["status"]["code"]),
        headers=headers,
        content=content.encode() if isinstance(content, str) else bytes(content),
    )
