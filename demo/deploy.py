"""``python -m demo.deploy OWNER/SPACE``: put this demo on a Hugging Face Space, or update it.

It creates the Space with the Gradio SDK when it is missing, sets ``SEGMIND_API_KEY`` as a
secret (read from the environment or a hidden prompt, never from the command line, never
printed), sets the guard's limits as variables, uploads only what the Space runs and prints
the Space's URL. ``--dry-run`` prints that plan and sends nothing. Each Hub error is one line.

It needs a Hugging Face token that can write (``hf auth login``, or ``HF_TOKEN``).
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final, TextIO

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, constants, get_token
from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

import realdream
from demo._deploy_plan import (
    MANAGED_FOLDERS,
    Limits,
    Upload,
    front_matter_problem,
    restart_warning,
    space_files,
)
from demo._settings import MIN_BALANCE_ENV, SPACE_DATA_DIR
from realdream import contract

__all__ = ["SECRET_NAME", "build_parser", "main"]

#: The secret the Space's app reads its key from.
SECRET_NAME: Final = realdream.API_KEY_ENV
ROOT: Final = Path(__file__).resolve().parents[1]
_REPO_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
_LOGIN_HINT: Final = 'run "hf auth login" with a token that can write (or set HF_TOKEN)'


class DeployError(Exception):
    """A reason to stop, as the one line the owner reads."""


def _usd(flag: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            return realdream.parse_amount(text, field=flag)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _images(text: str) -> int:
    try:
        value = realdream.parse_amount(text, field="--visitor-images", maximum=1_000_000)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not value.is_integer():
        raise argparse.ArgumentTypeError(f"--visitor-images={text!r}: must be a whole number")
    return int(value)


def _repo_id(text: str) -> str:
    if not _REPO_ID.fullmatch(text) or ".." in text or text.endswith((".", "-")):
        raise argparse.ArgumentTypeError(
            f"{text!r}: must be OWNER/SPACE (letters, digits, '.', '_' or '-'; e.g. you/realdream)"
        )
    return text


def build_parser() -> argparse.ArgumentParser:
    """The command line: the Space, its limits, and ``--dry-run``."""
    parser = argparse.ArgumentParser(
        prog="python -m demo.deploy",
        description=(
            "Create or update a Hugging Face Space running this demo. The Segmind key is read "
            f"from {SECRET_NAME} or a hidden prompt and set as a secret; the limits below are "
            "set as the Space's variables (a limit not given keeps the Space's value)."
        ),
    )
    add = parser.add_argument
    add("space", type=_repo_id, metavar="OWNER/SPACE", help="the Space, e.g. you/realdream")
    add(
        "--daily-budget",
        type=_usd("--daily-budget"),
        metavar="USD",
        help="US dollars the app's key may spend per UTC day (0: no limit; app default 1.00)",
    )
    add(
        "--visitor-images",
        "--visitor-limit",
        type=_images,
        metavar="IMAGES",
        help="images per visitor per sliding hour (0: none; app default 10)",
    )
    add(
        "--min-balance",
        type=_usd("--min-balance"),
        metavar="USD",
        help="stop before the key's balance would fall below this; survives restarts",
    )
    add(
        "--require-login",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="only signed-in Hugging Face users may use the app's key",
    )
    add("--private", action="store_true", help="make the Space private")
    add(
        "--keep-key",
        action="store_true",
        help=f"leave the Space's {SECRET_NAME} secret as it is (no key is asked for)",
    )
    add("--dry-run", action="store_true", help="print the plan; send nothing, need no key")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    ask_secret: Callable[[str], str] = getpass.getpass,
    root: Path = ROOT,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run the command; the exit status: 0 deployed (or planned), 1 a Hub or input error."""
    args = build_parser().parse_args(argv)
    env = os.environ if environ is None else environ
    stdout, stderr = out or sys.stdout, err or sys.stderr
    key = ""
    try:
        plan = _Plan.build(args, root)
        if args.dry_run:
            plan.show(stdout, constants.ENDPOINT)
            _warn(stderr, restart_warning(plan.min_balance, storage=None))
            return 0
        key = "" if args.keep_key else _read_key(env, ask_secret)
        url = _Deployment(HfApi(), plan, key, stdout, stderr).run()
    except DeployError as exc:
        print(f"error: {_scrub(str(exc), key)}", file=stderr)
        return 1
    print(f"Deployed: {url}", file=stdout)
    return 0


