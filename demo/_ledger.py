"""The spend ledger: today's settled spend, the reservations in flight, the last balance seen.

One small JSON file in the state directory, replaced atomically on every change (written to a
temporary file, flushed to disk, then renamed over the old one), so a crash leaves either the
old ledger or the new one, never half of one. Amounts are integer micro-dollars: sums of
prices never drift.

In the app the file is written by :class:`BackgroundLedger`: a request hands over a snapshot
and goes on; one writer thread writes the newest snapshot at most every 50 ms (so a burst of
changes is one write, and a slow disk never slows a request down). A crash loses at most the
changes of the last 50 ms or so. When a write fails, the next change is written on the
caller's thread, so the guard learns of it and refuses new reservations until the ledger can
be written again.

Reading it back is conservative:

- Reservations still open when the app stopped may have been billed: they count as spent.
- A ledger that cannot be read or parsed, or holds a number that cannot be true (NaN, an
  infinity, a negative amount, a 400-digit integer, text where a number belongs), is reported,
  moved aside (``ledger.json.corrupt-...``) and replaced. It never resets the day to zero spend:
  if the file was last written before today (UTC), none of today's spend can be in it and today
  starts at zero; otherwise today's budget counts as spent until the next UTC midnight
  (``spend_unknown``).
- A ledger dated later than today (the clock stepped back) keeps its spend, counted against
  today: the day only ever moves forward.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final, Protocol

from realdream import parse_amount

__all__ = [
    "LEDGER_FILE",
    "MICROS_PER_USD",
    "BackgroundLedger",
    "FileLedger",
    "Ledger",
    "LedgerState",
    "MemoryLedger",
    "micros",
    "usd",
]

logger = logging.getLogger("demo.guard")

LEDGER_FILE: Final = "ledger.json"
#: The background writer waits this long after a change, so changes close together are one write.
COALESCE_S: Final = 0.05
MICROS_PER_USD: Final = 1_000_000
_VERSION: Final = 1
#: No day's spend comes near a million dollars: a larger amount is damage, not spend.
MAX_MICROS: Final = 1_000_000 * MICROS_PER_USD
#: Epoch seconds far beyond any clock this app runs on (the year 5138).
MAX_TIME: Final = 1e11
_MAX_KEY: Final = 64


def micros(amount_usd: float) -> int:
    """``amount_usd`` in whole micro-dollars."""
    return round(amount_usd * MICROS_PER_USD)


def usd(amount_micros: int) -> float:
    return amount_micros / MICROS_PER_USD


@dataclass
class LedgerState:
    """What the ledger holds. ``day`` is the UTC date (``YYYY-MM-DD``) ``spent`` belongs to;
    ``price_usd`` is the highest price per image a response reported (``None``: none yet)."""

    day: str
    spent: int = 0
    spend_unknown: bool = False
    open: dict[str, int] = field(default_factory=dict)
    balance_usd: float | None = None
    balance_at: float | None = None
    price_usd: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": _VERSION,
            "day": self.day,
            "spent_micro_usd": self.spent,
            "spend_unknown": self.spend_unknown,
            "open_micro_usd": self.open,
            "balance_usd": self.balance_usd,
            "balance_at": self.balance_at,
            "price_usd": self.price_usd,
        }

    @classmethod
    def from_json(cls, data: Any) -> LedgerState:
        """The state in ``data``; :class:`ValueError` naming the field for anything but this
        module's format, or a number that cannot be true."""
        if not isinstance(data, dict) or data.get("version") != _VERSION:
            raise ValueError("not a version 1 ledger")
        day, unknown, opened = data["day"], data["spend_unknown"], data["open_micro_usd"]
        if not isinstance(day, str):
            raise ValueError(f"day={short_repr(day)}: must be a date YYYY-MM-DD")
        datetime.strptime(day, "%Y-%m-%d")  # raises ValueError
        if not (isinstance(unknown, bool) and isinstance(opened, dict)):
            raise ValueError("bad spend fields")
        return cls(
            day=day,
            spent=_micros(data["spent_micro_usd"], "spent_micro_usd"),
            spend_unknown=unknown,
            open={_key(k): _micros(v, f"open_micro_usd[{k!r}]") for k, v in opened.items()},
            balance_usd=_optional(data["balance_usd"], "balance_usd"),
            balance_at=_optional(data["balance_at"], "balance_at", maximum=MAX_TIME),
            price_usd=_optional(data.get("price_usd"), "price_usd"),
        )

    def snapshot(self) -> LedgerState:
        """A copy that later changes to this state do not touch."""
        return dataclasses.replace(self, open=dict(self.open))

    def roll_to(self, day: str) -> None:
        """Start ``day`` if it is later: a new UTC day starts at zero spend (open reservations
        stay open). An earlier ``day`` (the clock stepped back) keeps the spend, counted against
        today."""
        if day > self.day:
            self.day, self.spent, self.spend_unknown = day, 0, False


