"""Output file names derived from prompts are safe: no traversal, no control chars, capped."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from realdream.cli._naming import MAX_SLUG_LENGTH, batch_stem, slugify, unique_path


@pytest.mark.parametrize(
    ("prompt", "slug"),
    [
        pytest.param("A Red Fox", "a-red-fox", id="words"),
        pytest.param("../../etc/passwd", "etc-passwd", id="traversal"),
        pytest.param("C:\\Windows\\system32", "c-windows-system32", id="backslashes"),
        pytest.param("line\nbreak\x00nul\x1b[31m", "line-break-nul-31m", id="control-chars"),
        pytest.param(".hidden", "hidden", id="leading-dot"),
        pytest.param("...", "image", id="nothing-left"),
        pytest.param("", "image", id="empty"),
        pytest.param("café — naïve", "café-naïve", id="accents-kept"),
        pytest.param("東京の夜", "東京の夜", id="other-scripts-kept"),
        pytest.param("ﬁne Ｗｉｄｅ", "fine-wide", id="nfkc"),
    ],
)
def test_slugify_keeps_letters_and_digits_only(prompt: str, slug: str) -> None:
    assert slugify(prompt) == slug


@given(st.text())
def test_any_prompt_gives_a_safe_short_name(prompt: str) -> None:
    slug = slugify(prompt)
    assert slug
    assert len(slug) <= MAX_SLUG_LENGTH
    assert "/" not in slug
    assert "\\" not in slug
    assert "\x00" not in slug
    assert not slug.startswith((".", "-"))
    assert all(ch.isprintable() for ch in slug)
    assert len(slug.encode()) < 255


def test_batch_stem_names_line_prompt_and_key() -> None:
    assert batch_stem(7, "A fox", "0123456789abcdef") == "0007-a-fox-01234567"


def test_unique_path_never_overwrites(tmp_path: Path) -> None:
    first = unique_path(tmp_path, "fox", ".png")
    first.write_bytes(b"x")
    second = unique_path(tmp_path, "fox", ".png")
    third = unique_path(tmp_path, "fox", ".png", {second})
    assert [first.name, second.name, third.name] == ["fox.png", "fox-2.png", "fox-3.png"]
