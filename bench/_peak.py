"""Run ``realdream`` with the given arguments and report its own peak memory.

``ru_maxrss`` from ``wait4`` is no measure of a child's peak on Linux: the high-water mark
survives ``exec``, so a child forked from a large process (``bench.run`` holds 160 MiB by the
batch section) reports at least its parent's size. ``VmHWM`` in ``/proc/self/status`` belongs to
the address space ``exec`` made, so this reads it as the command exits, into the file named by
``REALDREAM_BENCH_PEAK`` (KiB).

    REALDREAM_BENCH_PEAK=/tmp/peak python -m bench._peak batch prompts.txt -o out
"""

from __future__ import annotations

import atexit
import os
import sys
from pathlib import Path

PEAK_ENV = "REALDREAM_BENCH_PEAK"


def peak_kib() -> int:
    """This process's peak resident memory (``VmHWM``) in KiB; 0 where /proc is missing."""
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _report() -> None:
    Path(os.environ[PEAK_ENV]).write_text(str(peak_kib()))


if __name__ == "__main__":
    atexit.register(_report)
    from realdream.cli import main

    sys.exit(main(sys.argv[1:]))
