"""What every command shares: the one-line error, exit codes, seams, the key and base URL
checks (made before anything is sent, so neither costs a request nor a retry)."""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from realdream import API_KEY_ENV, BASE_URL_ENV, contract, write_atomic
from realdream.cli._saving import Writer

if TYPE_CHECKING:  # httpx loads with the command bodies, never for --help
    import httpx

    from realdream.cli._backoff import BackoffGate

__all__ = [
    "EXIT_API",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "CLIError",
    "Seams",
    "check_base_url",
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
    """What a caller of :func:`run` may replace (tests, programs that embed the command line).

    ``writer`` writes every file the commands make. ``transport`` (``generate``, ``job``) and
    ``async_transport`` (``batch``) replace the network; ``sleep``/``async_sleep`` every wait
    (retries, pacing, polls, the batch's back-off gate) and ``clock`` the time those waits and
    the elapsed time shown are measured on. ``on_record`` sees each manifest record once it is
    written. ``gate`` is the batch's shared back-off gate. ``None``: the real thing.
    """

    writer: Writer = write_atomic
    transport: httpx.BaseTransport | None = None
    async_transport: httpx.AsyncBaseTransport | None = None
    sleep: Callable[[float], object] | None = None
    async_sleep: Callable[[float], Awaitable[object]] | None = None
    clock: Callable[[], float] | None = None
    on_record: Callable[[dict[str, Any]], object] | None = None
    gate: BackoffGate | None = None


def os_error(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"


def listen_error(exc: OSError, host: str, port: int, option: str) -> CLIError:
    """The one line for a server that could not listen: a taken port names ``option`` (and 0
    for any free port); anything else, the system's reason."""
    if exc.errno == errno.EADDRINUSE:
        return CLIError(
            f"error: port {port} is in use on {host}; pick another with {option}, or "
            f"{option} 0 for any free one"
        )
    return CLIError(f"error: cannot listen on {host}:{port}: {os_error(exc)}")


def require_key(api_key: str | None) -> None:
    """Refuse early, naming every way to give a key (and the way to need none), and a key
    without the documented shape (:data:`realdream.contract.API_KEY_PATTERN`), as the demo
    does; the key itself is never shown."""
    where = "--api-key" if api_key is not None else f"${API_KEY_ENV}"
    given = (api_key if api_key is not None else os.environ.get(API_KEY_ENV, "")).strip()
    if not given:
        raise CLIError(
            f"error: no API key: pass --api-key or set {API_KEY_ENV} (get a key at "
            "segmind.com); to try without one, start the offline mock with `realdream mock` "
            "and pass the --base-url and --api-key it prints"
        )
    if not re.fullmatch(contract.API_KEY_PATTERN, given):
        raise CLIError(
            f"error: the API key in {where} does not look like a Segmind key: keys look like "
            f"{contract.API_KEY_SHAPE}; nothing was sent"
        )


def check_base_url(base_url: str | None) -> None:
    """Refuse a base URL (``--base-url``, else ``$REALDREAM_BASE_URL``) that is not an
    ``http://`` or ``https://`` URL with a host: it could never be reached."""
    where = "--base-url" if base_url is not None else f"${BASE_URL_ENV}"
    url = base_url if base_url is not None else os.environ.get(BASE_URL_ENV) or None
    if url is None:
        return
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:  # brackets that do not close, a port out of range
        parts = None
    if "://" not in url:
        raise CLIError(
            f"error: {where} {url!r} has no scheme: write it as 'http://{url}' (or https://); "
            "nothing was sent"
        )
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise CLIError(
            f"error: {where} {url!r} is not an http:// or https:// URL with a host; "
            "nothing was sent"
        )
