"""``realdream batch``: plan from the manifest, run the engine, print the summary."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console

from realdream import AsyncClient, GenerationRequest, contract
from realdream.cli._backoff import BackoffGate, batch_client
from realdream.cli._batchfile import BatchFileError, BatchItem, read_batch
from realdream.cli._common import CLIError, Seams, check_base_url, require_key
from realdream.cli._engine import BatchRunner
from realdream.cli._manifest import Manifest, ManifestLockedError
from realdream.cli._options import SharedOptions
from realdream.cli._plan import plan
from realdream.cli._progress import ProgressListener, summary_lines, summary_table
from realdream.cli._recovery import find_recovery
from realdream.cli._run import BatchOptions, BatchReport, Plan
from realdream.cli._saving import default_fallback_dirs
from realdream.cli._wording import cli_text

__all__ = ["BatchArgs", "run_batch"]

_MAX_PROBLEMS_SHOWN = 20


@dataclass(frozen=True)
class BatchArgs:
    """The batch command's own options (the shared ones are :class:`SharedOptions`)."""

    file: Path
    out: Path
    concurrency: int
    max_cost: float | None
    retry_unknown: bool
    progress: bool | None
    dry_run: bool


def run_batch(args: BatchArgs, options: SharedOptions, seams: Seams) -> int:
    """The body of ``realdream batch``: its exit code."""
    file, out, concurrency, max_cost = args.file, args.out, args.concurrency, args.max_cost
    retry_unknown, progress, dry_run = args.retry_unknown, args.progress, args.dry_run
    items = _load_batch(file, options.params)
    manifest = _manifest(out, lock=False)
    work = plan(items, manifest, retry_unknown=retry_unknown)
    estimate = sum(item.estimated_cost for item in work.pending)
    _check_budget(work.pending, estimate, max_cost)
    if dry_run:
        _print_plan(work, estimate, _recoverable(work.unknown, manifest, out))
        return 0
    batch_options = BatchOptions(
        out,
        concurrency,
        options.image_format.suffix,
        max_cost,
        retry_unknown,
        writer=seams.writer,
        fallback_dirs=default_fallback_dirs(out),
        api=options.api.value,
    )
    client = None
    if work.pending or work.collect:  # only images to pick up from disk: no key needed
        require_key(options.api_key)
        check_base_url(options.base_url)
        client = _client(options, concurrency, seams)
    report = _execute(client, items, batch_options, progress, seams)
    _print_summary(report, str(file))
    return report.exit_code


def _client(options: SharedOptions, concurrency: int, seams: Seams) -> AsyncClient:
    """The batch's client: every request (submits, polls, downloads) waits at one back-off
    gate, and ``--rpm`` paces them all."""
    sleep = seams.async_sleep or asyncio.sleep
    gate = seams.gate or BackoffGate(clock=seams.clock or time.monotonic, sleep=sleep)
    return batch_client(
        options.api_key,
        base_url=options.base_url,
        concurrency=concurrency,
        max_retries=options.retries,
        transport=seams.async_transport,
        gate=gate,
        sleep=sleep,
        clock=seams.clock or time.perf_counter,
        api=options.api.value,
        rate_limit_per_minute=options.rpm,
    )


def _manifest(out: Path, *, lock: bool, seams: Seams | None = None) -> Manifest:
    """The output directory's manifest, read (and, with ``lock``, opened for this run)."""
    manifest = Manifest(out, on_append=seams.on_record if seams is not None else None)
    try:
        if lock:
            manifest.open()  # before reading: what another run finished must be seen
        return manifest.load()
    except ManifestLockedError as exc:
        raise CLIError(f"error: {exc}") from None
    except OSError as exc:
        manifest.close()
        raise CLIError(f"error: --out {out}: {exc.strerror or exc}") from None


def _recoverable(items: Sequence[BatchItem], manifest: Manifest, out: Path) -> int:
    """Items whose paid images a run would pick up without sending them."""
    return sum(
        find_recovery(item, manifest.records.get(item.key), out) is not None for item in items
    )


def _print_plan(work: Plan, estimate: float, recoverable: int) -> None:
    images = sum(item.request.samples for item in work.pending)
    typer.echo(
        f"{len(work.pending)} items ({images} images) to send, {len(work.already_done)} "
        f"already done, {len(work.collect)} jobs an earlier run submitted to collect "
        f"(unpaid), {len(work.unknown)} maybe billed ({recoverable} of them to pick up from "
        f"disk, unpaid); estimated cost ${estimate:.4f}. Nothing was sent."
    )


def _execute(
    client: AsyncClient | None,
    items: list[BatchItem],
    options: BatchOptions,
    progress: bool | None,
    seams: Seams,
) -> BatchReport:
    err = Console(stderr=True)
    listener = ProgressListener(err, enabled=err.is_terminal if progress is None else progress)
    with _manifest(options.out_dir, lock=True, seams=seams) as manifest, listener:
        runner = BatchRunner(client, manifest, options, listener)
        return asyncio.run(_run_batch(runner, items))


def _load_batch(file: Path, defaults: dict[str, object]) -> list[BatchItem]:
    if defaults:  # a bad option is one error, not one per line
        GenerationRequest.create(defaults, prompt="-")
    try:
        return read_batch(file, defaults)
    except BatchFileError as exc:
        problems = [cli_text(problem) for problem in exc.problems]
        shown = problems[:_MAX_PROBLEMS_SHOWN]
        if len(problems) > len(shown):
            shown.append(f"... and {len(problems) - len(shown)} more problems; nothing was sent")
        raise CLIError("\n".join(shown)) from None


def _check_budget(pending: Sequence[BatchItem], estimate: float, max_cost: float | None) -> None:
    if max_cost is None or estimate <= max_cost + 1e-9:
        return
    images = sum(item.request.samples for item in pending)
    raise CLIError(
        f"error: the {len(pending)} items to send "
        f"({images} images at ${contract.COST_PER_IMAGE_USD}) "
        f"would cost about ${estimate:.4f}, over --max-cost ${max_cost:.4f}; nothing was sent"
    )


async def _run_batch(runner: BatchRunner, items: Sequence[BatchItem]) -> BatchReport:
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, runner.interrupt)
        installed = True
    except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows, or not main thread
        installed = False
    try:
        return await runner.run(items)
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
        if runner.client is not None:
            await runner.client.aclose()


def _print_summary(report: BatchReport, source: str) -> None:
    Console().print(summary_table(report))
    for line in summary_lines(report, source):
        typer.echo(line, err=True)
