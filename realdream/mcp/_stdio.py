"""The stdio transport on the event loop's own pipes: the SDK's ``stdio_server`` reads and
writes through a worker thread per line (``anyio.wrap_file``), three thread hops a call; on a
busy machine those hops were most of the time one call spent in the server (bench/bench_mcp.py).

The messages are the SDK's own (``JSONRPCMessage``, ``SessionMessage``), one per line, exactly
as ``stdio_server`` frames them. When stdin or stdout is not a pipe, socket or terminal (a
regular file), :func:`stdio_streams` falls back to the SDK's transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from typing import Final

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp import types
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage

__all__ = ["stdio_streams"]

#: The longest line read (a request is a few kilobytes; a prompt at most 2,000 characters).
_MAX_LINE: Final = 16 * 1024 * 1024

Streams = tuple[
    MemoryObjectReceiveStream[SessionMessage | Exception], MemoryObjectSendStream[SessionMessage]
]


@contextlib.asynccontextmanager
async def stdio_streams() -> AsyncIterator[Streams]:
    """The server's (read, write) streams on stdin and stdout."""
    try:
        reader, writer = await _pipes()
    except (ValueError, OSError):  # not pipes: the SDK's threaded transport
        async with stdio_server() as streams:
            yield streams
        return
    incoming_writer, incoming = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    outgoing, outgoing_reader = anyio.create_memory_object_stream[SessionMessage](0)

    async def read_lines() -> None:
        async with incoming_writer:
            while line := await reader.readline():
                try:
                    message = types.JSONRPCMessage.model_validate_json(line)
                except Exception as exc:  # the session answers a parse error
                    await incoming_writer.send(exc)
                    continue
                await incoming_writer.send(SessionMessage(message))

    async def write_lines() -> None:
        async with outgoing_reader:
            async for item in outgoing_reader:
                text = item.message.model_dump_json(by_alias=True, exclude_none=True)
                writer.write(text.encode() + b"\n")
                await writer.drain()

    async with anyio.create_task_group() as group:
        group.start_soon(read_lines)
        group.start_soon(write_lines)
        try:
            yield incoming, outgoing
        finally:
            group.cancel_scope.cancel()


async def _pipes() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=_MAX_LINE)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, sys.stdout.buffer
    )
    return reader, asyncio.StreamWriter(transport, protocol, None, loop)
