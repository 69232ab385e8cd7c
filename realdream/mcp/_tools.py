"""The tools' work: validate, reserve, call the client, settle, return images and facts.

Each tool takes the arguments an agent sent (a JSON object) and returns a :class:`ToolResult`,
or raises :class:`ToolError` with a message for the agent. Validation is the core's
(:class:`realdream.GenerationRequest`), so an invalid call names the field and what is allowed,
and is refused before a credit is reserved or a request is sent.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from realdream import (
    AsyncClient,
    AsyncJob,
    GenerationFailedError,
    GenerationRequest,
    GenerationResult,
    JobExpiredError,
    JobPendingError,
    RealDreamError,
    ValidationError,
    contract,
)
from realdream.mcp._content import ToolResult, invalid, result_content, text
from realdream.mcp._errors import ToolError
from realdream.mcp._schemas import (
    ESTIMATE_COST,
    GENERATE_IMAGE,
    GET_CREDITS,
    GET_IMAGE_JOB,
    REQUEST_ID_MAX_LENGTH,
    SUBMIT_IMAGE_JOB,
)
from realdream.mcp._spending import SpendCap, usd

__all__ = ["ImageTools", "Saver"]

logger = logging.getLogger("realdream.mcp")

#: Saves a paid result's images (as ``realdream generate`` does) and returns their paths.
Saver = Callable[[GenerationResult], Sequence[Path]]
#: Jobs this server remembers submitting (a job lives one hour at most).
_MAX_JOBS: Final = 1000


@dataclass
class _Submitted:
    """A job this server submitted: the request as sent, and what is still held for it
    (``None`` once the job was settled or released)."""

    request: GenerationRequest | None
    held: float | None
    samples: int


class ImageTools:
    """The five tools on one client and one spend cap.

    ``save`` (optional) writes each paid result's images; ``None`` keeps them in the result only.
    """

    def __init__(self, client: AsyncClient, cap: SpendCap, *, save: Saver | None = None) -> None:
        self.client = client
        self.cap = cap
        self._save = save
        self._jobs: OrderedDict[str, _Submitted] = OrderedDict()
        self._handlers: dict[str, Callable[[Mapping[str, Any]], Any]] = {
            GENERATE_IMAGE: self.generate_image,
            SUBMIT_IMAGE_JOB: self.submit_image_job,
            GET_IMAGE_JOB: self.get_image_job,
            GET_CREDITS: self.get_credits,
            ESTIMATE_COST: self.estimate_cost,
        }

    async def call(self, name: str, arguments: Mapping[str, Any]) -> ToolResult:
        """Run tool ``name``; :class:`ToolError` for an unknown tool or a refused call."""
        handler = self._handlers.get(name)
        if handler is None:
            raise ToolError(f"Unknown tool {name!r}; the tools are: {', '.join(self._handlers)}.")
        result: ToolResult = await handler(arguments)
        return result

    # --- paid tools ----------------------------------------------------------------------------
    async def generate_image(self, arguments: Mapping[str, Any]) -> ToolResult:
        request = _request(arguments)
        held = self.cap.reserve(request.samples)
        try:
            result = await self.client.generate(request, api="v1")
        except RealDreamError as exc:
            self.cap.finish(held, exc, _images(request.samples))
            raise ToolError(_failed(exc)) from None
        except BaseException:  # cancelled mid-request: it may have been billed
            self.cap.settle(held, None, 0, f"{_images(request.samples)} (cancelled in flight)")
            raise
        self.cap.settle(held, result.cost, len(result.images), _paid_for(result))
        return self._present(result)

    async def submit_image_job(self, arguments: Mapping[str, Any]) -> ToolResult:
        request = _request(arguments)
        held = self.cap.reserve(request.samples)
        try:
            job = await self.client.submit(request)
        except RealDreamError as exc:
            self.cap.finish(held, exc, f"a job of {_images(request.samples)}")
            raise ToolError(_failed(exc)) from None
        except BaseException:
            self.cap.settle(held, None, 0, "a job submit cancelled in flight")
            raise
        self._remember(job, held, request.samples)
        self.cap.hold(held, f"job {job.request_id} ({_images(request.samples)})")
        expires = job.expires_at.strftime("%H:%M UTC")
        message = (
            f"Job {job.request_id} queued ({_images(request.samples)}, seed "
            f"{job.request.seed if job.request else '?'}); up to {usd(held)} is held for it and "
            f"billed only when it completes. Collect it with get_image_job(request_id="
            f"{job.request_id!r}) in a few seconds; it is kept until {expires}."
        )
        return text(message, {"request_id": job.request_id, "state": "QUEUED", "held_usd": held})

    # --- free tools ----------------------------------------------------------------------------
    async def get_image_job(self, arguments: Mapping[str, Any]) -> ToolResult:
        """One read of the job's result: its images once it completed, else its state."""
        request_id = _request_id(arguments)
        known = self._jobs.get(request_id)
        try:
            job = self.client.job(request_id, request=known.request if known else None)
            result = await job.result()
        except ValidationError as exc:
            raise ToolError(f"Invalid request_id: {exc}") from None
        except JobPendingError as exc:
            message = f"Job {request_id} is {exc.state}: ask again in a few seconds."
            return text(message, {"request_id": request_id, "state": exc.state})
        except (GenerationFailedError, JobExpiredError) as exc:  # it ended without a result
            self._forget(request_id, exc)
            raise ToolError(_failed(exc)) from None
        except RealDreamError as exc:  # what is held stays held: the job may be collected later
            raise ToolError(_failed(exc)) from None
        if known is not None and known.held is not None:  # paid once, however often collected
            held, known.held = known.held, None
            self.cap.settle(held, result.cost, len(result.images), _paid_for(result))
        return self._present(result)

    async def get_credits(self, arguments: Mapping[str, Any]) -> ToolResult:
        _no_arguments(arguments)
        try:
            credits = await self.client.credits()
        except RealDreamError as exc:
            raise ToolError(_failed(exc)) from None
        message = (
            f"The account has {credits.credits:g} credits ({credits.free_credits:g} free). "
            f"This server has {self.cap.words()}."
        )
        structured = {
            "credits": credits.credits,
            "free_credits": credits.free_credits,
            "spend": self.cap.summary(),
        }
        return text(message, structured)

    async def estimate_cost(self, arguments: Mapping[str, Any]) -> ToolResult:
        samples = _samples(arguments)
        estimate = self.cap.budget.estimate(samples)
        fits = self.cap.budget.allows(estimate)
        message = (
            f"{_images(samples)}: about {usd(estimate)} ({usd(self.cap.budget.price)} an image). "
            f"This server has {self.cap.words()}: "
            + ("it fits." if fits else "it does not fit; ask for fewer images.")
        )
        return text(message, {"samples": samples, "cost_usd": estimate, "fits": fits})

    # --- helpers -------------------------------------------------------------------------------
    def _present(self, result: GenerationResult) -> ToolResult:
        files: Sequence[Path] = ()
        problem = None
        if self._save is not None:
            try:
                files = self._save(result)
            except Exception as exc:  # a paid image is never lost: it is in the result
                problem = " ".join(str(exc).split()) or type(exc).__name__
                logger.warning("images not saved: %s", problem)
        return result_content(result, self.cap.summary(), self.cap.words(), files, problem)

    def _remember(self, job: AsyncJob, held: float, samples: int) -> None:
        self._jobs[job.request_id] = _Submitted(job.request, held, samples)
        while len(self._jobs) > _MAX_JOBS:  # the oldest is past its hour; what it holds stays
            self._jobs.popitem(last=False)

    def _forget(self, request_id: str, error: RealDreamError) -> None:
        """The job ended without a result: released if never billed, else counted as paid."""
        known = self._jobs.get(request_id)
        if known is None or known.held is None:
            return
        held, known.held = known.held, None
        if isinstance(error, GenerationFailedError):
            self.cap.release(held)
        else:
            self.cap.settle(held, None, 0, f"job {request_id} ({_images(known.samples)}, lost)")


