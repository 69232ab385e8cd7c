"""The batch manifest: what a run sent and finished, so a rerun never pays twice.

``realdream-manifest.jsonl`` in the output directory holds one JSON object per line, appended
with a single ``write`` as each event happens (and synced to disk with each finished item).
Every record has ``key``, ``line``, ``status`` and ``at``; by status:

- ``sent``: just before an item's request (v1) or submit (v2) goes out: ``request`` (the
  body as sent, seed resolved) and ``files`` (the names its images will get);
- ``submitted``: a v2 job is queued, before its run waits for it: ``request_id``,
  ``request``, ``files`` and ``expires_at`` (when the service forgets the job, ISO 8601 UTC);
- ``done``: its images are in the output directory: ``files``, ``seed``, ``cost``,
  ``request_id``, ``request``, and ``recovered`` when a later run picked them up from disk or
  ``collected`` when a later run fetched an earlier run's job;
- ``held``: paid for, but the output directory refused the images, so they were written to a
  fallback folder: ``fallback`` (absolute paths), ``files`` (those that did reach the output
  directory), ``error``, ``seed``, ``cost``, ``request_id``, ``request``;
- ``failed``: ``error``, ``maybe_billed``, ``billed`` (when known), ``request`` (as sent),
  ``request_id`` (when the server sent one), ``raw_body`` (where the body of an unreadable
  HTTP 200 was kept), and ``expires_at`` for a v2 job that may still be collected.

v2 records (``submitted``, and ``held`` or ``failed`` records of a job) keep ``expires_at``.

An item's state is its last record. On a rerun ``done`` items are skipped; ``held`` images
are moved into the output directory; ``failed`` items are sent again (only HTTP 200 is
billed, and a FAILED job is not billed); a v2 job within its hour (``submitted``, or ``held``
or ``failed`` with ``maybe_billed`` and ``expires_at`` still ahead) is collected by its id,
not paid again; items that may have been billed without their images arriving (``sent`` with
nothing after it, from a killed run, ``failed`` with ``maybe_billed``, or a job past its
hour) are skipped unless the user asks to retry them. A line torn by a crash is ignored.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal

__all__ = [
    "MANIFEST_NAME",
    "Manifest",
    "ManifestLockedError",
    "State",
    "job_expiry",
    "timestamp",
]

MANIFEST_NAME: Final = "realdream-manifest.jsonl"
MANIFEST_VERSION: Final = 1

State = Literal["done", "failed", "submitted", "unknown", "new"]


class ManifestLockedError(Exception):
    """Another process is writing to the same manifest."""


class Manifest:
    """The records of one output directory, and an append-only writer for new ones."""

    def __init__(
        self, directory: Path, *, on_append: Callable[[dict[str, Any]], object] | None = None
    ) -> None:
        self.path = directory / MANIFEST_NAME
        self.records: dict[str, dict[str, Any]] = {}
        self.torn_lines = 0
        self._fd: int | None = None
        self._lock = threading.Lock()
        #: Called with each record once it is written (a seam for tests).
        self._on_append = on_append

    # -- reading -------------------------------------------------------------------------
    def load(self) -> Manifest:
        """Read the existing records (the last record of each key wins), a line at a time:
        a manifest of 10,000 items is about 11 MB, and holding it whole (and its lines) while
        parsing doubled the peak memory of a resumed batch."""
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return self
        self.torn_lines = 0
        with handle:
            for line in handle:
                record = _parse(line)
                if record is None:
                    self.torn_lines += bool(line.strip())
                    continue
                self.records[record["key"]] = record
        return self

    def state(self, key: str, now: datetime | None = None) -> State:
        """What the manifest knows about the item with ``key`` at ``now`` (default: now):
        ``submitted`` is a v2 job still within its hour, to collect by its id."""
        record = self.records.get(key)
        if record is None:
            return "new"
        status = record.get("status")
        if status == "done":
            return "done"
        if status == "failed" and not record.get("maybe_billed"):
            return "failed"
        expires = job_expiry(record)
        if expires is not None and expires > (now or datetime.now(timezone.utc)):
            return "submitted"
        return "unknown"

    # -- writing -------------------------------------------------------------------------
    def open(self) -> Manifest:
        """Open for appending, taking an exclusive lock (one batch per directory at a time)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)  # less the umask
        try:
            _lock(fd)
        except OSError:
            os.close(fd)
            raise ManifestLockedError(
                f"another realdream batch is writing to {self.path.parent}; wait for it to end"
            ) from None
        self._fd = fd
        if _ends_without_newline(self.path):  # a torn last line must stay a line of its own
            os.write(fd, b"\n")
        return self

    def append(
        self, key: str, line: int, status: str, *, sync: bool = True, **fields: Any
    ) -> dict[str, Any]:
        """Append one record atomically (one ``write`` of one line); thread-safe.

        The line reaches the operating system at once (it survives the process being
        killed); ``sync`` also waits until it is on disk (it survives a power cut).
        """
        if self._fd is None:
            raise RuntimeError("Manifest.append before Manifest.open")
        record = {
            "v": MANIFEST_VERSION,
            "key": key,
            "line": line,
            "status": status,
            "at": timestamp(datetime.now(timezone.utc)),
            **fields,
        }
        data = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with self._lock:
            os.write(self._fd, data)
            if sync:
                os.fsync(self._fd)
            self.records[key] = record
        if self._on_append is not None:
            self._on_append(record)
        return record

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock
            self._fd = None

    def __enter__(self) -> Manifest:
        return self if self._fd is not None else self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def timestamp(moment: datetime) -> str:
    """``moment`` as the manifest writes times: ISO 8601 in UTC."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def job_expiry(record: Mapping[str, Any]) -> datetime | None:
    """When the v2 job a record names is forgotten by the service (``None``: it names no
    job that could still be collected: no ``request_id``, or no readable ``expires_at``)."""
    request_id, expires_at = record.get("request_id"), record.get("expires_at")
    if not isinstance(request_id, str) or not isinstance(expires_at, str):
        return None
    try:
        moment = datetime.fromisoformat(expires_at)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("key"), str):
        return None
    return record


def _ends_without_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return False
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) != b"\n"


def _lock(fd: int) -> None:
    if sys.platform == "win32":  # pragma: no cover - no advisory locks there
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
