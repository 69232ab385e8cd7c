"""``realdream batch`` in a process that kills itself (SIGKILL) at a chosen write.

    python -m tests.cli._crashing_batch POINT N -- batch FILE --out OUT ...

POINT is ``after-write`` (the N-th image is on disk, its ``done`` record not yet written) or
``mid-write`` (the N-th image's temporary file is half written, as the core's atomic writer
leaves it when killed). Used by tests/cli/test_cli_faults.py; it drives the real command line
through its write seam, nothing patched.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from pathlib import Path

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


def main() -> int:
    point, at, separator, *argv = sys.argv[1:]
    if point not in ("after-write", "mid-write") or separator != "--":
        raise SystemExit(__doc__)
    return run(argv, seams=crash_writer(point, int(at)))


if __name__ == "__main__":
    sys.exit(main())
