"""The examples of the README and the docs, each with how the test suite runs it.

A block runs as written. The HTML comment on the line just above it may say how:

- (no comment, a ``python`` block): in a fresh interpreter, in an empty folder, with no key and
  no network;
- ``<!-- readme-test: mock-env -->``: the same, with ``SEGMIND_API_KEY`` and
  ``REALDREAM_BASE_URL`` pointing at a loopback mock server (the mock in the real API's place);
- ``<!-- readme-test: pytest -->``: saved as a test file and run by pytest with our plugin, here
  and in a fresh virtual environment with only ``realdream[testing]`` installed;
- ``<!-- readme-test: demo -->``: against the served demo app, its URL in place of the local one;
- ``<!-- readme-test: shell -->``: a ``bash`` block, run by ``bash -euo pipefail`` in an empty
  folder against a loopback mock, with ``realdream`` and ``python`` on the ``PATH``;
- ``<!-- readme-test: not-run REASON -->``: shown, not run; the reason is required.

A ``bash`` block must say which; other languages (a ``text`` diagram) are not examples.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PYTHON_RUNNERS = ("plain", "mock-env", "pytest", "demo")
SHELL_RUNNERS = ("shell",)
NOT_RUN = "not-run"
RUNNERS = (*PYTHON_RUNNERS, *SHELL_RUNNERS, NOT_RUN)
#: Fenced languages that are examples a reader runs.
EXAMPLE_LANGUAGES = ("python", "bash")
_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)"
    r"(?:<!-- readme-test: (?P<runner>[\w-]+)(?: (?P<note>[^\n]*?))? -->\n(?P=indent))?"
    r"```(?P<lang>[\w-]*)\n(?P<code>.*?)^(?P=indent)```[ \t]*$",
    re.S | re.M,
)


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    runner: str
    note: str
    code: str

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}-{self.runner or 'unmarked'}"


def pages() -> list[Path]:
    """The README and every page of the docs site."""
    return [README, *sorted(DOCS.rglob("*.md"))]


def _blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for match in _BLOCK.finditer(text):
        lang = match["lang"]
        default = "plain" if lang == "python" else ""
        found.append(
            Block(
                page=page.relative_to(ROOT).as_posix(),
                line=text.count("\n", 0, match.start("code")),
                lang=lang,
                runner=match["runner"] or default,
                note=(match["note"] or "").strip(),
                code=textwrap.dedent(match["code"]) if match["indent"] else match["code"],
            )
        )
    return found


def code_blocks(runner: str | None = None, *, lang: str | None = None) -> list[Block]:
    """Every fenced block of the README and the docs (or those of one runner or language)."""
    blocks = [block for page in pages() for block in _blocks(page)]
    return [
        block
        for block in blocks
        if (runner is None or block.runner == runner) and (lang is None or block.lang == lang)
    ]


def python_blocks(runner: str | None = None) -> list[Block]:
    """Every ```python block (or those of one runner), in order: the README, then the docs."""
    return code_blocks(runner, lang="python")
