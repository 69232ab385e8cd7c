"""The mock's own paths, for a test or a person driving it over HTTP (the key header required).

``POST /mock/script`` with ``{"statuses": [429, "timeout", 200]}`` queues outcomes for the
key's next API requests (see :meth:`~realdream.mock.MockService.script`); ``GET /mock/stats``
answers the balance and the counters of :class:`~realdream.mock.MockStats`.
"""

from __future__ import annotations

from typing import Any, Final

from realdream import ValidationError, parse_json_object
from realdream.mock import _rules
from realdream.mock._http import MockRequest, MockResponse, error_response, json_response
from realdream.mock._state import ServiceState

__all__ = ["CONTROL_PATH", "STATS_PATH", "control"]

#: ``POST`` here (with the key header) and ``{"statuses": [429, 502]}`` scripts outcomes.
CONTROL_PATH: Final = "/mock/script"
#: ``GET`` here (with the key header): the balance and the counters, as JSON.
STATS_PATH: Final = "/mock/stats"


def control(state: ServiceState, request: MockRequest) -> MockResponse:
    """The answer to a request for :data:`CONTROL_PATH` or :data:`STATS_PATH`."""
    denied = _rules.check_auth(request, state.config)
    if denied is not None:
        return denied
    if request.path == STATS_PATH:
        return _stats(state, request)
    if request.method != "POST":
        return _rules.method_not_allowed("POST")
    return _script(state, _rules.api_key_of(request), request.body)


def _stats(state: ServiceState, request: MockRequest) -> MockResponse:
    if request.method != "GET":
        return _rules.method_not_allowed("GET")
    stats = state.stats
    return json_response(
        200,
        {
            "balance": state.balance,
            "requests": stats.requests,
            "by_status": {str(k): v for k, v in sorted(stats.by_status.items())},
            "images": stats.images,
            "render_seconds": stats.render_seconds,
            "server_seconds": stats.server_seconds,
            "jobs": stats.jobs,
        },
    )


def _script(state: ServiceState, key: str, body: bytes) -> MockResponse:
    try:
        state.script(_script_statuses(body), api_key=key)
    except ValueError as exc:
        return error_response(400, str(exc))
    return json_response(200, {"pending": state.scripts.pending(key)})


def _script_statuses(body: bytes) -> list[Any]:
    """The ``statuses`` list of a ``POST /mock/script`` body."""
    try:
        data = parse_json_object(body)
    except ValidationError as exc:
        raise ValueError(str(exc)) from None
    statuses = data.get("statuses")
    if not isinstance(statuses, list):
        raise ValueError('body: must be {"statuses": [<status, case or "timeout">, ...]}')
    return statuses
