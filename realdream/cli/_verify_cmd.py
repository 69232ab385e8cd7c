"""``realdream verify``: which facts of the contract hold against the live service.

Thin: check the options (before anything is sent), call :func:`realdream.verify`, print one row
per fact (a rich table on a terminal, tab-separated rows otherwise), write the report. Exit 0
when nothing differs, 1 when something does or spending had to stop (a balance drop unlike
what the service announced, or a balance that cannot be read), 2 on a usage error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from realdream import DEFAULT_VERIFY_MAX_COST, VerifyRow
from realdream.cli._options import ApiKey, BaseUrl

if TYPE_CHECKING:
    from rich.table import Table

    from realdream import VerifyReport

__all__ = ["verify_command"]

_STYLE = {"holds": "green", "differs": "bold red", "not probed": "dim"}

MaxCost = Annotated[
    float,
    typer.Option(
        "--max-cost",
        min=0.0,
        help="USD the billed probes may spend at most; the run never passes it.",
    ),
]
Schedulers = Annotated[
    bool,
    typer.Option(
        "--schedulers",
        help="Also try each scheduler name the vendor's page does not show "
        "(a refusal is free, an acceptance costs one image, within --max-cost).",
    ),
]
ReportFile = Annotated[
    Path | None,
    typer.Option("--report", help="Write the rows as JSON to this file.", show_default=False),
]
RecordDir = Annotated[
    Path | None,
    typer.Option(
        "--record",
        help="Save every exchange as a vcrpy cassette in this folder (key and balance "
        "filtered out); replay them with `realdream mock --replay DIR`.",
        show_default=False,
    ),
]


def verify_command(
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    max_cost: MaxCost = DEFAULT_VERIFY_MAX_COST,
    schedulers: Schedulers = False,
    report: ReportFile = None,
    record: RecordDir = None,
) -> int:
    """Test the contract's facts against the service for about a cent; one row per fact."""
    from realdream import verify  # the prober loads httpx: not on --help

    _check_report(report)
    _check_record(record)
    found = verify(
        api_key,
        base_url=base_url,
        max_cost=max_cost,
        schedulers=schedulers,
        record=record,
    )
    if report is not None:
        found.write(report)
    _print_rows(found)
    return found.exit_code


def _check_report(report: Path | None) -> None:
    """Refuse, before anything is sent, a report path that cannot be written."""
    if report is None:
        return
    if report.is_dir():
        raise typer.BadParameter(f"{report} is a directory", param_hint="--report")
    if not report.parent.is_dir():
        raise typer.BadParameter(f"{report.parent} does not exist", param_hint="--report")


def _check_record(record: Path | None) -> None:
    """Refuse, before anything is sent, a recording that cannot be made."""
    if record is None:
        return
    try:
        import vcr  # noqa: F401
    except ModuleNotFoundError:
        raise typer.BadParameter(
            "recording needs vcrpy; install it with: pip install 'realdream[verify]'",
            param_hint="--record",
        ) from None
    if record.exists() and not record.is_dir():
        raise typer.BadParameter(f"{record} is not a directory", param_hint="--record")


def _print_rows(found: VerifyReport) -> None:
    if sys.stdout.isatty():
        from rich.console import Console

        Console().print(_table(found.rows))
    else:
        for row in found.rows:
            typer.echo("\t".join(_cells(row)))
    typer.echo(_summary(found))


def _cells(row: VerifyRow) -> list[str]:
    observed = row.observed or f"({row.reason})"
    return [row.verdict, row.fact, row.mark, row.check, row.expected, observed]


def _table(rows: tuple[VerifyRow, ...]) -> Table:
    """The rows as a table that wraps every cell, cutting none (a fact name folds)."""
    from rich.table import Column, Table
    from rich.text import Text

    headers = ("verdict", "fact", "mark", "check", "expected", "observed")
    table = Table(*(Column(name, overflow="fold") for name in headers))
    for row in rows:
        verdict, *rest = _cells(row)
        table.add_row(Text(verdict, style=_STYLE[row.verdict]), *(Text(cell) for cell in rest))
    return table


def _summary(found: VerifyReport) -> str:
    counts = found.counts()
    text = (
        f"{counts['holds']} hold, {counts['differs']} differ, {counts['not probed']} not probed; "
        f"spent ${found.spent:g} of ${found.max_cost:g} at {found.base_url}"
    )
    return text + (f"\nspending stopped: {found.stopped}" if found.stopped else "")
