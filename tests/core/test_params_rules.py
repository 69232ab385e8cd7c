"""Validation rules pinned down: every way in, the field order, the hints, blank prompts in
any script, and the exact words of each refusal (mutation testing found them loose)."""

from __future__ import annotations

import json
import math
import sys

import pydantic
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import realdream
from realdream import LIMITS, GenerationRequest, ValidationError
from realdream._params import _INT_FIELDS, MAX_JSON_DEPTH, _int_field, _num, parse_json_object

#: Every character Python's str.isspace() calls whitespace, in the whole of Unicode.
SPACES = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
FIELDS = tuple(GenerationRequest.model_fields)


def _refusal(*args: object, **params: object) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        GenerationRequest.create(*args, **params)  # type: ignore[arg-type]
    return info.value


# --- every way in -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kind"),
    [("x", "str"), (5, "int"), (None, "NoneType"), ([1], "list"), (b"{}", "bytes")],
)
def test_anything_but_a_mapping_is_refused_as_the_body(body, kind):
    with pytest.raises(ValidationError) as info:
        GenerationRequest.model_validate(body)
    assert info.value.fields == ["body"]
    assert str(info.value) == (
        f"body={body!r}: must be a mapping of parameter names to values, not {kind}"
    )


def test_a_parameter_name_that_is_not_a_string_is_refused_by_name():
    with pytest.raises(ValidationError) as info:
        GenerationRequest.model_validate({"prompt": "x", 7: "seven"})
    assert str(info.value) == "7: is not a parameter (parameter names are strings)"


def test_pydantic_s_options_reach_pydantic():
    loose = GenerationRequest.model_validate({"prompt": "x", "samples": "2"}, strict=False)
    assert loose.samples == 2


def test_the_constructor_takes_no_positional_arguments():
    with pytest.raises(TypeError):
        GenerationRequest("a lighthouse", prompt="x")


def test_the_constructor_validates_as_create_does():
    assert GenerationRequest(prompt="x", seed=3) == GenerationRequest.create(prompt="x", seed=3)
    with pytest.raises(ValidationError) as info:
        GenerationRequest(prompt="x", seed=-5, steps=3)
    assert not isinstance(info.value, pydantic.ValidationError)
    assert str(info.value) == str(_refusal(prompt="x", seed=-5, steps=3))
    assert info.value.fields == ["seed", "steps"]


def test_every_way_in_gives_the_same_refusal():
    payload = {"prompt": "x", "samples": 9, "steps": 3}
    text = json.dumps(payload)
    ways = [
        lambda: GenerationRequest(**payload),
        lambda: GenerationRequest.create(payload),
        lambda: GenerationRequest.model_validate(payload),
        lambda: GenerationRequest.model_validate_json(text),
        lambda: GenerationRequest.model_validate_json(bytearray(text.encode())),
        lambda: GenerationRequest.from_json(text.encode()),
    ]
    messages = set()
    for way in ways:
        with pytest.raises(ValidationError) as info:
            way()
        messages.add(str(info.value))
    assert messages == {
        "samples=9: must be between 1 and 4; "
        "steps=3: is not a parameter; did you mean 'num_inference_steps'?"
    }


def test_a_json_body_overrides_the_defaults_it_is_given():
    request = GenerationRequest.from_json(b'{"prompt": "x"}', {"prompt": "d", "seed": 5})
    assert (request.prompt, request.seed) == ("x", 5)
    assert GenerationRequest.model_validate_json(bytearray(b'{"prompt": "y"}')).prompt == "y"


def test_create_merges_keywords_over_the_mapping():
    request = GenerationRequest.create({"prompt": "a", "seed": 1}, seed=2)
    assert (request.prompt, request.seed) == ("a", 2)


# --- the field order and the hints ---------------------------------------------------------


