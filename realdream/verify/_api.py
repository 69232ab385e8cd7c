"""``realdream.verify``: probe the service behind a base URL and say which facts of the contract
hold, within a spending cap.

The free probes go first (only HTTP 200 is billed). The cost of the billed ones is announced
before any is sent, reserved before each at the highest price per image seen, and a probe that
would pass the cap is skipped and says so. The balance (free to read) is read before the first
probe that could spend and after each: what a probe cost is what the balance measured, and a
drop that differs from what the service announced stops the spending (exit 1). The key is sent
only in its header and never appears in a row, the report or a recording.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from realdream import contract
from realdream._amounts import parse_amount
from realdream._base import DEFAULT_TIMEOUT, _resolve_key
from realdream._errors import ConfigurationError
from realdream._retry import REDACTED
from realdream.testing.cassettes import recorder
from realdream.verify._probes import DEFAULT_VERIFY_MAX_COST
from realdream.verify._report import VerifyReport
from realdream.verify._rows import VerifyRow
from realdream.verify._runner import Record, Runner
from realdream.verify._sender import Sleep
from realdream.verify._table import build_rows

__all__ = ["averify", "verify"]


def verify(
    api_key: str | None = None,
    *,
    base_url: str | None = None,
    max_cost: float = DEFAULT_VERIFY_MAX_COST,
    schedulers: bool = False,
    record: str | Path | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep = asyncio.sleep,
    announce: Callable[[str], None] | None = None,
) -> VerifyReport:
    """Probe the service and report which facts of :mod:`realdream.contract` hold.

    ``max_cost`` (USD) caps what billed probes spend; ``schedulers=True`` also tries each
    scheduler name the vendor's page does not show. ``record`` is a folder for vcrpy
    cassettes of every exchange. ``announce`` receives the cost announcement before anything
    billed is sent (default: standard error). See :func:`averify` for the asyncio version.
    """
    return asyncio.run(
        averify(
            api_key,
            base_url=base_url,
            max_cost=max_cost,
            schedulers=schedulers,
            record=record,
            transport=transport,
            sleep=sleep,
            announce=announce,
        )
    )


async def averify(
    api_key: str | None = None,
    *,
    base_url: str | None = None,
    max_cost: float = DEFAULT_VERIFY_MAX_COST,
    schedulers: bool = False,
    record: str | Path | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep = asyncio.sleep,
    announce: Callable[[str], None] | None = None,
) -> VerifyReport:
    """:func:`verify`, awaitable (``transport`` may be ``httpx.ASGITransport(app)``)."""
    key = _resolve_key(api_key)
    url = (base_url or os.environ.get(contract.BASE_URL_ENV) or contract.BASE_URL).rstrip("/")
    cap = _check_cap(max_cost)
    record_to = _recorder(record, key)
    async with httpx.AsyncClient(
        base_url=url, transport=transport, timeout=DEFAULT_TIMEOUT, follow_redirects=False
    ) as http:
        runner = Runner(http, key, cap, sleep, record_to, announce or _to_stderr)
        runner.obs.base_url = url
        runner.obs.schedulers = schedulers
        await runner.run(schedulers)
    rows = tuple(_scrubbed(row, key) for row in build_rows(runner.obs))
    shown = _without_userinfo(url)
    spending = runner.spending
    return VerifyReport(
        shown, cap, spending.spent, runner.announcement, rows, stopped=spending.stopped
    )


def _check_cap(max_cost: float) -> float:
    try:
        return parse_amount(max_cost, field="max_cost")
    except ValueError as exc:
        raise ConfigurationError(f"{exc} (USD)") from None


def _recorder(record: str | Path | None, key: str) -> Record | None:
    return None if record is None else recorder(Path(record), key)


def _to_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _scrubbed(row: VerifyRow, key: str) -> VerifyRow:
    def clean(text: str) -> str:
        return text.replace(key, REDACTED)

    return VerifyRow(
        row.fact,
        clean(row.check),
        row.mark,
        clean(row.expected),
        clean(row.observed),
        row.verdict,
        clean(row.reason),
    )


def _without_userinfo(url: str) -> str:
    parsed = httpx.URL(url)
    return str(parsed.copy_with(username=None, password=None)) if parsed.userinfo else url
