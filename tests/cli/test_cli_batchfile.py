"""Batch files: plain and JSON lines, defaults, stable keys, and errors that name line and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from realdream import LIMITS, PROMPT_MAX_LENGTH, SCHEDULERS, GenerationRequest
from realdream.cli._batchfile import BatchFileError, parse_batch, read_batch

SOURCE = "batch.jsonl"


def parse(text: str, **defaults: Any) -> list[Any]:
    return parse_batch(text, source=SOURCE, defaults=defaults)


def problems(text: str, **defaults: Any) -> list[str]:
    with pytest.raises(BatchFileError) as caught:
        parse(text, **defaults)
    return caught.value.problems


def test_plain_and_json_lines_with_comments_and_blanks() -> None:
    text = '# a comment\n\n  a red fox  \n{"prompt": "a blue fox", "samples": 2}\n   # indented\n'
    items = parse(text)
    assert [(item.line, item.request.prompt) for item in items] == [
        (3, "a red fox"),
        (4, "a blue fox"),
    ]
    assert items[1].request.samples == 2


def test_line_parameters_win_over_command_line_defaults() -> None:
    text = 'a fox\n{"prompt": "a wolf", "num_inference_steps": 20}\n'
    fox, wolf = parse(text, num_inference_steps=12, seed=5)
    assert (fox.request.num_inference_steps, fox.request.seed) == (12, 5)
    assert (wolf.request.num_inference_steps, wolf.request.seed) == (20, 5)


def test_crlf_line_endings_and_bom_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "b.txt"
    path.write_bytes("\ufeffa fox\r\nan owl\r\n".encode())
    assert [item.request.prompt for item in read_batch(path, {})] == ["a fox", "an owl"]


def test_identical_lines_are_distinct_items() -> None:
    first, second = parse("a fox\na fox\n")
    assert first.key != second.key


def test_keys_survive_inserting_lines_above() -> None:
    before = [item.key for item in parse("a fox\nan owl\na fox\n")]
    after = [item.key for item in parse("# new\na cat\na fox\nan owl\na fox\n")]
    assert after[1:] == before


def test_keys_change_with_the_request() -> None:
    (plain,) = parse("a fox\n")
    (steps,) = parse("a fox\n", num_inference_steps=12)
    assert plain.key != steps.key


def test_an_invalid_line_names_file_line_and_field() -> None:
    text = 'ok\n{"prompt": "x", "num_inference_steps": 0}\n'
    assert problems(text) == [
        f"{SOURCE}:2: num_inference_steps=0: must be between 1 and 100",
    ]


def test_every_bad_line_is_reported_at_once() -> None:
    text = '{"prompt": "x", "seed": "a"}\nok\n{"prompt": "y", "foo": 1}\n{broken\n'
    found = problems(text)
    assert [p.split(":")[1] for p in found] == ["1", "3", "4"]
    assert "seed='a'" in found[0]
    assert "foo=1: is not a parameter" in found[1]
    assert "not valid JSON" in found[2]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(
            '{"prompt": "a", "prompt": "b"}',
            "prompt: is given twice; give each parameter once",
            id="duplicate-prompt",
        ),
        pytest.param(
            '{"prompt": "a", "seed": 1, "seed": 1}',
            "seed: is given twice; give each parameter once",
            id="duplicate-with-same-value",
        ),
        pytest.param(
            '{"prompt": "a", "seed": ' + "9" * 4301 + "}",
            "seed=<an integer of more than 32 digits>: must be between -1 and",
            id="seed-of-4301-digits",
        ),
        pytest.param(
            '{"prompt": "a", "scheduler": ' + "[" * 5000 + "]" * 5000 + "}",
            "the line starts with { but nests deeper than 32 levels (in 'scheduler')",
            id="nested-5000-deep",
        ),
        pytest.param(
            '{"prompt": "a", "scheduler": ' + "[" * 40 + "]" * 40 + "}",
            "the line starts with { but nests deeper than 32 levels (in 'scheduler')",
            id="nested-40-deep",
        ),
    ],
)
def test_a_hostile_json_line_is_one_problem_naming_line_and_field(line: str, expected: str) -> None:
    found = problems(f'a fox\n{line}\n{{"prompt": "x", "samples": 9}}\n')
    assert len(found) == 2, found  # the other bad line is still reported
    assert found[0].startswith(f"{SOURCE}:2: {expected}")
    assert found[1].startswith(f"{SOURCE}:3: samples=9: must be between 1 and 4")
    assert all(len(problem) < 300 for problem in found)


def test_a_file_without_prompts_is_an_error() -> None:
    assert problems("# only\n\n") == [f"{SOURCE}: no prompts (every line is blank or a # comment)"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(None, "cannot read the batch file", id="missing"),
        pytest.param(b"\xff\xfe\x00bad", "is not UTF-8 text", id="not-utf8"),
    ],
)
def test_unreadable_files_are_one_line(
    tmp_path: Path, content: bytes | None, expected: str
) -> None:
    path = tmp_path / "batch.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(BatchFileError) as caught:
        read_batch(path, {})
    (problem,) = caught.value.problems
    assert problem.startswith(f"{path}: ")
    assert expected in problem


# --- property: any line with an invalid field is reported with its line number and field -----
def _numeric_invalid(name: str) -> st.SearchStrategy[tuple[str, Any]]:
    lim = LIMITS[name]
    is_int = GenerationRequest.model_fields[name].annotation is int
    bad = st.one_of(
        st.integers(max_value=int(lim.minimum) - 1),
        st.integers(min_value=int(lim.maximum) + 1),
        st.text(max_size=5),
        st.booleans(),
        st.none(),
        # A whole float in range counts as that integer (as JSON Schema has it): not bad.
        *(
            [
                st.floats(allow_nan=False, allow_infinity=False).filter(
                    lambda f: not (f.is_integer() and lim.minimum <= f <= lim.maximum)
                )
            ]
            if is_int
            else []
        ),
    )
    return bad.map(lambda value: (name, value))


INVALID_FIELDS = st.one_of(
    *[_numeric_invalid(name) for name in LIMITS],
    st.text(max_size=20).filter(lambda s: s not in SCHEDULERS).map(lambda v: ("scheduler", v)),
    st.sampled_from(["", " ", "\t\u3000"]).map(lambda v: ("prompt", v)),
    st.just("x" * (PROMPT_MAX_LENGTH + 1)).map(lambda v: ("prompt", v)),
    st.one_of(st.integers(), st.none()).map(lambda v: ("negative_prompt", v)),
    st.one_of(st.integers(), st.text(max_size=3)).map(lambda v: ("base64", v)),
    st.from_regex(r"[a-z_]{1,12}", fullmatch=True)
    .filter(lambda name: name not in GenerationRequest.model_fields)
    .map(lambda name: (name, 1)),
)
PROMPTS = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="#{"),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip() and s.strip()[0] not in "#{")
VALID_LINES = st.one_of(
    PROMPTS,
    st.builds(
        lambda p, n: json.dumps({"prompt": p, "num_inference_steps": n}),
        PROMPTS,
        st.integers(1, 100),
    ),
    st.just(""),
    st.just("# comment"),
)


@given(
    before=st.lists(VALID_LINES, max_size=6),
    after=st.lists(VALID_LINES, max_size=6),
    bad=INVALID_FIELDS,
)
def test_any_invalid_field_is_reported_with_its_line_number(
    before: list[str], after: list[str], bad: tuple[str, Any]
) -> None:
    field, value = bad
    data = {"prompt": "a fox", field: value}
    lines = [*before, json.dumps(data), *after]
    found = problems("\n".join(lines))
    line_number = len(before) + 1
    assert len(found) == 1
    assert found[0].startswith(f"{SOURCE}:{line_number}: {field}")
    assert "\n" not in found[0]