class Ledger(Protocol):
    """Where the guard keeps its state between restarts."""

    def load(self, now: float) -> LedgerState: ...

    def save(self, state: LedgerState) -> None: ...


class MemoryLedger:
    """No persistence: a restart starts afresh (for tests and benchmarks)."""

    def __init__(self, state: LedgerState | None = None) -> None:
        self.saved: LedgerState | None = state
        self.saves = 0

    def load(self, now: float) -> LedgerState:
        if self.saved is None:
            return LedgerState(day=utc_day(now))
        return _restored(LedgerState.from_json(self.saved.to_json()), now)

    def save(self, state: LedgerState) -> None:
        self.saved = LedgerState.from_json(state.to_json())
        self.saves += 1


class FileLedger:
    """``<state_dir>/ledger.json``, replaced atomically on every save."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LEDGER_FILE

    def __repr__(self) -> str:
        return f"FileLedger({str(self.path)!r})"

    def load(self, now: float) -> LedgerState:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):  # no ledger yet (or no folder)
            return LedgerState(day=utc_day(now))
        except (OSError, UnicodeDecodeError) as exc:
            return self._replace_unreadable(now, f"cannot be read ({exc})")
        try:
            state = LedgerState.from_json(json.loads(text))
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            return self._replace_unreadable(now, f"is not a valid ledger ({exc!s:.200})")
        return _restored(state, now)

    def save(self, state: LedgerState) -> None:
        """Write ``state`` atomically; :class:`OSError` when the folder is not writable."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(state.to_json(), sort_keys=True).encode()
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".ledger-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            Path(temporary).replace(self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _replace_unreadable(self, now: float, why: str) -> LedgerState:
        written = _mtime(self.path)
        aside = self.path.with_name(f"{self.path.name}.corrupt-{_stamp(now)}")
        try:
            self.path.replace(aside)
            where = f"moved aside to {aside}"
        except OSError as exc:
            where = f"could not be moved aside ({exc})"
        state = LedgerState(day=utc_day(now))
        if written is None or written >= start_of_utc_day(now):
            state.spend_unknown = True
            reading = "today's budget counts as spent until 00:00 UTC"
        else:
            reading = "it was last written before today (UTC), so today starts at zero"
        logger.error("spend ledger %s %s; %s; %s", self.path, why, where, reading)
        try:
            self.save(state)
        except OSError as exc:
            logger.error("spend ledger %s cannot be replaced: %s", self.path, exc)
        return state


