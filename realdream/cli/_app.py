"""The ``realdream`` commands. Thin: parse, call the core or the batch engine, print.

Exit codes: 0 success; 1 an API or I/O failure, or a batch with items not done; 2 bad input
(options, batch file, missing key, budget refused); 130 interrupted by Ctrl-C.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from realdream import (
    CONFIRMED_SCHEDULERS,
    DEFAULT_SCHEDULER,
    DEFAULT_WAIT_TIMEOUT,
    SCHEDULERS,
    ConfigurationError,
    RealDreamError,
    RetryPolicy,
    ValidationError,
    __version__,
    parse_parameters,
    read_parameters,
)
from realdream.cli._common import (
    EXIT_API,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CLIError,
    Seams,
    os_error,
)
from realdream.cli._mcp_cmd import mcp_command
from realdream.cli._options import (
    ApiKey,
    ApiPath,
    BaseUrl,
    Format,
    ImageFormat,
    Rpm,
    SharedOptions,
    shared_options,
)
from realdream.cli._verify_cmd import verify_command
from realdream.cli._wording import cli_text, option_problems

__all__ = ["CLIError", "app", "run"]

_BATCH_RETRIES = 4

app = typer.Typer(
    name="realdream",
    help="Generate images with Segmind's RealDream Lightning, in one go or in resumable batches.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help wraps at any width and never cuts a flag short
    context_settings={"help_option_names": ["-h", "--help"]},
)


def run(argv: Sequence[str] | None = None, *, seams: Seams | None = None) -> int:
    """Run the command line; return the exit code. Errors are one line, never a traceback."""
    command = typer.main.get_command(app)
    args = list(argv) if argv is not None else sys.argv[1:]
    try:
        result = command.main(
            args=args, prog_name="realdream", standalone_mode=False, obj=seams or Seams()
        )
    except typer.TyperException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `realdream` alone: show the help
            typer.echo(exc.format_message())
            return EXIT_USAGE
        return _fail(cli_text(exc.format_message()), exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        return _fail("interrupted", EXIT_INTERRUPTED)
    except CLIError as exc:
        return _fail(str(exc), exc.exit_code, prefix=False)
    except ValidationError as exc:  # the options given (a batch file's lines are CLIErrors)
        return _fail(option_problems(exc), EXIT_USAGE)
    except ConfigurationError as exc:
        return _fail(cli_text(str(exc)), EXIT_USAGE)
    except RealDreamError as exc:
        return _fail(cli_text(str(exc)), EXIT_API)
    except OSError as exc:
        return _fail(os_error(exc), EXIT_API)
    return result if isinstance(result, int) else 0


def _fail(message: str, code: int, *, prefix: bool = True) -> int:
    lines = message.splitlines() or [""]
    if prefix:
        lines = [f"error: {' '.join(line.strip() for line in lines)}"]
    for line in lines:
        print(line, file=sys.stderr)
    return code


class _Command(TyperCommand):
    """Usage lines name arguments as the help text does: ``PROMPT``, not ``{prompt}``."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = param.metavar or (param.name or "").upper()
                pieces.append(name if param.required else f"[{name}]")
        return pieces


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


def _positive_seconds(value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"{value:g}: must be a number of seconds > 0")
    return value


# --- generate --------------------------------------------------------------------------------
@app.command(cls=_Command)
@shared_options(
    retries=RetryPolicy().max_retries,
    retries_help="Retries after a 429, a 5xx or a failed connection.",
)
def generate(
    ctx: typer.Context,
    prompt: Annotated[
        str,
        typer.Argument(metavar="PROMPT", help="What the image should show.", show_default=False),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the images.")] = Path(),
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the exact JSON body and the cost; send nothing."),
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            callback=_positive_seconds,
            help=(
                f"--api v2: seconds to wait for the job [default: {DEFAULT_WAIT_TIMEOUT:g}]; "
                "it keeps running after them."
            ),
            show_default=False,
        ),
    ] = None,
    *,
    options: SharedOptions,
) -> None:
    """Generate images for PROMPT and save them with their parameters embedded.

    Files are named PROMPT_seedSEED.jpg, with _2of4 for sample 2 of 4, and _copy2 when an
    earlier file has that name. Images --out refuses are written to a per-user fallback
    folder, and the message says where. With --api v2 a job left running (a timeout, Ctrl-C)
    is collected later with the `realdream job` command the message gives.
    """
    from realdream.cli._generate_cmd import run_generate

    run_generate(prompt, out, dry_run, options, _seams(ctx), timeout=timeout)


