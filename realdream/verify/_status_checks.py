"""The facts the free probes show: the credits call and the key, and the status table's error
answers (each documented case, its body, and a 429 met on the way)."""

from __future__ import annotations

import json

from realdream import contract
from realdream._amounts import parse_amount
from realdream._errors import error_for_status
from realdream._headers import parse_datetime
from realdream.verify._describe import body_shape, describe, is_html
from realdream.verify._exchange import Exchange
from realdream.verify._observations import Observations
from realdream.verify._rows import Check, Seen, VerifyRow, row, rule, unprobed

__all__ = ["expected_answer", "free_checks", "rate_limit_rows"]


def expected_answer(found: contract.StatusRule) -> str:
    """A rule's documented answer in words: ``401 {"error": "Missing ..."}``."""
    message = found.message or "<what is wrong>"
    if found.body == "html":
        return f"{found.status} HTML page {message!r}"
    if found.body == "auth":
        code = found.markers[0] if found.markers else "<code>"
        return f'{found.status} {{"error": "{code}", "error_description": "{message}"}}'
    if found.body == "job":
        return f'{found.status} {{"status": "FAILED", "error": "{message}", "metrics": {{...}}}}'
    return f'{found.status} {{"error": "{message}"}}'


def _answers(ex: Exchange, found: contract.StatusRule) -> bool:
    if ex.status != found.status:
        return False
    error = error_for_status(ex.status, ex.body, ex.headers)
    if error.rule is not found or body_shape(ex) != found.body:
        return False
    return found.message is None or error.message == found.message


def _status_check(probe: str, case: str, *also: str) -> Check:
    """The row of status-table case ``case`` (or one of ``also``), judged on ``probe``."""
    rules = [rule(name) for name in (case, *also)]

    def judge(ex: Exchange, obs: Observations) -> Seen:
        return Seen(describe(ex), any(_answers(ex, found) for found in rules))

    expected = " or ".join(expected_answer(found) for found in rules)
    return Check(
        f"STATUS_TABLE[{case}]", rules[0].title, expected, probe, judge, mark=rules[0].mark
    )


# --- Credits and the key ---------------------------------------------------------------------
def _credits_ok(ex: Exchange, obs: Observations) -> Seen:
    return Seen(describe(ex, values=False), ex.status == 200 and isinstance(ex.json(), dict))


def _credits_keys(ex: Exchange, obs: Observations) -> Seen | str:
    data = ex.json()
    if ex.status != 200 or not isinstance(data, dict):
        return f"the credits call answered {describe(ex, values=False)}"
    numbers = all(_is_amount(data.get(key), key) for key in contract.CREDITS_KEYS)
    return Seen(describe(ex, values=False), numbers)


def _is_amount(value: object, key: str) -> bool:
    """Whether ``value`` is a balance that can be true (finite, not negative, not a string)."""
    if not isinstance(value, (int, float)):
        return False
    try:
        parse_amount(value, field=key)
    except ValueError:
        return False
    return True


def _key_accepted(ex: Exchange, obs: Observations) -> Seen:
    return Seen(f"{ex.status} on the credits call", ex.status == 200)


def _key_shape(ex: Exchange, obs: Observations) -> Seen | str:
    if ex.status != 200:
        return "the key was not accepted"
    shape = "has that shape" if obs.key_has_shape else "does not have that shape"
    return Seen(f"the key {shape} (not shown)", obs.key_has_shape)


def _base_url(ex: Exchange, obs: Observations) -> Seen | str:
    if obs.base_url.rstrip("/") != contract.BASE_URL:
        return "another base URL was probed"
    return Seen(f"answered ({ex.status})", True)


# --- Error bodies ----------------------------------------------------------------------------
def _auth_body(ex: Exchange, obs: Observations) -> Seen | str:
    if body_shape(ex) == "auth":
        return Seen(describe(ex), True)
    return f"not seen: the invalid key got {describe(ex)}"


