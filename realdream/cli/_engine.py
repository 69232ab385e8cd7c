"""The batch engine: validated items in, images and manifest records out, asyncio all the way.

:class:`BatchRunner` runs items with at most ``concurrency`` requests in flight through one
:class:`realdream.AsyncClient` (whose transport waits at a shared :class:`BackoffGate`), saves
each item's images atomically through the options' ``writer``, then records it in the
:class:`Manifest`. It knows nothing of the terminal: progress goes to a :class:`Listener`, and
the caller maps signals to :meth:`BatchRunner.interrupt`. Benchmarks and tests drive it as a
plain coroutine.

Money rules. The request is recorded (seed resolved) before it is sent, so a paid image can be
made again; on v2 the job's id is recorded (``submitted``) before the run waits for it, so a
later run collects the job by its id (within its hour) instead of paying again. Anything after
an HTTP 200 counts as spent; a v2 job counts as spent once submitted, unless it ends FAILED.
A paid image the output folder refuses goes to a fallback folder (or stays in memory until
one takes it), and a refusal that will repeat (no space, read-only, missing folder, no
permission) stops new launches: a batch never keeps buying images it cannot save. A run
starts by picking up what an earlier one left (:mod:`realdream.cli._recovery`), without
paying: images on disk first, then v2 jobs within their hour (collected before any new item
is sent; their cost is in the spend of the run that submitted them, not this one's).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx

from realdream import (
    DEFAULT_WAIT_TIMEOUT,
    Api,
    AsyncClient,
    AsyncJob,
    Budget,
    GenerationFailedError,
    GenerationRequest,
    GenerationResult,
    InvalidResponseError,
    JobExpiredError,
    JobTimeoutError,
    RealDreamError,
    RetryPolicy,
    write_atomic,
)
from realdream.cli._backoff import BackoffGate, GatedTransport
from realdream.cli._batchfile import BatchItem
from realdream.cli._manifest import Manifest, job_expiry, timestamp
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


class _Silent:
    def started(self, plan: Plan) -> None:
        pass

    def finished(self, outcome: Outcome, spent: float) -> None:
        pass

    def stopping(self, message: str) -> None:
        pass


def plan(
    items: Sequence[BatchItem],
    manifest: Manifest,
    *,
    retry_unknown: bool = False,
    now: datetime | None = None,
) -> Plan:
    """Split ``items`` by what the manifest says at ``now``: send, skip as done, collect a v2
    job within its hour, or skip as maybe billed."""
    result = Plan([], [], [])
    moment = now or datetime.now(timezone.utc)
    for item in items:
        state = manifest.state(item.key, moment)
        if state == "done":
            result.already_done.append(item)
        elif state == "submitted":
            result.collect.append(item)
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
    clock: Callable[[], float] = time.perf_counter,
    api: Api = "v1",
    rate_limit_per_minute: float | None = None,
) -> AsyncClient:
    """An :class:`AsyncClient` whose requests all wait at one shared :class:`BackoffGate`
    (``gate``, or a new one on the real clock): v2 submits, status polls and downloads too.
    ``rate_limit_per_minute`` paces them all (see :class:`realdream.AsyncClient`)."""
    inner = transport or httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    )
    return AsyncClient(
        api_key,
        base_url=base_url,
        retry=RetryPolicy(max_retries=max_retries),
        api=api,
        rate_limit_per_minute=rate_limit_per_minute,
        transport=GatedTransport(inner, gate or BackoffGate()),
        max_in_flight=concurrency,
        sleep=sleep,
        clock=clock,
    )


@dataclass(frozen=True)
class _InMemory:
    """Paid images no folder took yet: written out at the end of the run if one takes them."""

    item: BatchItem
    files: list[tuple[Path, bytes]]
    fields: dict[str, Any]
    cost: float
    collected: bool = False


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
        queue = deque([(item, True) for item in work.collect] + [(i, False) for i in work.pending])
        count = min(self.options.concurrency, len(queue))
        self._workers = [asyncio.create_task(self._worker(queue)) for _ in range(count)]
        outcomes = await asyncio.gather(*self._workers, return_exceptions=True)
        while self._finishing:  # never cancelled: each one is a paid-for image
            await asyncio.gather(*set(self._finishing))
        self._write_in_memory()
        report.elapsed = time.perf_counter() - t0
        report.not_started.extend(item for item, _ in queue)
        report.spent = self.budget.spent
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(
                outcome, asyncio.CancelledError
            ):
                raise outcome
        return report

    async def _worker(self, queue: deque[tuple[BatchItem, bool]]) -> None:
        """Take items off ``queue`` (each with whether it is a job to collect) until it is
        empty or the run stops launching."""
        while queue and not self._stopping:
            item, collect = queue.popleft()
            if collect:
                await self._collect(item)
                continue
            estimate = self.budget.estimate(item.request.samples)
            if not self.budget.reserve(estimate):
                queue.appendleft((item, collect))
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
        client = self._client()
        sent = self._to_send(item)
        names = self._names(item, sent.samples)
        if not self._record(item, "sent", sync=False, request=sent.payload, files=names):
            self.budget.settle(estimate, 0.0)  # not recorded, so not sent
            self._report.not_started.append(item)
            return
        try:
            if self.options.api == "v2":
                job = await client.submit(sent)
            else:
                result = await client.generate(sent)
        except RealDreamError as exc:  # on v2, a submit that may have queued is maybe_billed
            self.budget.settle(estimate, estimate if exc.maybe_billed else 0.0)
            fields = await asyncio.to_thread(self._error_fields, item, sent, exc)
            self._fail(item, str(exc), **fields)
            return
        except asyncio.CancelledError:
            self.budget.settle(estimate, estimate)  # it may have been billed
            self._report.abandoned.append(item)
            raise
        if self.options.api == "v2":
            await self._follow(item, job, estimate, names)
        else:
            await self._hand_over(item, result, estimate)

    async def _follow(
        self, item: BatchItem, job: AsyncJob, estimate: float, names: list[str]
    ) -> None:
        """Record a job this run submitted (before waiting: a later run collects it by its
        id), then wait for it."""
        self._record(
            item, "submitted", sync=False, request_id=job.request_id,
            request=_payload(job.request), files=names, expires_at=timestamp(job.expires_at),
        )  # fmt: skip
        try:
            result = await self._wait(item, job, job.expires_at, estimate)
        except asyncio.CancelledError:
            self.budget.settle(estimate, estimate)  # queued: billed if it completes
            self._report.abandoned.append(item)
            raise
        if result is not None:
            await self._hand_over(item, result, estimate, job.expires_at)

    async def _collect(self, item: BatchItem) -> None:
        """Fetch a job an earlier run submitted, by its id: nothing is paid again (and this
        run's spend does not count it: the run that submitted it did)."""
        record = self.manifest.records[item.key]
        expires = job_expiry(record) or datetime.now(timezone.utc)  # planned: it has one
        try:
            job = self._client().job(record["request_id"], request=recorded_request(record))
        except RealDreamError as exc:  # an id the manifest holds that is not one
            error = f"the manifest's request_id is not a job id ({exc}); it may have been billed"
            self._expired(item, error, True, maybe_billed=True, request=record.get("request"))
            return
        try:
            result = await self._wait(item, job, expires, 0.0, collected=True)
        except asyncio.CancelledError:
            self._report.abandoned.append(item)  # still "submitted": the next run collects it
            raise
        if result is not None:
            await self._hand_over(item, result, 0.0, expires, collected=True)

    async def _wait(
        self,
        item: BatchItem,
        job: AsyncJob,
        expires: datetime,
        estimate: float,
        *,
        collected: bool = False,
    ) -> GenerationResult | None:
        """The job's result; ``None`` once a failure is settled and recorded. A FAILED job is
        not billed (the item is sent again by a rerun); a job the service no longer knows is
        unknown (maybe billed); any other failure leaves it to collect within its hour."""
        try:
            return await job.wait(self.options.job_timeout)
        except RealDreamError as exc:
            unbilled = isinstance(exc, GenerationFailedError) and not exc.maybe_billed
            expired = isinstance(exc, JobExpiredError)
            self.budget.settle(estimate, 0.0 if unbilled else estimate)
            fields = await asyncio.to_thread(self._error_fields, item, job.request, exc)
            fields.update(maybe_billed=not unbilled, request_id=job.request_id)
            if unbilled:
                fields["billed"] = False
            elif not expired:
                fields["expires_at"] = timestamp(expires)
            error = _job_error(job.request_id, exc, unbilled, expired, self.options.job_timeout)
            if expired:
                self._expired(item, error, collected, **fields)
            else:
                self._fail(item, error, collected=collected, **fields)
            return None

    async def _hand_over(
        self,
        item: BatchItem,
        result: GenerationResult,
        estimate: float,
        expires: datetime | None = None,
        *,
        collected: bool = False,
    ) -> None:
        """Saving runs beside the next request rather than before it; a paid-for result is
        in a task at once, so no cancellation can lose it. Backpressure: at most
        `concurrency` results wait to be saved."""
        job = {"expires_at": timestamp(expires)} if expires is not None else {}
        task = asyncio.create_task(self._finish(item, result, estimate, job, collected))
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)
        if len(self._finishing) >= self.options.concurrency:
            await asyncio.wait(set(self._finishing), return_when=asyncio.FIRST_COMPLETED)

    def _client(self) -> AsyncClient:
        if self.client is None:
            raise RuntimeError("BatchRunner without a client cannot send")
        return self.client

    def _to_send(self, item: BatchItem) -> GenerationRequest:
        """The request as it will be sent, seed resolved: an item sent before keeps the seed
        it was sent with, so sending it again makes the same image. (v1 asks for JSON when
        several samples must come back; a v2 result lists every image anyway.)"""
        earlier = recorded_request(self.manifest.records.get(item.key))
        request = item.request
        if request.is_random_seed and earlier is not None and not earlier.is_random_seed:
            request = request.replace(seed=earlier.seed)
        return request.with_resolved_seed() if self.options.api == "v2" else request.as_sent()

    async def _finish(
        self,
        item: BatchItem,
        result: GenerationResult,
        estimate: float,
        job: dict[str, Any],
        collected: bool,
    ) -> None:
        """Save the images and record the item, off the event loop: never cancelled."""
        cost = result.cost if result.cost is not None else estimate
        if not collected:  # a collected job was counted by the run that submitted it
            self.budget.settle(estimate, cost, len(result.images))
        extra = {**job, **({"collected": True} if collected else {})}
        outcome, refusal = await asyncio.to_thread(self._store, item, result, cost, extra)
        if refusal is not None and will_repeat(refusal):
            self._stop(f"cannot save images in {self.options.out_dir} ({describe(refusal)})")
        self._outcomes(outcome).append(outcome)
        self.listener.finished(outcome, self.budget.spent)

    def _outcomes(self, outcome: Outcome) -> list[Outcome]:
        report = self._report
        if outcome.status == "done":
            return report.collected if outcome.collected else report.done
        return report.held if outcome.status == "held" else report.failed

    # -- saving (in a worker thread) -----------------------------------------------------
    def _store(
        self, item: BatchItem, result: GenerationResult, cost: float, extra: dict[str, Any]
    ) -> tuple[Outcome, OSError | None]:
        """Write the images (where asked, else in a fallback folder), then record the item
        (with ``extra``: a v2 job's ``expires_at``, and ``collected``)."""
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
            "request": _payload(result.request),
            **extra,
        }
        collected = bool(extra.get("collected"))
        try:
            placed = place(files, self.options.fallback_dirs, self.options.writer)
        except UnplacedError as exc:
            self._in_memory.append(_InMemory(item, files, fields, cost, collected))
            error = (
                f"paid, but the images could not be written in {out} ({describe(exc.error)}) "
                "nor in a fallback folder; kept in memory until the run ends"
            )
            self._record(item, "failed", error=error, maybe_billed=True, billed=True, **fields)
            return Outcome(item, "failed", (), cost, result.seed, error, collected), exc.error
        return self._placed(item, placed, fields, cost, collected), placed.error

    def _placed(
        self,
        item: BatchItem,
        placed: Placed,
        fields: dict[str, Any],
        cost: float,
        collected: bool = False,
    ) -> Outcome:
        """Record where the images went: ``done``, or ``held`` in a fallback folder."""
        seed = fields["seed"]
        files = [path.name for path in placed.where_asked]
        if placed.error is None:
            self._record(item, "done", files=files, **fields)
            return Outcome(item, "done", placed.where_asked, cost, seed, collected=collected)
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
        files_kept = placed.where_asked + placed.elsewhere
        return Outcome(item, "held", files_kept, cost, seed, error, collected)

    def _write_in_memory(self) -> None:
        """A last try for images no folder took during the run; what fails now is lost."""
        for kept in self._in_memory:
            previous = next(o for o in self._report.failed if o.item is kept.item)
            self._report.failed.remove(previous)
            try:
                placed = place(kept.files, self.options.fallback_dirs, self.options.writer)
            except UnplacedError as exc:
                again = (
                    "a rerun within the hour collects the job again, unpaid"
                    if "expires_at" in kept.fields
                    else "--retry-unknown buys them again with the same seed"
                )
                error = (
                    f"paid, but no folder took the images ({describe(exc.error)}): they are "
                    f"lost; {again}"
                )
                self._record(kept.item, "failed", error=error, maybe_billed=True, billed=True,
                             **kept.fields)  # fmt: skip
                self._report.lost.append(Outcome(kept.item, "failed", error=error))
                continue
            outcome = self._placed(kept.item, placed, kept.fields, kept.cost, kept.collected)
            self._outcomes(outcome).append(outcome)
        self._in_memory.clear()

    def _error_fields(
        self, item: BatchItem, sent: GenerationRequest | None, exc: RealDreamError
    ) -> dict[str, Any]:
        """What a ``failed`` record keeps: the request as sent, billing, the request id, and
        the raw body of an unreadable HTTP 200."""
        fields: dict[str, Any] = {
            "maybe_billed": exc.maybe_billed,
            "request": _payload(exc.request or sent),
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

    def _fail(self, item: BatchItem, error: str, *, collected: bool = False, **fields: Any) -> None:
        self._record(item, "failed", error=error, **fields)
        outcome = Outcome(item, "failed", error=error, collected=collected)
        self._report.failed.append(outcome)
        self.listener.finished(outcome, self.budget.spent)

    def _expired(self, item: BatchItem, error: str, collected: bool, **fields: Any) -> None:
        """A job the service no longer knows: it may have been billed, as a v1 ``sent``."""
        self._record(item, "failed", error=error, **fields)
        outcome = Outcome(item, "unknown", error=error, collected=collected)
        self._report.expired.append(outcome)
        self._report.unknown.append(item)
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


def _payload(request: GenerationRequest | None) -> dict[str, Any] | None:
    return request.payload if request is not None else None


def _job_error(
    request_id: str, exc: RealDreamError, unbilled: bool, expired: bool, timeout: float | None
) -> str:
    """What went wrong with a job, and what a rerun will do about it."""
    if unbilled and isinstance(exc, GenerationFailedError):
        return (
            f"job {request_id} failed: {exc.message}; nothing was billed (a rerun sends it again)"
        )
    if expired:
        return (
            f"job {request_id} is unknown to the service, or past the hour it keeps results; "
            "it may have been billed (--retry-unknown sends it again)"
        )
    collect = "run the same command again within the hour to collect it"
    if isinstance(exc, JobTimeoutError):
        return (
            f"job {request_id} is still {exc.state.lower()} after {timeout or 0:g} s; it keeps "
            f"running on the server and is billed if it completes: {collect}"
        )
    text = " ".join(str(exc).split())
    return f"{text} (job {request_id} may have been billed: {collect})"


def _names_of(record: dict[str, Any]) -> list[str]:
    files = record.get("files")
    return [name for name in files if isinstance(name, str)] if isinstance(files, list) else []
