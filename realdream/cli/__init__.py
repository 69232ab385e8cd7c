"""The ``realdream`` command line: generate, batch, info, schedulers, mock.

``import realdream`` never imports this package's dependencies (typer, rich): they are the
``cli`` extra, imported only when :func:`main` runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

_MISSING_EXTRA = (
    "realdream: the command line needs the 'cli' extra ({name} is not installed); "
    "install it with: pip install 'realdream[cli]'"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    try:
        from realdream.cli._app import run
    except ModuleNotFoundError as exc:
        if exc.name not in ("typer", "click", "rich"):
            raise
        print(_MISSING_EXTRA.format(name=exc.name), file=sys.stderr)
        return 2
    return run(argv)
