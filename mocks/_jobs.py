"""v2 jobs as a pure state machine: a job's state is a function of the time since its submit.

A :class:`MockJob` is decided whole when it is submitted (how long it queues and runs, whether
it fails and why, what it costs); :meth:`MockJob.state_at` reads its state at any moment, so no
thread moves jobs along. :class:`JobBook` keeps one service's jobs and settles each job's
reserved credits exactly once, at the moment the job ends by the clock: committed when it
completes, released when it fails or its result expires first. It forgets a job once its
result expires, and an image once the image host would. Every method takes ``now``.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from dataclasses import dataclass
from typing import Final

from realdream import GenerationRequest, contract
from realdream.mock._ledger import Ledger

__all__ = [
    "IMAGE_TTL_S",
    "MAX_IMAGES",
    "JobBook",
    "MockJob",
    "Settlement",
    "StoredImage",
]

#: How long the image host keeps a file: 7 days (REPORTED with ``contract.IMAGE_HOST``).
IMAGE_TTL_S: Final = 7 * 24 * 3600.0
#: At most this many image files are remembered; the oldest go first.
MAX_IMAGES: Final = 65_536


@dataclass(frozen=True)
class MockJob:
    """One submitted job, decided at submit: every later state follows from the clock.

    ``request`` is ``None`` when the parameters were invalid: the job then fails as soon as
    a worker picks it up (after ``queue_time``), with ``error`` (the core's validation text).
    A valid job with an ``error`` runs ``run_time`` seconds, then fails with it.
    """

    request_id: str
    key: str
    submitted: float
    queue_time: float
    run_time: float
    request: GenerationRequest | None
    error: str | None
    #: The credits reserved at submit, in micro-dollars (0 for a job that cannot complete).
    cost_micros: int
    #: The ids of the files the job's result points to (none for base64 output).
    image_ids: tuple[str, ...]
    #: When its status and result are forgotten (``submitted`` + the result TTL).
    expires: float

    @property
    def started(self) -> float:
        """When it leaves the queue (QUEUED until then)."""
        return self.submitted + self.queue_time

    @property
    def inference_time(self) -> float:
        """Seconds a worker spent on it (none for parameters refused at start)."""
        return self.run_time if self.request is not None else 0.0

    @property
    def ends(self) -> float:
        """When it reaches COMPLETED or FAILED."""
        return self.started + self.inference_time

    @property
    def completes(self) -> bool:
        """Whether it is ever seen COMPLETED (and so billed): no error, and done in time."""
        return self.error is None and self.ends < self.expires

    def state_at(self, now: float) -> contract.JobState | None:
        """The state at ``now``; ``None`` once the result has expired."""
        if now >= self.expires:
            return None
        if now < self.started:
            return "QUEUED"
        if now < self.ends:
            return "PROCESSING"
        return "COMPLETED" if self.error is None else "FAILED"


@dataclass(frozen=True)
class Settlement:
    """How a job's reservation ended: billed (with the balance right after), or released."""

    billed: bool
    remaining_micros: int | None = None


@dataclass(frozen=True)
class StoredImage:
    """A file on the mock's image host: which sample of which request, and until when."""

    request: GenerationRequest
    index: int
    expires: float


class JobBook:
    """The jobs of one service, and their images. Thread-safe.

    The caller reserves ``job.cost_micros`` on ``ledger`` before :meth:`add`; from then on the
    book settles it, once, at ``min(job.ends, job.expires)``: every method first settles what
    is due at ``now``, so billing is a function of time however (and however often) jobs are
    polled.
    """

    def __init__(
        self, ledger: Ledger, *, image_ttl: float = IMAGE_TTL_S, max_images: int = MAX_IMAGES
    ) -> None:
        self.ledger = ledger
        self.image_ttl = image_ttl
        self.max_images = max_images
        self._jobs: dict[str, MockJob] = {}
        self._settled: dict[str, Settlement] = {}
        self._due: list[tuple[float, int, str]] = []
        self._order = itertools.count()
        self._images: dict[str, StoredImage] = {}
        self._billed_images = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many jobs are remembered (expired ones are forgotten as time passes)."""
        with self._lock:
            return len(self._jobs)

    def add(self, job: MockJob) -> None:
        """Keep ``job`` (its cost already reserved on the ledger)."""
        with self._lock:
            self._jobs[job.request_id] = job
            due = min(job.ends, job.expires)
            heapq.heappush(self._due, (due, next(self._order), job.request_id))

    def cancel(self, request_id: str) -> None:
        """Forget a job whose submit was never answered; its reservation goes back unless it
        was already settled (a job that completed meanwhile stays billed, and pollable)."""
        with self._lock:
            job = self._jobs.get(request_id)
            if job is None or request_id in self._settled:
                return
            del self._jobs[request_id]  # its turn in the queue of settlements is skipped
            self.ledger.release(job.cost_micros)

    @property
    def billed_images(self) -> int:
        """How many images completed jobs have been billed for, in all."""
        with self._lock:
            return self._billed_images

    def settle(self, now: float) -> None:
        """Settle every job due by ``now``, and forget what has expired."""
        with self._lock:
            self._settle(now)
            self._forget(now)

    def get(
        self, key: str, request_id: str, now: float
    ) -> tuple[MockJob, Settlement | None] | None:
        """``key``'s job ``request_id`` and its settlement so far; ``None`` when unknown to
        this key or expired."""
        with self._lock:
            self._settle(now)
            self._forget(now)
            job = self._jobs.get(request_id)
            if job is None or job.key != key or job.state_at(now) is None:
                return None
            return job, self._settled.get(request_id)

    def image(self, image_id: str, now: float) -> StoredImage | None:
        """The file ``image_id``, while the image host keeps it."""
        with self._lock:
            self._settle(now)
            self._forget(now)
            stored = self._images.get(image_id)
            return stored if stored is not None and now < stored.expires else None

    # --- under the lock ------------------------------------------------------------------------
    def _settle(self, now: float) -> None:
        while self._due and self._due[0][0] <= now:
            _, _, request_id = heapq.heappop(self._due)
            job = self._jobs.get(request_id)
            if job is None:
                continue  # cancelled
            if job.completes:
                remaining = self.ledger.commit(job.cost_micros)
                self._settled[request_id] = Settlement(billed=True, remaining_micros=remaining)
                self._keep_images(job)
                self._billed_images += job.request.samples if job.request is not None else 0
            else:
                self.ledger.release(job.cost_micros)
                self._settled[request_id] = Settlement(billed=False)

    def _keep_images(self, job: MockJob) -> None:
        if job.request is None:
            return
        expires = job.submitted + self.image_ttl
        for index, image_id in enumerate(job.image_ids):
            self._images[image_id] = StoredImage(job.request, index, expires)
        while len(self._images) > self.max_images:
            del self._images[next(iter(self._images))]

    def _forget(self, now: float) -> None:
        """Drop expired jobs and images, oldest first (both are kept in submit order)."""
        while self._jobs:
            request_id, job = next(iter(self._jobs.items()))
            if now < job.expires:
                break
            del self._jobs[request_id]
            self._settled.pop(request_id, None)
        while self._images:
            image_id, stored = next(iter(self._images.items()))
            if now < stored.expires:
                break
            del self._images[image_id]
