"""Paid images an earlier run left outside its ``done`` records, picked up without paying.

Two cases, both read from an item's last manifest record:

- ``held``: the output folder refused the images, so they were written to a fallback folder
  (the record's ``fallback`` paths). They are copied into the output folder and the copies in
  the fallback folder removed.
- ``sent`` (v1) or ``submitted`` (a v2 job) with every planned file already in the output
  folder: the run was killed after writing the images and before recording them. A file
  counts only if it is an image whose embedded parameters are exactly those of the request
  the record says was sent.

Anything else (a file missing, different parameters) is left alone: the item stays "maybe
billed", as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from realdream import GenerationRequest, RealDreamError, format_parameters, read_parameters
from realdream.cli._batchfile import BatchItem
from realdream.cli._saving import Writer

__all__ = ["Recovery", "find_recovery", "recorded_request"]


@dataclass(frozen=True)
class Recovery:
    """How to make one item done without sending it."""

    item: BatchItem
    record: Mapping[str, Any]
    #: Files to copy into the output folder (absolute paths in a fallback folder).
    sources: tuple[Path, ...]
    #: The item's file names in the output folder once done, in sample order.
    names: tuple[str, ...]

    @property
    def origin(self) -> str:
        return "fallback" if self.sources else "out"

    def read(self) -> list[bytes]:
        """The held files' bytes (raises ``OSError`` if one cannot be read)."""
        return [source.read_bytes() for source in self.sources]

    def apply(self, out_dir: Path, writer: Writer, held: list[bytes]) -> None:
        """Write the ``held`` bytes into ``out_dir`` (raises ``OSError`` if it refuses), then
        remove the copies in the fallback folder."""
        for source, data in zip(self.sources, held, strict=True):
            writer(out_dir / source.name, data)
        for source in self.sources:
            source.unlink(missing_ok=True)

    def done_fields(self) -> dict[str, Any]:
        """The ``done`` record's fields: what the earlier run knew, and where it came from."""
        kept = ("seed", "cost", "request_id", "request")
        fields = {name: self.record[name] for name in kept if name in self.record}
        if "seed" not in fields and isinstance(self.record.get("request"), dict):
            fields["seed"] = self.record["request"].get("seed")
        return {"files": list(self.names), **fields, "recovered": self.origin}


def recorded_request(record: Mapping[str, Any] | None) -> GenerationRequest | None:
    """The request a record says was sent (seed resolved), if it holds a valid one."""
    payload = record.get("request") if record else None
    if not isinstance(payload, dict):
        return None
    try:
        return GenerationRequest.create(payload)
    except RealDreamError:
        return None


def find_recovery(
    item: BatchItem, record: Mapping[str, Any] | None, out_dir: Path
) -> Recovery | None:
    """The recovery for ``item``, or ``None`` if its record leaves nothing to pick up."""
    if record is None:
        return None
    if record.get("status") == "held":
        return _from_fallback(item, record)
    if record.get("status") in ("sent", "submitted"):
        return _from_out(item, record, out_dir)
    return None


def _from_fallback(item: BatchItem, record: Mapping[str, Any]) -> Recovery | None:
    names = _strings(record.get("files"))
    sources = tuple(Path(p) for p in _strings(record.get("fallback")))
    if not sources or not all(source.is_file() for source in sources):
        return None
    return Recovery(item, record, sources, (*names, *(source.name for source in sources)))


def _from_out(item: BatchItem, record: Mapping[str, Any], out_dir: Path) -> Recovery | None:
    names = _strings(record.get("files"))
    request = recorded_request(record)
    if not names or request is None:
        return None
    for index, name in enumerate(names):
        try:
            text = read_parameters(out_dir / name)
        except Exception:  # missing, or not an image Pillow can read: not a finished write
            return None
        if text != format_parameters(request, index=index):
            return None
    return Recovery(item, record, (), tuple(names))


def _strings(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    return [entry for entry in value if isinstance(entry, str)]
