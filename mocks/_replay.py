"""Replay: a request that matches a recorded exchange gets the recorded answer.

``python -m mocks --replay DIR`` (or ``MockConfig(replay=DIR)``, ``create_app(replay=DIR)``)
reads the vcrpy cassettes in ``DIR`` (written by ``realdream verify --record DIR``). A request
matches a recording when its method, path and body are the same and it carries a key exactly
when the recorded one did; several recordings of one request are answered in turn, the last
one again after that. The answer is the recorded status, headers and body, byte for byte,
except the balance (filtered out when recording): ``x-remaining-credits`` and the balance in a
JSON body read the mock's own. A replayed 200 (v1) or 2xx submit (v2) is debited from the
mock's ledger like a synthetic one. Anything else falls back to the synthetic contract.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from realdream import contract
from realdream.mock._http import MockRequest, MockResponse
from realdream.mock._ledger import format_usd, to_micros
from realdream.testing.cassettes import Recorded, fill_balance, load

if TYPE_CHECKING:
    from realdream.mock._config import MockConfig
    from realdream.mock._service import MockService, Plan

__all__ = ["Replay"]

_Key = tuple[str, str, bytes, bool]
#: Headers the server sets itself (the body's length, how the connection is kept).
_HOP_BY_HOP: Final = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"}
)


class Replay:
    """Recorded exchanges by request; thread-safe."""

    def __init__(self, recorded: Sequence[Recorded]) -> None:
        self._answers: dict[_Key, list[Recorded]] = defaultdict(list)
        for item in recorded:
            self._answers[(item.method, item.path, item.body, item.has_key)].append(item)
        self._served: dict[_Key, int] = defaultdict(int)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, directory: str | Path) -> Replay:
        """The cassettes in ``directory``; ``ValueError`` when there are none to read."""
        folder = Path(directory)
        if not folder.is_dir():
            raise ValueError(f"replay={str(directory)!r}: not a directory")
        recorded = load(folder)
        if not recorded:
            raise ValueError(f"replay={str(directory)!r}: no recorded exchange in *.yaml there")
        return cls(recorded)

    def __len__(self) -> int:
        return sum(len(answers) for answers in self._answers.values())

    def next_for(self, request: MockRequest) -> Recorded | None:
        """The recorded answer to ``request``, in turn; ``None`` when none matches."""
        has_key = bool((request.header(contract.API_KEY_HEADER) or "").strip())
        key = (request.method, request.path, request.body, has_key)
        with self._lock:
            answers = self._answers.get(key)
            if not answers:
                return None
            turn = self._served[key]
            self._served[key] = turn + 1
        return answers[min(turn, len(answers) - 1)]

    def plan(self, request: MockRequest, service: MockService) -> Plan | None:
        """The plan that answers ``request`` from a recording (debiting a billed one), or
        ``None``: no recording matches, or the balance cannot pay for it (the synthetic
        contract then answers, with its 406)."""
        from realdream.mock._service import Plan

        recorded = self.next_for(request)
        if recorded is None:
            return None
        cost = _billed_micros(recorded, service.config)
        if cost and not service.ledger.reserve(cost):
            return None

        def finish() -> MockResponse:
            remaining = service.ledger.commit(cost) if cost else service.ledger.balance_micros
            return _answer(recorded, format_usd(max(0, remaining)))

        def cancel() -> None:
            if cost:
                service.ledger.release(cost)

        return Plan(0.0, finish, cancel=cancel, on_done=service._record)


def _billed_micros(recorded: Recorded, config: MockConfig) -> int:
    """What a replayed answer costs on the mock's ledger: billed answers only."""
    v1 = recorded.path == contract.GENERATE_PATH and recorded.status == 200
    v2 = recorded.path == contract.V2_SUBMIT_PATH and 200 <= recorded.status < 300
    if recorded.method != "POST" or not (v1 or v2):
        return 0
    return to_micros(contract.cost(_images(recorded.body, v2), config.cost_per_image))


def _images(body: bytes, v2: bool) -> int:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return 1
    samples = data.get("samples", 1) if isinstance(data, dict) else 1
    samples = samples if isinstance(samples, int) and samples > 0 else 1
    return samples if v2 or (isinstance(data, dict) and data.get("base64") is True) else 1


def _answer(recorded: Recorded, balance: str) -> MockResponse:
    headers: dict[str, str] = {}
    for name, value in recorded.headers:
        lowered = name.lower()
        if lowered in _HOP_BY_HOP:
            continue
        if lowered == contract.HEADER_REMAINING_CREDITS:
            value = balance
        headers[lowered] = f"{headers[lowered]}, {value}" if lowered in headers else value
    return MockResponse(recorded.status, fill_balance(recorded.content, balance), headers)
