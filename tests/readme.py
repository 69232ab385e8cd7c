"""The README's Python examples, each with how the test suite runs it.

A block runs as written. The comment line just above it may say how:

- (no comment): in a fresh interpreter, in an empty folder, with no key and no network;
- ``<!-- readme-test: mock-env -->``: the same, with ``SEGMIND_API_KEY`` and
  ``REALDREAM_BASE_URL`` pointing at a loopback mock server (the mock in the real API's place);
- ``<!-- readme-test: pytest -->``: saved as a test file and run by pytest with our plugin;
- ``<!-- readme-test: demo -->``: against the served demo app, its URL in place of the local one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RUNNERS = ("plain", "mock-env", "pytest", "demo")
_BLOCK = re.compile(
    r"(?:<!-- readme-test: (?P<runner>[\w-]+) -->\n)?```python\n(?P<code>.*?)```", re.S
)


@dataclass(frozen=True)
class Block:
    line: int
    runner: str
    code: str

    @property
    def id(self) -> str:
        return f"README.md:{self.line}-{self.runner}"


def python_blocks(runner: str | None = None) -> list[Block]:
    """Every ```python block of the README (or those of one runner), in order."""
    text = README.read_text()
    blocks = [
        Block(text.count("\n", 0, match.start("code")), match["runner"] or "plain", match["code"])
        for match in _BLOCK.finditer(text)
    ]
    return [block for block in blocks if runner is None or block.runner == runner]