def test_errors_come_in_the_declared_field_order_whatever_the_input_order():
    bad = {
        "zeta": 2,
        "base64": 1,
        "img_height": 1,
        "guidance_scale": 0,
        "aardvark": 1,
        "scheduler": "x",
        "samples": 0,
        "prompt": "",
    }
    # declared: prompt, samples, scheduler, guidance_scale, img_height, base64; not alphabetical
    assert _refusal(bad).fields == [
        "prompt",
        "samples",
        "scheduler",
        "guidance_scale",
        "img_height",
        "base64",
        "zeta",
        "aardvark",
    ]


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("steps", "; did you mean 'num_inference_steps'?"),
        ("Steps", "; did you mean 'num_inference_steps'?"),
        ("width", "; did you mean 'img_width'?"),
        ("img", "; did you mean 'img_width' or 'img_height'?"),
        ("Prompt", "; did you mean 'prompt'?"),
        ("SEED", "; did you mean 'seed'?"),
        ("guidance", "; did you mean 'guidance_scale'?"),
        ("num_steps", "; did you mean 'num_inference_steps'?"),
        ("guide", "; did you mean 'guidance_scale'?"),
        ("cfg", ""),
    ],
)
def test_an_unknown_parameter_suggests_the_one_meant(name, hint):
    assert str(_refusal(prompt="x", **{name: 10})) == f"{name}=10: is not a parameter{hint}"


@pytest.mark.parametrize(
    ("scheduler", "hint"),
    [
        (
            "DPM++ 2M Karas",
            "; did you mean 'DPM++ 2M Karras' or 'DPM++ 2M SDE Karras' or 'DPM++ 2S a Karras'?",
        ),
        ("euler", "; did you mean 'Euler' or 'Euler a'?"),
        ("EULER", "; did you mean 'Euler'?"),
        ("zzz", ""),
    ],
)
def test_an_unknown_scheduler_suggests_close_names(scheduler, hint):
    assert str(_refusal(prompt="x", scheduler=scheduler)) == (
        f"scheduler={scheduler!r}: must be one of the 30 scheduler names "
        f"(see realdream.SCHEDULERS){hint}"
    )


# --- blank prompts in every script ----------------------------------------------------------


def test_the_whitespace_table_is_the_one_python_knows():
    assert "\u3000" in SPACES
    assert len(SPACES) == 29


@given(st.text(alphabet=st.sampled_from(SPACES), min_size=1, max_size=40))
@example("\u3000")
@example("\u3000\u2028\x85\u00a0")
def test_a_prompt_of_only_unicode_whitespace_is_blank(prompt):
    shown = repr(prompt) if len(repr(prompt)) <= 60 else repr(prompt)[:59] + "…"
    assert str(_refusal(prompt=prompt)) == f"prompt={shown}: must not be blank"


def test_a_blank_prompt_at_the_length_limit_is_blank_not_too_long():
    prompt = " " * realdream.PROMPT_MAX_LENGTH
    assert str(_refusal(prompt=prompt)).endswith(": must not be blank")


@given(
    st.text(alphabet=st.sampled_from(SPACES), max_size=10),
    st.characters(exclude_categories=["Cs"]).filter(lambda c: not c.isspace()),
)
def test_one_visible_character_among_whitespace_is_a_prompt(spaces, visible):
    prompt = spaces + visible + spaces
    assert GenerationRequest.create(prompt=prompt).prompt == prompt


# --- the words of each refusal --------------------------------------------------------------


