"""Every benchmark side by side with what a user would pick instead, in one run.

    python -m bench.run                 # everything (about 14 minutes on 2 cores)
    python -m bench.run --quick         # fewer samples and smaller runs, no test-suite row
    python -m bench.run --only 2 5      # some sections

Prints a table (median and ratio per row, with method and sample size) and writes it to
``bench/results.md`` with the date, the machine, its load and the command. These machines are
noisy: rows are medians, peers are measured interleaved in the same run, and ratios are what
count. Sections: 1 start-up, 2 client overhead by response size, 3 async scaling, 4 batch,
5 mock server, 6 demo, 7 v2 polling, 8 pacing, 9 spend guard, 10 test suite, 11 MCP (see
bench/README.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timezone

from bench import (
    bench_async,
    bench_batch,
    bench_client,
    bench_demo,
    bench_guard,
    bench_mcp,
    bench_mock,
    bench_pacing,
    bench_polling,
    bench_startup,
)
from bench._common import ROOT, Row, seconds

RESULTS = ROOT / "bench" / "results.md"
#: The test suite's section, left out of --quick.
SUITE = 10
MCP = 11


def suite_row() -> list[Row]:
    env = {**os.environ, "HYPOTHESIS_PROFILE": "ci"}
    t0 = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    summary = (run.stdout.strip().splitlines() or ["(no output)"])[-1]
    name, what = "pytest, HYPOTHESIS_PROFILE=ci", summary.strip("= ")
    return [Row(f"{SUITE} test suite", name, what, "1 run", seconds(wall))]


def sections(quick: bool) -> dict[int, Callable[[], list[Row]]]:
    return {
        1: lambda: bench_startup.rows(8 if quick else 30),
        2: lambda: bench_client.loopback_rows(60 if quick else 1000),
        3: lambda: bench_async.rows((1, 32, 256) if quick else bench_async.SIZES),
        4: lambda: (
            bench_batch.floor_rows(2 if quick else 5)
            + bench_batch.scale_rows(1_000 if quick else 10_000)
        ),
        5: lambda: [bench_mock.stall_row(), *bench_mock.rows(48 if quick else 160)],
        6: lambda: bench_demo.rows(2 if quick else 5),
        7: lambda: bench_polling.rows(jobs=50 if quick else 100, off_grid=not quick),
        8: lambda: bench_pacing.rows(prompts=100 if quick else 200),
        9: lambda: bench_guard.rows(100 if quick else 400),
        SUITE: suite_row,
        MCP: lambda: bench_mcp.rows(50 if quick else 200),
    }


def run_section(number: int, section: Callable[[], list[Row]]) -> list[Row]:
    """The section's rows; one that fails is one row saying how, and the run goes on."""
    try:
        return section()
    except Exception as exc:
        traceback.print_exc()
        message = " ".join(str(exc).split())[:300].replace("|", "/")
        return [Row(f"{number} FAILED", type(exc).__name__, message, "-", "")]


def table(rows: list[Row]) -> str:
    lines = ["| section | what | method | n | median | ratio |", "|---|---|---|---|---|---|"]
    lines += [
        f"| {r.section} | {r.name} | {r.method} | {r.n} | {r.value} | {r.ratio} |" for r in rows
    ]
    return "\n".join(lines)


def machine() -> str:
    return (
        f"{platform.node() or 'unknown host'}: {platform.platform()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min)"


def _section_of(line: str) -> int:
    return int(line.split("|")[1].split()[0])


def write_results(rows: list[Row], run_line: str, numbers: list[int], merge: bool) -> None:
    """Write ``rows``; with ``merge``, keep the other sections' rows and runs from the file."""
    runs, kept = [run_line], []
    if merge and RESULTS.exists():
        old = RESULTS.read_text().splitlines()
        runs = [line for line in old if line.startswith("- run: ")] + runs
        body = [line for line in old if line.startswith("| ") and line[2:3].isdigit()]
        kept = [line for line in body if _section_of(line) not in numbers]
    lines = kept + table(rows).splitlines()[2:]
    lines.sort(key=_section_of)  # stable: each section keeps its rows' order
    header = table([]).splitlines()
    RESULTS.write_text(
        "# Benchmark results\n\n"
        f"- machine: {machine()}\n" + "\n".join(runs) + "\n\n" + "\n".join(header + lines) + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples, no test-suite row")
    parser.add_argument(
        "--only",
        nargs="*",
        type=int,
        choices=range(1, MCP + 1),
        default=None,
        help="run these sections; their rows replace theirs in results.md, the rest stay",
    )
    args = parser.parse_args(argv)
    chosen = sections(args.quick)
    numbers = args.only or [n for n in chosen if not (args.quick and n == SUITE)]
    start_load = load()
    print(f"machine: {machine()}; load average {start_load}", flush=True)
    t0 = time.perf_counter()
    rows: list[Row] = []
    for number in numbers:
        section_rows = run_section(number, chosen[number])
        rows += section_rows
        print(table(section_rows), flush=True)
    wall = time.perf_counter() - t0
    command = "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:])
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    run_line = (
        f"- run: {stamp}, `{command.strip()}`, sections {', '.join(map(str, numbers))}, "
        f"{wall / 60:.1f} minutes, load average {start_load} at start, {load()} at the end"
    )
    write_results(rows, run_line, numbers, merge=bool(args.only))
    print(f"\nwritten to {RESULTS.relative_to(ROOT)} in {wall / 60:.1f} minutes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