class BackgroundLedger:
    """Writes a :class:`FileLedger` on a thread of its own, newest snapshot first.

    ``save`` only hands the snapshot over, unless the last write failed: then it writes on
    the caller's thread and raises :class:`OSError` while the disk still refuses.
    """

    def __init__(self, ledger: FileLedger, *, coalesce_s: float = COALESCE_S) -> None:
        self.ledger = ledger
        self.coalesce_s = coalesce_s
        self.failed = False
        self._changed = threading.Condition()
        self._pending: LedgerState | None = None
        self._hurry = False
        self._submitted = 0
        self._written = 0
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"BackgroundLedger({self.ledger!r})"

    def load(self, now: float) -> LedgerState:
        """The state, written back at once: a folder that cannot be written shows now."""
        state = self.ledger.load(now)
        try:
            self.ledger.save(state)
        except OSError as exc:
            self.failed = True
            logger.error("spend ledger %s cannot be written: %s", self.ledger.path, exc)
        return state

    def save(self, state: LedgerState) -> None:
        if self.failed:
            self.ledger.save(state)  # raises while the disk refuses
            self.failed = False
            return
        with self._changed:
            self._pending = state.snapshot()
            self._submitted += 1
            self._changed.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._write_forever, name="demo-ledger", daemon=True
                )
                self._thread.start()

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until everything saved so far is on disk (or failed); ``False`` on timeout."""
        with self._changed:
            target = self._submitted
            if self._pending is not None:
                self._hurry = True
                self._changed.notify_all()
            return self._changed.wait_for(lambda: self._written >= target, timeout)

    def _write_forever(self) -> None:
        while True:
            with self._changed:
                while self._pending is None:
                    self._changed.wait()
                # Later changes in the meantime join this write, unless a flush is waiting.
                self._changed.wait_for(lambda: self._hurry, timeout=self.coalesce_s)
                self._hurry = False
                state, version = self._pending, self._submitted
                self._pending = None
            try:
                self.ledger.save(state)
            except OSError as exc:
                self.failed = True
                logger.error("spend ledger %s cannot be written: %s", self.ledger.path, exc)
            with self._changed:
                self._written = version
                self._changed.notify_all()


def utc_day(now: float) -> str:
    """The UTC date of ``now`` (seconds since the epoch), as ``YYYY-MM-DD``."""
    return datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d")


def start_of_utc_day(now: float) -> float:
    """The epoch seconds of the UTC midnight that began ``now``'s day."""
    moment = datetime.fromtimestamp(now, timezone.utc)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def _restored(state: LedgerState, now: float) -> LedgerState:
    """A state read back after a restart: reservations left open count as spent, and a day
    later than today (the clock stepped back) counts against today."""
    if state.open:
        left = sum(state.open.values())
        logger.warning(
            "%d reservations (%s USD) were open when the app stopped: counted as spent",
            len(state.open),
            f"{usd(left):.4f}",
        )
        state.spent += left
        state.open.clear()
    today = utc_day(now)
    if state.day > today:
        logger.warning(
            "spend ledger is dated %s, later than today (%s UTC): the clock stepped back; "
            "its spend (%s USD) counts against today",
            state.day,
            today,
            f"{usd(state.spent):.4f}",
        )
    state.roll_to(today)
    return state


def _micros(value: Any, field: str) -> int:
    """A whole number of micro-dollars written by :meth:`LedgerState.to_json`."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{field}={short_repr(value)}: must be a whole number of micro-USD")
    return int(parse_amount(value, field=field, maximum=MAX_MICROS))


def _optional(value: Any, field: str, maximum: float | None = None) -> float | None:
    """``None``, or a finite number >= 0 (never text: the ledger writes numbers)."""
    if value is None:
        return None
    if isinstance(value, str):
        raise ValueError(f"{field}={short_repr(value)}: must be a number or null")
    if maximum is None:
        return parse_amount(value, field=field)
    return parse_amount(value, field=field, maximum=maximum)


def short_repr(value: object, limit: int = 40) -> str:
    """``repr(value)``, cut so that a hostile value cannot flood the log."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _key(value: Any) -> str:
    if not isinstance(value, str) or len(value) > _MAX_KEY:
        raise ValueError(f"reservation id {short_repr(value)}: must be short text")
    return value


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _stamp(now: float) -> str:
    return datetime.fromtimestamp(now, timezone.utc).strftime("%Y%m%dT%H%M%SZ")
