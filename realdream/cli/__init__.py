"""The ``realdream`` command line: generate, batch, job, info, verify, schedulers, mock.

``import realdream`` never imports this package's dependencies (typer, rich): they are the
``cli`` extra, imported only when :func:`main` runs. The batch engine (no typer, no rich) is
public too, for programs and benchmarks that drive batches themselves: :class:`BatchRunner`,
:class:`BatchOptions`, :func:`batch_client`, :func:`parse_batch`, :class:`Manifest`; they are
imported on first use.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from realdream.cli._backoff import batch_client
    from realdream.cli._batchfile import BatchItem, parse_batch, read_batch
    from realdream.cli._engine import BatchRunner
    from realdream.cli._manifest import Manifest
    from realdream.cli._run import BatchOptions, BatchReport

__all__ = [
    "BatchItem",
    "BatchOptions",
    "BatchReport",
    "BatchRunner",
    "Manifest",
    "batch_client",
    "main",
    "parse_batch",
    "read_batch",
]

_ENGINE = {
    "BatchItem": "realdream.cli._batchfile",
    "parse_batch": "realdream.cli._batchfile",
    "read_batch": "realdream.cli._batchfile",
    "BatchOptions": "realdream.cli._run",
    "BatchReport": "realdream.cli._run",
    "BatchRunner": "realdream.cli._engine",
    "batch_client": "realdream.cli._backoff",
    "Manifest": "realdream.cli._manifest",
}


def __getattr__(name: str) -> Any:
    if name in _ENGINE:
        return getattr(importlib.import_module(_ENGINE[name]), name)
    raise AttributeError(f"module 'realdream.cli' has no attribute {name!r}")


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
