"""``pytest --realdream-live``: the plugin's clients talk to the real API, within a spending cap.

A request that may be billed (a v1 generation, a v2 submit) holds its cost at the contract's
price before it is sent; one that would pass ``--realdream-max-cost`` is not sent, and its test
is skipped saying so. After the answer, a 200 is counted at its ``x-cost`` (a v2 submit at the
held price: it is billed when the job completes), anything else at nothing, and a request
whose answer never came at the held price (it may have been billed).
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field
from typing import Final

import httpx
import pytest

from realdream import contract

__all__ = ["DEFAULT_LIVE_MAX_COST", "AsyncCappedTransport", "CappedTransport", "Live", "LiveBudget"]

#: What a live run may spend unless told otherwise (USD): 25 images at the contract's price.
DEFAULT_LIVE_MAX_COST: Final = 0.05


@dataclass
class LiveBudget:
    """The session's spending: held before a billable request, settled after. Thread-safe."""

    cap: float
    spent: float = 0.0
    held: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def hold(self, usd: float) -> bool:
        with self._lock:
            if self.spent + self.held + usd > self.cap + 1e-9:
                return False
            self.held += usd
            return True

    def settle(self, held: float, spent: float) -> None:
        with self._lock:
            self.held = max(0.0, self.held - held)
            self.spent = round(self.spent + spent, 6)


@dataclass(frozen=True)
class Live:
    """The live run's key, base URL and budget (the key is never shown)."""

    api_key: str = field(repr=False)
    base_url: str
    budget: LiveBudget


def billable_images(request: httpx.Request) -> int:
    """How many images a request may be billed for (0: it cannot be billed)."""
    path = request.url.path
    v1, v2 = path.endswith(contract.GENERATE_PATH), path.endswith(contract.V2_SUBMIT_PATH)
    if request.method != "POST" or not (v1 or v2):
        return 0
    try:
        data = json.loads(request.content)
    except (ValueError, RecursionError):
        return 1
    samples = data.get("samples", 1) if isinstance(data, dict) else 1
    samples = samples if isinstance(samples, int) and samples > 0 else 1
    return samples if v2 or (isinstance(data, dict) and data.get("base64") is True) else 1


def _hold(budget: LiveBudget, request: httpx.Request) -> float:
    cost = contract.cost(billable_images(request))
    if cost and not budget.hold(cost):
        pytest.skip(
            f"--realdream-max-cost: ${cost:g} more would pass the ${budget.cap:g} cap "
            f"(${budget.spent:g} spent); nothing was sent"
        )
    return cost


def _spent(request: httpx.Request, response: httpx.Response, held: float) -> float:
    if not held or not 200 <= response.status_code < 300:
        return 0.0
    if request.url.path.endswith(contract.V2_SUBMIT_PATH):
        return held
    if response.status_code != 200:
        return 0.0
    reported = _float(response.headers.get(contract.HEADER_COST))
    return reported if reported is not None else held


def _float(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) and number >= 0 else None


class CappedTransport(httpx.BaseTransport):
    """Sends through ``inner`` unless the budget cannot pay for the request."""

    def __init__(self, inner: httpx.BaseTransport, budget: LiveBudget) -> None:
        self.inner, self.budget = inner, budget

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        held = _hold(self.budget, request)
        try:
            response = self.inner.handle_request(request)
        except httpx.ConnectError:  # nothing reached the server
            self.budget.settle(held, 0.0)
            raise
        except BaseException:
            self.budget.settle(held, held)  # sent, no answer: it may have been billed
            raise
        self.budget.settle(held, _spent(request, response, held))
        return response

    def close(self) -> None:
        self.inner.close()


class AsyncCappedTransport(httpx.AsyncBaseTransport):
    """The asyncio twin of :class:`CappedTransport`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, budget: LiveBudget) -> None:
        self.inner, self.budget = inner, budget

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        held = _hold(self.budget, request)
        try:
            response = await self.inner.handle_async_request(request)
        except httpx.ConnectError:  # nothing reached the server
            self.budget.settle(held, 0.0)
            raise
        except BaseException:
            self.budget.settle(held, held)
            raise
        self.budget.settle(held, _spent(request, response, held))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
