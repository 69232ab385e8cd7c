"""The ``realdream`` commands. Thin: parse, call the core or the batch engine, print.

Exit codes: 0 success; 1 an API or I/O failure, or a batch with items not done; 2 bad input
(options, batch file, missing key, budget refused); 130 interrupted by Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from realdream import (
    CONFIRMED_SCHEDULERS,
    DEFAULT_SCHEDULER,
    SCHEDULERS,
    AsyncClient,
    Client,
    ConfigurationError,
    GenerationRequest,
    GenerationResult,
    RealDreamError,
    RetryPolicy,
    ValidationError,
    __version__,
    contract,
    parse_parameters,
    read_parameters,
)
from realdream.cli._batchfile import BatchFileError, BatchItem, read_batch
from realdream.cli._engine import (
    BatchOptions,
    BatchReport,
    BatchRunner,
    Plan,
    batch_client,
    plan,
)
from realdream.cli._manifest import Manifest, ManifestLockedError
from realdream.cli._naming import slugify, unique_path
from realdream.cli._options import (
    ApiKey,
    Base64,
    BaseUrl,
    Format,
    Guidance,
    Height,
    ImageFormat,
    NegativePrompt,
    OutDir,
    Samples,
    Scheduler,
    Seed,
    Steps,
    Width,
    request_params,
)
from realdream.cli._progress import ProgressListener, summary_lines, summary_table
from realdream.cli._verify_cmd import verify_command

__all__ = ["CLIError", "app", "run"]

EXIT_API = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
_MAX_PROBLEMS_SHOWN = 20
_BATCH_RETRIES = 4

app = typer.Typer(
    name="realdream",
    help="Generate images with Segmind's RealDream Lightning, in one go or in resumable batches.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class CLIError(Exception):
    """A problem to report in one line (or one line per problem) with an exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code. Errors are one line, never a traceback."""
    command = typer.main.get_command(app)
    args = list(argv) if argv is not None else sys.argv[1:]
    try:
        result = command.main(args=args, prog_name="realdream", standalone_mode=False)
    except typer.TyperException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `realdream` alone: typer showed help
            return EXIT_USAGE
        return _fail(exc.format_message(), exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        return _fail("interrupted", EXIT_INTERRUPTED)
    except CLIError as exc:
        return _fail(str(exc), exc.exit_code, prefix=False)
    except (ValidationError, ConfigurationError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except RealDreamError as exc:
        return _fail(str(exc), EXIT_API)
    except OSError as exc:
        return _fail(_os_error(exc), EXIT_API)
    return result if isinstance(result, int) else 0


def _fail(message: str, code: int, *, prefix: bool = True) -> int:
    lines = message.splitlines() or [""]
    if prefix:
        lines = [f"error: {' '.join(line.strip() for line in lines)}"]
    for line in lines:
        print(line, file=sys.stderr)
    return code


def _os_error(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"realdream {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Generate images with Segmind's RealDream Lightning (or its offline mock)."""


# --- generate --------------------------------------------------------------------------------
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Print the exact JSON body and the cost; send nothing.")
]


@app.command()
def generate(
    prompt: Annotated[str, typer.Argument(help="What the image should show.", show_default=False)],
    negative_prompt: NegativePrompt = None,
    samples: Samples = None,
    scheduler: Scheduler = None,
    num_inference_steps: Steps = None,
    guidance_scale: Guidance = None,
    seed: Seed = None,
    img_width: Width = None,
    img_height: Height = None,
    base64: Base64 = None,
    out: OutDir = Path(),
    image_format: Format = ImageFormat.jpg,
    dry_run: DryRun = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    retries: Annotated[
        int, typer.Option(min=0, help="Retries after a 429, a 5xx or a failed connection.")
    ] = RetryPolicy().max_retries,
) -> None:
    """Generate images for PROMPT and save them with their parameters embedded."""
    params = request_params(
        negative_prompt=negative_prompt,
        samples=samples,
        scheduler=scheduler,
        num_inference_steps=num_inference_steps,
        guidance_scale=guidance_scale,
        seed=seed,
        img_width=img_width,
        img_height=img_height,
        base64=base64,
    )
    request = GenerationRequest.create(params, prompt=prompt)
    if dry_run:
        _print_dry_run(request)
        return
    _check_out_dir(out)  # before paying: a bad --out must not cost an image
    with Client(api_key, base_url=base_url, retry=RetryPolicy(max_retries=retries)) as client:
        result = client.generate(request)
    try:
        for path in _save_result(result, out, image_format.suffix):
            typer.echo(str(path))
    except (OSError, ValueError) as exc:
        raise CLIError(_unsaved(result, out, exc), EXIT_API) from None
    typer.echo(_result_line(result))