class _NoRepr:
    def __repr__(self) -> str:
        raise ValueError("no repr")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"guidance_scale": "2"},
            "guidance_scale='2': must be a number, between 1 and 25, not str",
        ),
        (
            {"guidance_scale": True},
            "guidance_scale=True: must be a number, between 1 and 25, not bool",
        ),
        ({"guidance_scale": 1.0}, None),
        ({"guidance_scale": 25}, None),
        (
            {"img_width": 2.5},
            "img_width=2.5: must be an integer, a multiple of 8 between 256 and 2048, not float",
        ),
        ({"samples": None}, "samples=None: must be an integer, between 1 and 4, not NoneType"),
        ({"samples": 5.0}, "samples=5.0: must be between 1 and 4"),
        (
            {"seed": 2**199},  # 200 bits: the largest shown in digits
            f"seed={2**199}: must be between -1 and 999999999999999",
        ),
        (
            {"seed": 2**200},
            "seed=<an integer of more than 32 digits>: must be between -1 and 999999999999999",
        ),
        (
            {"samples": _NoRepr()},
            "samples=<_NoRepr>: must be an integer, between 1 and 4, not _NoRepr",
        ),
        (
            {"seed": 10**70},
            "seed=<an integer of more than 32 digits>: must be between -1 and 999999999999999",
        ),
        ({"negative_prompt": 5}, "negative_prompt=5: must be a string"),
        ({"prompt": 5}, "prompt=5: must be a string"),
        (
            {"scheduler": 5},
            "scheduler=5: must be one of the 30 scheduler names (see realdream.SCHEDULERS)",
        ),
        ({"base64": "yes"}, "base64='yes': must be true or false"),
        ({"num_inference_steps": 100, "samples": 4, "seed": 999999999999999}, None),
        ({"img_width": 256, "img_height": 2048, "seed": -1}, None),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, dict) else None,
)
def test_each_refusal_names_the_field_the_value_and_the_rule(changes, message):
    if message is None:
        request = GenerationRequest.create(prompt="x", **changes)
        assert {k: request.payload[k] for k in changes} == changes
        return
    assert str(_refusal({"prompt": "x", **changes})) == message


@pytest.mark.parametrize("field", ["prompt", "negative_prompt"])
def test_an_overlong_text_is_shown_cut_with_its_length(field):
    text = "p" * (realdream.PROMPT_MAX_LENGTH + 1)
    shown = repr(text)[:59] + "…"
    assert str(_refusal({"prompt": "x", field: text})) == (
        f"{field}={shown}: must be at most {realdream.PROMPT_MAX_LENGTH} characters "
        f"(got {len(text)})"
    )


def test_a_text_at_the_limit_is_accepted_and_shown_whole_when_short():
    longest = "p" * realdream.PROMPT_MAX_LENGTH
    assert GenerationRequest.create(prompt=longest, negative_prompt=longest).prompt == longest
    value = "v" * 58  # its repr is 60 characters: the most shown whole
    assert str(_refusal(prompt="x", samples=value)).startswith(f"samples={value!r}: ")


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


@given(st.dictionaries(st.sampled_from((*FIELDS, "steps", "width", "")), _VALUES, min_size=1))
def test_no_refusal_ever_shows_pydantic_s_own_words(payload):
    try:
        GenerationRequest.create(payload)
    except ValidationError as error:
        text = str(error)
        assert "Value error" not in text
        assert "pydantic" not in text
        assert "Input should" not in text
        for field, message in error.errors:
            assert message.startswith(field)


# --- a JSON body, strictly ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[", "body: is not valid JSON (Expecting value: line 1 column 2 (char 1))"),
        ('{"seed": 1, "seed": 2}', "seed: is given twice; give each parameter once"),
        ("true", "body: must be a JSON object, not a boolean"),
        ("null", "body: must be a JSON object, not null"),
        ("1.5", "body: must be a JSON object, not a number"),
        ('"s"', "body: must be a JSON object, not a string"),
        ("[]", "body: must be a JSON object, not an array"),
    ],
)
def test_a_body_that_is_not_one_json_object_is_refused_in_one_line(body, message):
    with pytest.raises(ValidationError) as info:
        parse_json_object(body)
    assert str(info.value) == message


@pytest.mark.parametrize("body", ["{}", '{"a": {}}', '{"a": []}', '{"a": [[], {}]}'])
def test_empty_objects_and_arrays_are_read(body):
    assert parse_json_object(body) == json.loads(body)


@pytest.mark.parametrize("empty", ["{}", "[]"])
def test_an_empty_container_counts_as_one_level(empty):
    inner = empty
    for _ in range(MAX_JSON_DEPTH - 2):
        inner = "[" + inner + "]"
    assert parse_json_object('{"a": ' + inner + "}")
    with pytest.raises(ValidationError, match="nests deeper"):
        parse_json_object('{"a": [' + inner + "]}")