class _Plan:
    """What one run will do: the Space, its files, the variables, and whether a key goes."""

    def __init__(self, args: argparse.Namespace, files: list[Upload]) -> None:
        self.repo_id: str = args.space
        self.private: bool = args.private
        self.set_key: bool = not args.keep_key
        self.files = files
        self.limits = Limits(
            daily_budget_usd=args.daily_budget,
            visitor_images_per_hour=args.visitor_images,
            min_balance_usd=args.min_balance,
            require_login=args.require_login,
        )
        self.min_balance: float = args.min_balance or 0.0

    @classmethod
    def build(cls, args: argparse.Namespace, root: Path) -> _Plan:
        try:
            files = space_files(root)
            readme = (root / "README.md").read_text(encoding="utf-8")
        except OSError as exc:
            raise DeployError(str(exc)) from None
        problem = front_matter_problem(readme, require_login=bool(args.require_login))
        if problem:
            raise DeployError(problem)
        return cls(args, files)

    def show(self, out: TextIO, endpoint: str) -> None:
        size = sum(upload.local.stat().st_size for upload in self.files)
        visibility = "private" if self.private else "public unless it already exists private"
        lines = [
            f"Plan for {endpoint}/spaces/{self.repo_id} (dry run: nothing is sent)",
            f"  Space: {self.repo_id}, Gradio SDK, created if missing ({visibility})",
            f"  Secret: {SECRET_NAME}, from the environment or a hidden prompt (never shown)"
            if self.set_key
            else f"  Secret: {SECRET_NAME} left as it is (--keep-key)",
            "  Variables:",
            *_variable_lines(self.limits),
            f"  Files ({len(self.files)}, {size / 1024:.0f} KiB):",
            *(f"    {upload.path_in_repo}" for upload in self.files),
        ]
        print("\n".join(lines), file=out)


def _variable_lines(limits: Limits) -> list[str]:
    chosen = limits.variables()
    lines = [f"    {name}={value}" for name, value in chosen.items()]
    kept = [f"{name} (default {value})" for name, value in Limits.defaults().items()]
    kept = [text for text in kept if text.split(" ")[0] not in chosen]
    if kept:
        lines.append("    kept as the Space has them, else the app's default: " + ", ".join(kept))
    return lines


def _warn(err: TextIO, warning: str | None) -> None:
    if warning:
        print(warning, file=err)


def _read_key(env: Mapping[str, str], ask_secret: Callable[[str], str]) -> str:
    key = env.get(SECRET_NAME, "").strip()
    if not key:
        try:
            key = ask_secret(f"{SECRET_NAME} (hidden; Enter for none): ").strip()
        except (EOFError, KeyboardInterrupt):
            key = ""
    if not key:
        raise DeployError(
            f"no Segmind key: set {SECRET_NAME}, type it at the hidden prompt, or pass "
            "--keep-key to leave the Space's secret as it is"
        )
    if not re.fullmatch(contract.API_KEY_PATTERN, key):
        raise DeployError(
            f"{SECRET_NAME} does not look like a Segmind key ({contract.API_KEY_SHAPE}); "
            "nothing was sent"
        )
    return key


def _scrub(text: str, key: str) -> str:
    line = " ".join(text.split())
    return line.replace(key, "***") if key else line


