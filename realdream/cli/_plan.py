"""Planning a run from the manifest, and resuming what an earlier run left, without paying.

:func:`plan` splits a batch file's items by their last record: send, skip as done, collect a
v2 job within its hour, or skip as maybe billed. :func:`pick_up` runs first: it removes the
temporary files a killed run left, and makes done the items whose paid images are on disk
already (:mod:`realdream.cli._recovery`). :func:`to_send` gives an item sent before the seed it
was sent with, so sending it again makes the same image.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from realdream import Api, GenerationRequest
from realdream.cli._batchfile import BatchItem
from realdream.cli._books import Books
from realdream.cli._manifest import Manifest
from realdream.cli._naming import stale_temporaries
from realdream.cli._recovery import find_recovery, recorded_request
from realdream.cli._run import Plan
from realdream.cli._saving import describe, will_repeat

__all__ = ["pick_up", "plan", "to_send"]


def plan(
    items: Sequence[BatchItem],
    manifest: Manifest,
    *,
    retry_unknown: bool = False,
    now: datetime | None = None,
) -> Plan:
    """Split ``items`` by what the manifest says at ``now``: send, skip as done, collect a v2
    job within its hour, or skip as maybe billed."""
    result = Plan([], [], [])
    moment = now or datetime.now(timezone.utc)
    for item in items:
        state = manifest.state(item.key, moment)
        if state == "done":
            result.already_done.append(item)
        elif state == "submitted":
            result.collect.append(item)
        elif state == "unknown" and not retry_unknown:
            result.unknown.append(item)
        else:
            result.pending.append(item)
    return result


def pick_up(books: Books, items: Sequence[BatchItem]) -> None:
    """Before sending anything: remove temporary files a killed run left, and make done
    (``books.report.recovered``) the items whose paid images are on disk already."""
    out, records = books.options.out_dir, books.manifest.records
    names = [name for record in records.values() for name in _names_of(record)]
    for temporary in stale_temporaries(out, names):
        temporary.unlink(missing_ok=True)
    for item in items:
        recovery = find_recovery(item, records.get(item.key), out)
        if recovery is None:
            continue
        try:
            held = recovery.read()
        except OSError:  # the kept copy is gone: the item stays "maybe billed"
            continue
        try:
            recovery.apply(out, books.options.writer, held)
        except OSError as exc:
            if will_repeat(exc):
                books.stop(f"cannot move kept images into {out} ({describe(exc)})")
                return
            continue
        if books.record(item, "done", **recovery.done_fields()):
            books.report.recovered.append(item)


def to_send(item: BatchItem, manifest: Manifest, api: Api) -> GenerationRequest:
    """The request as it will be sent, seed resolved: an item sent before keeps the seed
    it was sent with, so sending it again makes the same image. (v1 asks for JSON when
    several samples must come back; a v2 result lists every image anyway.)"""
    earlier = recorded_request(manifest.records.get(item.key))
    request = item.request
    if request.is_random_seed and earlier is not None and not earlier.is_random_seed:
        request = request.replace(seed=earlier.seed)
    return request.with_resolved_seed() if api == "v2" else request.as_sent()


def _names_of(record: dict[str, Any]) -> list[str]:
    files = record.get("files")
    return [name for name in files if isinstance(name, str)] if isinstance(files, list) else []
