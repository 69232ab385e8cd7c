#!/usr/bin/env python3
"""Mutation testing for one module (or a few) against the tests you name; prints the score.

    python scripts/mutation.py realdream/_params.py
    python scripts/mutation.py realdream/_retry.py realdream/_policy.py --tests tests/core
    python scripts/mutation.py demo/_guard.py --tests tests/demo/test_guard.py --fail-under 90

mutmut 3 reads its settings from the directory it runs in, so each run gets a fresh scratch
directory, ``mutants/run-<first module>/``, that links to the sources and the tests and holds a
``setup.cfg`` for this run alone; mutmut copies and mutates there (the repository's own
``setup.cfg`` is for a plain ``mutmut run``). After a run, look at a survivor with
``cd mutants/run-<name> && mutmut show <mutant>`` (the script prints the command).

A mutant counts as killed when a test failed, timed out or crashed on it. Equivalent mutants
(no test can tell them from the original) are listed in ``docs/testing.md`` with the line mutmut
wrote; "without equivalents" leaves out the listed ones that survived. A listed mutant whose
line no longer matches (the code moved and mutmut renumbered) is reported as stale and counted.

Needs mutmut 3 in the running interpreter (``pip install 'mutmut>=3.3,<4'``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / "docs" / "testing.md"
#: What mutmut's statuses mean for the score: a test noticed the mutant.
DETECTED = frozenset({"killed", "timeout", "segfault", "caught by type check"})
#: realdream/mock is a link to the top-level mocks/ folder: mutmut's copy skips links.
LINKED = {"realdream": [Path("realdream/mock")]}
_ROW = re.compile(r"^\|\s*`(?P<name>[^`]+__mutmut_\d+)`\s*\|\s*`(?P<line>(?:[^`]|``)+)`\s*\|")


@dataclass
class Score:
    module: str
    statuses: Counter[str]
    equivalent: list[str]
    stale: list[str]
    survivors: list[str]

    @property
    def total(self) -> int:
        return sum(self.statuses.values()) - self.statuses["skipped"]

    @property
    def killed(self) -> int:
        return sum(n for status, n in self.statuses.items() if status in DETECTED)

    @property
    def score(self) -> float:
        return 100.0 * self.killed / self.total if self.total else 100.0

    @property
    def without_equivalents(self) -> float:
        rest = self.total - len(self.equivalent)
        return 100.0 * self.killed / rest if rest else 100.0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    modules = [_module(m) for m in args.modules]
    tests = [_relative(t) for t in args.tests]
    scratch = ROOT / "mutants" / f"run-{modules[0].with_suffix('').as_posix().replace('/', '.')}"
    _prepare(scratch, modules, tests, [_relative(p) for p in args.also_copy])
    started = time.monotonic()
    _mutmut(scratch, "run", "--max-children", str(args.max_children), log=scratch / "run.log")
    elapsed = time.monotonic() - started
    statuses = _results(scratch)
    listed = _listed_equivalents(EQUIVALENTS)
    scores = [_score(scratch, m, statuses, listed) for m in modules]
    _report(scores, scratch, elapsed, show=args.show_survivors)
    failing = [s for s in scores if s.without_equivalents < args.fail_under]
    return 1 if failing else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Run mutmut on MODULE(s) against TESTS and print the mutation score."
    )
    parser.add_argument("modules", nargs="+", metavar="MODULE", help="e.g. realdream/_params.py")
    parser.add_argument(
        "--tests",
        nargs="+",
        default=["tests/core"],
        metavar="PATH",
        help="pytest paths or node ids that should kill the mutants (default: tests/core)",
    )
    parser.add_argument(
        "--also-copy",
        nargs="*",
        default=[],
        metavar="PATH",
        help="other files or folders the tests need next to the mutated package",
    )
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--fail-under",
        type=float,
        default=0.0,
        metavar="PERCENT",
        help="exit 1 when a module's score without equivalents is below this",
    )
    parser.add_argument(
        "--show-survivors", action="store_true", help="print the diff of every unlisted survivor"
    )
    return parser


def _relative(path: str) -> Path:
    resolved = (Path.cwd() / path.split("::")[0]).resolve()
    if not resolved.exists():
        raise SystemExit(f"{path}: no such file or folder")
    try:
        relative = resolved.relative_to(ROOT)
    except ValueError:
        raise SystemExit(f"{path}: must be inside {ROOT}") from None
    rest = path.partition("::")[2]
    return Path(f"{relative.as_posix()}::{rest}") if rest else relative


def _module(path: str) -> Path:
    module = _relative(path)
    if module.suffix != ".py" or len(module.parts) < 2:
        raise SystemExit(f"{path}: must be a .py file inside a package, e.g. realdream/_params.py")
    return module


def _prepare(scratch: Path, modules: list[Path], tests: list[Path], extra: list[Path]) -> None:
    """A fresh directory holding links to what mutmut copies, and this run's settings."""
    pyproject = (ROOT / "pyproject.toml").read_text("utf-8")
    if re.search(r"^\[tool\.mutmut\b", pyproject, flags=re.MULTILINE):
        raise SystemExit(
            "pyproject.toml has [tool.mutmut]: mutmut would ignore this run's setup.cfg"
        )
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    packages = sorted({m.parts[0] for m in modules})
    also_copy = [p for package in packages for p in LINKED.get(package, [])] + extra
    tops = {*packages, *(Path(str(t).split("::")[0]).parts[0] for t in tests)}
    tops |= {p.parts[0] for p in extra} | {"pyproject.toml"}
    for top in sorted(tops):
        (scratch / top).symlink_to(ROOT / top)
    settings = {
        "source_paths": packages,
        "only_mutate": [m.as_posix() for m in modules],
        "also_copy": [p.as_posix() for p in also_copy],
        "pytest_add_cli_args_test_selection": [t.as_posix() for t in tests],
        # every run starts afresh; git's view of the repository has nothing to add
        "use_git_change_detection": "false",
    }
    lines = ["[mutmut]"]
    for key, value in settings.items():
        lines.append(f"{key} = {value}" if isinstance(value, str) else f"{key} =")
        lines.extend(f"    {item}" for item in value if not isinstance(value, str))
    (scratch / "setup.cfg").write_text("\n".join(lines) + "\n", "utf-8")


