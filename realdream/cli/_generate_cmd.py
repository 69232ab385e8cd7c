"""``realdream generate``: validate, pay for one request (v1) or one job (v2), save every image.

The pieces ``realdream job`` shares live here too: the client, the out-folder check, saving a
result and the line that sums it up.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import tempfile
import time
from pathlib import Path

import typer

from realdream import (
    DEFAULT_WAIT_TIMEOUT,
    Client,
    GenerationFailedError,
    GenerationRequest,
    GenerationResult,
    JobExpiredError,
    JobTimeoutError,
    RealDreamError,
    RetryPolicy,
    contract,
)
from realdream.cli._common import (
    EXIT_API,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CLIError,
    Seams,
    check_base_url,
    os_error,
    require_key,
)
from realdream.cli._naming import generate_paths, job_paths
from realdream.cli._options import ApiPath, SharedOptions
from realdream.cli._saving import (
    Placed,
    UnplacedError,
    Writer,
    default_fallback_dirs,
    describe,
    encoded,
    place,
)
from realdream.cli._waiting import COLD_START, Waiting, images, waiting
from realdream.cli._wording import cli_text

__all__ = [
    "check_out_dir",
    "left_running",
    "one_line",
    "print_result",
    "resume_command",
    "run_generate",
    "save_result",
    "sync_client",
]


def run_generate(
    prompt: str,
    out: Path,
    dry_run: bool,
    options: SharedOptions,
    seams: Seams,
    *,
    timeout: float | None = None,
) -> None:
    """The body of ``realdream generate``. ``timeout`` bounds a v2 job's wait; a v1 request
    cannot be abandoned without maybe paying for it, so v1 refuses one."""
    if timeout is not None and options.api is not ApiPath.v2:
        raise CLIError(
            "error: --timeout applies to --api v2 (a job keeps running and can be collected); "
            "a v1 request cut short may still be billed",
            EXIT_USAGE,
        )
    request = GenerationRequest.create(options.params, prompt=prompt)
    if dry_run:
        _print_dry_run(request)
        return
    require_key(options.api_key)
    check_base_url(options.base_url)
    check_out_dir(out)  # before paying: a bad --out must not cost an image
    client = sync_client(options, seams, api=options.api)
    collect = None
    if options.api is ApiPath.v2:
        first = f"Submitting a job for {images(request.samples)}"
        with client, waiting(first, seams.clock) as view:
            wait = DEFAULT_WAIT_TIMEOUT if timeout is None else timeout
            result, collect = _generate_v2(client, request, view, out, options.base_url, wait)
    else:
        first = f"Generating {images(request.samples)} ({COLD_START})"
        with client, waiting(first, seams.clock):
            result = _generate_v1(client, request)
    print_result(result, out, options.image_format.suffix, seams.writer, collect)


def _generate_v1(client: Client, request: GenerationRequest) -> GenerationResult:
    """One blocking request: cut short, it may still be billed, and its image is lost."""
    try:
        return client.generate(request)
    except KeyboardInterrupt:
        raise CLIError(
            "error: interrupted; the request was sent and may have been billed, but its image "
            "is lost (a v1 request cannot be collected later; --api v2 jobs can)",
            EXIT_INTERRUPTED,
        ) from None


def sync_client(options: SharedOptions, seams: Seams, *, api: ApiPath) -> Client:
    """The command's :class:`realdream.Client`: its connection, retries, pacing and seams."""
    return Client(
        options.api_key,
        base_url=options.base_url,
        retry=RetryPolicy(max_retries=options.retries),
        api=api.value,
        rate_limit_per_minute=options.rpm,
        transport=seams.transport,
        sleep=seams.sleep or time.sleep,
        clock=seams.clock or time.perf_counter,
    )


def resume_command(request_id: str, out: Path, base_url: str | None) -> str:
    """The command that collects job ``request_id`` into ``out`` later, with ``--base-url``
    when one was given (never the key)."""
    words = ["realdream", "job", request_id, "-o", str(out)]
    if base_url is not None:
        words += ["--base-url", base_url]
    return shlex.join(words)


def _generate_v2(
    client: Client,
    request: GenerationRequest,
    view: Waiting,
    out: Path,
    base_url: str | None,
    timeout: float,
) -> tuple[GenerationResult, str]:
    """Submit one job and wait for it, showing its state; a job left running says how to
    collect it. Returns the result and the command that collects the job again."""
    job = client.submit(request)
    view.submitted(job.request_id, request.samples)
    collect = resume_command(job.request_id, out, base_url)
    try:
        return job.wait(timeout, on_status=view.status), collect
    except GenerationFailedError as exc:
        if exc.maybe_billed:
            raise left_running(job.request_id, exc, collect) from None
        raise  # FAILED: nothing was billed, nothing to collect
    except JobExpiredError:
        raise
    except (RealDreamError, KeyboardInterrupt) as exc:
        raise left_running(job.request_id, exc, collect, timeout) from None


