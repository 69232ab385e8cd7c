"""``realdream job REQUEST_ID``: wait for a v2 job (within its hour) and save its images.

Collecting a job costs nothing more: it was billed, or will be, when it completed, however
often it is polled. The request the job was submitted with is looked up in the output
folder's batch manifest; without it the images are named by the request id and carry no
parameters (the server's seed is still in the name when it reports one).
"""

from __future__ import annotations

from pathlib import Path

import typer

from realdream import (
    GenerationFailedError,
    GenerationRequest,
    GenerationResult,
    Job,
    JobExpiredError,
    JobTimeoutError,
)
from realdream.cli._common import EXIT_API, CLIError, Seams, require_key
from realdream.cli._generate_cmd import (
    check_out_dir,
    print_result,
    resume_command,
    still_running,
    sync_client,
)
from realdream.cli._manifest import Manifest
from realdream.cli._options import ApiPath, SharedOptions
from realdream.cli._recovery import recorded_request
from realdream.cli._waiting import Waiting, waiting

__all__ = ["request_of_job", "run_job"]


def run_job(
    request_id: str, out: Path, timeout: float, options: SharedOptions, seams: Seams
) -> None:
    """The body of ``realdream job``."""
    require_key(options.api_key)
    check_out_dir(out, before="nothing was collected")
    request = request_of_job(out, request_id)
    client = sync_client(options, seams, api=ApiPath.v2)
    with client:
        job = client.job(request_id, request=request)  # a malformed id: exit 2, nothing sent
        with waiting(f"Waiting for job {request_id}", seams.clock) as view:
            result = _wait(job, timeout, view)
    if request is None:
        typer.echo(
            f"The request of job {request_id} is unknown (no batch manifest in {out} names "
            "it): the files are named by its request id and carry no parameters.",
            err=True,
        )
    again = resume_command(request_id, out, options.base_url)
    print_result(result, out, options.image_format.suffix, seams.writer, again)


def _wait(job: Job, timeout: float, view: Waiting) -> GenerationResult:
    try:
        return job.wait(timeout, on_status=view.status)
    except JobExpiredError:
        raise CLIError(
            f"error: job {job.request_id} is unknown to the service, or past the hour it "
            "keeps results; nothing to collect",
            EXIT_API,
        ) from None
    except JobTimeoutError as exc:
        raise still_running(exc, timeout, "run the same command again to collect it") from None
    except GenerationFailedError as exc:
        if exc.maybe_billed:
            raise
        raise CLIError(
            f"error: job {job.request_id} failed: {exc.message}; nothing was billed", EXIT_API
        ) from None


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