def _seams(ctx: typer.Context) -> Seams:
    return ctx.obj if isinstance(ctx.obj, Seams) else Seams()


# --- batch -----------------------------------------------------------------------------------
@app.command(cls=_Command)
@shared_options(
    retries=_BATCH_RETRIES,
    retries_help="Retries per item after a 429, a 5xx or a failed connection.",
)
def batch(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
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
    retry_unknown: Annotated[
        bool,
        typer.Option(
            "--retry-unknown",
            help="Send again the items an earlier run may have paid for without saving.",
        ),
    ] = False,
    progress: Annotated[
        bool | None,
        typer.Option(
            help="Show the progress bar (default: when stderr is a terminal).", show_default=False
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file and print the plan; send nothing.")
    ] = False,
    *,
    options: SharedOptions,
) -> None:
    """Generate a batch of prompts with bounded concurrency; rerun the same command to resume.

    The parameter options are defaults: a JSON line's own parameters win over them. With
    --api v2 each job's id is recorded before the run waits for it: a rerun collects the
    jobs an earlier run left (within the hour) instead of paying again.
    """
    from realdream.cli._batch_cmd import BatchArgs, run_batch

    args = BatchArgs(file, out, concurrency, max_cost, retry_unknown, progress, dry_run)
    raise typer.Exit(run_batch(args, options, _seams(ctx)))


# --- job -------------------------------------------------------------------------------------
@app.command(cls=_Command)
def job(
    ctx: typer.Context,
    request_id: Annotated[
        str,
        typer.Argument(
            metavar="REQUEST_ID",
            help="The job's id (a batch manifest's request_id).",
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the images.")] = Path(),
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            callback=_positive_seconds,
            help="Seconds to wait; the job keeps running after them.",
        ),
    ] = DEFAULT_WAIT_TIMEOUT,
    image_format: Format = ImageFormat.jpg,
    retries: Annotated[
        int,
        typer.Option("--retries", min=0, help="Retries of a status poll or download that failed."),
    ] = RetryPolicy().max_retries,
    rpm: Rpm = None,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Wait for a v2 job (within the hour the service keeps it) and save its images.

    Nothing more is paid: a job is billed once, when it completes. Files are named as
    generate names them; when the job's request is unknown (no batch manifest in --out names
    it), by its request id, without embedded parameters.
    """
    from realdream.cli._job_cmd import run_job

    options = SharedOptions({}, image_format, base_url, api_key, retries, ApiPath.v2, rpm)
    run_job(request_id, out, timeout, options, _seams(ctx))


# --- info, schedulers, mock ------------------------------------------------------------------
@app.command(cls=_Command)
def info(
    image: Annotated[
        Path,
        typer.Argument(metavar="IMAGE", help="A PNG, JPEG or WebP image.", show_default=False),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the parsed fields as JSON.")
    ] = False,
) -> None:
    """Print the generation parameters embedded in IMAGE (ours, or any AUTOMATIC1111 image)."""
    try:
        data = image.read_bytes()
    except OSError as exc:
        raise CLIError(f"error: cannot read {image}: {exc.strerror or exc}") from None
    try:
        text = read_parameters(data)
    except ValueError as exc:  # an image whose embedded text cannot be decoded
        raise CLIError(f"error: {image}: {exc}", EXIT_API) from None
    except Exception:  # Pillow raises many kinds of error for a file it cannot read
        raise CLIError(f"error: not an image: {image}") from None
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


app.command(name="verify", cls=_Command)(verify_command)
app.command(name="mcp", cls=_Command)(mcp_command)


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


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def mock(ctx: typer.Context) -> None:
    """Run the offline mock server (no key needed, no credits spent)."""
    from realdream.cli._mock_cmd import run_mock

    raise typer.Exit(run_mock(ctx.args))
