"""Cassettes: real exchanges with the service, recorded by ``realdream verify --record DIR``
and read back here (``python -m mocks --replay DIR`` answers matching requests from them).
vcrpy (the ``verify`` extra) is imported only when a cassette is read.

What a cassette never holds: the API key (the request header reads ``REDACTED``), the account's
balance (``x-remaining-credits`` reads ``REDACTED``; ``credits``, ``free-credits`` and
``remaining_credits`` in JSON bodies read ``0``: :func:`fill_balance` puts one back), cookies,
and 429 answers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from realdream import contract, parse_amount

__all__ = ["INSTALL_HINT", "REDACTED", "Recorded", "fill_balance", "load"]

#: What stands in for the key and the balance header in a cassette.
REDACTED: Final = "REDACTED"
INSTALL_HINT: Final = "pip install 'realdream[verify]'"
_PAID_KEYS: Final = (contract.CREDITS_KEYS[0], contract.METRIC_REMAINING_CREDITS)
#: A JSON member holding the paid balance, whose value is a number or a string.
_PAID_BALANCE: Final = re.compile(
    rb'("(?:'
    + b"|".join(re.escape(key.encode()) for key in _PAID_KEYS)
    + rb')"\s*:\s*)(-?[0-9][0-9.eE+-]*|"[^"]*")'
)


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


def fill_balance(body: bytes, balance: str) -> bytes:
    """``body`` with its paid balance (``credits``, ``remaining_credits``) set to ``balance``,
    the text of a JSON number (a value recorded as a string stays a string)."""

    def put(match: re.Match[bytes]) -> bytes:
        quoted = match.group(2).startswith(b'"')
        return match.group(1) + (f'"{balance}"' if quoted else balance).encode()

    return _PAID_BALANCE.sub(put, body)


def _vcr_reader() -> tuple[Any, Any]:
    try:
        from vcr.serialize import deserialize
        from vcr.serializers import yamlserializer
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"reading cassettes needs vcrpy ({exc.name} is not installed); "
            f"install it with: {INSTALL_HINT}",
            name=exc.name,
        ) from None
    return deserialize, yamlserializer


def load(directory: Path) -> list[Recorded]:
    """Every exchange of every ``*.yaml`` cassette in ``directory``, in file then record order.

    Raises ``ValueError`` naming the file for a cassette vcrpy cannot read, and naming the
    file and the field for a number in it that cannot be true (parsed by
    :func:`realdream.parse_amount`).
    """
    deserialize, serializer = _vcr_reader()
    found: list[Recorded] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            requests, responses, *_ = deserialize(path.read_text(), serializer)
        except Exception as exc:  # any way a file can fail to be a cassette
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise ValueError(f"{path}: not a readable cassette ({reason})") from None
        try:
            found += [_recorded(req, resp) for req, resp in zip(requests, responses, strict=True)]
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    return found


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
        status=_status_code(response["status"]["code"]),
        headers=headers,
        content=content.encode() if isinstance(content, str) else bytes(content),
    )


def _status_code(value: object) -> int:
    """A recorded status code: a whole number (its range is the replaying mock's to judge)."""
    code = parse_amount(value, field="status.code")
    if not code.is_integer():
        raise ValueError(f"status.code={value!r}: must be a whole number")
    return int(code)
