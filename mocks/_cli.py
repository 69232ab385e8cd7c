"""The mock's command-line options, defined once (``python -m mocks`` and ``realdream mock``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from realdream import contract
from realdream.mock._config import DEFAULT_CREDITS, DEFAULT_HANG_SECONDS, MOCK_API_KEY, MockConfig
from realdream.mock._server import DEFAULT_HOST, DEFAULT_PORT, PortInUseError, run

__all__ = ["add_arguments", "build_parser", "config_from_args", "main", "port_in_use_message"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the mock's options to ``parser``."""
    add = parser.add_argument
    add("--host", default=DEFAULT_HOST, help="interface to listen on (default: %(default)s)")
    add(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="port; 0 picks a free one (default: %(default)s)",
    )
    add(
        "--latency",
        type=float,
        default=contract.ADVERTISED_LATENCY_S,
        help="seconds before each image, the vendor's advertised time (default: %(default)s)",
    )
    add(
        "--jitter",
        type=float,
        default=0.0,
        help="± seconds of random latency (default: %(default)s)",
    )
    add(
        "--credits",
        type=float,
        default=DEFAULT_CREDITS,
        help="starting balance in USD (default: %(default)s)",
    )
    add(
        "--cost-per-image",
        type=float,
        default=contract.COST_PER_IMAGE_USD,
        help="USD charged per image returned (default: %(default)s)",
    )
    add(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help=f"accepted key; repeatable (default: {MOCK_API_KEY})",
    )
    add(
        "--forbidden-key",
        action="append",
        dest="forbidden_keys",
        metavar="KEY",
        default=[],
        help="key that answers 403; repeatable",
    )
    add(
        "--rate-limit",
        type=int,
        default=None,
        metavar="N",
        help="requests per minute per key (default: unlimited)",
    )
    add(
        "--fault-rate",
        type=float,
        default=0.0,
        metavar="P",
        help="probability of an injected 500/502/504 (default: %(default)s)",
    )
    add(
        "--seed",
        type=int,
        default=None,
        help="seed for faults, jitter and seed=-1 (default: random)",
    )
    add(
        "--hang-seconds",
        type=float,
        default=DEFAULT_HANG_SECONDS,
        help='how long a scripted "timeout" holds the answer (default: %(default)s)',
    )
    add(
        "--queue-time",
        type=float,
        default=0.0,
        help="seconds a v2 job stays QUEUED before its latency starts (default: %(default)s)",
    )
    add(
        "--result-ttl",
        type=float,
        default=contract.RESULT_TTL_S,
        help="seconds a v2 job's status and result are kept after submit (default: %(default)s)",
    )
    add(
        "--failed-status",
        type=int,
        choices=sorted(contract.FAILED_STATUS_CODES),
        default=422,
        help="HTTP status of a FAILED v2 job (default: %(default)s)",
    )
    add(
        "--result-images",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="list images[] in a v2 result besides output (default: on)",
    )
    add("--replay", metavar="DIR", help="answer matching requests from the cassettes in DIR")


def config_from_args(ns: argparse.Namespace) -> MockConfig:
    """The :class:`MockConfig` the parsed options describe."""
    return MockConfig(
        latency=ns.latency,
        jitter=ns.jitter,
        credits=ns.credits,
        cost_per_image=ns.cost_per_image,
        api_keys=tuple(ns.api_keys or (MOCK_API_KEY,)),
        forbidden_keys=tuple(ns.forbidden_keys or ()),
        rate_limit=ns.rate_limit,
        fault_rate=ns.fault_rate,
        seed=ns.seed,
        hang_seconds=ns.hang_seconds,
        queue_time=ns.queue_time,
        result_ttl=ns.result_ttl,
        failed_status=ns.failed_status,
        result_images=ns.result_images,
        replay=_replay_folder(ns.replay),
    )


def _replay_folder(folder: str | None) -> str | None:
    """``folder`` once its cassettes are known to load (``ValueError`` naming what is wrong)."""
    if folder is not None:
        from realdream.mock._replay import Replay

        try:
            Replay.load(folder)
        except ModuleNotFoundError as exc:  # vcrpy: the message names the extra to install
            raise ValueError(str(exc)) from None
    return folder


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="realdream mock",
        description="Offline mock of the RealDream Lightning API (no credits spent).",
    )
    add_arguments(parser)
    return parser


def port_in_use_message(exc: PortInUseError) -> str:
    """The one line a command prints when the port is taken (``--port`` is its option)."""
    return f"port {exc.port} is in use; pick another with --port or use --port 0"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mocks``: serve until Ctrl-C; bad options or a taken port exit 2, one line."""
    parser = build_parser()
    ns = parser.parse_args(argv)
    try:
        config = config_from_args(ns)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        run(config, ns.host, ns.port)
    except PortInUseError as exc:
        print(f"{parser.prog}: error: {port_in_use_message(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. a port below 1024 without the right, or an unknown host
        print(f"{parser.prog}: error: cannot listen on {ns.host}:{ns.port}: {exc}", file=sys.stderr)
        return 2
    return 0
