"""``main()``: parse the command line, pick the backend and the limits, build and launch."""

from __future__ import annotations

import argparse
import atexit
import logging
import math
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final, NoReturn

from demo._backend import (
    API_ENV,
    DEFAULT_API,
    MOCK_ENV,
    MOCK_LATENCY_ENV,
    Backend,
    api_from_env,
)
from demo._guard import Guard
from demo._mcp import MCP_ENV, enable_mcp, mcp_from_env
from demo._outputs import DEFAULT_KEEP_OUTPUTS_MB, KEEP_OUTPUTS_MB_ENV
from demo._refusals import format_usd
from demo._settings import (
    DAILY_BUDGET_ENV,
    DEFAULT_DAILY_BUDGET_USD,
    DEFAULT_MIN_BALANCE_USD,
    DEFAULT_VISITOR_IMAGES_PER_HOUR,
    MIN_BALANCE_ENV,
    REQUIRE_LOGIN_ENV,
    SHOW_BALANCE_ENV,
    SPACE_DATA_DIR,
    STATE_DIR_ENV,
    VISITOR_LIMIT_ENV,
    GuardSettings,
    check_number,
    env_number,
)
from demo._signin import sign_in_problem
from demo._ui import DEFAULT_CONCURRENCY, DEFAULT_MAX_QUEUE, build_demo, launch_options
from demo._visitor import AddressRule, distrust_proxy_headers, on_spaces
from realdream import contract

__all__ = [
    "CONCURRENCY_ENV",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "MAX_QUEUE_ENV",
    "build_parser",
    "main",
    "parse_args",
]

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 7860
PORT_ENV: Final = "GRADIO_SERVER_PORT"
MAX_PORT: Final = 65535
CONCURRENCY_ENV: Final = "REALDREAM_CONCURRENCY"
MAX_QUEUE_ENV: Final = "REALDREAM_MAX_QUEUE"

logger = logging.getLogger("demo")


