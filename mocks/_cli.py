"""The mock's command-line options, defined once (``realdream mock`` and
``python -m realdream.mock``).

Every number is checked by the rule :class:`~realdream.mock.MockConfig` applies, and a bad one
is refused in one line naming the option: ``--credits=nan: must be a finite number >= 0``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Final

from realdream import contract
from realdream.mock._config import (
    DEFAULT_CREDITS,
    DEFAULT_FAULT_ON,
    DEFAULT_HANG_SECONDS,
    FAULT_KINDS,
    MOCK_API_KEY,
    MockConfig,
    check_numbers,
    parse_fault_kinds,
)
from realdream.mock._replay import Replay
from realdream.mock._server import DEFAULT_HOST, DEFAULT_PORT, PortInUseError, run

__all__ = ["add_arguments", "build_parser", "config_from_args", "main", "port_in_use_message"]

_MAX_PORT: Final = 65_535
#: The options that set a number of :class:`MockConfig`, by field name.
_NUMBER_FIELDS: Final = (
    "latency",
    "jitter",
    "credits",
    "cost_per_image",
    "rate_limit",
    "fault_rate",
    "hang_seconds",
    "queue_time",
    "result_ttl",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the mock's options to ``parser``."""
    add = parser.add_argument
    add("--host", default=DEFAULT_HOST, help="interface to listen on (default: %(default)s)")
    add(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help="port; 0 picks a free one (default: %(default)s)",
    )
    add(
        "--latency",
        type=float,
        metavar="SECONDS",
        default=contract.ADVERTISED_LATENCY_S,
        help="seconds before each image, the vendor's advertised time (default: %(default)s)",
    )
    add(
        "--jitter",
        type=float,
        metavar="SECONDS",
        default=0.0,
        help="± seconds of random latency (default: %(default)s)",
    )
    add(
        "--credits",
        type=float,
        metavar="USD",
        default=DEFAULT_CREDITS,
        help="starting balance in USD (default: %(default)s)",
    )
    add(
        "--cost-per-image",
        type=float,
        metavar="USD",
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
        "--fault-on",
        default=",".join(DEFAULT_FAULT_ON),
        metavar="KINDS",
        help=(
            "the requests --fault-rate faults, comma-separated, or 'all': "
            f"{', '.join(FAULT_KINDS)} (default: %(default)s)"
        ),
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
        metavar="SECONDS",
        default=DEFAULT_HANG_SECONDS,
        help='how long a scripted "timeout" holds the answer (default: %(default)s)',
    )
    add(
        "--queue-time",
        type=float,
        metavar="SECONDS",
        default=0.0,
        help="seconds a v2 job stays QUEUED before its latency starts (default: %(default)s)",
    )
    add(
        "--result-ttl",
        type=float,
        metavar="SECONDS",
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
    """The :class:`MockConfig` the parsed options describe; ``ValueError`` naming the option
    for a value that cannot be meant (``--credits nan``, ``--latency -1``, ``--fault-rate 2``)."""
    numbers = {name: getattr(ns, name) for name in _NUMBER_FIELDS}
    check_numbers(numbers, label=_option)
    return MockConfig(
        **numbers,
        api_keys=tuple(ns.api_keys or (MOCK_API_KEY,)),
        forbidden_keys=tuple(ns.forbidden_keys or ()),
        seed=ns.seed,
        failed_status=ns.failed_status,
        result_images=ns.result_images,
        fault_on=parse_fault_kinds(ns.fault_on, field="--fault-on"),
        replay=_replay_folder(ns.replay),
    )


def _option(field: str) -> str:
    """The option that sets a field (``cost_per_image``: ``--cost-per-image``)."""
    return "--" + field.replace("_", "-")


def _port(text: str) -> int:
    """A ``--port`` value: a whole number from 0 (any free port) to 65535."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= _MAX_PORT:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a whole number from 0 to {_MAX_PORT}")
    return port


def _replay_folder(folder: str | None) -> str | None:
    """``folder`` once its cassettes are known to load (``ValueError`` naming what is wrong)."""
    if folder is not None:
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
    """``python -m realdream.mock``: serve until Ctrl-C; bad options, a cassette that cannot be
    true or a taken port exit 2, one line."""
    parser = build_parser()
    ns = parser.parse_args(argv)
    try:
        config = config_from_args(ns)
    except ValueError as exc:  # a value or a cassette that cannot be: one line, no usage
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    try:
        run(config, ns.host, ns.port)
    except PortInUseError as exc:
        print(f"{parser.prog}: error: {port_in_use_message(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. a port below 1024 without the right, or an unknown host
        print(f"{parser.prog}: error: cannot listen on {ns.host}:{ns.port}: {exc}", file=sys.stderr)
        return 2
    return 0
