"""``main()``: parse the command line, pick the backend, build and launch the app."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence
from typing import Final

from demo._backend import MOCK_ENV, MOCK_LATENCY_ENV, Backend
from demo._ui import DEFAULT_CONCURRENCY, build_demo, launch_options

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "build_parser", "main", "parse_args"]

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 7860


def build_parser() -> argparse.ArgumentParser:
    """The app's options; host and port fall back to Gradio's usual environment variables."""
    parser = argparse.ArgumentParser(
        prog="app.py", description="RealDream Lightning demo (offline mock without a key)."
    )
    parser.add_argument(
        "--mock", action="store_true", help=f"always use the offline mock (or set {MOCK_ENV}=1)"
    )
    parser.add_argument(
        "--mock-latency",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"seconds the offline mock takes per request (or set {MOCK_LATENCY_ENV})",
    )
    parser.add_argument(
        "--host",
        default=os.environ.get("GRADIO_SERVER_NAME", DEFAULT_HOST),
        help="address to serve on (GRADIO_SERVER_NAME; default %(default)s)",
    )
    parser.add_argument(
        "--port",
        type=int,  # argparse converts (and checks) a string default too
        default=os.environ.get("GRADIO_SERVER_PORT", str(DEFAULT_PORT)),
        help="port to serve on (GRADIO_SERVER_PORT; default %(default)s)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help="generations run at once; more requests wait in the queue (default %(default)s)",
    )
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The parsed options (see :func:`build_parser`)."""
    return build_parser().parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Build the app from the environment and the command line, then serve it until Ctrl-C."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        backend = Backend.from_env(force_mock=args.mock, mock_latency_s=args.mock_latency)
    except ValueError as exc:  # a bad --mock-latency or REALDREAM_MOCK_LATENCY: a usage error
        where = "" if args.mock_latency is None else "argument --mock-latency: "
        parser.error(f"{where}{exc}")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    logging.getLogger("demo").info("backend: %r", backend)
    demo = build_demo(backend, concurrency_limit=args.concurrency)
    demo.launch(server_name=args.host, server_port=args.port, **launch_options())
    return 0
