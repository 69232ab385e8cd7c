"""Following v2 jobs: the one this run submitted, and those an earlier run left to collect.

A job's id is recorded (``submitted``) before the run waits for it, so a later run collects
it by its id, within its hour, instead of paying again. A job counts as spent once submitted,
unless it ends FAILED; a job the service no longer knows is "maybe billed", like a v1 request
with no answer. A collected job was paid for by the run that submitted it: it costs this run
nothing, though its reported price still counts as the highest seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timezone

from realdream import (
    AsyncClient,
    AsyncJob,
    GenerationFailedError,
    GenerationResult,
    JobExpiredError,
    JobTimeoutError,
    RealDreamError,
)
from realdream.cli._batchfile import BatchItem
from realdream.cli._books import Books, payload
from realdream.cli._manifest import job_expiry, timestamp
from realdream.cli._recovery import recorded_request
from realdream.cli._spending import Hold
from realdream.cli._store import Store

__all__ = ["Follower"]


class Follower:
    """Waits for v2 jobs, records how each ended, and hands results to the :class:`Store`."""

    def __init__(self, books: Books, store: Store, client: Callable[[], AsyncClient]) -> None:
        self.books = books
        self.store = store
        self._client = client

    async def follow(self, item: BatchItem, job: AsyncJob, hold: Hold, names: list[str]) -> None:
        """Record a job this run submitted (before waiting: a later run collects it by its
        id), then wait for it."""
        self.books.record(
            item, "submitted", sync=False, request_id=job.request_id,
            request=payload(job.request), files=names, expires_at=timestamp(job.expires_at),
        )  # fmt: skip
        try:
            result = await self._wait(item, job, job.expires_at, hold)
        except asyncio.CancelledError:
            self.books.spending.settle(hold)  # queued: billed if it completes
            self.books.report.abandoned.append(item)
            raise
        if result is not None:
            await self.store.hand_over(item, result, hold, job.expires_at)

    async def collect(self, item: BatchItem) -> None:
        """Fetch a job an earlier run submitted, by its id: nothing is paid again (and this
        run's spend does not count it: the run that submitted it did)."""
        record = self.books.manifest.records[item.key]
        expires = job_expiry(record) or datetime.now(timezone.utc)  # planned: it has one
        try:
            job = self._client().job(record["request_id"], request=recorded_request(record))
        except RealDreamError as exc:  # an id the manifest holds that is not one
            error = f"the manifest's request_id is not a job id ({exc}); it may have been billed"
            self.books.expired(item, error, True, maybe_billed=True, request=record.get("request"))
            return
        try:
            result = await self._wait(item, job, expires, None)
        except asyncio.CancelledError:
            self.books.report.abandoned.append(item)  # still "submitted": the next run collects it
            raise
        if result is not None:
            await self.store.hand_over(item, result, None, expires, collected=True)

    async def _wait(
        self, item: BatchItem, job: AsyncJob, expires: datetime, hold: Hold | None
    ) -> GenerationResult | None:
        """The job's result; ``None`` once a failure is settled and recorded. A FAILED job is
        not billed (the item is sent again by a rerun); a job the service no longer knows is
        unknown (maybe billed); any other failure leaves it to collect within its hour.
        ``hold`` is ``None`` for a job an earlier run submitted (collected)."""
        timeout = self.books.options.job_timeout
        try:
            return await job.wait(timeout)
        except RealDreamError as exc:
            unbilled = isinstance(exc, GenerationFailedError) and not exc.maybe_billed
            expired = isinstance(exc, JobExpiredError)
            if hold is not None:
                self.books.spending.settle(hold, 0.0 if unbilled else None)
            fields = await asyncio.to_thread(self.store.error_fields, item, job.request, exc)
            fields.update(maybe_billed=not unbilled, request_id=job.request_id)
            if unbilled:
                fields["billed"] = False
            elif not expired:
                fields["expires_at"] = timestamp(expires)
            error = _job_error(job.request_id, exc, unbilled, expired, timeout)
            collected = hold is None
            if expired:
                self.books.expired(item, error, collected, **fields)
            else:
                self.books.fail(item, error, collected=collected, **fields)
            return None


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
        cause = f" ({_one_line(exc.__cause__)})" if exc.__cause__ is not None else ""
        if exc.state == "COMPLETED":
            return (
                f"job {request_id} completed (billed), but its images could not be downloaded "
                f"within {timeout or 0:g} s{cause}: {collect}"
            )
        return (
            f"job {request_id} is still {exc.state.lower()} after {timeout or 0:g} s{cause}; "
            f"it keeps running on the server and is billed if it completes: {collect}"
        )
    return f"{_one_line(exc)} (job {request_id} may have been billed: {collect})"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
