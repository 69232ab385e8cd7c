"""The loopback mock's connections: no Nagle delay, and idle ones kept past the client's reuse.

Without TCP_NODELAY, uvicorn's separate header and body writes wait for the client's delayed ACK,
and every request on a reused connection stalls about 40 ms; the check reads the option from the
kernel on the server's own accepted socket (the server runs in this process), not a timing.
"""

from __future__ import annotations

import os
import re
import select
import socket
import stat
import sys
from pathlib import Path

import httpx
import pytest

import realdream.mock as mocks
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


@pytest.mark.slow  # waits out httpx's 5 s keep-alive window
def test_an_idle_connection_outlives_the_clients_reuse_window() -> None:
    """The server keeps an idle connection past httpx's 5 s keep-alive expiry.

    With uvicorn's default (also 5 s) both sides timed out together, and a batch now and then
    sent a request on a connection the server was closing (a ReadError, nothing answered: an
    unknown outcome for a paid POST). Waiting out the client's window is the behaviour tested:
    the server must not close the connection inside it.
    """
    expiry = httpx.Limits().keepalive_expiry
    assert expiry is not None
    assert 2 * expiry <= mocks.KEEP_ALIVE_S
    with mocks.serve(mocks.MockConfig(latency=0)) as live:
        host, port = live.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:
            request = (
                f"GET {contract.CREDITS_PATH} HTTP/1.1\r\nHost: {host}\r\n"
                f"{contract.API_KEY_HEADER}: {live.api_key}\r\n\r\n"
            )
            assert _exchange(sock, request).startswith(b"HTTP/1.1 200")
            closed, _, _ = select.select([sock], [], [], expiry + 0.5)  # EOF would be readable
            assert not closed, "the server closed an idle connection inside httpx's reuse window"
            assert _exchange(sock, request).startswith(b"HTTP/1.1 200")  # and it still answers


def _exchange(sock: socket.socket, request: str) -> bytes:
    """Send ``request`` and read one whole response (headers, then Content-Length bytes)."""
    sock.sendall(request.encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(65536)
    head, _, body = answer.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?im)^content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body
