"""Client overhead: ``realdream.Client`` against plain and tuned ``httpx.Client``, ``requests``
(a Session, and ``requests.post`` as in the vendor's sample) and the official SDK, one request at
a time, at several response sizes.

The mock runs in its own process on loopback (latency 0). Each response size is its own table:
a credits GET (40 bytes of JSON), a forced 400 (``X-Mock-Status``; a short JSON error), a 512x512
JPEG, a 1024x1024 JPEG under 64 KB and one over it. Small bodies matter: a server that writes
headers and body separately meets Nagle's algorithm and the client's delayed ACK, and every
request on a reused connection then stalls ~40 ms (issue 12); responses over the loopback MSS
(64 KB) hide it. Peers are measured in interleaved rounds (shuffled order) in the same run.

    python -m bench.bench_client [--requests 1000]          # loopback, every size
    python -m bench.bench_client --in-process [--requests 1000]  # no sockets (MockTransport)

Targets (issue 12): realdream <= 1.00x plain httpx.Client, <= 1.10x tuned httpx.Client.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

import realdream
import realdream.mock as mocks
from bench._common import (
    API_KEY_HEADER,
    CREDITS_PATH,
    GENERATE_PATH,
    KEY,
    MODEL_SLUG,
    Row,
    median,
    mock_process,
    ms,
    ratio,
)

SECTION = "2 client overhead"
PLAIN_TARGET = 1.00
TUNED_TARGET = 1.10
PLAIN = "httpx.Client (plain)"
TUNED = "httpx.Client (tuned)"
OURS = "realdream.Client"


@dataclass(frozen=True)
class Case:
    """One kind of response: how to ask for it."""

    name: str
    method: str
    path: str
    params: dict[str, Any] | None = None  # generate() parameters (None: the credits GET)
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200

    @property
    def payload(self) -> dict[str, Any] | None:
        """The exact body realdream sends for ``params`` (every field): every peer sends it."""
        if self.params is None:
            return None
        return realdream.GenerationRequest.create(self.params).payload


def _image(prompt: str, seed: int, size: int) -> dict[str, Any]:
    return {"prompt": prompt, "seed": seed, "img_width": size, "img_height": size}


#: The mock renders deterministically: "mist", seed 2 is a 1024x1024 JPEG of ~57 KB, under the
#: loopback MSS; the sailor is ~67 KB, over it.
CASES = (
    Case("credits GET", "GET", CREDITS_PATH),
    Case(
        "error 400 (forced)",
        "POST",
        GENERATE_PATH,
        _image("a lighthouse at dusk", 42, 512),
        {mocks.FORCE_STATUS_HEADER: "400"},
        400,
    ),
    Case("512x512 JPEG", "POST", GENERATE_PATH, _image("a lighthouse at dusk", 42, 512)),
    Case("1024x1024 JPEG under 64 KB", "POST", GENERATE_PATH, _image("mist", 2, 1024)),
    Case(
        "1024x1024 JPEG over 64 KB",
        "POST",
        GENERATE_PATH,
        _image("portrait of a sailor, 85mm", 42, 1024),
    ),
)


class NoCookies(httpx.Cookies):
    """A jar that keeps nothing: the API sets no cookies (the tuned peer's first trick)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class AddHeaders(httpx.BaseTransport):
    """Adds headers to every request (how realdream.Client sends ``X-Mock-Status``)."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.inner = httpx.HTTPTransport()
        self.headers = headers

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.headers.update(self.headers)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def _check(status: int, expected: int) -> None:
    if status != expected:
        raise RuntimeError(f"expected HTTP {expected}, got {status}")


@contextmanager
def peers(case: Case, base_url: str) -> Iterator[dict[str, Callable[[], object]]]:
    """Every peer's one call for ``case``, ready to time (clients open, connections not yet)."""
    import requests

    url = base_url + case.path
    api_headers = {API_KEY_HEADER: KEY, "Content-Type": "application/json"}
    headers = {**api_headers, **case.headers}  # requests peers send the mock's header directly
    payload = case.payload
    body = json.dumps(payload).encode() if payload is not None else None
    method, expected = case.method, case.status

    def transport() -> httpx.BaseTransport | None:
        """The mock's header (``X-Mock-Status``) is not part of the API call: every httpx-based
        peer gets it from the same wrapper transport, so none pays for it alone."""
        return AddHeaders(case.headers) if case.headers else None

    with ExitStack() as stack:
        plain = stack.enter_context(httpx.Client(transport=transport()))
        tuned = stack.enter_context(httpx.Client(headers=api_headers, transport=transport()))
        tuned._cookies = NoCookies()  # httpx has no public switch for the jar
        session = stack.enter_context(requests.Session())
        session.headers.update(headers)
        ours = stack.enter_context(realdream.Client(KEY, base_url=base_url, transport=transport()))

        def plain_call() -> None:
            response = plain.request(method, url, json=payload, headers=api_headers)
            _check(response.status_code, expected)

        def tuned_call() -> None:
            _check(tuned.request(method, url, content=body).status_code, expected)

        def ours_call() -> None:
            if case.params is None:
                ours.credits()
                return
            try:
                ours.generate(**case.params)
            except realdream.BadRequestError:
                if expected != 400:
                    raise
            else:
                _check(200, expected)

        def session_call() -> None:
            _check(session.request(method, url, json=payload, timeout=60).status_code, expected)

        def requests_call() -> None:
            response = requests.request(method, url, json=payload, headers=headers, timeout=60)
            _check(response.status_code, expected)

        calls: dict[str, Callable[[], object]] = {
            PLAIN: plain_call,
            TUNED: tuned_call,
            OURS: ours_call,
            "requests.Session": session_call,
            "requests.post (vendor sample)": requests_call,
        }
        sdk = _sdk_call(case, base_url, payload)
        if sdk is not None:
            calls["segmind SDK run_sync"] = sdk
        yield calls


def _sdk_call(
    case: Case, base_url: str, payload: dict[str, Any] | None
) -> Callable[[], object] | None:
    """The official SDK's call (image responses only: it cannot add a header or GET credits)."""
    if payload is None or case.headers:
        return None
    try:
        from segmind.client import SegmindClient
    except ImportError:  # the bench extra is not installed
        return None
    sdk = SegmindClient(api_key=KEY, base_url=base_url + "/v1")
    return lambda: sdk.run_sync(MODEL_SLUG, **payload)


def interleaved(calls: dict[str, Callable[[], object]], each: int) -> dict[str, list[float]]:
    """Rounds of a few calls per peer, in a shuffled order each round (no position bias)."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():  # connect, warm caches
        for _ in range(10):
            call()
    order = list(calls)
    shuffle = random.Random(20261125).shuffle
    per_round = 20
    for _ in range(max(1, each // per_round)):
        shuffle(order)
        for name in order:
            call = calls[name]
            for _ in range(per_round):
                t0 = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - t0)
    return times


def _size(case: Case, base_url: str) -> int:
    headers = {API_KEY_HEADER: KEY, **case.headers}
    response = httpx.request(
        case.method, base_url + case.path, json=case.payload, headers=headers, timeout=60
    )
    _check(response.status_code, case.status)
    return len(response.content)


def loopback_rows(requests_each: int) -> list[Row]:
    rows = []
    with mock_process(0) as mock:
        for case in CASES:
            size = _size(case, mock.base_url)
            with peers(case, mock.base_url) as calls:
                times = interleaved(calls, requests_each)
            medians = {name: median(samples) for name, samples in times.items()}
            method = f"{case.name}, {size:,} B; sequential on one connection, mock latency 0"
            for name, value in medians.items():
                shown = (
                    f"{ratio(value / medians[PLAIN])} plain, {ratio(value / medians[TUNED])} tuned"
                )
                if name == OURS:
                    shown += f" (targets <= {PLAIN_TARGET:.2f}x, <= {TUNED_TARGET:.2f}x)"
                rows.append(Row(SECTION, name, method, str(len(times[name])), ms(value), shown))
    return rows


# --- in-process: no sockets at all ----------------------------------------------------------
def in_process(requests_each: int) -> None:
    """realdream.Client against plain and tuned httpx over an in-memory transport (1024x1024)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (1024, 1024), (90, 120, 150)).save(buffer, "JPEG", quality=85)
    jpeg = buffer.getvalue()
    answer = {"content-type": "image/jpeg", "x-remaining-credits": "9.99"}
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, content=jpeg, headers=answer)
    )
    params = _image("portrait of a sailor", 42, 1024)
    payload = realdream.GenerationRequest.create(params).payload
    body = json.dumps(payload).encode()
    url = "http://bench.invalid" + GENERATE_PATH
    headers = {API_KEY_HEADER: KEY, "Content-Type": "application/json"}
    plain = httpx.Client(transport=transport)
    tuned = httpx.Client(transport=transport, headers=headers)
    tuned._cookies = NoCookies()
    ours = realdream.Client(KEY, base_url="http://bench.invalid", transport=transport)
    calls: dict[str, Callable[[], object]] = {
        PLAIN: lambda: plain.post(url, json=payload, headers=headers).raise_for_status(),
        TUNED: lambda: tuned.post(url, content=body).raise_for_status(),
        OURS: lambda: ours.generate(**params),
    }
    times = interleaved(calls, requests_each)
    medians = {name: median(samples) for name, samples in times.items()}
    print(f"in-process transport, 1024x1024 JPEG, {requests_each} requests each")
    for name, value in medians.items():
        print(
            f"  {name:24} {value * 1e6:8.1f} µs  {value / medians[PLAIN]:.2f}x plain, "
            f"{value / medians[TUNED]:.2f}x tuned"
        )
    print(f"  targets: realdream <= {PLAIN_TARGET:.2f}x plain, <= {TUNED_TARGET:.2f}x tuned")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=None, help="per peer and size")
    parser.add_argument("--in-process", action="store_true", help="no sockets: MockTransport")
    args = parser.parse_args(argv)
    if args.in_process:
        in_process(args.requests or 1000)
        return 0
    for row in loopback_rows(args.requests or 1000):
        print(f"{row.method[:40]:40} {row.name:30} {row.value:>10}  {row.ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
