"""The terminal face of a batch: a rich progress bar while it runs, a summary table after."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from realdream.cli._run import BatchReport, Outcome, Plan
from realdream.cli._wording import cli_text

__all__ = ["ProgressListener", "summary_lines", "summary_table"]


class _RateColumn(ProgressColumn):
    """Items finished per second, over the whole run (steadier than a recent window)."""

    def render(self, task: Task) -> Text:
        elapsed = task.finished_time or task.elapsed
        if not elapsed or not task.completed:
            return Text("-- /s", style="progress.data.speed")
        return Text(f"{task.completed / elapsed:.2f}/s", style="progress.data.speed")


class ProgressListener:
    """Draws done, failed, rate, ETA and spend on ``console`` (stderr) while a batch runs."""

    def __init__(self, console: Console, *, enabled: bool = True) -> None:
        self.console = console
        self._progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed"),
            _RateColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("[green]${task.fields[spend]:.4f}"),
            console=console,
            disable=not enabled,
        )
        self._task: TaskID | None = None
        self._failed = 0

    def __enter__(self) -> ProgressListener:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def started(self, plan: Plan) -> None:
        if plan.already_done:
            self.console.print(
                f"Skipping {len(plan.already_done)} items already done.", soft_wrap=True
            )
        if plan.recovered:
            self.console.print(
                f"Picked up the images of {len(plan.recovered)} items an earlier run left "
                "(nothing paid again).",
                soft_wrap=True,
            )
        if plan.collect:
            self.console.print(
                f"Collecting {len(plan.collect)} jobs an earlier run submitted, by their ids "
                "(nothing paid again).",
                soft_wrap=True,
            )
        if plan.unknown:
            self.console.print(
                f"Skipping {len(plan.unknown)} items that may have been billed in an earlier "
                "run without their images arriving (--retry-unknown sends them again).",
                soft_wrap=True,
            )
        total = len(plan.pending) + len(plan.collect)
        self._task = self._progress.add_task("batch", total=total, failed=0, spend=0.0)

    def finished(self, outcome: Outcome, spent: float) -> None:
        self._failed += outcome.status in ("failed", "unknown")
        if self._task is not None:
            self._progress.update(self._task, advance=1, failed=self._failed, spend=spent)

    def stopping(self, message: str) -> None:
        self.console.print(message, style="yellow", soft_wrap=True, markup=False)


def summary_table(report: BatchReport) -> Table:
    """The end-of-run table: what happened to every item, images, spend, time."""
    table = Table(title="Batch summary", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    finished = len(report.done) + len(report.collected)
    rate = finished / report.elapsed if report.elapsed > 0 else 0.0
    rows = [
        ("Items in file", str(report.total)),
        ("Done in this run", str(len(report.done))),
        ("Done earlier (skipped)", str(report.already_done)),
        ("Picked up from an earlier run", str(len(report.recovered))),
        ("Collected from earlier runs", str(len(report.collected))),
        ("Held in a fallback folder", str(len(report.held))),
        ("Failed", str(len(report.failed) + len(report.lost))),
        ("Not started", str(len(report.not_started))),
        ("Maybe billed, skipped", str(len(report.unknown))),
        ("Abandoned in flight", str(len(report.abandoned))),
        ("Images written", str(report.images)),
        ("Spent (USD)", f"${report.spent:.4f}"),
        ("Time", f"{report.elapsed:.1f} s ({rate:.2f} items/s)"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def summary_lines(report: BatchReport, source: str) -> list[str]:
    """One line per failure, then what to do next."""
    problems = report.failed + report.held + report.lost + report.expired
    lines = [f"{source}:{o.item.line}: {cli_text(o.error or '')}" for o in problems]
    if report.stop_reason:
        lines.append(f"Stopped launching: {report.stop_reason}.")
    if report.held:
        lines.append(
            f'{len(report.held)} items\' paid images are in a fallback folder ("fallback" in '
            "the manifest); once the output folder can take them, run the same command again "
            "to move them in (nothing is paid again)."
        )
    if report.lost:
        lines.append(
            f"{len(report.lost)} items' paid images could not be written anywhere; the "
            "manifest keeps their requests (seed resolved) and --retry-unknown buys them again "
            "(a v2 job is collected again, unpaid, by a rerun within the hour)."
        )
    if report.unrecorded:
        lines.append("These records could not be written to the manifest:")
        lines.extend(report.unrecorded)
    if report.budget_stopped:
        lines.append("Stopped at the --max-cost budget; raise it and run again to go on.")
    if report.abandoned:
        lines.append(
            f"{len(report.abandoned)} requests were abandoned in flight and may have been "
            "billed; a rerun collects those queued as v2 jobs (within the hour) and skips the "
            "rest unless given --retry-unknown."
        )
    if report.unknown:
        lines.append(
            f"{len(report.unknown)} items were skipped: an earlier run may have paid for them "
            "without saving their images. Rerun with --retry-unknown to send them again."
        )
    if report.complete:
        lines.append(f"All {report.total} items are done.")
    elif report.failed or report.not_started or report.held:
        lines.append("Run the same command again to finish the rest (finished items are skipped).")
    return lines
