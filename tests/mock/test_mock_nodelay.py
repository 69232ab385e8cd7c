"""The loopback mock answers without Nagle's delay: its accepted sockets have TCP_NODELAY set.

Without it, uvicorn's separate header and body writes wait for the client's delayed ACK, and
every request on a reused connection stalls about 40 ms. The check reads the option from the
kernel on the server's own accepted socket (the server runs in this process), not a timing.
"""

from __future__ import annotations

import os
import socket
import stat
import sys
from pathlib import Path

import httpx
import pytest

import mocks
from realdream import contract

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="finds the server's socket in /proc/self/fd"
)


def _server_side_of(client_addr: tuple[str, int]) -> socket.socket:
    """This process's socket whose peer is ``client_addr``: the server's accepted connection."""
    for entry in Path("/proc/self/fd").iterdir():
        fd = int(entry.name)
        try:
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            sock = socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM)  # a duplicate
        except OSError:
            continue
        try:
            if sock.getpeername() == client_addr:
                return sock
        except OSError:
            pass
        sock.close()
    raise AssertionError(f"no socket in this process is connected to {client_addr}")


def _nodelay(sock: socket.socket) -> int:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_the_servers_accepted_connections_have_nagle_turned_off() -> None:
    assert Path("/proc/self/fd").is_dir()
    with mocks.serve(mocks.MockConfig(latency=0)) as live, httpx.Client() as client:
        headers = {contract.API_KEY_HEADER: live.api_key}
        for _ in range(2):  # the second request reuses the connection
            response = client.get(live.url(contract.CREDITS_PATH), headers=headers)
            assert response.status_code == 200
        stream = response.extensions["network_stream"]
        client_addr = stream.get_extra_info("client_addr")
        with _server_side_of(client_addr) as accepted:
            assert accepted.getsockname() == stream.get_extra_info("server_addr")
            assert _nodelay(accepted) == 1