def _mutmut(scratch: Path, *args: str, log: Path | None = None) -> str:
    """Run ``mutmut ARGS`` in ``scratch``; with ``log``, its output goes there as it runs."""
    env = {
        **os.environ,
        # the CI profile: deterministic examples, no example database carried between mutants
        "HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "ci"),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("PYTHONPATH", None)  # the mutated copy must be the only realdream on the path
    command = [sys.executable, "-m", "mutmut", *args]
    if log is None:
        done = subprocess.run(command, cwd=scratch, env=env, capture_output=True, text=True)
        output = done.stdout + done.stderr
    else:
        with log.open("w", encoding="utf-8") as sink:
            done = subprocess.run(command, cwd=scratch, env=env, stdout=sink, stderr=sink)
        output = log.read_text("utf-8")
    if done.returncode != 0:
        sys.stderr.write(output[-4000:])
        where = log.relative_to(ROOT) if log else "above"
        raise SystemExit(f"mutmut {' '.join(args)} failed ({done.returncode}); see {where}")
    return output


def _results(scratch: Path) -> dict[str, str]:
    output = _mutmut(scratch, "results", "--all", "true")
    found = re.findall(r"^\s+(\S+__mutmut_\d+): (.+)$", output, flags=re.MULTILINE)
    return {name: status.strip() for name, status in found}


def _listed_equivalents(path: Path) -> dict[str, str]:
    """Mutant name -> the line mutmut wrote, from the table in docs/testing.md."""
    if not path.exists():
        return {}
    listed = {}
    for row in path.read_text("utf-8").splitlines():
        match = _ROW.match(row)
        if match:
            listed[match["name"]] = match["line"].replace("\\|", "|").strip()
    return listed


def _score(scratch: Path, module: Path, statuses: dict[str, str], listed: dict[str, str]) -> Score:
    prefix = module.with_suffix("").as_posix().replace("/", ".") + ".x"
    mine = {name: status for name, status in statuses.items() if name.startswith(prefix)}
    survived = sorted((n for n, s in mine.items() if s not in DETECTED | {"skipped"}), key=_order)
    equivalent, stale = [], []
    for name in survived:
        if name not in listed:
            continue
        if _mutated_line(scratch, name) == listed[name]:
            equivalent.append(name)
        else:
            stale.append(name)
    # a listed mutant that a test now kills was not equivalent, or the list points elsewhere
    stale += sorted((n for n in listed if mine.get(n) in DETECTED), key=_order)
    rest = [n for n in survived if n not in equivalent]
    return Score(module.as_posix(), Counter(mine.values()), equivalent, stale, rest)


def _order(name: str) -> tuple[str, int]:
    stem, _, number = name.rpartition("__mutmut_")
    return stem, int(number)


def _mutated_line(scratch: Path, name: str) -> str:
    """The first line the mutant adds (or, if it only removes, ``removed: <line>``)."""
    diff = _mutmut(scratch, "show", name).splitlines()
    changed = [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    added = [line[1:].strip() for line in changed if line.startswith("+")]
    if added:
        return added[0]
    return f"removed: {changed[0][1:].strip()}" if changed else ""


def _report(scores: list[Score], scratch: Path, elapsed: float, *, show: bool) -> None:
    print(f"mutmut ran for {elapsed:.0f} s (log: {scratch.relative_to(ROOT)}/run.log)")
    print()
    print("| module | mutants | killed | score | equivalent | without equivalents |")
    print("|---|---|---|---|---|---|")
    for s in scores:
        print(
            f"| `{s.module}` | {s.total} | {s.killed} | {s.score:.1f}% | {len(s.equivalent)} "
            f"| {s.without_equivalents:.1f}% |"
        )
    for s in scores:
        other = {k: v for k, v in s.statuses.items() if k not in DETECTED | {"survived"}}
        if other:
            print(f"{s.module}: also {dict(other)}")
        for name in s.stale:
            print(f"stale: {name} is listed as equivalent in docs/testing.md, wrongly or no more")
        if s.survivors:
            print(f"\n{s.module}: {len(s.survivors)} not killed and not listed as equivalent:")
            for name in s.survivors:
                print(f"  {name}")
                if show:
                    print(_indent(_mutmut(scratch, "show", name)))
    print(f"\nsee one: cd {scratch.relative_to(ROOT)} && {sys.executable} -m mutmut show NAME")


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines() if line.strip())


if __name__ == "__main__":
    sys.exit(main())
