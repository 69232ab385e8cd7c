"""The batch engine: validated items in, images and manifest records out, asyncio all the way.

:class:`BatchRunner` runs items with at most ``concurrency`` requests in flight through one
:class:`realdream.AsyncClient` (whose transport waits at a shared :class:`BackoffGate`), saves
each item's images atomically through the options' ``writer``, then records it in the
:class:`Manifest`. It knows nothing of the terminal: progress goes to a :class:`Listener`, and
the caller maps signals to :meth:`BatchRunner.interrupt`. Benchmarks and tests drive it as a
plain coroutine.

Money rules. The request is recorded (seed resolved) before it is sent, so a paid image can be
made again. Anything after an HTTP 200 counts as spent. A paid image the output folder refuses
goes to a fallback folder (or stays in memory until one takes it), and a refusal that will
repeat (no space, read-only, missing folder, no permission) stops new launches: a batch never
keeps buying images it cannot save. A run starts by picking up what an earlier one left
(:mod:`realdream.cli._recovery`), without paying.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx

from realdream import (
    AsyncClient,
    GenerationRequest,
    GenerationResult,
    InvalidResponseError,
    RealDreamError,
    RetryPolicy,
    write_atomic,
)
from realdream.cli._backoff import BackoffGate, GatedTransport
from realdream.cli._batchfile import BatchItem
from realdream.cli._budget import Budget
from realdream.cli._manifest import Manifest
from realdream.cli._naming import batch_names, stale_temporaries
from realdream.cli._recovery import find_recovery, recorded_request
from realdream.cli._saving import (
    UNREADABLE_DIR,
    Placed,
    UnplacedError,
    Writer,
    describe,
    encoded,
    place,
    shown_path,
    will_repeat,
    write_elsewhere,
)

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
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a request id that is safe as a file name


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


@dataclass(frozen=True)
class Outcome:
    """What became of one item in this run: ``held`` means paid for and written to a
    fallback folder, not where asked."""

    item: BatchItem
    status: Literal["done", "held", "failed"]
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
    #: Made done at the start of this run from images an earlier run left (not sent).
    recovered: list[BatchItem] = field(default_factory=list)


@dataclass
class BatchReport:
    """Everything a run did, for the summary table and the exit code."""

    total: int
    already_done: int = 0
    recovered: list[BatchItem] = field(default_factory=list)
    unknown: list[BatchItem] = field(default_factory=list)
    done: list[Outcome] = field(default_factory=list)
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
        return sum(len(outcome.files) for outcome in self.done)

    @property
    def complete(self) -> bool:
        """Every item of the file is done (now, recovered now, or in an earlier run)."""
        return self.already_done + len(self.recovered) + len(self.done) == self.total

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


@dataclass(frozen=True)
class _InMemory:
    """Paid images no folder took yet: written out at the end of the run if one takes them."""

    item: BatchItem
    files: list[tuple[Path, bytes]]
    fields: dict[str, Any]
    cost: float


class BatchRunner:
    """Runs one batch; :meth:`interrupt` once stops launching, twice abandons what is in flight.

    ``client`` may be ``None`` for a run that sends nothing (it only picks up what an earlier
    run left); sending without one is a programming error.
    """

    def __init__(
        self,
        client: AsyncClient | None,
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
        self._in_memory: list[_InMemory] = []
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

    def _stop(self, reason: str) -> None:
        """Stop launching for a failure that would repeat; the first reason is the one kept."""
        if self._report.stop_reason is None:
            self._report.stop_reason = reason
            self.listener.stopping(f"Stopping: {reason}; the requests in flight finish.")
        self._stopping = True

    # -- running -------------------------------------------------------------------------
    async def run(self, items: Sequence[BatchItem]) -> BatchReport:
        """Run every pending item of ``items``; return the report (never raises for an item)."""
        report = self._report
        report.total = len(items)
        t0 = time.perf_counter()
        self._pick_up(items)
        work = plan(items, self.manifest, retry_unknown=self.options.retry_unknown)
        picked = {item.key for item in report.recovered}
        work.already_done[:] = [item for item in work.already_done if item.key not in picked]
        work.recovered.extend(report.recovered)
        report.already_done = len(work.already_done)
        report.unknown = work.unknown
        self.listener.started(work)
        queue = deque(work.pending)
        count = min(self.options.concurrency, len(queue))
        self._workers = [asyncio.create_task(self._worker(queue)) for _ in range(count)]
        outcomes = await asyncio.gather(*self._workers, return_exceptions=True)
        while self._finishing:  # never cancelled: each one is a paid-for image
            await asyncio.gather(*set(self._finishing))
        self._write_in_memory()
        report.elapsed = time.perf_counter() - t0
        report.not_started.extend(queue)
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
        if self.client is None:
            raise RuntimeError("BatchRunner without a client cannot send")
        sent = self._to_send(item)
        names = self._names(item, sent.samples)
        if not self._record(item, "sent", sync=False, request=sent.payload, files=names):
            self.budget.settle(estimate, 0.0)  # not recorded, so not sent
            self._report.not_started.append(item)
            return
        try:
            result = await self.client.generate(sent)
        except RealDreamError as exc:
            self.budget.settle(estimate, estimate if exc.maybe_billed else 0.0)
            fields = await asyncio.to_thread(self._error_fields, item, sent, exc)
            self._fail(item, str(exc), **fields)
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

    def _to_send(self, item: BatchItem) -> GenerationRequest:
        """The request as it will be sent, seed resolved: an item sent before keeps the seed
        it was sent with, so sending it again makes the same image."""
        earlier = recorded_request(self.manifest.records.get(item.key))
        if item.request.is_random_seed and earlier is not None and not earlier.is_random_seed:
            return item.request.replace(seed=earlier.seed).as_sent()
        return item.request.as_sent()

    async def _finish(self, item: BatchItem, result: GenerationResult, estimate: float) -> None:
        """Save the images and record the item, off the event loop: never cancelled."""
        cost = result.cost if result.cost is not None else estimate
        self.budget.settle(estimate, cost, len(result.images))
        outcome, refusal = await asyncio.to_thread(self._store, item, result, cost)
        if refusal is not None and will_repeat(refusal):
            self._stop(f"cannot save images in {self.options.out_dir} ({describe(refusal)})")
        self._outcomes(outcome.status).append(outcome)
        self.listener.finished(outcome, self.budget.spent)

    def _outcomes(self, status: str) -> list[Outcome]:
        report = self._report
        return {"done": report.done, "held": report.held}.get(status, report.failed)

    # -- saving (in a worker thread) -----------------------------------------------------
    def _store(
        self, item: BatchItem, result: GenerationResult, cost: float
    ) -> tuple[Outcome, OSError | None]:
        """Write the images (where asked, else in a fallback folder), then record the item."""
        names = self._names(item, len(result.images))
        out = self.options.out_dir
        files = [
            encoded(image, out / name) for image, name in zip(result.images, names, strict=True)
        ]
        fields: dict[str, Any] = {
            "seed": result.seed,
            "cost": cost,
            "request_id": result.request_id,
            "elapsed": round(result.elapsed, 3),
            "retries": result.retries,
            "request": result.request.payload if result.request is not None else None,
        }
        try:
            placed = place(files, self.options.fallback_dirs, self.options.writer)
        except UnplacedError as exc:
            self._in_memory.append(_InMemory(item, files, fields, cost))
            error = (
                f"paid, but the images could not be written in {out} ({describe(exc.error)}) "
                "nor in a fallback folder; kept in memory until the run ends"
            )
            self._record(item, "failed", error=error, maybe_billed=True, billed=True, **fields)
            return Outcome(item, "failed", (), cost, result.seed, error), exc.error
        return self._placed(item, placed, fields, cost), placed.error

    def _placed(
        self, item: BatchItem, placed: Placed, fields: dict[str, Any], cost: float
    ) -> Outcome:
        """Record where the images went: ``done``, or ``held`` in a fallback folder."""
        seed = fields["seed"]
        files = [path.name for path in placed.where_asked]
        if placed.error is None:
            self._record(item, "done", files=files, **fields)
            return Outcome(item, "done", placed.where_asked, cost, seed)
        error = (
            f"paid, but the images could not be written in {self.options.out_dir} "
            f"({describe(placed.error)}); kept in {placed.elsewhere[0].parent} until a rerun "
            "moves them"
        )
        fallback = [str(path.absolute()) for path in placed.elsewhere]
        self._record(
            item, "held", files=files, fallback=fallback, error=error, maybe_billed=True,
            billed=True, **fields,
        )  # fmt: skip
        return Outcome(item, "held", placed.where_asked + placed.elsewhere, cost, seed, error)

    def _write_in_memory(self) -> None:
        """A last try for images no folder took during the run; what fails now is lost."""
        for kept in self._in_memory:
            previous = next(o for o in self._report.failed if o.item is kept.item)
            self._report.failed.remove(previous)
            try:
                placed = place(kept.files, self.options.fallback_dirs, self.options.writer)
            except UnplacedError as exc:
                error = (
                    f"paid, but no folder took the images ({describe(exc.error)}): they are "
                    "lost; --retry-unknown buys them again with the same seed"
                )
                self._record(kept.item, "failed", error=error, maybe_billed=True, billed=True,
                             **kept.fields)  # fmt: skip
                self._report.lost.append(Outcome(kept.item, "failed", error=error))
                continue
            outcome = self._placed(kept.item, placed, kept.fields, kept.cost)
            self._outcomes(outcome.status).append(outcome)
        self._in_memory.clear()

    def _error_fields(
        self, item: BatchItem, sent: GenerationRequest, exc: RealDreamError
    ) -> dict[str, Any]:
        """What a ``failed`` record keeps: the request as sent, billing, the request id, and
        the raw body of an unreadable HTTP 200."""
        fields: dict[str, Any] = {
            "maybe_billed": exc.maybe_billed,
            "request": (exc.request or sent).payload,
        }
        billed = getattr(exc, "billed", None)
        if isinstance(billed, bool):
            fields["billed"] = billed
        request_id = getattr(exc, "request_id", None)
        if request_id:
            fields["request_id"] = request_id
        if isinstance(exc, InvalidResponseError) and exc.body:
            kept = self._keep_body(item, exc.body, request_id)
            if kept is not None:
                fields["raw_body"] = shown_path(kept, self.options.out_dir)
        return fields

    def _keep_body(self, item: BatchItem, body: bytes, request_id: str | None) -> Path | None:
        """Save an unreadable body for support: ``OUT/.realdream-unreadable/<id>.bin``."""
        stem = request_id if request_id and _SAFE_ID.fullmatch(request_id) else item.key
        relative = Path(UNREADABLE_DIR) / f"{stem}.bin"
        try:
            return self.options.writer(self.options.out_dir / relative, body)
        except OSError:
            kept = write_elsewhere(
                [(relative, body)], self.options.fallback_dirs, self.options.writer
            )
            return kept[0] if kept else None

    # -- the manifest ----------------------------------------------------------------------
    def _record(self, item: BatchItem, status: str, *, sync: bool = True, **fields: Any) -> bool:
        """Append a record; if the manifest refuses, keep the record for the summary and stop
        launching (an item must never be sent without its record)."""
        try:
            self.manifest.append(item.key, item.line, status, sync=sync, **fields)
        except OSError as exc:
            record = {"key": item.key, "line": item.line, "status": status, **fields}
            self._report.unrecorded.append(json.dumps(record, ensure_ascii=False))
            self._stop(f"cannot write the manifest {self.manifest.path} ({describe(exc)})")
            return False
        return True

    def _fail(self, item: BatchItem, error: str, **fields: Any) -> None:
        self._record(item, "failed", error=error, **fields)
        outcome = Outcome(item, "failed", error=error)
        self._report.failed.append(outcome)
        self.listener.finished(outcome, self.budget.spent)

    def _pick_up(self, items: Sequence[BatchItem]) -> None:
        """Before sending anything: remove temporary files a killed run left, and make done
        the items whose paid images are on disk already (see :mod:`._recovery`)."""
        out = self.options.out_dir
        names = [name for r in self.manifest.records.values() for name in _names_of(r)]
        for temporary in stale_temporaries(out, names):
            temporary.unlink(missing_ok=True)
        for item in items:
            recovery = find_recovery(item, self.manifest.records.get(item.key), out)
            if recovery is None:
                continue
            try:
                held = recovery.read()
            except OSError:  # the kept copy is gone: the item stays "maybe billed"
                continue
            try:
                recovery.apply(out, self.options.writer, held)
            except OSError as exc:
                if will_repeat(exc):
                    self._stop(f"cannot move kept images into {out} ({describe(exc)})")
                    return
                continue
            if self._record(item, "done", **recovery.done_fields()):
                self._report.recovered.append(item)

    def _names(self, item: BatchItem, count: int) -> list[str]:
        prompt, suffix = item.request.prompt, self.options.image_format
        return batch_names(item.line, prompt, item.key, count, suffix)


def _names_of(record: dict[str, Any]) -> list[str]:
    files = record.get("files")
    return [name for name in files if isinstance(name, str)] if isinstance(files, list) else []
