"""One batch run's books: every record goes to the manifest, every outcome to the report and
the listener, and the first failure that would repeat stops new launches.

An item is never sent without its record: when the manifest refuses one, the record is kept
for the summary (``unrecorded``) and launching stops.
"""

from __future__ import annotations

import json
from typing import Any

from realdream import GenerationRequest
from realdream.cli._batchfile import BatchItem
from realdream.cli._manifest import Manifest
from realdream.cli._naming import batch_names
from realdream.cli._run import BatchOptions, BatchReport, Listener, Outcome
from realdream.cli._saving import describe
from realdream.cli._spending import Spending

__all__ = ["Books", "payload"]


class Books:
    """The manifest, the report and the listener of one run, kept together."""

    def __init__(
        self,
        manifest: Manifest,
        options: BatchOptions,
        listener: Listener,
        spending: Spending,
    ) -> None:
        self.manifest = manifest
        self.options = options
        self.listener = listener
        self.spending = spending
        self.report = BatchReport(total=0)
        #: No new item is launched once this is set (items in flight finish).
        self.stopping = False

    def stop(self, reason: str) -> None:
        """Stop launching for a failure that would repeat; the first reason is the one kept."""
        if self.report.stop_reason is None:
            self.report.stop_reason = reason
            self.listener.stopping(f"Stopping: {reason}; the requests in flight finish.")
        self.stopping = True

    def record(self, item: BatchItem, status: str, *, sync: bool = True, **fields: Any) -> bool:
        """Append a record; if the manifest refuses, keep the record for the summary and stop
        launching (an item must never be sent without its record)."""
        try:
            self.manifest.append(item.key, item.line, status, sync=sync, **fields)
        except OSError as exc:
            record = {"key": item.key, "line": item.line, "status": status, **fields}
            self.report.unrecorded.append(json.dumps(record, ensure_ascii=False))
            self.stop(f"cannot write the manifest {self.manifest.path} ({describe(exc)})")
            return False
        return True

    def finished(self, outcome: Outcome) -> None:
        """File ``outcome`` in the report and tell the listener."""
        self.outcomes(outcome).append(outcome)
        self.listener.finished(outcome, self.spending.spent)

    def outcomes(self, outcome: Outcome) -> list[Outcome]:
        """The report's list ``outcome`` belongs in."""
        report = self.report
        if outcome.status == "done":
            return report.collected if outcome.collected else report.done
        return report.held if outcome.status == "held" else report.failed

    def fail(self, item: BatchItem, error: str, *, collected: bool = False, **fields: Any) -> None:
        """Record and report a failed item."""
        self.record(item, "failed", error=error, **fields)
        self.finished(Outcome(item, "failed", error=error, collected=collected))

    def expired(self, item: BatchItem, error: str, collected: bool, **fields: Any) -> None:
        """A job the service no longer knows: it may have been billed, as a v1 ``sent``."""
        self.record(item, "failed", error=error, **fields)
        outcome = Outcome(item, "unknown", error=error, collected=collected)
        self.report.expired.append(outcome)
        self.report.unknown.append(item)
        self.listener.finished(outcome, self.spending.spent)

    def names(self, item: BatchItem, count: int) -> list[str]:
        """The file names of ``item``'s ``count`` images in the output folder."""
        prompt, suffix = item.request.prompt, self.options.image_format
        return batch_names(item.line, prompt, item.key, count, suffix)


def payload(request: GenerationRequest | None) -> dict[str, Any] | None:
    """A request as a record keeps it (``None`` when unknown)."""
    return request.payload if request is not None else None
