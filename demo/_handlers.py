"""Event handlers: typed plain functions that call :mod:`realdream`.

:meth:`Handlers.generate` is the ``/generate`` API. Every error it meets leaves through
:func:`demo._errors.to_gr_error`, the one boundary where errors become messages.
"""

from __future__ import annotations

import concurrent.futures
import math
import queue
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, NamedTuple, TypeVar

import gradio as gr

import realdream
from demo import _format, _jobs, _outputs
from demo._backend import Backend, Route, check_key_shape
from demo._errors import NotSavedError, to_gr_error
from demo._guard import Guard
from demo._outputs import OutputFolder, default_output_dir
from demo._presets import CUSTOM_SIZE, preset_for, size_of
from demo._settings import GuardSettings
from demo._visitor import AddressRule, Visitor, visitor_from

__all__ = [
    "RANDOM_SEED",
    "GenerateOutput",
    "Handlers",
    "build_request",
    "random_seed",
    "reuse_seed",
    "size_from_preset",
]

RANDOM_SEED: Final = int(realdream.LIMITS["seed"].default)
#: The generation parameters of :meth:`Handlers.generate`, in order: the page's first inputs and
#: the Space's MCP tool's parameters.
GENERATION_PARAMETERS: Final = (
    "prompt",
    "negative_prompt",
    "scheduler",
    "num_inference_steps",
    "guidance_scale",
    "seed",
    "img_width",
    "img_height",
    "samples",
)
_TICK_S: Final = 0.2
_T = TypeVar("_T")


class GenerateOutput(NamedTuple):
    """What ``generate`` returns, one value per output component."""

    gallery: list[tuple[str, str]]
    summary: str
    details: dict[str, Any]
    files: list[str]
    last_seed: int | None


def build_request(
    prompt: str | None,
    negative_prompt: str | None,
    scheduler: str | None,
    num_inference_steps: float | None,
    guidance_scale: float | None,
    seed: float | None,
    img_width: float | None,
    img_height: float | None,
    samples: float | None,
) -> realdream.GenerationRequest:
    """The validated request for the form's values; raises :class:`realdream.ValidationError`.

    An empty seed means random. Whole-number floats (sliders send floats) become integers;
    anything else goes to the core as is, so its message names the field and the rule.
    """
    return realdream.GenerationRequest.create(
        prompt=prompt or "",
        negative_prompt=negative_prompt or "",
        scheduler=scheduler,
        num_inference_steps=_whole(num_inference_steps),
        guidance_scale=guidance_scale,
        seed=RANDOM_SEED if seed is None else _whole(seed),
        img_width=_whole(img_width),
        img_height=_whole(img_height),
        samples=_whole(samples),
    )