def _request(arguments: Mapping[str, Any]) -> GenerationRequest:
    """The validated request; ``base64`` is refused too (the tools always return image
    content), together with anything else that is wrong."""
    given = dict(arguments)
    errors = []
    if "base64" in given:
        del given["base64"]
        errors.append(
            ("base64", "base64: is not a parameter of this tool (images always come back)")
        )
    try:
        request = GenerationRequest.create(given)
    except ValidationError as exc:
        errors = exc.errors + errors
    if errors:
        raise ToolError(invalid(ValidationError(errors)))
    return request


def _request_id(arguments: Mapping[str, Any]) -> str:
    value = arguments.get("request_id")
    extra = sorted(set(arguments) - {"request_id"})
    if extra:
        raise ToolError(f"{extra[0]}: is not a parameter of get_image_job (only request_id).")
    if not isinstance(value, str) or not 0 < len(value) <= REQUEST_ID_MAX_LENGTH:
        raise ToolError(
            f"request_id={value!r}: must be the id submit_image_job returned "
            f"(a string of 1 to {REQUEST_ID_MAX_LENGTH} characters)."
        )
    return value


def _samples(arguments: Mapping[str, Any]) -> int:
    extra = sorted(set(arguments) - {"samples"})
    if extra:
        raise ToolError(f"{extra[0]}: is not a parameter of estimate_cost (only samples).")
    samples = arguments.get("samples", int(contract.LIMITS["samples"].default))
    try:
        return GenerationRequest.create(prompt="estimate", samples=samples).samples
    except ValidationError as exc:
        raise ToolError(invalid(exc)) from None


def _no_arguments(arguments: Mapping[str, Any]) -> None:
    if arguments:
        name = sorted(arguments)[0]
        raise ToolError(f"{name}: is not a parameter; get_credits takes none.")


def _images(count: int) -> str:
    return f"{count} image{'s' if count != 1 else ''}"


def _paid_for(result: GenerationResult) -> str:
    return f"{_images(len(result.images))} (seed {result.seed})"


def _failed(exc: RealDreamError) -> str:
    """One line for an error from the service, saying whether anything may have been spent."""
    message = " ".join(str(exc).split())
    hint = getattr(exc, "hint", "")
    if hint and hint not in message:
        message = f"{message} {hint}"
    if isinstance(exc, GenerationFailedError):
        return f"{message} The job failed and was not billed."
    if exc.maybe_billed:
        return f"{message} It may have been billed: it is counted as spent."
    return f"{message} Nothing was spent."
