"""The batch engine: validated items in, images and manifest records out, asyncio all the way.

:class:`BatchRunner` runs items with at most ``concurrency`` requests in flight through one
:class:`realdream.AsyncClient` (whose transport waits at a shared :class:`BackoffGate`), saves
each item's images atomically, then records it in the :class:`Manifest`. It knows nothing of
the terminal: progress goes to a :class:`Listener`, and the caller maps signals to
:meth:`BatchRunner.interrupt`. Benchmarks and tests drive it as a plain coroutine.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import httpx

from realdream import AsyncClient, GenerationResult, RealDreamError, RetryPolicy
from realdream.cli._backoff import BackoffGate, GatedTransport
from realdream.cli._batchfile import BatchItem
from realdream.cli._budget import Budget
from realdream.cli._manifest import Manifest
from realdream.cli._naming import batch_stem

__all__ = [
    "BatchOptions",
    "BatchReport",
    "BatchRunner",
    "Listener",
    "Outcome",
    "batch_client",
    "plan",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class BatchOptions:
    """How to run a batch. ``image_format`` is a suffix: ``.png`` or ``.jpg``."""

    out_dir: Path
    concurrency: int = 4
    image_format: str = ".jpg"
    max_cost: float | None = None
    retry_unknown: bool = False


@dataclass(frozen=True)
class Outcome:
    """What became of one item in this run."""

    item: BatchItem
    status: Literal["done", "failed"]
    files: tuple[Path, ...] = ()
    cost: float = 0.0
    seed: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class Plan:
    """Which items a run sends, and which the manifest says to leave alone."""

    pending: list[BatchItem]
    already_done: list[BatchItem]
    unknown: list[BatchItem]


@dataclass
class BatchReport:
    """Everything a run did, for the summary table and the exit code."""

    total: int
    already_done: int = 0
    unknown: list[BatchItem] = field(default_factory=list)
    done: list[Outcome] = field(default_factory=list)
    failed: list[Outcome] = field(default_factory=list)
    abandoned: list[BatchItem] = field(default_factory=list)
    not_started: list[BatchItem] = field(default_factory=list)
    spent: float = 0.0
    elapsed: float = 0.0
    interrupted: bool = False
    budget_stopped: bool = False

    @property
    def images(self) -> int:
        return sum(len(outcome.files) for outcome in self.done)

    @property
    def complete(self) -> bool:
        """Every item of the file is done (now or in an earlier run)."""
        return self.already_done + len(self.done) == self.total

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


class _Silent:
    def started(self, plan: Plan) -> None:
        pass

    def finished(self, outcome: Outcome, spent: float) -> None:
        pass

    def stopping(self, message: str) -> None:
        pass


def plan(items: Sequence[BatchItem], manifest: Manifest, *, retry_unknown: bool = False) -> Plan:
    """Split ``items`` by what the manifest says: send, skip as done, or skip as maybe billed."""
    result = Plan([], [], [])
    for item in items:
        state = manifest.state(item.key)
        if state == "done":
            result.already_done.append(item)
        elif state == "unknown" and not retry_unknown:
            result.unknown.append(item)
        else:
            result.pending.append(item)
    return result


def batch_client(
    api_key: str | None = None,
    *,
    base_url: str | None = None,
    concurrency: int = 4,
    max_retries: int = 4,
    transport: httpx.AsyncBaseTransport | None = None,
    gate: BackoffGate | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> AsyncClient:
    """An :class:`AsyncClient` whose requests all wait at one shared :class:`BackoffGate`
    (``gate``, or a new one on the real clock)."""
    inner = transport or httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    )
    return AsyncClient(
        api_key,
        base_url=base_url,
        retry=RetryPolicy(max_retries=max_retries),
        transport=GatedTransport(inner, gate or BackoffGate()),
        max_in_flight=concurrency,
        sleep=sleep,
    )


class BatchRunner:
    """Runs one batch; :meth:`interrupt` once stops launching, twice abandons what is in flight."""

    def __init__(
        self,
        client: AsyncClient,
        manifest: Manifest,
        options: BatchOptions,
        listener: Listener | None = None,
    ) -> None:
        self.client = client
        self.manifest = manifest
        self.options = options
        self.listener: Listener = listener or _Silent()
        self.budget = Budget(options.max_cost)
        self._stopping = False
        self._workers: list[asyncio.Task[None]] = []
        self._finishing: set[asyncio.Task[None]] = set()
        self._report = BatchReport(total=0)

    # -- control -------------------------------------------------------------------------
    def interrupt(self) -> None:
        """The first call stops launching new items; the second abandons those in flight."""
        if not self._stopping:
            self._report.interrupted = True
            self._stopping = True
            self.listener.stopping(
                "Stopping: finishing the requests in flight (Ctrl-C again to abandon them)."
            )
            return
        self.listener.stopping("Abandoning the requests in flight.")
        for worker in self._workers:
            worker.cancel()

    # -- running -------------------------------------------------------------------------
    async def run(self, items: Sequence[BatchItem]) -> BatchReport:
        """Run every pending item of ``items``; return the report (never raises for an item)."""
        work = plan(items, self.manifest, retry_unknown=self.options.retry_unknown)
        report = self._report
        report.total = len(items)
        report.already_done = len(work.already_done)
        report.unknown = work.unknown
        self.listener.started(work)
        queue = deque(work.pending)
        t0 = time.perf_counter()
        count = min(self.options.concurrency, len(queue))
        self._workers = [asyncio.create_task(self._worker(queue)) for _ in range(count)]
        outcomes = await asyncio.gather(*self._workers, return_exceptions=True)
        while self._finishing:  # never cancelled: each one is a paid-for image
            await asyncio.gather(*set(self._finishing))
        report.elapsed = time.perf_counter() - t0
        report.not_started = list(queue)
        report.spent = self.budget.spent
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(
                outcome, asyncio.CancelledError
            ):
                raise outcome
        return report

    async def _worker(self, queue: deque[BatchItem]) -> None:
        while queue and not self._stopping:
            item = queue.popleft()
            estimate = self.budget.estimate(item.request.samples)
            if not self.budget.reserve(estimate):
                queue.appendleft(item)
                self._stop_for_budget()
                return
            await self._process(item, estimate)

    def _stop_for_budget(self) -> None:
        if not self._report.budget_stopped:
            self._report.budget_stopped = True
            self.listener.stopping(
                f"Stopping: the next item would take the spend past --max-cost "
                f"${self.options.max_cost:.4f} (spent ${self.budget.spent:.4f})."
            )
        self._stopping = True

    async def _process(self, item: BatchItem, estimate: float) -> None:
        self.manifest.append(item.key, item.line, "sent", sync=False)
        try:
            result = await self.client.generate(item.request)
        except RealDreamError as exc:
            maybe_billed = bool(getattr(exc, "maybe_billed", False))
            self.budget.settle(estimate, estimate if maybe_billed else 0.0)
            self._fail(item, str(exc), maybe_billed=maybe_billed)
            return
        except asyncio.CancelledError:
            self.budget.settle(estimate, estimate)  # it may have been billed
            self._report.abandoned.append(item)
            raise
        # Saving runs beside the next request rather than before it; a paid-for result is in
        # a task at once, so no cancellation can lose it. Backpressure: at most `concurrency`
        # results wait to be saved.
        task = asyncio.create_task(self._finish(item, result, estimate))
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)
        if len(self._finishing) >= self.options.concurrency:
            await asyncio.wait(set(self._finishing), return_when=asyncio.FIRST_COMPLETED)

    async def _finish(self, item: BatchItem, result: GenerationResult, estimate: float) -> None:
        """Save the images and record the item, off the event loop: never cancelled."""
        cost = result.cost if result.cost is not None else estimate
        self.budget.settle(estimate, cost, len(result.images))
        paths = self._paths(item, len(result.images))
        try:
            await asyncio.to_thread(self._save_and_record, item, result, paths, cost)
        except (OSError, ValueError) as exc:
            # Paid for but not on disk: "maybe billed" keeps a rerun from paying silently again.
            self._fail(item, f"paid, but the image could not be saved: {exc}", maybe_billed=True)
            return
        outcome = Outcome(item, "done", tuple(paths), cost, result.seed)
        self._report.done.append(outcome)
        self.listener.finished(outcome, self.budget.spent)

    def _save_and_record(
        self, item: BatchItem, result: GenerationResult, paths: Sequence[Path], cost: float
    ) -> None:
        """Runs in a worker thread: images first (atomically), then the manifest record."""
        for image, path in zip(result.images, paths, strict=True):
            image.save(path)
        self.manifest.append(
            item.key,
            item.line,
            "done",
            files=[path.name for path in paths],
            seed=result.seed,
            cost=cost,
            request_id=result.request_id,
            elapsed=round(result.elapsed, 3),
            retries=result.retries,
            request=result.request.payload if result.request is not None else None,
        )

    def _fail(self, item: BatchItem, error: str, *, maybe_billed: bool) -> None:
        self.manifest.append(item.key, item.line, "failed", error=error, maybe_billed=maybe_billed)
        outcome = Outcome(item, "failed", error=error)
        self._report.failed.append(outcome)
        self.listener.finished(outcome, self.budget.spent)

    def _paths(self, item: BatchItem, count: int) -> list[Path]:
        stem = batch_stem(item.line, item.request.prompt, item.key)
        suffix = self.options.image_format
        if count == 1:
            return [self.options.out_dir / f"{stem}{suffix}"]
        return [self.options.out_dir / f"{stem}-{i + 1}{suffix}" for i in range(count)]
