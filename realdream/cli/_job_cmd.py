"""``realdream job REQUEST_ID``: wait for a v2 job (within its hour) and save its images.

Collecting a job costs nothing more: it was billed, or will be, when it completed, however
often it is polled. The request the job was submitted with is looked up in the output
folder's batch manifest; without it the images are named by the request id and carry no
parameters (the server's seed is still in the name when it reports one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import typer

from realdream import (
    GenerationFailedError,
    GenerationRequest,
    GenerationResult,
    Job,
    JobExpiredError,
    RealDreamError,
    ValidationError,
)
from realdream.cli._common import EXIT_API, CLIError, Seams, check_base_url, require_key
from realdream.cli._generate_cmd import (
    check_out_dir,
    left_running,
    one_line,
    print_result,
    resume_command,
    sync_client,
)
from realdream.cli._manifest import Manifest
from realdream.cli._options import ApiPath, SharedOptions
from realdream.cli._recovery import recorded_request
from realdream.cli._waiting import Waiting, waiting

__all__ = ["request_of_job", "run_job", "shown_id"]

#: How much of a request id a message echoes before it is cut (a real one is 36).
_SHOWN_ID_CHARS: Final = 40


def run_job(
    request_id: str, out: Path, timeout: float, options: SharedOptions, seams: Seams
) -> None:
    """The body of ``realdream job``."""
    require_key(options.api_key)
    check_base_url(options.base_url)
    check_out_dir(out, before="nothing was collected")
    request = request_of_job(out, request_id)
    client = sync_client(options, seams, api=ApiPath.v2)
    with client:
        try:
            job = client.job(request_id, request=request)
        except ValidationError as exc:  # a malformed id: exit 2, nothing sent
            shown = one_line(exc).replace(repr(request_id), shown_id(request_id))
            raise CLIError(f"error: {shown}") from None
        again = resume_command(request_id, out, options.base_url)
        with waiting(f"Waiting for job {request_id}", seams.clock) as view:
            result = _wait(job, timeout, view, again)
    if request is None:
        typer.echo(
            f"The request of job {request_id} is unknown (no batch manifest in {out} names "
            "it): the files are named by its request id and carry no parameters.",
            err=True,
        )
    print_result(result, out, options.image_format.suffix, seams.writer, again)


def shown_id(request_id: str) -> str:
    """``request_id`` as a message echoes it: quoted, and cut when it is too long to be one."""
    if len(request_id) <= _SHOWN_ID_CHARS:
        return repr(request_id)
    return f"{request_id[:_SHOWN_ID_CHARS]!r}… ({len(request_id):,} characters)"


def _wait(job: Job, timeout: float, view: Waiting, again: str) -> GenerationResult:
    """The job's result; a wait that ends otherwise names the command that collects it."""
    try:
        return job.wait(timeout, on_status=view.status)
    except JobExpiredError:
        raise CLIError(
            f"error: job {job.request_id} is unknown to the service, or past the hour it "
            "keeps results; nothing to collect",
            EXIT_API,
        ) from None
    except GenerationFailedError as exc:
        if exc.maybe_billed:
            raise left_running(job.request_id, exc, again) from None
        raise CLIError(
            f"error: job {job.request_id} failed: {exc.message}; nothing was billed", EXIT_API
        ) from None
    except (RealDreamError, KeyboardInterrupt) as exc:
        raise left_running(job.request_id, exc, again, timeout) from None


def request_of_job(out: Path, request_id: str) -> GenerationRequest | None:
    """The request a batch in ``out`` submitted as job ``request_id``, if its manifest says."""
    try:
        records = Manifest(out).load().records.values()
    except OSError:
        return None
    for record in records:
        if record.get("request_id") == request_id:
            return recorded_request(record)
    return None