def _check_out_dir(out: Path) -> None:
    """Create ``out`` if needed and prove a file can be written in it."""
    try:
        if out.exists() and not out.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out, prefix=".realdream-"):
            pass
    except OSError as exc:
        raise CLIError(f"error: --out {out}: {exc.strerror or exc}; nothing was sent") from None


def _unsaved(result: GenerationResult, out: Path, exc: Exception) -> str:
    """One line for a paid result that could not be saved: enough to make it again."""
    reason = _os_error(exc) if isinstance(exc, OSError) else str(exc)
    payload = result.request.payload if result.request is not None else {}
    request = json.dumps(payload, separators=(",", ":"))  # ASCII: one line
    return (
        f"error: paid, but could not save the images in {out} ({reason}); "
        f"seed {result.seed}; to make them again, send this request: {request}"
    )


def _print_dry_run(request: GenerationRequest) -> None:
    sent = request.as_sent()
    typer.echo(sent.to_json().decode())
    images = sent.samples
    typer.echo(
        f"Estimated cost: ${contract.cost(images):.4f} "
        f"({images} image{'s' * (images != 1)} at ${contract.COST_PER_IMAGE_USD}). "
        "Nothing was sent.",
        err=True,
    )
    if request.is_random_seed:
        typer.echo(
            "seed -1 was drawn at random for this preview; a real run draws its own.", err=True
        )


def _save_result(result: GenerationResult, out: Path, suffix: str) -> Iterator[Path]:
    """Save each image (atomically), yielding its path as soon as it is on disk."""
    prompt = result.request.prompt if result.request is not None else "job"
    stem = f"{slugify(prompt)}-{result.seed}"
    paths: set[Path] = set()
    many = len(result.images) > 1
    for image in result.images:
        name = f"{stem}-{image.index + 1}" if many else stem
        path = image.save(unique_path(out, name, suffix, paths))
        paths.add(path)
        yield path


def _result_line(result: GenerationResult) -> str:
    parts = [f"seed {result.seed}", f"{result.elapsed:.2f} s", f"${result.cost or 0:.4f}"]
    if result.remaining_credits is not None:
        parts.append(f"{result.remaining_credits:g} credits left")
    return " · ".join(parts)


