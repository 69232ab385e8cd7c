"""Sends one probe's request: the key only in its header, and a 429 (never billed) waited out a
few times, for as long as the service asks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

import httpx

from realdream import contract
from realdream._errors import APIConnectionError, APITimeoutError
from realdream._headers import server_wait
from realdream._version import __version__
from realdream.verify._exchange import Exchange
from realdream.verify._probes import MALFORMED_KEY, Probe

__all__ = ["Sender", "Sleep"]

#: A 429 is waited out at most this many times per request, this long each.
_RATE_LIMIT_TRIES: Final = 4
_MAX_RATE_LIMIT_WAIT: Final = 65.0

Sleep = Callable[[float], Awaitable[None]]


class Sender:
    """Sends probes to one service with one key; every 429 met lands in ``rate_limited``."""

    def __init__(self, http: httpx.AsyncClient, key: str, sleep: Sleep) -> None:
        self.http = http
        self.key = key
        self.sleep = sleep
        self.rate_limited: list[Exchange] = []

    async def exchange(self, probe: Probe) -> Exchange:
        """One request, with a 429 waited out (it is not billed) a few times.

        Raises :class:`~realdream.APIConnectionError` when no answer came (``maybe_billed``:
        the request may have reached the service).
        """
        for attempt in range(_RATE_LIMIT_TRIES):
            ex = await self._send(probe)
            if ex.status != 429 or attempt == _RATE_LIMIT_TRIES - 1:
                return ex
            self.rate_limited.append(ex)
            await self.sleep(_rate_limit_wait(ex, attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, probe: Probe) -> Exchange:
        body = probe.encoded()
        headers = self._headers(probe)
        try:
            response = await self.http.request(
                probe.method, probe.path, content=body, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise APITimeoutError(self._no_answer(exc), maybe_billed=True) from None
        except httpx.TransportError as exc:
            sent = not isinstance(exc, httpx.ConnectError)
            raise APIConnectionError(self._no_answer(exc), maybe_billed=sent) from None
        found = {k.lower(): v for k, v in response.headers.items()}
        return Exchange(
            probe.name, probe.method, probe.path, body, response.status_code, found,
            response.content,
        )  # fmt: skip

    def _headers(self, probe: Probe) -> dict[str, str]:
        headers = {"User-Agent": f"realdream-verify/{__version__}", "Accept": "*/*"}
        if probe.body is not None:
            headers["Content-Type"] = probe.content_type
        if probe.key != "none":
            headers[contract.API_KEY_HEADER] = self.key if probe.key == "user" else MALFORMED_KEY
        return headers

    def _no_answer(self, exc: Exception) -> str:
        url = self.http.base_url
        return f"no answer from {url.host or url}: {type(exc).__name__}"


def _rate_limit_wait(ex: Exchange, attempt: int) -> float:
    asked = server_wait(ex.headers)
    wait = asked if asked is not None and asked > 0 else 2.0 ** (attempt + 1)
    return min(wait, _MAX_RATE_LIMIT_WAIT)
