"""``realdream mock``: the installed way to start the offline mock server.

The same server as ``python -m realdream.mock``: the mock's own parser reads the arguments, so
its help and its options are the mock's; errors are one line (exit 2), and a port in use says
how to pick another.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import NoReturn

from realdream.cli._common import CLIError, listen_error

__all__ = ["run_mock"]


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CLIError(f"error: {message} (see realdream mock --help)")


def run_mock(args: Sequence[str]) -> int:
    """Serve until interrupted; the exit code of ``--help`` (0), else raises :class:`CLIError`."""
    try:
        import realdream.mock as mocks
    except ModuleNotFoundError as exc:
        raise CLIError(
            f"error: the mock server needs the 'mock' extra ({exc.name} is not installed); "
            "install it with: pip install 'realdream[mock]'"
        ) from None
    parser = _OneLineParser(
        prog="realdream mock",
        description="Offline mock of the RealDream Lightning API (no credits spent).",
    )
    mocks.add_arguments(parser)
    try:
        ns = parser.parse_args(list(args))
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    try:
        config = mocks.config_from_args(ns)
    except ValueError as exc:
        raise CLIError(f"error: {exc}") from None
    try:
        mocks.run(config, ns.host, ns.port)
    except OSError as exc:
        raise listen_error(exc, ns.host, ns.port, "--port") from None
    except (RuntimeError, ValueError) as exc:  # the server did not start
        raise CLIError(f"error: cannot serve on {ns.host}:{ns.port}: {exc}") from None
    return 0
