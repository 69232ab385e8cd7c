"""Replay: a request that matches a recorded exchange gets the recorded answer.

``realdream mock --replay DIR`` (or ``MockConfig(replay=DIR)``, ``create_app(replay=DIR)``)
reads the vcrpy cassettes in ``DIR`` (written by ``realdream verify --record DIR``). A request
matches a recording when its method, path and body are the same and it carries a key exactly
when the recorded one did; several recordings of one request are answered in turn, the last
one again after that. The answer is the recorded status, headers and body, byte for byte,
except the balance (filtered out when recording): ``x-remaining-credits`` and the balance in a
JSON body read the mock's own. A replayed 200 (v1) or 2xx submit (v2) is debited from the
mock's ledger like a synthetic one. Anything else falls back to the synthetic contract.

A cassette that cannot be true (a status outside 100..599, a price or time that is NaN, an
infinity or negative, a billed request for an impossible ``samples``) is refused when the
folder is loaded, with a ``ValueError`` naming the file, the exchange and the field.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from realdream import contract
from realdream.mock._http import MockRequest, MockResponse
from realdream.mock._ledger import format_usd, to_micros
from realdream.mock._plan import Plan
from realdream.mock._recorded import billed_request, check_recorded
from realdream.mock._state import ServiceState
from realdream.testing.cassettes import Recorded, fill_balance, load_file

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
        """The cassettes in ``directory``; ``ValueError`` when there are none to read, or one
        cannot be true (naming the file, the exchange and the field)."""
        folder = Path(directory)
        if not folder.is_dir():
            raise ValueError(f"replay={str(directory)!r}: not a directory")
        recorded: list[Recorded] = []
        for path in sorted(folder.glob("*.yaml")):
            recorded += _checked(path)
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

    def plan(self, request: MockRequest, state: ServiceState) -> Plan | None:
        """The plan that answers ``request`` from a recording (debiting a billed one), or
        ``None``: no recording matches, or the balance cannot pay for it (the synthetic
        contract then answers, with its 406)."""
        recorded = self.next_for(request)
        if recorded is None:
            return None
        cost = _billed_micros(recorded, state.config.cost_per_image)
        if cost and not state.ledger.reserve(cost):
            return None

        def finish() -> MockResponse:
            remaining = state.ledger.commit(cost) if cost else state.ledger.balance_micros
            return _answer(recorded, format_usd(max(0, remaining)))

        def cancel() -> None:
            if cost:
                state.ledger.release(cost)

        return state.answer_later(0.0, finish, cancel=cancel)


def _checked(path: Path) -> list[Recorded]:
    """The exchanges of the cassette ``path``, each known to be possible."""
    items = load_file(path)
    for number, item in enumerate(items, start=1):
        try:
            check_recorded(item, billed=_billed_api(item) is not None)
        except ValueError as exc:
            raise ValueError(f"{path}: interaction {number}: {exc}") from None
    return items


def _billed_api(recorded: Recorded) -> contract.Api | None:
    """The API of an answer the mock bills (a v1 200, or a v2 submit's 2xx), else ``None``."""
    if recorded.method != "POST":
        return None
    if recorded.path == contract.GENERATE_PATH and recorded.status == 200:
        return "v1"
    if recorded.path == contract.V2_SUBMIT_PATH and 200 <= recorded.status < 300:
        return "v2"
    return None


def _billed_micros(recorded: Recorded, cost_per_image: float) -> int:
    """What a replayed answer costs on the mock's ledger: billed answers only (every sample of
    a v2 job or a base64 answer, else the one raw image)."""
    api = _billed_api(recorded)
    if api is None:
        return 0
    samples, base64 = billed_request(recorded.body)
    images = samples if api == "v2" or base64 else 1
    return to_micros(contract.cost(images, cost_per_image))


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