def left_running(
    request_id: str,
    exc: RealDreamError | KeyboardInterrupt,
    collect: str,
    timeout: float | None = None,
) -> CLIError:
    """The error for a wait that ended before the job's result was saved (a timeout, Ctrl-C,
    status polls or a download that kept failing): the job goes on, and the command that
    collects it later."""
    if isinstance(exc, KeyboardInterrupt):
        return CLIError(
            f"error: interrupted; job {request_id} keeps running on the server and is "
            f"billed if it completes; collect it within the hour with: {collect}",
            EXIT_INTERRUPTED,
        )
    if isinstance(exc, JobTimeoutError):
        return _timed_out(request_id, exc, collect, timeout or 0)
    return CLIError(
        f"error: {one_line(exc).rstrip('.')}; job {request_id} may have been billed: collect "
        f"its images within the hour with: {collect}",
        EXIT_API,
    )


def _timed_out(request_id: str, exc: JobTimeoutError, collect: str, timeout: float) -> CLIError:
    """A wait that reached its deadline: the job still running, or completed (billed) with
    its images not downloaded; the error the last try met, when one did (its ``__cause__``)."""
    cause = one_line(exc.__cause__) if exc.__cause__ is not None else ""
    if exc.state == "COMPLETED":
        why = f" ({cause})" if cause else ""
        return CLIError(
            f"error: job {request_id} completed, but its images could not be downloaded "
            f"within {timeout:g} s{why}; it is billed: collect its images within the hour "
            f"with: {collect}",
            EXIT_API,
        )
    why = f" (the service kept answering with errors: {cause})" if cause else ""
    return CLIError(
        f"error: job {request_id} is still {exc.state.lower()} after {timeout:g} s{why}; it "
        f"keeps running on the server and is billed if it completes; within the hour, "
        f"collect it with: {collect}",
        EXIT_API,
    )


def one_line(exc: BaseException) -> str:
    """``exc``'s message on one line, in the command line's words."""
    return cli_text(" ".join(str(exc).split()))


def check_out_dir(out: Path, *, before: str = "nothing was sent") -> None:
    """Create ``out`` if needed and prove a file can be written in it."""
    try:
        if out.exists() and not out.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out, prefix=".realdream-"):
            pass
    except OSError as exc:
        raise CLIError(f"error: --out {out}: {exc.strerror or exc}; {before}") from None


def _print_dry_run(request: GenerationRequest) -> None:
    sent = request.as_sent()
    typer.echo(sent.to_json().decode())
    count = sent.samples
    typer.echo(
        f"Estimated cost: ${contract.cost(count):.4f} "
        f"({images(count)} at ${contract.COST_PER_IMAGE_USD}). Nothing was sent.",
        err=True,
    )
    if request.is_random_seed:
        typer.echo(
            "seed -1 was drawn at random for this preview; a real run draws its own.", err=True
        )


def print_result(
    result: GenerationResult, out: Path, suffix: str, writer: Writer, collect: str | None = None
) -> None:
    """Save the images, print each file and the summary line; exit 1 if ``out`` refused them.

    ``collect`` is the command that fetches a v2 job's images again (for the error, if no
    folder takes them)."""
    placed = save_result(result, out, suffix, writer, collect)
    for path in placed.where_asked + placed.elsewhere:
        typer.echo(str(path))
    typer.echo(_result_line(result))
    if placed.error is not None:
        raise CLIError(
            f"error: paid, but could not save the images in {out} ({describe(placed.error)}); "
            f"they are in {placed.elsewhere[0].parent} instead",
            EXIT_API,
        )


def save_result(
    result: GenerationResult, out: Path, suffix: str, writer: Writer, collect: str | None = None
) -> Placed:
    """Write the images where asked, else in a fallback folder; a paid image is never
    dropped without the way to get it again.

    Files are named after the prompt and seed; a result whose request is unknown (a job
    resumed from its id alone) after its request id instead, and carries no parameters.
    """
    count = len(result.images)
    if result.request is not None:
        paths = generate_paths(out, result.request.prompt, result.request.seed, count, suffix)
    else:
        paths = job_paths(out, result.request_id or "job", result.seed, count, suffix)
    files = [encoded(image, path) for image, path in zip(result.images, paths, strict=True)]
    try:
        return place(files, default_fallback_dirs(out), writer)
    except UnplacedError as exc:
        raise CLIError(_unsaved(result, out, exc.error, collect), EXIT_API) from None


def _unsaved(result: GenerationResult, out: Path, exc: OSError, collect: str | None) -> str:
    """One line for a paid result no folder took: enough to get it again."""
    where = f"error: paid, but could not save the images in {out} ({os_error(exc)})"
    again = f"collect them again within the hour (into another folder) with: {collect}"
    if result.request is None:
        return f"{where}; {again}" if collect else where
    request = json.dumps(result.request.payload, separators=(",", ":"))  # ASCII: one line
    make = f"seed {result.seed}; to make them again, send this request: {request}"
    return f"{where}; {again}; or, {make}" if collect else f"{where}; {make}"


def _result_line(result: GenerationResult) -> str:
    parts = [f"seed {result.seed}", f"{result.elapsed:.2f} s", f"${result.cost or 0:.4f}"]
    if result.remaining_credits is not None:
        parts.append(f"{result.remaining_credits:g} credits left")
    return " · ".join(parts)