def _error_key(ex: Exchange, obs: Observations) -> Seen | str:
    errors = [e for e in obs.exchanges.values() if 400 <= e.status < 500 and not is_html(e)]
    if not errors:
        return "no JSON error answer was seen"
    odd = [e for e in errors if body_shape(e) not in ("json", "auth")]
    if odd:
        return Seen(f"{odd[0].probe}: {describe(odd[0])}", False)
    return Seen(f"all {len(errors)} JSON error answers", True)


def _refused(ex: Exchange, obs: Observations) -> Seen:
    return Seen(describe(ex), 400 <= ex.status < 500)


def _is_406(ex: Exchange, obs: Observations) -> Seen:
    return Seen(describe(ex), ex.status == 406)


def free_checks() -> tuple[Check, ...]:
    """The checks, in the order the probes are sent (read from the contract when called)."""
    return (
        Check("CREDITS_PATH", "GET answers a JSON object", "200 JSON", "credits", _credits_ok),
        Check(
            "CREDITS_KEYS",
            "the balance's keys are numbers",
            json.dumps(dict.fromkeys(contract.CREDITS_KEYS, "number")),
            "credits",
            _credits_keys,
        ),
        Check(
            "API_KEY_HEADER",
            f"the key in {contract.API_KEY_HEADER} is accepted",
            "200",
            "credits",
            _key_accepted,
        ),
        Check(
            "API_KEY_PATTERN",
            "the working key has the documented shape",
            contract.API_KEY_SHAPE,
            "credits",
            _key_shape,
        ),
        Check("BASE_URL", "the service answers there", contract.BASE_URL, "credits", _base_url),
        _status_check("no-key", "401-missing-key"),
        _status_check("malformed-key", "401", "401-invalid-api-key"),
        Check(
            "ERROR_DESCRIPTION_KEY",
            "an auth error carries error_description",
            expected_answer(rule("401-invalid-api-key")),
            "malformed-key",
            _auth_body,
        ),
        _status_check("get-generate", "405"),
        _status_check("unknown-model", "404"),
        Check(
            "CONTENT_TYPE",
            f"a body not sent as {contract.CONTENT_TYPE} is refused",
            "406",
            "content-type",
            _is_406,
        ),
        _status_check("content-type", "406-content-type"),
        _status_check("out-of-range", "400"),
        Check(
            "LIMITS",
            "num_inference_steps above its maximum is refused, unbilled",
            "a 4xx",
            "out-of-range",
            _refused,
        ),
        Check(
            "ERROR_BODY_KEY",
            f'JSON errors are {{"{contract.ERROR_BODY_KEY}": ...}}',
            f'{{"{contract.ERROR_BODY_KEY}": "<message>"}}',
            "credits",
            _error_key,
        ),
    )


# --- 429 -------------------------------------------------------------------------------------
def rate_limit_rows(obs: Observations) -> list[VerifyRow]:
    """The 429 case and its reset header, judged on the first 429 met (verify provokes none)."""
    found = rule("429")
    fact = f"STATUS_TABLE[{found.case}]"
    header = "HEADER_RATE_LIMIT_RESET"
    check = f"{contract.HEADER_RATE_LIMIT_RESET} on a 429"
    if not obs.rate_limited:
        reason = "no 429 was met (verify does not provoke one)"
        return [
            unprobed(fact, found.title, expected_answer(found), reason),
            unprobed(header, check, "present, a readable time", reason),
        ]
    first = obs.rate_limited[0]
    reset = first.header(contract.HEADER_RATE_LIMIT_RESET)
    readable = parse_datetime(reset) is not None
    return [
        row(
            fact, found.title, expected_answer(found), Seen(describe(first), _answers(first, found))
        ),
        row(
            header,
            check,
            "present, a readable time",
            Seen(repr(reset) if reset else "absent", readable),
        ),
    ]
