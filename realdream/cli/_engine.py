"""The batch engine: validated items in, images and manifest records out, asyncio all the way.

:class:`BatchRunner` runs items with at most ``concurrency`` requests in flight through one
:class:`realdream.AsyncClient` (whose transport waits at a shared back-off gate: see
:func:`realdream.cli._backoff.batch_client`), saves each item's images atomically through the
options' ``writer``, then records it in the :class:`Manifest`. It knows nothing of the
terminal: progress goes to a :class:`Listener`, and the caller maps signals to
:meth:`BatchRunner.interrupt`. Benchmarks and tests drive it as a plain coroutine.

Its rooms, one concept each: :mod:`._plan` (planning and resuming from the manifest),
:mod:`._launch` (launching, within :mod:`._spending`'s budget), :mod:`._follow` (following and
collecting v2 jobs), :mod:`._store` (saving, with the fallback folder); :mod:`._books` keeps
the records and the report they share, in the terms of :mod:`._run`.

Money rules. The request is recorded (seed resolved) before it is sent, so a paid image can be
made again; on v2 the job's id is recorded (``submitted``) before the run waits for it, so a
later run collects the job by its id (within its hour) instead of paying again. Anything after
an HTTP 200 counts as spent; a v2 job counts as spent once submitted, unless it ends FAILED.
Under ``--max-cost`` every launch holds its images at the highest price per image seen, and
the first goes alone until an answer has priced an image. A paid image the output folder
refuses goes to a fallback folder (or stays in memory until one takes it), and a refusal that
will repeat (no space, read-only, missing folder, no permission) stops new launches: a batch
never keeps buying images it cannot save. A run starts by picking up what an earlier one left
(:mod:`realdream.cli._recovery`), without paying: images on disk first, then v2 jobs within
their hour (collected before any new item is sent; their cost is in the spend of the run that
submitted them, not this one's).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Sequence

from realdream import AsyncClient
from realdream.cli._batchfile import BatchItem
from realdream.cli._books import Books
from realdream.cli._follow import Follower
from realdream.cli._launch import Launcher, Queue
from realdream.cli._manifest import Manifest
from realdream.cli._plan import pick_up, plan
from realdream.cli._run import BatchOptions, BatchReport, Listener, Silent
from realdream.cli._spending import Spending
from realdream.cli._store import Store

__all__ = ["BatchRunner"]


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
        self.listener: Listener = listener or Silent()
        self.spending = Spending(options.max_cost)
        self._books = Books(manifest, options, self.listener, self.spending)
        self._store = Store(self._books)
        follower = Follower(self._books, self._store, self._client)
        self._launcher = Launcher(self._books, self._store, follower, self._client)

    def interrupt(self) -> None:
        """The first call stops launching new items; the second abandons those in flight."""
        self._launcher.interrupt()

    async def run(self, items: Sequence[BatchItem]) -> BatchReport:
        """Run every pending item of ``items``; return the report (never raises for an item)."""
        report = self._books.report
        report.total = len(items)
        t0 = time.perf_counter()
        pick_up(self._books, items)
        work = plan(items, self.manifest, retry_unknown=self.options.retry_unknown)
        picked = {item.key for item in report.recovered}
        work.already_done[:] = [item for item in work.already_done if item.key not in picked]
        work.recovered.extend(report.recovered)
        report.already_done = len(work.already_done)
        report.unknown = work.unknown
        self.listener.started(work)
        queue: Queue = deque((item, True) for item in work.collect)
        queue.extend((item, False) for item in work.pending)
        ends = await self._launcher.launch(queue)
        await self._store.drain()
        report.elapsed = time.perf_counter() - t0
        report.not_started.extend(item for item, _ in queue)
        report.spent = self.spending.spent
        for end in ends:
            if isinstance(end, BaseException) and not isinstance(end, asyncio.CancelledError):
                raise end
        return report

    def _client(self) -> AsyncClient:
        if self.client is None:
            raise RuntimeError("BatchRunner without a client cannot send")
        return self.client
