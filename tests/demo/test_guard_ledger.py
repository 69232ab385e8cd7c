"""The spend ledger on disk: restarts keep the day, writes are atomic, corruption fails safe."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest

from demo._guard import Guard
from demo._ledger import LEDGER_FILE, BackgroundLedger, FileLedger, LedgerState
from demo._refusals import Limit, RefusedError
from demo._settings import GuardSettings
from demo._visitor import Visitor
from realdream.contract import cost
from realdream.testing.clock import SkipAheadClock
from tests.served import TIMEOUT_S

PRICE = cost(1)
ALICE = Visitor("addr:aaaaaaaaaaaa")
NOON = datetime(2030, 6, 1, 12, tzinfo=timezone.utc).timestamp()
YESTERDAY = NOON - 86_400
ROOT = Path(__file__).resolve().parents[2]


def guard_on(state_dir: Path, now: float = NOON, budget: float = 10 * PRICE) -> Guard:
    settings = GuardSettings(daily_budget_usd=budget, visitor_images_per_hour=0)
    return Guard(settings, FileLedger(state_dir), clock=SkipAheadClock(now, frozen=True))


def refusal(call: Callable[[], object]) -> RefusedError:
    with pytest.raises(RefusedError) as caught:
        call()
    return caught.value


def test_a_restart_keeps_the_days_spend(tmp_path: Path) -> None:
    first = guard_on(tmp_path)
    first.settle(first.reserve(ALICE, 4), 4 * PRICE)
    again = guard_on(tmp_path)
    assert again.spent_today_usd() == pytest.approx(4 * PRICE)
    again.settle(again.reserve(ALICE, 4), 4 * PRICE)
    refused = refusal(lambda: again.reserve(ALICE, 4))
    assert refused.limit is Limit.DAILY_BUDGET


def test_a_restart_on_a_new_utc_day_starts_at_zero(tmp_path: Path) -> None:
    first = guard_on(tmp_path, now=YESTERDAY)
    first.settle(first.reserve(ALICE, 4), 4 * PRICE)
    assert guard_on(tmp_path).spent_today_usd() == 0


def test_reservations_open_when_the_app_stopped_count_as_spent(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    crashed = guard_on(tmp_path)
    crashed.settle(crashed.reserve(ALICE, 1), PRICE)
    crashed.reserve(ALICE, 4)  # the process dies with this request in flight
    assert guard_on(tmp_path).spent_today_usd() == pytest.approx(5 * PRICE)
    assert "1 reservations (0.0080 USD) were open when the app stopped" in caplog.text


def test_the_ledger_is_plain_json_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    guard = guard_on(tmp_path)
    guard.settle(guard.reserve(ALICE, 2), 2 * PRICE, balance_usd=9.5)
    data = json.loads((tmp_path / LEDGER_FILE).read_text())
    assert data["day"] == "2030-06-01"
    assert data["spent_micro_usd"] == 4000
    assert data["balance_usd"] == 9.5
    assert data["open_micro_usd"] == {}
    assert [p.name for p in tmp_path.iterdir()] == [LEDGER_FILE]


def test_a_failed_write_leaves_the_previous_ledger_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    guard = guard_on(tmp_path)
    guard.settle(guard.reserve(ALICE, 1), PRICE)
    before = (tmp_path / LEDGER_FILE).read_bytes()

    def disk_full(self: Path, target: Path) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", disk_full)
    refused = refusal(lambda: guard.reserve(ALICE, 1))
    assert refused.limit is Limit.LEDGER
    assert "Nothing was spent." in refused.message
    assert (tmp_path / LEDGER_FILE).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [LEDGER_FILE]
    assert guard.open_reservations() == 0


@pytest.mark.parametrize(
    "garbage",
    [b"{not json", b"", b'{"version": 1}', b'{"version": 99, "day": "2030-06-01"}', b"\xff\xfe"],
    ids=["truncated", "empty", "missing-fields", "other-version", "not-utf8"],
)
def test_a_corrupt_ledger_is_moved_aside_and_today_counts_as_spent(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, garbage: bytes
) -> None:
    ledger = tmp_path / LEDGER_FILE
    ledger.write_bytes(garbage)
    os.utime(ledger, (NOON - 60, NOON - 60))  # written today, on the fake clock
    guard = guard_on(tmp_path)
    refused = refusal(lambda: guard.reserve(ALICE, 1))
    assert refused.limit is Limit.DAILY_BUDGET
    (aside,) = tmp_path.glob(f"{LEDGER_FILE}.corrupt-*")
    assert aside.read_bytes() == garbage
    assert "today's budget counts as spent until 00:00 UTC" in caplog.text
    assert guard_on(tmp_path).allowance(ALICE).budget_left_usd == 0  # a restart keeps it
    tomorrow = guard_on(tmp_path, now=NOON + 86_400)
    tomorrow.reserve(ALICE, 1)


def test_a_corrupt_ledger_last_written_before_today_starts_today_at_zero(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = tmp_path / LEDGER_FILE
    ledger.write_bytes(b"{not json")
    os.utime(ledger, (YESTERDAY, YESTERDAY))
    guard = guard_on(tmp_path)
    guard.reserve(ALICE, 1)
    assert "last written before today (UTC), so today starts at zero" in caplog.text


def test_an_unreadable_ledger_is_reported_and_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / LEDGER_FILE).mkdir()  # reading it fails with an OSError, even as root
    os.utime(tmp_path / LEDGER_FILE, (NOON - 60, NOON - 60))
    guard = guard_on(tmp_path)
    assert guard.allowance(ALICE).budget_left_usd == 0
    assert "cannot be read" in caplog.text
    assert (tmp_path / LEDGER_FILE).is_file()
    assert len(list(tmp_path.glob(f"{LEDGER_FILE}.corrupt-*"))) == 1


def test_a_state_folder_that_cannot_be_created_pauses_the_key_without_crashing(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the state folder should be")
    guard = guard_on(blocker / "realdream")
    refused = refusal(lambda: guard.reserve(ALICE, 1))
    assert refused.limit is Limit.LEDGER


# --- the app's ledger: written in the background ----------------------------------------------


def app_guard(state_dir: Path) -> Guard:
    """What ``app.py`` builds: the ledger in ``state_dir``, written by a background thread."""
    return Guard(GuardSettings(daily_budget_usd=1.0, state_dir=state_dir))


def test_the_apps_ledger_is_written_in_the_background_and_survives_a_restart(
    tmp_path: Path,
) -> None:
    guard = app_guard(tmp_path)
    guard.settle(guard.reserve(ALICE, 3), 3 * PRICE)
    guard.flush()
    assert json.loads((tmp_path / LEDGER_FILE).read_text())["spent_micro_usd"] == 6000
    assert app_guard(tmp_path).spent_today_usd() == pytest.approx(3 * PRICE)


def test_a_burst_of_changes_is_one_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[int] = []
    save = FileLedger.save

    def counted(self: FileLedger, state: LedgerState) -> None:
        writes.append(state.spent)
        save(self, state)

    monkeypatch.setattr(FileLedger, "save", counted)
    ledger = BackgroundLedger(FileLedger(tmp_path), coalesce_s=0.2)
    guard = Guard(GuardSettings(visitor_images_per_hour=0), ledger)
    writes.clear()  # the write-back at start
    for _ in range(20):
        guard.settle(guard.reserve(ALICE, 1), PRICE)
    guard.flush()
    assert writes[-1] == 20 * 2000  # the newest state is on disk
    assert len(writes) < 5  # 40 changes, a handful of writes


def test_a_failed_background_write_refuses_the_next_reservation_until_the_disk_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    guard = Guard(GuardSettings(), BackgroundLedger(FileLedger(tmp_path), coalesce_s=0))
    replace = Path.replace

    def disk_full(self: Path, target: Path) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", disk_full)
    guard.settle(guard.reserve(ALICE, 1), PRICE)  # in memory; the write fails behind it
    guard.flush()
    assert "No space left on device" in caplog.text
    assert refusal(lambda: guard.reserve(ALICE, 1)).limit is Limit.LEDGER
    monkeypatch.setattr(Path, "replace", replace)
    guard.settle(guard.reserve(ALICE, 1), PRICE)
    guard.flush()
    assert json.loads((tmp_path / LEDGER_FILE).read_text())["spent_micro_usd"] == 4000


def test_an_unwritable_state_folder_pauses_the_key_from_the_first_request(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the state folder should be")
    guard = app_guard(blocker / "realdream")
    assert refusal(lambda: guard.reserve(ALICE, 1)).limit is Limit.LEDGER


@pytest.mark.slow  # a fresh interpreter imports Gradio
def test_sigterm_writes_the_ledger_before_the_app_goes(tmp_path: Path) -> None:
    """A Space restarting sends SIGTERM: ``app.py`` writes the last changes, then exits."""
    code = f"""
import os, signal
from pathlib import Path
from demo import Guard, GuardSettings, Visitor
from demo._app import _flush_then_stop
from demo._ledger import BackgroundLedger, FileLedger

ledger = BackgroundLedger(FileLedger(Path({str(tmp_path)!r})), coalesce_s=30)
guard = Guard(GuardSettings(), ledger)
guard.settle(guard.reserve(Visitor("addr:0"), 3), 0.006)  # written 30 s from now, or at SIGTERM
signal.signal(signal.SIGTERM, _flush_then_stop(guard))
os.kill(os.getpid(), signal.SIGTERM)
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=TIMEOUT_S, check=False)
    assert done.returncode == -signal.SIGTERM  # it still ends as SIGTERM ends a process
    assert json.loads((tmp_path / LEDGER_FILE).read_text())["spent_micro_usd"] == 6000