class _Deployment:
    """The Hub calls, in order: the Space, its secret and variables, then its files."""

    def __init__(self, api: HfApi, plan: _Plan, key: str, out: TextIO, err: TextIO) -> None:
        self.api, self.plan, self.key, self.out, self.err = api, plan, key, out, err
        self.repo_id = plan.repo_id

    def run(self) -> str:
        if get_token() is None:
            raise DeployError(f"no Hugging Face token: {_LOGIN_HINT}; nothing was changed")
        self._call("creating the Space", self._ensure_space)
        if self.plan.set_key:
            self._call(f"setting the secret {SECRET_NAME}", self._set_secret)
        for name, value in self.plan.limits.variables().items():
            self._call(f"setting the variable {name}", self._set_variable, name, value)
        self._call("uploading the files", self._upload)
        self._warn_about_restarts()
        return f"{self.api.endpoint}/spaces/{self.repo_id}"

    def _call(self, action: str, step: Callable[..., None], *args: str) -> None:
        try:
            step(*args)
        except DeployError:
            raise
        except HfHubHTTPError as exc:
            raise DeployError(self._explain(exc, action)) from None
        except OfflineModeIsEnabled:
            raise DeployError("HF_HUB_OFFLINE is set: unset it to deploy") from None
        except Exception as exc:  # the Hub client's transport errors, whatever its HTTP library
            raise DeployError(
                f"{action} failed ({self.api.endpoint}): {type(exc).__name__}: {exc}"
            ) from None

    def _explain(self, exc: HfHubHTTPError, action: str) -> str:
        status = exc.response.status_code if exc.response is not None else None
        if status == 401:
            return f"the Hub refused the token (401) while {action}: {_LOGIN_HINT}"
        if status == 403:
            owner = self.repo_id.split("/")[0]
            return (
                f"no permission to write {self.repo_id} (403) while {action}: the token needs "
                f"write access to {owner} (or the name belongs to someone else)"
            )
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"the Hub answered {status} while {action}: {first}"

    def _ensure_space(self) -> None:
        self.api.create_repo(
            self.repo_id, repo_type="space", space_sdk="gradio", exist_ok=True,
            private=True if self.plan.private else None,
        )  # fmt: skip
        info = self.api.space_info(self.repo_id)
        if info.sdk != "gradio":
            raise DeployError(
                f"{self.repo_id} is taken: it exists as a {info.sdk or 'non-Gradio'} Space, and "
                "this app needs a Gradio one; choose another name"
            )
        if self.plan.private and not info.private:
            self.api.update_repo_settings(self.repo_id, repo_type="space", private=True)

    def _set_secret(self) -> None:
        description = "Segmind API key the app spends from (set by python -m demo.deploy)"
        self.api.add_space_secret(self.repo_id, SECRET_NAME, self.key, description=description)

    def _set_variable(self, name: str, value: str) -> None:
        self.api.add_space_variable(self.repo_id, name, value)

    def _upload(self) -> None:
        planned = {upload.path_in_repo for upload in self.plan.files}
        stale = [
            path
            for path in self.api.list_repo_files(self.repo_id, repo_type="space")
            if path.split("/")[0] in MANAGED_FOLDERS and path not in planned
        ]
        operations: list[CommitOperationAdd | CommitOperationDelete] = [
            CommitOperationAdd(path_in_repo=upload.path_in_repo, path_or_fileobj=upload.local)
            for upload in self.plan.files
        ]
        operations += [CommitOperationDelete(path_in_repo=path) for path in stale]
        self.api.create_commit(
            self.repo_id, operations, repo_type="space",
            commit_message=f"Deploy realdream {realdream.__version__} (python -m demo.deploy)",
        )  # fmt: skip
        print(f"Uploaded {len(self.plan.files)} files ({len(stale)} stale removed)", file=self.out)

    def _warn_about_restarts(self) -> None:
        """Warn when neither storage nor a floor survives restarts; the Space is deployed, so
        a failure to read them only makes the warning say "unless"."""
        floor, storage = self.plan.min_balance, None
        try:
            storage = self._has_storage()
            if self.plan.limits.min_balance_usd is None:
                current = self.api.get_space_variables(self.repo_id).get(MIN_BALANCE_ENV)
                floor = _as_usd(current.value if current is not None else None)
        except Exception:  # the Hub's error, whatever it is: the deployment itself succeeded
            pass
        _warn(self.err, restart_warning(floor, storage=storage))

    def _has_storage(self) -> bool:
        runtime = self.api.get_space_runtime(self.repo_id)
        volumes = getattr(runtime, "volumes", None) or []
        return bool(runtime.storage) or any(
            getattr(volume, "mount_path", None) == str(SPACE_DATA_DIR) for volume in volumes
        )


def _as_usd(text: str | None) -> float:
    try:
        return realdream.parse_amount(text, field="the Space's balance floor")
    except ValueError:
        return 0.0


if __name__ == "__main__":
    sys.exit(main())