def _number(*, whole: bool = False, minimum: float = 0) -> Callable[[str], float]:
    """An argparse type: a number >= ``minimum`` (whole if ``whole``), with a one-line error."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        problem = check_number(value - minimum, whole=whole)
        if problem is not None:
            kind = "a whole number" if whole else "a number"
            raise argparse.ArgumentTypeError(f"{text!r}: must be {kind} >= {minimum:g}")
        return int(value) if whole else value

    return parse


def _port(text: str) -> int:
    """An argparse type: a TCP port, 1 to 65535, with a one-line error."""
    port = int(text) if text.strip().isascii() and text.strip().isdigit() else 0
    if not 1 <= port <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a whole number from 1 to {MAX_PORT}")
    return port


class _OneLineParser(argparse.ArgumentParser):
    """A usage error is one line (what was wrong, and where the options are), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (options: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Every option, with the environment variable it overrides and its default."""
    parser = _OneLineParser(
        prog="app.py",
        description=(
            "RealDream Lightning demo (offline mock without a key). Each option overrides "
            "the environment variable named in its help."
        ),
    )
    add = parser.add_argument
    add(
        "--mock",
        action="store_true",
        help=f"always use the offline mock ({MOCK_ENV}=1; default off)",
    )
    add(
        "--mock-latency",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"seconds the offline mock takes per request ({MOCK_LATENCY_ENV}; default 1.0)",
    )
    add(
        "--api",
        choices=contract.APIS,
        default=None,
        help=(
            "v1: one blocking call per generation; v2: a queued job whose state (queued, "
            f"processing) the progress bar shows ({API_ENV}; default {DEFAULT_API})"
        ),
    )
    add(
        "--host",
        default=os.environ.get("GRADIO_SERVER_NAME", DEFAULT_HOST),
        help="address to serve on (GRADIO_SERVER_NAME; default 127.0.0.1)",
    )
    add(
        "--port",
        type=_port,
        default=None,
        help=f"port to serve on, 1 to {MAX_PORT} ({PORT_ENV}; default {DEFAULT_PORT})",
    )
    add(
        "--concurrency",
        type=_number(whole=True, minimum=1),
        metavar="N",
        help=f"generations run at once ({CONCURRENCY_ENV}; default {DEFAULT_CONCURRENCY})",
    )
    add(
        "--max-queue",
        type=_number(whole=True, minimum=1),
        metavar="N",
        help=(
            "requests that may wait in the queue; more are told the app is busy "
            f"({MAX_QUEUE_ENV}; default {DEFAULT_MAX_QUEUE})"
        ),
    )
    add(
        "--mcp",
        action="store_true",
        help=(
            "also serve the app as an MCP server at /gradio_api/mcp/, with one tool, "
            f"generate_image, under the same limits ({MCP_ENV}=1; default off)"
        ),
    )
    _add_limits(parser)
    add(
        "--keep-outputs-mb",
        type=_number(),
        metavar="MB",
        help=(
            "megabytes of generated images kept on disk, oldest removed first; images older "
            f"than an hour always go ({KEEP_OUTPUTS_MB_ENV}; default {DEFAULT_KEEP_OUTPUTS_MB:g}; "
            "0: no cap on size)"
        ),
    )
    return parser


def _add_limits(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "limits on the app's own key (SEGMIND_API_KEY)",
        "A public app spends its owner's credits; these apply to requests on that key only. "
        "A visitor's own key has no limits.",
    )
    add = group.add_argument
    add(
        "--daily-budget",
        type=_number(),
        metavar="USD",
        help=(
            f"US dollars spent per UTC day at most ({DAILY_BUDGET_ENV}; "
            f"default {DEFAULT_DAILY_BUDGET_USD:.2f}; 0: no limit)"
        ),
    )
    add(
        "--min-balance",
        type=_number(),
        metavar="USD",
        help=(
            "stop spending before the key's balance would fall below this "
            f"({MIN_BALANCE_ENV}; default {DEFAULT_MIN_BALANCE_USD:g})"
        ),
    )
    add(
        "--visitor-limit",
        type=_number(whole=True),
        metavar="IMAGES",
        help=(
            f"images per visitor per sliding hour ({VISITOR_LIMIT_ENV}; "
            f"default {DEFAULT_VISITOR_IMAGES_PER_HOUR}; 0: none)"
        ),
    )
    add(
        "--require-login",
        action="store_true",
        help=(
            "only signed-in Hugging Face users may use the app's key; needs a Space with "
            f"hf_oauth: true ({REQUIRE_LOGIN_ENV}=1; default off)"
        ),
    )
    add(
        "--show-balance",
        action="store_true",
        help=f"show visitors the key's remaining credits ({SHOW_BALANCE_ENV}=1; default off)",
    )
    add(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help=(
            f"where the spend ledger lives ({STATE_DIR_ENV}; default /data/realdream when "
            "/data is writable, a Space's persistent storage, else ~/.cache/realdream)"
        ),
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The parsed options (see :func:`build_parser`); ``--port`` falls back to its variable."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.port is None:
        text = os.environ.get(PORT_ENV, "").strip() or str(DEFAULT_PORT)
        try:
            args.port = _port(text)
        except argparse.ArgumentTypeError as exc:
            parser.error(f"{PORT_ENV}={exc}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Build the app from the environment and the command line, then serve it until Ctrl-C."""
    parser = build_parser()
    args = parse_args(argv)
    env = os.environ
    try:
        api = args.api or api_from_env(env)
    except ValueError as exc:  # a bad REALDREAM_API, named in the message
        parser.error(str(exc))
    try:
        backend = Backend.from_env(force_mock=args.mock, mock_latency_s=args.mock_latency, api=api)
    except ValueError as exc:  # a bad --mock-latency or REALDREAM_MOCK_LATENCY: a usage error
        where = "" if args.mock_latency is None else "argument --mock-latency: "
        parser.error(f"{where}{exc}")
    try:
        settings = _settings(args, env)
        mcp = args.mcp or mcp_from_env(env)
        addresses = AddressRule.from_env(env)
        concurrency = args.concurrency or _whole(env, CONCURRENCY_ENV, DEFAULT_CONCURRENCY)
        max_queue = args.max_queue or _whole(env, MAX_QUEUE_ENV, DEFAULT_MAX_QUEUE)
        keep_mb = args.keep_outputs_mb
        if keep_mb is None:
            keep_mb = env_number(env, KEEP_OUTPUTS_MB_ENV, DEFAULT_KEEP_OUTPUTS_MB)
    except ValueError as exc:  # a bad environment variable, named in the message
        parser.error(str(exc))
    if settings.require_login:  # with a key or without, as the README says
        problem = sign_in_problem(env)
        if problem is not None:
            parser.error(problem)
    distrust_proxy_headers()  # before uvicorn reads it: off Spaces, the peer is the visitor
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    logger.info("backend: %r", backend)
    guard = _guard(backend, settings)
    logger.info("visitor limit: %s", addresses.describe())
    demo = build_demo(
        backend,
        concurrency_limit=concurrency,
        max_queue=max_queue,
        guard=guard,
        keep_outputs_mb=keep_mb,
        addresses=addresses,
    )
    if mcp:
        enable_mcp(demo, concurrency=concurrency)
    if guard is not None:  # a Space restarting sends SIGTERM: write the ledger, then go
        signal.signal(signal.SIGTERM, _flush_then_stop(guard))
    options = launch_options()
    demo.launch(server_name=args.host, server_port=args.port, mcp_server=mcp, **options)
    return 0


def _flush_then_stop(guard: Guard) -> Callable[[int, object], None]:
    """A SIGTERM handler: the ledger's last changes go to disk, then SIGTERM does as usual."""

    def stop(signum: int, frame: object) -> None:
        guard.flush(2.0)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    return stop


def _settings(args: argparse.Namespace, env: Mapping[str, str]) -> GuardSettings:
    return GuardSettings.from_env(
        env,
        daily_budget_usd=args.daily_budget,
        min_balance_usd=args.min_balance,
        visitor_images_per_hour=args.visitor_limit,
        require_login=args.require_login,
        show_balance=args.show_balance,
        state_dir=args.state_dir,
    )


def _whole(env: Mapping[str, str], name: str, default: int) -> int:
    value = int(env_number(env, name, default, whole=True))
    if value < 1:
        raise ValueError(f"{name}={env[name]!r}: must be a whole number >= 1")
    return value


def _guard(backend: Backend, settings: GuardSettings) -> Guard | None:
    """The spend guard on the app's own key, with its ledger; ``None`` without a key."""
    if backend.server_key is None:
        if settings.require_login:
            logger.warning("%s has no effect: there is no SEGMIND_API_KEY", REQUIRE_LOGIN_ENV)
        return None
    guard = Guard(settings)
    atexit.register(guard.flush, 2.0)  # the last few milliseconds of spend, on a clean exit
    budget = settings.daily_budget_usd
    logger.info(
        "limits on the app's key: daily budget %s, %s images per visitor an hour, balance "
        "floor %s, sign-in %s, balance %s; ledger in %s",
        format_usd(budget) if budget else "none",
        settings.visitor_images_per_hour or "no limit on",
        format_usd(settings.min_balance_usd),
        "required" if settings.require_login else "off",
        "shown" if settings.show_balance else "hidden",
        settings.state_dir or "in memory",
    )
    if on_spaces() and not _persistent(settings.state_dir):
        logger.warning(
            "the ledger is not on this Space's persistent storage (%s): every restart starts "
            "the day's spend afresh; the balance floor (%s) is the limit that survives restarts",
            SPACE_DATA_DIR,
            MIN_BALANCE_ENV,
        )
    return guard


def _persistent(state_dir: Path | None) -> bool:
    """Whether ``state_dir`` lies on a Space's persistent storage (``/data``)."""
    return state_dir is not None and state_dir.is_relative_to(SPACE_DATA_DIR)
