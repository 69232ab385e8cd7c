"""``realdream batch`` in a process that kills itself (SIGKILL) at a chosen write.

    python -m tests.cli._crashing_batch POINT N -- batch FILE --out OUT ...

POINT is ``after-write`` (the N-th image is on disk, its ``done`` record not yet written),
``mid-write`` (the N-th image's temporary file is half written, as the core's atomic writer
leaves it when killed) or ``after-submitted`` (the N-th v2 job's ``submitted`` record is
written: the job is queued and nobody waits for it any more). Used by
tests/cli/test_cli_faults.py; it drives the real command line through its write and record
seams, nothing patched.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from realdream import write_atomic
from realdream.cli._app import Seams, run


def crash_writer(point: str, at: int) -> Seams:
    writes = 0

    def writer(path: Path, data: bytes) -> Path:
        nonlocal writes
        writes += 1
        if writes == at and point == "mid-write":
            fd, _ = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
            os.write(fd, data[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
        written = write_atomic(path, data)
        if writes == at and point == "after-write":
            os.kill(os.getpid(), signal.SIGKILL)
        return written

    return Seams(writer=writer)


def crash_recorder(at: int) -> Seams:
    submitted = 0

    def on_record(record: dict[str, Any]) -> None:
        nonlocal submitted
        submitted += record["status"] == "submitted"
        if submitted == at:
            os.kill(os.getpid(), signal.SIGKILL)

    return Seams(on_record=on_record)


def main() -> int:
    point, at, separator, *argv = sys.argv[1:]
    if point not in ("after-write", "mid-write", "after-submitted") or separator != "--":
        raise SystemExit(__doc__)
    if point == "after-submitted":
        return run(argv, seams=crash_recorder(int(at)))
    return run(argv, seams=crash_writer(point, int(at)))


if __name__ == "__main__":
    sys.exit(main())
