"""Launching a batch's items: at most ``concurrency`` at once, each within ``--max-cost``.

Workers take items off one queue: jobs an earlier run left are collected first, then new
items are sent. Before an item is sent it holds its estimate under the budget
(:mod:`._spending`) and its ``sent`` record is written (seed resolved): a paid image can be
made again, and nothing is ever sent unrecorded. Pacing itself is the client's: every request
waits at the batch's shared back-off gate (:mod:`._backoff`), and ``--rpm`` spaces them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from realdream import AsyncClient, AsyncJob, GenerationResult, RealDreamError
from realdream.cli._batchfile import BatchItem
from realdream.cli._books import Books
from realdream.cli._follow import Follower
from realdream.cli._plan import to_send
from realdream.cli._spending import Hold
from realdream.cli._store import Store

__all__ = ["Launcher", "Queue"]

#: Items to run, each with whether it is a job an earlier run left to collect.
Queue = deque[tuple[BatchItem, bool]]


class Launcher:
    """Runs workers over a :data:`Queue`; :meth:`interrupt` once stops launching, twice
    abandons what is in flight."""

    def __init__(
        self, books: Books, store: Store, follower: Follower, client: Callable[[], AsyncClient]
    ) -> None:
        self.books = books
        self.store = store
        self.follower = follower
        self._client = client
        self._workers: list[asyncio.Task[None]] = []

    def interrupt(self) -> None:
        """The first call stops launching new items; the second abandons those in flight."""
        books = self.books
        if not books.stopping:
            books.report.interrupted = True
            books.stopping = True
            books.listener.stopping(
                "Stopping: finishing the requests in flight (Ctrl-C again to abandon them)."
            )
            return
        books.listener.stopping("Abandoning the requests in flight.")
        for worker in self._workers:
            worker.cancel()

    async def launch(self, queue: Queue) -> list[BaseException | None]:
        """Run ``queue`` with at most ``concurrency`` workers; what is left in it was not
        started. Returns each worker's end: ``None``, or what it raised."""
        count = min(self.books.options.concurrency, len(queue))
        self._workers = [asyncio.create_task(self._worker(queue)) for _ in range(count)]
        return await asyncio.gather(*self._workers, return_exceptions=True)

    async def _worker(self, queue: Queue) -> None:
        """Take items off ``queue`` until it is empty or the run stops launching."""
        while queue and not self.books.stopping:
            item, collect = queue.popleft()
            if collect:
                await self.follower.collect(item)
                continue
            try:
                hold = await self.books.spending.reserve(item.request.samples)
            except asyncio.CancelledError:
                queue.appendleft((item, collect))  # waiting for its turn: never sent
                raise
            if hold is None or self.books.stopping:
                queue.appendleft((item, collect))
                if hold is None:
                    self._stop_for_budget()
                else:
                    self.books.spending.release(hold)
                return
            await self._process(item, hold)

    def _stop_for_budget(self) -> None:
        books = self.books
        if not books.report.budget_stopped:
            books.report.budget_stopped = True
            books.listener.stopping(
                f"Stopping: the next item would take the spend past --max-cost "
                f"${books.options.max_cost:.4f} (spent ${books.spending.spent:.4f})."
            )
        books.stopping = True

    async def _process(self, item: BatchItem, hold: Hold) -> None:
        """Record, send and follow one item; every ending settles ``hold``."""
        client, books = self._client(), self.books
        sent = to_send(item, books.manifest, books.options.api)
        names = books.names(item, sent.samples)
        if not books.record(item, "sent", sync=False, request=sent.payload, files=names):
            books.spending.release(hold)  # not recorded, so not sent
            books.report.not_started.append(item)
            return
        answer: AsyncJob | GenerationResult
        try:
            if books.options.api == "v2":
                answer = await client.submit(sent)
            else:
                answer = await client.generate(sent)
        except RealDreamError as exc:  # on v2, a submit that may have queued is maybe_billed
            books.spending.settle(hold, None if exc.maybe_billed else 0.0)
            fields = await asyncio.to_thread(self.store.error_fields, item, sent, exc)
            books.fail(item, str(exc), **fields)
            return
        except asyncio.CancelledError:
            books.spending.settle(hold)  # it may have been billed
            books.report.abandoned.append(item)
            raise
        if isinstance(answer, AsyncJob):
            await self.follower.follow(item, answer, hold, names)
        else:
            await self.store.hand_over(item, answer, hold)
