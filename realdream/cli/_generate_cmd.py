"""``realdream generate``: validate, pay for one request, save every image it made."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from realdream import Client, GenerationRequest, GenerationResult, RetryPolicy, contract
from realdream.cli._common import EXIT_API, CLIError, Seams, os_error, require_key
from realdream.cli._naming import generate_paths
from realdream.cli._options import SharedOptions
from realdream.cli._saving import (
    Placed,
    UnplacedError,
    Writer,
    default_fallback_dirs,
    describe,
    encoded,
    place,
)

__all__ = ["run_generate"]


def run_generate(
    prompt: str, out: Path, dry_run: bool, options: SharedOptions, seams: Seams
) -> None:
    """The body of ``realdream generate``."""
    request = GenerationRequest.create(options.params, prompt=prompt)
    if dry_run:
        _print_dry_run(request)
        return
    require_key(options)
    _check_out_dir(out)  # before paying: a bad --out must not cost an image
    client = Client(
        options.api_key,
        base_url=options.base_url,
        retry=RetryPolicy(max_retries=options.retries),
    )
    with client, _waiting(request.samples):
        result = client.generate(request)
    placed = _save_result(result, out, options.image_format.suffix, seams.writer)
    for path in placed.where_asked + placed.elsewhere:
        typer.echo(str(path))
    typer.echo(_result_line(result))
    if placed.error is not None:
        raise CLIError(
            f"error: paid, but could not save the images in {out} ({describe(placed.error)}); "
            f"they are in {placed.elsewhere[0].parent} instead",
            EXIT_API,
        )


@contextmanager
def _waiting(images: int) -> Iterator[None]:
    """A spinner with the time elapsed, on stderr, only when stderr is a terminal: a cold
    start can take minutes, and silence reads as a hang."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield
        return
    what = f"Generating {images} image{'s' * (images != 1)} (a cold start can take minutes)"
    columns = (SpinnerColumn(), TextColumn(what), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        progress.add_task(what, total=None)
        progress.refresh()  # drawn at once, not at the first tick
        yield


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


def _unsaved(result: GenerationResult, out: Path, exc: OSError) -> str:
    """One line for a paid result no folder took: enough to make it again."""
    reason = os_error(exc)
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


def _save_result(result: GenerationResult, out: Path, suffix: str, writer: Writer) -> Placed:
    """Write the images where asked, else in a fallback folder; a paid image is never
    dropped without the request that makes it again."""
    count = len(result.images)
    prompt = result.request.prompt if result.request is not None else "job"
    seed = result.seed if result.seed is not None else contract.RANDOM_SEED
    paths = generate_paths(out, prompt, seed, count, suffix)
    files = [encoded(image, path) for image, path in zip(result.images, paths, strict=True)]
    try:
        return place(files, default_fallback_dirs(out), writer)
    except UnplacedError as exc:
        raise CLIError(_unsaved(result, out, exc.error), EXIT_API) from None


def _result_line(result: GenerationResult) -> str:
    parts = [f"seed {result.seed}", f"{result.elapsed:.2f} s", f"${result.cost or 0:.4f}"]
    if result.remaining_credits is not None:
        parts.append(f"{result.remaining_credits:g} credits left")
    return " · ".join(parts)
