"""One batch run's terms: the options it is given, the plan it makes, what became of each item,
the report it returns and the listener it tells as it goes.

Plain data, no behaviour beyond the report's totals: every room of the engine
(:mod:`._plan`, :mod:`._launch`, :mod:`._follow`, :mod:`._store`) speaks in these terms, and
the terminal (:mod:`._progress`) draws them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, Protocol

from realdream import DEFAULT_WAIT_TIMEOUT, Api, write_atomic
from realdream.cli._batchfile import BatchItem
from realdream.cli._saving import Writer

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "BatchOptions",
    "BatchReport",
    "Listener",
    "Outcome",
    "Plan",
    "Silent",
]

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_INTERRUPTED: Final = 130


@dataclass(frozen=True)
class BatchOptions:
    """How to run a batch. ``image_format`` is a suffix: ``.png`` or ``.jpg``."""

    out_dir: Path
    concurrency: int = 4
    image_format: str = ".jpg"
    max_cost: float | None = None
    retry_unknown: bool = False
    #: Every file the batch writes goes through this (tests inject a full disk here).
    writer: Writer = write_atomic
    #: Where paid images go when ``out_dir`` refuses them, in order (none: memory only).
    fallback_dirs: tuple[Path, ...] = ()
    #: ``"v2"``: submit each item as a job, record its id, then wait for it.
    api: Api = "v1"
    #: How long to wait for one v2 job (``None``: until the service forgets it).
    job_timeout: float | None = DEFAULT_WAIT_TIMEOUT


@dataclass(frozen=True)
class Outcome:
    """What became of one item in this run: ``held`` means paid for and written to a
    fallback folder, not where asked; ``unknown``, a v2 job the service no longer knows
    (it may have been billed). ``collected``: the job was submitted by an earlier run."""

    item: BatchItem
    status: Literal["done", "held", "failed", "unknown"]
    files: tuple[Path, ...] = ()
    cost: float = 0.0
    seed: int | None = None
    error: str | None = None
    collected: bool = False


@dataclass(frozen=True)
class Plan:
    """Which items a run sends, and which the manifest says to leave alone."""

    pending: list[BatchItem]
    already_done: list[BatchItem]
    unknown: list[BatchItem]
    #: Made done at the start of this run from images an earlier run left (not sent).
    recovered: list[BatchItem] = field(default_factory=list)
    #: v2 jobs an earlier run submitted, still within their hour: collected, not sent.
    collect: list[BatchItem] = field(default_factory=list)


@dataclass
class BatchReport:
    """Everything a run did, for the summary table and the exit code."""

    total: int
    already_done: int = 0
    recovered: list[BatchItem] = field(default_factory=list)
    unknown: list[BatchItem] = field(default_factory=list)
    done: list[Outcome] = field(default_factory=list)
    #: Done from v2 jobs an earlier run submitted (nothing paid again).
    collected: list[Outcome] = field(default_factory=list)
    #: v2 jobs found past their hour while waiting or collecting (also in ``unknown``).
    expired: list[Outcome] = field(default_factory=list)
    held: list[Outcome] = field(default_factory=list)
    failed: list[Outcome] = field(default_factory=list)
    #: Paid for, but no folder took the images: gone when the process ends.
    lost: list[Outcome] = field(default_factory=list)
    abandoned: list[BatchItem] = field(default_factory=list)
    not_started: list[BatchItem] = field(default_factory=list)
    spent: float = 0.0
    elapsed: float = 0.0
    interrupted: bool = False
    budget_stopped: bool = False
    #: Why launching stopped early: a save or manifest failure that would repeat.
    stop_reason: str | None = None
    #: Manifest records that could not be written, as JSON lines.
    unrecorded: list[str] = field(default_factory=list)

    @property
    def images(self) -> int:
        return sum(len(outcome.files) for outcome in self.done + self.collected)

    @property
    def complete(self) -> bool:
        """Every item of the file is done (now, collected or recovered now, or earlier)."""
        finished = len(self.recovered) + len(self.done) + len(self.collected)
        return self.already_done + finished == self.total

    @property
    def exit_code(self) -> int:
        if self.complete:
            return EXIT_OK
        return EXIT_INTERRUPTED if self.interrupted else EXIT_FAILED


class Listener(Protocol):
    """Receives progress; the CLI draws it with rich, tests and benchmarks ignore it."""

    def started(self, plan: Plan) -> None: ...

    def finished(self, outcome: Outcome, spent: float) -> None: ...

    def stopping(self, message: str) -> None: ...


class Silent:
    """A :class:`Listener` that ignores everything."""

    def started(self, plan: Plan) -> None:
        pass

    def finished(self, outcome: Outcome, spent: float) -> None:
        pass

    def stopping(self, message: str) -> None:
        pass
