"""What every command shares: the one-line error, exit codes, seams, the key check."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final

from realdream import API_KEY_ENV, write_atomic
from realdream.cli._options import SharedOptions
from realdream.cli._saving import Writer

__all__ = [
    "EXIT_API",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "CLIError",
    "Seams",
    "os_error",
    "require_key",
]

EXIT_API: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130


class CLIError(Exception):
    """A problem to report in one line (or one line per problem) with an exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Seams:
    """What a caller of :func:`run` may replace: ``writer`` writes every file a batch makes."""

    writer: Writer = write_atomic


def os_error(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"


def require_key(options: SharedOptions) -> None:
    """Refuse early, naming every way to give a key (and the way to need none)."""
    given = options.api_key if options.api_key is not None else os.environ.get(API_KEY_ENV, "")
    if not given.strip():
        raise CLIError(
            f"error: no API key: pass --api-key or set {API_KEY_ENV} (get a key at "
            "segmind.com); to try without one, start the offline mock with `realdream mock` "
            "and pass the --base-url and --api-key it prints"
        )
