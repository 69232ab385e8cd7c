"""MCP overhead: one ``generate_image`` through ``realdream mcp`` over stdio, against the same
``AsyncClient.generate`` made directly, on the offline mock with no latency.

The server is the real command (``python -m realdream.cli mcp --mock``, its own process, the
official SDK's stdio transport); the client is the official SDK's ``ClientSession``. The direct
call runs in this process on the same in-process mock transport the server uses. Calls are
interleaved (which goes first alternates) with a fixed seed, so both sides render the same
image; the overhead is the median of paired differences: JSON-RPC both ways, the image as
base64 with its parameters embedded, the text part, the spend cap and its stderr line.

Wall time on a shared, loaded machine is mostly scheduling (each call wakes another process
twice), so the CPU both processes spend per call is measured too, in blocks of calls: the
client's and the server's CPU seconds per MCP call against this process's per direct call.

    python -m bench.bench_mcp [--calls 200]          # from the repository root

Target (issue 22): at most 5 ms added per call (median).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

import realdream
import realdream.mock as mocks
from bench._common import ROOT, Row, cpu_seconds, ms, ratio

SECTION = "11 MCP"
CALLS = 200
TARGET_MS = 5.0
SIZES = ((256, 256), (1024, 1024))


def _server() -> StdioServerParameters:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = ["-m", "realdream.cli", "mcp", "--mock", "--max-cost", "1000000"]
    return StdioServerParameters(command=sys.executable, args=args, env=env, cwd=ROOT)


async def _timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return time.perf_counter() - started


@dataclass
class Measured:
    """Seconds per call: wall (interleaved pairs) and CPU (blocks), through MCP and direct."""

    mcp_wall: list[float] = field(default_factory=list)
    direct_wall: list[float] = field(default_factory=list)
    mcp_cpu: float = 0.0  # client + server process, per call
    direct_cpu: float = 0.0

    @property
    def added_wall(self) -> float:
        return statistics.median(
            a - b for a, b in zip(self.mcp_wall, self.direct_wall, strict=True)
        )


def _children() -> list[int]:
    """This process's child processes (the server the SDK started)."""
    found = []
    for task in Path("/proc/self/task").iterdir():
        text = (task / "children").read_text() if (task / "children").exists() else ""
        found += [int(pid) for pid in text.split()]
    return found


async def _measure(calls: int, size: tuple[int, int]) -> Measured:
    width, height = size
    params = {"prompt": "a lighthouse at dusk", "seed": 7, "img_width": width, "img_height": height}
    transport = mocks.AsyncMockTransport(mocks.MockConfig(latency=0.0, credits=1e9))
    measured = Measured()
    with Path(os.devnull).open("w") as quiet:  # the server's one stderr line per paid call
        async with (
            stdio_client(_server(), errlog=quiet) as (read, write),
            ClientSession(read, write) as session,
            realdream.AsyncClient(mocks.MOCK_API_KEY, transport=transport) as client,
        ):
            await session.initialize()
            (server_pid,) = _children()

            async def through_mcp() -> None:
                result = await session.call_tool("generate_image", params)
                if result.isError:
                    raise RuntimeError(result.content)

            async def direct() -> None:
                await client.generate(**params)

            for _ in range(10):  # warm up both (imports, connections, the render cache)
                await through_mcp()
                await direct()
            for index in range(calls):
                pair = (through_mcp, direct) if index % 2 else (direct, through_mcp)
                for call in pair:
                    took = await _timed(call)
                    mine = measured.mcp_wall if call is through_mcp else measured.direct_wall
                    mine.append(took)
            measured.mcp_cpu = await _cpu(through_mcp, calls, server_pid)
            measured.direct_cpu = await _cpu(direct, calls, None)
    return measured


async def _cpu(call: Callable[[], Awaitable[Any]], calls: int, server: int | None) -> float:
    """CPU seconds per call of this process (and of ``server``), over ``calls`` calls."""
    mine, theirs = time.process_time(), cpu_seconds(server) if server else 0.0
    for _ in range(calls):
        await call()
    spent = time.process_time() - mine
    if server:
        spent += cpu_seconds(server) - theirs
    return spent / calls


def measure(calls: int) -> dict[tuple[int, int], Measured]:
    return {size: anyio.run(_measure, calls, size) for size in SIZES}


def rows(calls: int = CALLS) -> list[Row]:
    """The section's rows for ``python -m bench.run``."""
    out = []
    method = "realdream mcp --mock over stdio (official ClientSession) vs AsyncClient.generate"
    n = f"{calls} each way"
    for (width, height), got in measure(calls).items():
        size = f"{width}x{height}"
        base, through = statistics.median(got.direct_wall), statistics.median(got.mcp_wall)
        out += [
            Row(SECTION, f"AsyncClient.generate, {size}", method, n, ms(base), "1.00x"),
            Row(
                SECTION,
                f"generate_image through MCP, {size}",
                method,
                n,
                ms(through),
                ratio(through / base),
            ),
            Row(
                SECTION,
                f"added per call, {size} (median of paired differences)",
                method,
                n,
                ms(got.added_wall),
                f"target <= {TARGET_MS:g} ms",
            ),
            Row(
                SECTION,
                f"CPU per call, {size}: direct / through MCP (client + server)",
                "process CPU seconds over a block of calls",
                n,
                f"{ms(got.direct_cpu)} / {ms(got.mcp_cpu)}",
                ratio(got.mcp_cpu / got.direct_cpu),
            ),
        ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=CALLS)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    worst = 0.0
    for (width, height), got in measure(args.calls).items():
        added = got.added_wall * 1000
        worst = max(worst, added)
        base, through = statistics.median(got.direct_wall), statistics.median(got.mcp_wall)
        print(
            f"{width}x{height}: direct {base * 1000:7.3f} ms   through MCP {through * 1000:7.3f} ms"
            f"   added {added:6.3f} ms (paired, median)   CPU per call: direct "
            f"{got.direct_cpu * 1000:.3f} ms, through MCP {got.mcp_cpu * 1000:.3f} ms "
            f"(+{(got.mcp_cpu - got.direct_cpu) * 1000:.3f} ms)"
        )
    verdict = "meets" if worst <= TARGET_MS else "MISSES"
    print(f"target: at most {TARGET_MS:g} ms added per call: {verdict} (load average {load:.2f})")


if __name__ == "__main__":
    main()
