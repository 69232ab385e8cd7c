"""The v1 endpoint: ``POST /v1/<model>`` holds the connection for the latency, then answers the
image (raw JPEG, or base64 JSON), billed on the 200 alone. Credits are reserved before the wait
and released if the answer is a fault, or if the caller goes away first.
"""

from __future__ import annotations

import base64
import time
import uuid

from realdream import GenerationRequest, contract
from realdream.mock import _rules
from realdream.mock._http import MockRequest, MockResponse, json_response
from realdream.mock._ledger import format_usd, to_micros
from realdream.mock._plan import Plan
from realdream.mock._scenarios import TIMEOUT
from realdream.mock._state import ServiceState

__all__ = ["GenerateEndpoint"]


class GenerateEndpoint:
    """v1 generation answers for one service state (see :data:`realdream.mock.CHECK_ORDER`)."""

    def __init__(self, state: ServiceState) -> None:
        self.state = state

    def generate(self, request: MockRequest, key: str) -> Plan:
        state = self.state
        entry = state.scripts.pop(key)
        if entry is not None and entry not in (200, TIMEOUT):
            return state.answer_now(state.scripted_response(entry))
        hang = state.config.hang_seconds if entry == TIMEOUT else 0.0
        refused = _rules.check_content_type(request)
        if refused is not None:
            return state.answer_now(refused)
        parsed = _rules.parse_generation(request.body)
        if isinstance(parsed, MockResponse):
            return state.answer_now(parsed)
        return self._bill(parsed, key, hang)

    def _bill(self, params: GenerationRequest, key: str, hang: float) -> Plan:
        state = self.state
        images = params.samples if params.base64 else 1
        cost = to_micros(contract.cost(images, state.config.cost_per_image))
        if not state.ledger.reserve(cost):
            return state.answer_now(state.insufficient(cost))
        reset_at = state.limiter.acquire(key)
        if reset_at is not None:
            state.ledger.release(cost)
            return state.answer_now(_rules.rate_limited(reset_at, state.clock()))
        drawn, fault, delay = state.draw(params, "generate")
        params = drawn if drawn is not None else params

        def finish() -> MockResponse:
            if fault is not None:
                state.ledger.release(cost)
                return state.fault_response(fault)
            return self._success(params, images, cost, delay)

        return state.answer_later(
            delay + hang,
            finish,
            cancel=lambda: state.ledger.release(cost),
            blocking=fault is None,
        )

    def _success(
        self, params: GenerationRequest, images: int, cost: int, delay: float
    ) -> MockResponse:
        t0 = time.perf_counter()
        blobs = self.state.render(params, range(images), returned=True)
        rendered = time.perf_counter() - t0
        remaining = self.state.ledger.commit(cost)
        headers = {
            contract.HEADER_REMAINING_CREDITS: format_usd(remaining),
            contract.HEADER_REQUEST_ID: uuid.uuid4().hex,
            contract.HEADER_COST: format_usd(cost),
            contract.HEADER_GENERATION_TIME: f"{delay + rendered:.3f}",
            contract.HEADER_SEED: str(params.seed),
        }
        if not params.base64:
            return MockResponse(200, blobs[0], {"content-type": "image/jpeg", **headers})
        encoded = [base64.b64encode(blob).decode("ascii") for blob in blobs]
        body = {"image": encoded[0]} if len(encoded) == 1 else {"images": encoded}
        return json_response(200, body, headers)