class Handlers:
    """The app's handlers, bound to its backend, its spend guard and its output folder.

    On the app's own key, ``guard`` applies (default: :class:`GuardSettings`'s limits, kept in
    memory); ``None`` only when the backend has no key of its own. ``addresses`` says which
    address counts an anonymous visitor (default: from the environment). On a v2 backend a job is
    waited on at most ``job_timeout_s``; ``clock`` and ``sleep`` go to each request's client,
    to time and space its retries and polls (tests pass a fake clock shared with the mock).
    """

    def __init__(
        self,
        backend: Backend,
        output_dir: Path | None = None,
        *,
        guard: Guard | None = None,
        keep_outputs_mb: float | None = None,
        addresses: AddressRule | None = None,
        job_timeout_s: float = _jobs.JOB_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.backend = backend
        self.job_timeout_s = job_timeout_s
        self._clock = clock
        self._sleep = sleep
        #: Created on the first save; each run writes into a fresh folder inside it.
        self.outputs = OutputFolder.from_env(
            output_dir or default_output_dir(), max_mb=keep_outputs_mb
        )
        self.guard = guard if guard is not None or backend.server_key is None else _default_guard()
        self.addresses = AddressRule.from_env() if addresses is None else addresses

    @property
    def output_dir(self) -> Path:
        return self.outputs.root

    def generate(
        self,
        prompt: str,
        negative_prompt: str,
        scheduler: str,
        num_inference_steps: float,
        guidance_scale: float,
        seed: float | None,
        img_width: float,
        img_height: float,
        samples: float,
        api_key: str | None = None,
        offline_mock: bool | None = False,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (how Gradio injects progress)
        request: gr.Request | None = None,
        profile: gr.OAuthProfile | None = None,
    ) -> GenerateOutput:
        """Generate images with RealDream Lightning: PNG files with their parameters embedded.

        Parameters:
            prompt: what to render.
            negative_prompt: what the image should not show.
            scheduler: one of realdream.SCHEDULERS.
            num_inference_steps: denoising steps.
            guidance_scale: classifier-free guidance scale.
            seed: -1 (or empty) picks a random seed; the seed used comes back in the results.
            img_width: width in pixels, a multiple of 8.
            img_height: height in pixels, a multiple of 8.
            samples: number of images.
            api_key: a Segmind key for this request only; empty uses the app's backend.
            offline_mock: true for the built-in offline mock (free placeholder images).
        Returns:
            the images (PNG paths and captions), a Markdown summary, the run's details as
            JSON (the request as sent, time, cost, remaining credits) and the PNG files.
        """
        key = (api_key or "").strip() or None
        try:
            check_key_shape(key)
            built = build_request(
                prompt,
                negative_prompt,
                scheduler,
                num_inference_steps,
                guidance_scale,
                seed,
                img_width,
                img_height,
                samples,
            )
            route = self.backend.route(key, offline=bool(offline_mock))
            visitor = self._visitor(request, profile)
            result = self._spend(built, key, route, visitor, progress)
            try:
                return self._present(result, route, visitor)
            except Exception as exc:  # the images exist and were paid for: say so
                raise NotSavedError(result.seed, len(result.images), route.offline) from exc
        except Exception as exc:
            raise to_gr_error(exc, (key, self.backend.server_key)) from None

    def allowance(
        self, request: gr.Request | None = None, profile: gr.OAuthProfile | None = None
    ) -> str:
        """What this visitor may still make on the app's key (Markdown; empty without one)."""
        if self.guard is None:
            return ""
        return _format.allowance_line(self.guard.allowance(self._visitor(request, profile)))

    def _visitor(self, request: gr.Request | None, profile: gr.OAuthProfile | None) -> Visitor:
        username = getattr(profile, "username", None) if profile is not None else None
        return visitor_from(request, username, addresses=self.addresses)

    def _spend(
        self,
        request: realdream.GenerationRequest,
        key: str | None,
        route: Route,
        visitor: Visitor,
        progress: gr.Progress,
    ) -> realdream.GenerationResult:
        """The call; on the app's key, inside a reservation the response settles."""
        if not route.server_key or self.guard is None:
            return self._call(request, key, route, progress)
        samples = request.samples
        with self.guard.spending(visitor, samples, self.backend.server_balance) as reservation:
            result = self._call(request, key, route, progress)
            self.guard.settle(
                reservation, result.cost, result.remaining_credits, images=len(result.images)
            )
        return result

    def _call(
        self,
        request: realdream.GenerationRequest,
        key: str | None,
        route: Route,
        progress: gr.Progress,
    ) -> realdream.GenerationResult:
        count = f"{request.samples} image{'s' if request.samples > 1 else ''}"
        progress(0.0, desc=f"Sending the request ({count})")
        expected = route.expected_latency_s
        client = self.backend.client(
            key, offline=route.offline, clock=self._clock, sleep=self._sleep
        )
        with client:
            if route.api == "v2":
                return self._job(client, request, progress, expected)
            return _wait(lambda: client.generate(request), progress, expected, self._clock)

    def _job(
        self,
        client: realdream.Client,
        request: realdream.GenerationRequest,
        progress: gr.Progress,
        expected_s: float,
    ) -> realdream.GenerationResult:
        """A v2 job, its state shown as the core's wait learns it (see :mod:`demo._jobs`)."""

        def run(on_state: _jobs.OnState) -> realdream.GenerationResult:
            return _jobs.run_job(
                client,
                request,
                expected_s=expected_s,
                on_state=on_state,
                timeout_s=self.job_timeout_s,
                clock=self._clock,
            )

        return _watch(run, progress, expected_s, self._clock)

    def _present(
        self, result: realdream.GenerationResult, route: Route, visitor: Visitor
    ) -> GenerateOutput:
        folder = self.outputs.new_run()
        paths = [_outputs.save(image, folder, result.seed) for image in result.images]
        self.outputs.prune(keep=folder)
        gallery = [
            (str(path), _format.caption(image))
            for image, path in zip(result.images, paths, strict=True)
        ]
        shown = self._shown(route, visitor)
        return GenerateOutput(
            gallery=gallery,
            summary=_format.summary(result, route, paths, shown),
            details=_format.details(result, route, paths, shown),
            files=[str(path) for path in paths],
            last_seed=result.seed,
        )

    def _shown(self, route: Route, visitor: Visitor) -> _format.Shown:
        if not route.server_key or self.guard is None:
            return _format.Shown()
        allowance = self.guard.allowance(visitor)
        return _format.Shown(balance=self.guard.settings.show_balance, allowance=allowance)


def random_seed() -> int:
    """The seed box's value for "pick a random seed"."""
    return RANDOM_SEED


def reuse_seed(last_seed: int | None, current: float | None) -> float | None:
    """The last run's resolved seed, or the current value (with a notice) before any run."""
    if last_seed is None:
        gr.Info("No image generated yet: there is no last seed to reuse.")
        return current
    return last_seed


def size_from_preset(label: str, width: float, height: float) -> tuple[float, float]:
    """Width and height for a size menu choice; Custom keeps the current ones."""
    return size_of(label) or (width, height)


def preset_from_size(width: float, height: float) -> str:
    """The size menu choice matching ``width`` × ``height`` (or Custom)."""
    return preset_for(width, height) if width and height else CUSTOM_SIZE


def _wait(
    call: Callable[[], _T],
    progress: gr.Progress,
    expected_s: float,
    clock: Callable[[], float] = time.monotonic,
) -> _T:
    """Run ``call`` in a worker thread, moving the progress bar while waiting for it."""
    started = clock()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(call)
        while True:
            try:
                return future.result(timeout=_TICK_S)
            except concurrent.futures.TimeoutError:
                waited = clock() - started
                progress(_estimate(waited, expected_s), desc=f"Generating… {waited:.0f} s")


def _watch(
    run: Callable[[_jobs.OnState], _T],
    progress: gr.Progress,
    expected_s: float,
    clock: Callable[[], float],
) -> _T:
    """Run a job in a worker thread; show every state it reports, in order (also those of a
    job that ends in an error), and the time since the submit in between (Gradio's progress
    belongs to this thread, so the worker only queues its reports)."""
    reports: queue.SimpleQueue[_jobs.State] = queue.SimpleQueue()
    shown = _Shown(progress, expected_s, clock)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(run, reports.put)
        while True:
            done = future.done()  # read first: a finished worker has queued all its reports
            while not reports.empty():
                shown.report(reports.get())
            if done:
                return future.result()
            concurrent.futures.wait([future], timeout=_TICK_S)
            if not future.done():
                shown.tick()


class _Shown:
    """The job's last reported state on the progress bar (and, while the service answers with
    errors, that the wait goes on), with the time since the submit."""

    def __init__(self, progress: gr.Progress, expected_s: float, clock: Callable[[], float]):
        self._progress = progress
        self._expected = expected_s
        self._clock = clock
        self._last = _jobs.State(_jobs.SUBMITTING, 0.0)
        self._started = clock()

    def report(self, state: _jobs.State) -> None:
        self._last, self._started = state, self._clock() - state.waited
        self._show(state.waited)

    def tick(self) -> None:
        self._show(self._clock() - self._started)

    def _show(self, waited: float) -> None:
        fraction = _estimate(waited, self._expected)
        last = self._last
        self._progress(fraction, desc=_jobs.describe(last.state, waited, last.transient))


def _estimate(waited: float, expected: float) -> float:
    """A progress fraction that nears 1 around the expected time and never reaches it."""
    return min(0.95, 1.0 - math.exp(-2.0 * waited / max(expected, 0.1)))


def _default_guard() -> Guard:
    """The guard's default limits, kept in memory (``main()`` gives the app a ledger)."""
    return Guard(GuardSettings())


def _whole(value: Any) -> Any:
    """A whole-number float as an int; anything else unchanged (the core judges it)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
