"""Saving what a batch paid for: off the event loop, never cancelled, never dropped.

A paid result is handed over at once to a task no cancellation reaches, which writes the
images (where asked, else in a fallback folder, else kept in memory until the run ends) and
then records the item. A refusal that will repeat stops new launches: a batch never keeps
buying images it cannot save. The unreadable body of an HTTP 200 is kept for support too.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from realdream import GenerationRequest, GenerationResult, InvalidResponseError, RealDreamError
from realdream.cli._batchfile import BatchItem
from realdream.cli._books import Books, payload
from realdream.cli._manifest import timestamp
from realdream.cli._run import Outcome
from realdream.cli._saving import (
    UNREADABLE_DIR,
    Placed,
    UnplacedError,
    describe,
    encoded,
    place,
    shown_path,
    will_repeat,
    write_elsewhere,
)
from realdream.cli._spending import Hold

__all__ = ["Store"]

_SAFE_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a request id that is safe as a file name


@dataclass(frozen=True)
class _InMemory:
    """Paid images no folder took yet: written out at the end of the run if one takes them."""

    item: BatchItem
    files: list[tuple[Path, bytes]]
    fields: dict[str, Any]
    cost: float
    collected: bool = False


class Store:
    """Saves one run's paid results; :meth:`drain` once the run has launched its last."""

    def __init__(self, books: Books) -> None:
        self.books = books
        self.options = books.options
        self._finishing: set[asyncio.Task[None]] = set()
        self._in_memory: list[_InMemory] = []

    async def hand_over(
        self,
        item: BatchItem,
        result: GenerationResult,
        hold: Hold | None,
        expires: datetime | None = None,
        *,
        collected: bool = False,
    ) -> None:
        """Settle ``hold`` with the reported cost, then save beside the next request rather
        than before it: a paid-for result is in a task at once, so no cancellation can lose
        it. Backpressure: at most ``concurrency`` results wait to be saved. A job an earlier
        run submitted (``collected``, no hold) was counted by that run; its price is noted."""
        spending = self.books.spending
        fallback = hold.amount if hold is not None else 0.0
        cost = result.cost if result.cost is not None else fallback
        if hold is not None:
            spending.settle(hold, cost, len(result.images))
        elif result.cost is not None:
            spending.observe(result.cost, len(result.images))
        job = {"expires_at": timestamp(expires)} if expires is not None else {}
        extra = {**job, **({"collected": True} if collected else {})}
        task = asyncio.create_task(self._finish(item, result, cost, extra))
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)
        if len(self._finishing) >= self.options.concurrency:
            await asyncio.wait(set(self._finishing), return_when=asyncio.FIRST_COMPLETED)

    async def drain(self) -> None:
        """Wait for every save (never cancelled: each one is a paid-for image), then make a
        last try for the images no folder took."""
        while self._finishing:
            await asyncio.gather(*set(self._finishing))
        self._write_in_memory()

    async def _finish(
        self, item: BatchItem, result: GenerationResult, cost: float, extra: dict[str, Any]
    ) -> None:
        """Save the images and record the item, off the event loop."""
        outcome, refusal = await asyncio.to_thread(self._store, item, result, cost, extra)
        if refusal is not None and will_repeat(refusal):
            self.books.stop(f"cannot save images in {self.options.out_dir} ({describe(refusal)})")
        self.books.finished(outcome)

    # -- in a worker thread --------------------------------------------------------------
    def _store(
        self, item: BatchItem, result: GenerationResult, cost: float, extra: dict[str, Any]
    ) -> tuple[Outcome, OSError | None]:
        """Write the images (where asked, else in a fallback folder), then record the item
        (with ``extra``: a v2 job's ``expires_at``, and ``collected``)."""
        names = self.books.names(item, len(result.images))
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
            "request": payload(result.request),
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
            self.books.record(item, "failed", error=error, maybe_billed=True, billed=True, **fields)
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
            self.books.record(item, "done", files=files, **fields)
            return Outcome(item, "done", placed.where_asked, cost, seed, collected=collected)
        error = (
            f"paid, but the images could not be written in {self.options.out_dir} "
            f"({describe(placed.error)}); kept in {placed.elsewhere[0].parent} until a rerun "
            "moves them"
        )
        fallback = [str(path.absolute()) for path in placed.elsewhere]
        self.books.record(
            item, "held", files=files, fallback=fallback, error=error, maybe_billed=True,
            billed=True, **fields,
        )  # fmt: skip
        files_kept = placed.where_asked + placed.elsewhere
        return Outcome(item, "held", files_kept, cost, seed, error, collected)

    def _write_in_memory(self) -> None:
        """A last try for images no folder took during the run; what fails now is lost."""
        report = self.books.report
        for kept in self._in_memory:
            previous = next(o for o in report.failed if o.item is kept.item)
            report.failed.remove(previous)
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
                self.books.record(kept.item, "failed", error=error, maybe_billed=True,
                                  billed=True, **kept.fields)  # fmt: skip
                report.lost.append(Outcome(kept.item, "failed", error=error))
                continue
            outcome = self._placed(kept.item, placed, kept.fields, kept.cost, kept.collected)
            self.books.outcomes(outcome).append(outcome)
        self._in_memory.clear()

    def error_fields(
        self, item: BatchItem, sent: GenerationRequest | None, exc: RealDreamError
    ) -> dict[str, Any]:
        """What a ``failed`` record keeps: the request as sent, billing, the request id, and
        the raw body of an unreadable HTTP 200 (saved here; call in a worker thread)."""
        fields: dict[str, Any] = {
            "maybe_billed": exc.maybe_billed,
            "request": exc.request.payload if exc.request is not None else payload(sent),
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
