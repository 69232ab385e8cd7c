"""Output file names derived from prompts are safe: no traversal, no control chars, capped."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from realdream.cli._naming import (
    MAX_SLUG_LENGTH,
    batch_names,
    generate_paths,
    slugify,
    stale_temporaries,
)


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


def test_batch_names_carry_line_prompt_key_and_sample() -> None:
    key = "0123456789abcdef"
    assert batch_names(7, "A fox", key, 1, ".jpg") == ["0007-a-fox-01234567.jpg"]
    assert batch_names(7, "A fox", key, 2, ".jpg") == [
        "0007-a-fox-01234567_1of2.jpg",
        "0007-a-fox-01234567_2of2.jpg",
    ]


def test_generate_names_label_the_seed_and_the_sample(tmp_path: Path) -> None:
    assert [p.name for p in generate_paths(tmp_path, "a fox", 42, 1, ".jpg")] == [
        "a-fox_seed42.jpg"
    ]
    assert [p.name for p in generate_paths(tmp_path, "a fox", 42, 2, ".png")] == [
        "a-fox_seed42_1of2.png",
        "a-fox_seed42_2of2.png",
    ]


def test_a_rerun_gets_a_copy_number_on_every_name_and_overwrites_nothing(tmp_path: Path) -> None:
    for path in generate_paths(tmp_path, "a fox", 42, 2, ".jpg"):
        path.write_bytes(b"first run")
    second = generate_paths(tmp_path, "a fox", 42, 2, ".jpg")
    assert [p.name for p in second] == [
        "a-fox_seed42_1of2_copy2.jpg",
        "a-fox_seed42_2of2_copy2.jpg",
    ]
    second[1].write_bytes(b"second run, one file")
    third = generate_paths(tmp_path, "a fox", 42, 2, ".jpg")
    assert [p.name for p in third] == ["a-fox_seed42_1of2_copy3.jpg", "a-fox_seed42_2of2_copy3.jpg"]


@given(
    st.text(max_size=60),
    st.integers(-1, 10**15),
    st.integers(1, 4),
    st.text(max_size=60),
    st.integers(-1, 10**15),
    st.integers(1, 4),
)
def test_no_generate_name_reads_as_another_seed_or_sample(
    prompt_a: str, seed_a: int, count_a: int, prompt_b: str, seed_b: int, count_b: int
) -> None:
    directory = Path("out")
    names_a = [p.name for p in generate_paths(directory, prompt_a, seed_a, count_a, ".jpg")]
    names_b = [p.name for p in generate_paths(directory, prompt_b, seed_b, count_b, ".jpg")]
    shared = set(names_a) & set(names_b)
    if shared:  # the same name only for the same prompt slug, seed, sample and count
        assert (slugify(prompt_a), seed_a, count_a) == (slugify(prompt_b), seed_b, count_b)


def test_stale_temporaries_are_those_of_the_names_asked_for(tmp_path: Path) -> None:
    for name in (".a.jpg.x1y2.part", ".b.jpg.zz.part", "a.jpg", ".a.jpg.part"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in stale_temporaries(tmp_path, ["a.jpg"])] == [".a.jpg.x1y2.part"]