@pytest.mark.parametrize("wrap", ["[{}]", '{{"k": {}}}'], ids=["arrays", "objects"])
def test_nesting_is_allowed_to_the_limit_and_refused_past_it(wrap):
    def nested(levels: int) -> str:  # the outer object is one level
        inner = "1"
        for _ in range(levels - 1):
            inner = wrap.format(inner)
        return '{"prompt": ' + inner + "}"

    assert parse_json_object(nested(MAX_JSON_DEPTH))
    with pytest.raises(ValidationError) as info:
        parse_json_object(nested(MAX_JSON_DEPTH + 1))
    assert str(info.value) == f"body: nests deeper than {MAX_JSON_DEPTH} levels"


def test_nesting_too_deep_for_python_s_parser_is_refused_the_same_way():
    with pytest.raises(ValidationError) as info:
        parse_json_object("[" * 100_000 + "]" * 100_000)
    assert str(info.value) == f"body: nests deeper than {MAX_JSON_DEPTH} levels"


@pytest.mark.parametrize("sign", ["", "-"])
def test_json_integers_keep_64_digits_and_clamp_longer_ones(sign):
    digits = "9" * 64
    assert parse_json_object(f'{{"seed": {sign}{digits}}}')["seed"] == int(sign + digits)
    clamped = parse_json_object(f'{{"seed": {sign}{digits}9}}')["seed"]
    assert clamped == int(f"{sign}1" + "0" * 64)


def test_a_huge_json_integer_is_refused_without_printing_it():
    with pytest.raises(ValidationError) as info:
        GenerationRequest.from_json('{"prompt": "x", "seed": ' + "7" * 5000 + "}")
    assert str(info.value) == (
        "seed=<an integer of more than 32 digits>: must be between -1 and 999999999999999"
    )


@given(st.integers(-1, int(LIMITS["seed"].maximum)))
def test_only_minus_one_is_a_random_seed(seed):
    request = GenerationRequest.create(prompt="x", seed=seed)
    assert request.is_random_seed is (seed == -1)
    assert (request.with_resolved_seed() is request) is (seed != -1)


def test_a_float_that_is_not_whole_stays_a_float_and_is_refused():
    assert str(_refusal(prompt="x", samples=2.5)).endswith("not float")
    assert str(_refusal(prompt="x", img_width=math.inf)).startswith("img_width=inf: ")


@pytest.mark.parametrize("name", _INT_FIELDS)
def test_each_integer_field_takes_its_bounds_and_default_from_the_contract(name):
    limit = LIMITS[name]
    field = _int_field(name, "what it is")
    rules = {type(m).__name__: m for m in field.metadata}
    assert field.default == int(limit.default)
    assert field.description == "what it is"
    assert rules["Ge"].ge == int(limit.minimum)
    assert rules["Le"].le == int(limit.maximum)
    if limit.step == 1:  # no multipleOf: 1 in the published schema
        assert "MultipleOf" not in rules
        assert "multipleOf" not in GenerationRequest.json_schema()["properties"][name]
    else:
        assert rules["MultipleOf"].multiple_of == limit.step


@pytest.mark.parametrize(("value", "shown"), [(8.0, "8"), (25, "25"), (1.5, "1.5"), (0.25, "0.25")])
def test_a_bound_is_shown_whole_when_it_is_whole(value, shown):
    assert _num(value) == shown


def test_more_samples_than_one_ask_for_json_and_one_sample_keeps_the_choice():
    assert GenerationRequest.create(prompt="x", samples=2, seed=1).as_sent().base64 is True
    assert GenerationRequest.create(prompt="x", samples=1, seed=1).as_sent().base64 is False


def test_a_random_seed_is_drawn_from_the_whole_range_up_to_its_maximum(monkeypatch):
    import secrets

    drawn: list[int] = []

    def highest(bound: int) -> int:  # the largest value secrets.randbelow(bound) can return
        drawn.append(bound)
        return bound - 1

    monkeypatch.setattr(secrets, "randbelow", highest)
    resolved = GenerationRequest.create(prompt="x").with_resolved_seed()
    assert resolved.seed == LIMITS["seed"].maximum
    assert drawn == [int(LIMITS["seed"].maximum) + 1]
