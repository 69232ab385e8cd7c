"""What ``generate`` and ``job`` show while they wait: a spinner, what is happening, the time.

Only on a terminal (stderr), and gone once the wait ends: a cold start can take minutes and
silence reads as a hang, but a pipe or a log file gets nothing. A v2 job shows its id and
its state as each status poll reads it (queued, processing, completed), so a long wait says
whether the job is still in the queue or already running.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from realdream import JobStatus

__all__ = ["COLD_START", "SERVICE_ERRORS", "Waiting", "images", "waiting"]

COLD_START: Final = "a cold start can take minutes"
#: Shown while the wait rides out failed polls (the job goes on; only the deadline ends it).
SERVICE_ERRORS: Final = "the service is answering with errors; still waiting"


def images(count: int) -> str:
    return f"{count} image{'s' * (count != 1)}"


class Waiting:
    """The line being shown (or nothing, off a terminal); the commands tell it what happens."""

    def __init__(self, progress: Progress | None = None, task: TaskID | None = None) -> None:
        self._progress = progress
        self._task = task
        self._count: int | None = None
        #: Every line shown, in order (also when nothing is drawn).
        self.shown: list[str] = []

    def say(self, text: str) -> None:
        """Show ``text`` now, in place of the line before."""
        self.shown.append(text)
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=text, refresh=True)

    def submitted(self, request_id: str, count: int) -> None:
        """A v2 job was queued (a submit always answers QUEUED)."""
        self._count = count
        self.status(JobStatus("QUEUED", request_id))

    def status(self, status: JobStatus) -> None:
        """What a status poll read (pass as ``job.wait(on_status=...)``); while polls fail, the
        last state read and that the service is answering with errors, never silence."""
        line = self._line(status)
        self.say(line if status.transient is None else f"{line}; {SERVICE_ERRORS}")

    def _line(self, status: JobStatus) -> str:
        """The line for ``status``: the job, its state, what happens next."""
        state, job = status.state, f"Job {status.request_id}"
        if state == "QUEUED":
            count = f"{images(self._count)}; " if self._count is not None else ""
            return f"{job} queued ({count}{COLD_START})"
        if state == "PROCESSING":
            return f"{job} processing"
        if state == "COMPLETED":
            what = images(self._count) if self._count is not None else "its images"
            return f"{job} completed; downloading {what}"
        return f"{job} failed"


@contextmanager
def waiting(first: str, clock: Callable[[], float] | None = None) -> Iterator[Waiting]:
    """Show ``first`` with a spinner and the time elapsed (on ``clock``) while the block runs,
    when stderr is a terminal; yield the :class:`Waiting` to update it."""
    console = Console(stderr=True)
    if not console.is_terminal:
        quiet = Waiting()
        quiet.say(first)
        yield quiet
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, get_time=clock) as progress:
        task = progress.add_task(first, total=None)
        shown = Waiting(progress, task)
        shown.say(first)  # drawn at once, not at the first tick
        yield shown
