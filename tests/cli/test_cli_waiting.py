"""The live line while a v2 job is waited on: failed polls are shown, and the wait goes on."""

from __future__ import annotations

import dataclasses

from realdream import JobStatus, ServiceUnavailableError
from realdream.cli._waiting import SERVICE_ERRORS, Waiting

JOB = "2c7f59ea-13f1-402c-9353-915a2b5a2124"


def test_failed_polls_say_the_service_errs_and_the_wait_goes_on_then_the_plain_line() -> None:
    waiting = Waiting()
    processing = JobStatus("PROCESSING", JOB)
    waiting.status(processing)
    failing = dataclasses.replace(
        processing, transient=ServiceUnavailableError("unavailable", status_code=503)
    )
    waiting.status(failing)
    waiting.status(processing)
    assert waiting.shown == [
        f"Job {JOB} processing",
        f"Job {JOB} processing; {SERVICE_ERRORS}",
        f"Job {JOB} processing",
    ]