# --- batch -----------------------------------------------------------------------------------
@app.command()
def batch(
    file: Annotated[
        Path,
        typer.Argument(
            help="Prompts, one per line, or JSON Lines objects with per-line parameters.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Directory for images and the manifest.", show_default=False
        ),
    ],
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Requests in flight at once.")
    ] = 4,
    max_cost: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="Budget in USD: refuse to start above it, stop launching before passing it.",
            show_default=False,
        ),
    ] = None,
    negative_prompt: NegativePrompt = None,
    samples: Samples = None,
    scheduler: Scheduler = None,
    num_inference_steps: Steps = None,
    guidance_scale: Guidance = None,
    seed: Seed = None,
    img_width: Width = None,
    img_height: Height = None,
    base64: Base64 = None,
    image_format: Format = ImageFormat.jpg,
    retry_unknown: Annotated[
        bool,
        typer.Option(
            help="Send again the items an interrupted run may have paid for without saving."
        ),
    ] = False,
    retries: Annotated[
        int, typer.Option(min=0, help="Retries per item after a 429, a 5xx or a failed connection.")
    ] = _BATCH_RETRIES,
    progress: Annotated[
        bool | None,
        typer.Option(
            help="Show the progress bar (default: when stderr is a terminal).", show_default=False
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file and print the plan; send nothing.")
    ] = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Generate a batch of prompts with bounded concurrency; rerun the same command to resume.

    The parameter options are defaults: a JSON line's own parameters win over them.
    """
    defaults = request_params(
        negative_prompt=negative_prompt,
        samples=samples,
        scheduler=scheduler,
        num_inference_steps=num_inference_steps,
        guidance_scale=guidance_scale,
        seed=seed,
        img_width=img_width,
        img_height=img_height,
        base64=base64,
    )
    items = _load_batch(file, defaults)
    work = plan(items, _manifest(out, lock=False), retry_unknown=retry_unknown)
    estimate = sum(item.estimated_cost for item in work.pending)
    _check_budget(work.pending, estimate, max_cost)
    if dry_run:
        _print_plan(work, estimate)
        return
    report = BatchReport(len(items), len(work.already_done), work.unknown)
    if work.pending:
        options = BatchOptions(out, concurrency, image_format.suffix, max_cost, retry_unknown)
        client = batch_client(
            api_key, base_url=base_url, concurrency=concurrency, max_retries=retries
        )
        report = _execute(client, items, options, progress)
    _print_summary(report, str(file))
    raise typer.Exit(report.exit_code)


def _manifest(out: Path, *, lock: bool) -> Manifest:
    """The output directory's manifest, read (and, with ``lock``, opened for this run)."""
    manifest = Manifest(out)
    try:
        if lock:
            manifest.open()  # before reading: what another run finished must be seen
        return manifest.load()
    except ManifestLockedError as exc:
        raise CLIError(f"error: {exc}") from None
    except OSError as exc:
        manifest.close()
        raise CLIError(f"error: --out {out}: {exc.strerror or exc}") from None


def _print_plan(work: Plan, estimate: float) -> None:
    images = sum(item.request.samples for item in work.pending)
    typer.echo(
        f"{len(work.pending)} items ({images} images) to send, {len(work.already_done)} "
        f"already done, {len(work.unknown)} maybe billed; estimated cost ${estimate:.4f}. "
        "Nothing was sent."
    )


def _execute(
    client: AsyncClient, items: list[BatchItem], options: BatchOptions, progress: bool | None
) -> BatchReport:
    err = Console(stderr=True)
    listener = ProgressListener(err, enabled=err.is_terminal if progress is None else progress)
    with _manifest(options.out_dir, lock=True) as manifest, listener:
        runner = BatchRunner(client, manifest, options, listener)
        return asyncio.run(_run_batch(runner, items))


def _load_batch(file: Path, defaults: dict[str, object]) -> list[BatchItem]:
    if defaults:  # a bad option is one error, not one per line
        GenerationRequest.create(defaults, prompt="-")
    try:
        return read_batch(file, defaults)
    except BatchFileError as exc:
        problems = exc.problems
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
        await runner.client.aclose()


def _print_summary(report: BatchReport, source: str) -> None:
    Console().print(summary_table(report))
    for line in summary_lines(report, source):
        typer.echo(line, err=True)


# --- info, schedulers, mock ------------------------------------------------------------------
@app.command()
def info(
    image: Annotated[Path, typer.Argument(help="A PNG, JPEG or WebP image.", show_default=False)],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the parsed fields as JSON.")
    ] = False,
) -> None:
    """Print the generation parameters embedded in IMAGE (ours, or any AUTOMATIC1111 image)."""
    try:
        text = read_parameters(image)
    except OSError as exc:
        raise CLIError(f"error: {image}: not a readable image ({_os_error(exc)})") from None
    if text is None:
        raise CLIError(
            f"error: {image}: no generation parameters embedded "
            "(no PNG 'parameters' text, no EXIF UserComment)",
            EXIT_API,
        )
    if as_json:
        typer.echo(json.dumps(parse_parameters(text), indent=2, ensure_ascii=False))
    else:
        typer.echo(text)


app.command(name="verify")(verify_command)


@app.command()
def schedulers(
    confirmed: Annotated[
        bool, typer.Option("--confirmed", help="Only the names the vendor's page shows.")
    ] = False,
) -> None:
    """List the scheduler names (confirmed: shown on the vendor's page; others inferred)."""
    width = max(len(name) for name in SCHEDULERS) + 2
    for name in SCHEDULERS:
        if confirmed and name not in CONFIRMED_SCHEDULERS:
            continue
        tags = ["confirmed"] if name in CONFIRMED_SCHEDULERS else []
        tags += ["default"] if name == DEFAULT_SCHEDULER else []
        typer.echo(f"{name:<{width}}{', '.join(tags)}".rstrip())


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CLIError(f"error: {message} (see realdream mock --help)")


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def mock(ctx: typer.Context) -> None:
    """Run the offline mock server (the options of `python -m mocks`; see --help)."""
    try:
        import mocks
    except ModuleNotFoundError as exc:
        raise CLIError(
            f"error: the mock server needs the 'mock' extra ({exc.name} is not installed); "
            "install it with: pip install 'realdream[mock]'"
        ) from None
    parser = _OneLineParser(
        prog="realdream mock",
        description="Offline mock of the RealDream Lightning API (no credits spent).",
    )
    mocks.add_arguments(parser)
    try:
        ns = parser.parse_args(ctx.args)
    except SystemExit as exc:  # --help
        raise typer.Exit(int(exc.code or 0)) from None
    try:
        config = mocks.config_from_args(ns)
    except ValueError as exc:
        raise CLIError(f"error: {exc}") from None
    try:
        mocks.run(config, ns.host, ns.port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CLIError(
                f"error: port {ns.port} is in use on {ns.host}; "
                "pick another with --port, or --port 0 for any free one"
            ) from None
        raise CLIError(f"error: cannot listen on {ns.host}:{ns.port}: {_os_error(exc)}") from None
    except (RuntimeError, ValueError) as exc:  # the server did not start
        raise CLIError(f"error: cannot serve on {ns.host}:{ns.port}: {exc}") from None
