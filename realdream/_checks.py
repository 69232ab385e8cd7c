"""``realdream verify``'s verdicts: pure functions from what the probes saw to one row per fact.

Each check names a fact of :mod:`realdream.contract` (a constant in ``contract.FACTS``, or a
case of ``contract.STATUS_TABLE``), reads its expectation from there, finds the observed value
in a probe's exchange, and says whether the fact holds. Nothing here sends anything.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from realdream import contract
from realdream._errors import error_for_status
from realdream._headers import parse_datetime, parse_float
from realdream._probes import Exchange, unconfirmed_schedulers
from realdream._result import image_size, sniff_mime_type

__all__ = ["Observations", "Verdict", "VerifyRow", "build_rows", "describe"]

Verdict = Literal["holds", "differs", "not probed"]
_SHOWN: Final = 120  # characters of a body shown in a row


@dataclass(frozen=True)
class VerifyRow:
    """One fact: its mark, what the contract says, what the service did, and the verdict."""

    fact: str
    check: str
    mark: contract.Mark
    expected: str
    observed: str
    verdict: Verdict
    #: Why a fact was not probed (empty otherwise).
    reason: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "fact": self.fact,
            "check": self.check,
            "mark": self.mark,
            "expected": self.expected,
            "observed": self.observed,
            "verdict": self.verdict,
            "reason": self.reason,
        }


@dataclass
class Observations:
    """Everything the probes saw (exchanges by probe name) and why some were not sent."""

    exchanges: dict[str, Exchange] = field(default_factory=dict)
    #: Probe name -> why it was not sent (over the cap, an earlier step failed...).
    skipped: dict[str, str] = field(default_factory=dict)
    #: Every 429 met on the way (retried after the wait the server asked for).
    rate_limited: list[Exchange] = field(default_factory=list)
    #: Every v2 status poll, in order.
    v2_polls: list[Exchange] = field(default_factory=list)
    base_url: str = contract.BASE_URL
    #: Whether the user's key has the documented shape (the key itself is never kept).
    key_has_shape: bool = True
    #: Whether ``--schedulers`` asked for the scheduler probes.
    schedulers: bool = False


@dataclass(frozen=True)
class _Seen:
    observed: str
    holds: bool


Judge = Callable[[Exchange, Observations], "_Seen | str"]


@dataclass(frozen=True)
class _Check:
    """A fact, what is checked, the expectation, the probe it reads and how it is judged.

    A judge returns what it saw and whether that holds, or the reason it cannot tell.
    """

    fact: str
    check: str
    expected: str
    probe: str
    judge: Judge
    mark: contract.Mark | None = None


# --- Describing answers (never a balance, never a key: the caller scrubs the key) -------------
def describe(ex: Exchange, *, values: bool = True) -> str:
    """An answer in a few words: status and body (JSON shape only when ``values`` is false)."""
    mime = sniff_mime_type(ex.body)
    if mime is not None:
        size = image_size(ex.body, mime)
        shown = f" {size[0]}x{size[1]}" if size else ""
        return f"{ex.status} {ex.content_type or 'no content-type'}, {mime} bytes{shown}"
    data = ex.json()
    if data is not None:
        text = json.dumps(data if values else _shape(data), ensure_ascii=False)
        return f"{ex.status} {_clip(text)}"
    if _is_html(ex):
        return f"{ex.status} HTML {error_for_status(ex.status, ex.body, ex.headers).message!r}"
    text = ex.body.decode("utf-8", errors="replace").strip()
    return f"{ex.status} {ex.content_type or 'no content-type'} {_clip(text)!r}"


def _shape(data: Any) -> Any:
    """The JSON with every leaf replaced by its type (for bodies that carry a balance)."""
    if isinstance(data, dict):
        return {key: _shape(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_shape(value) for value in data]
    if isinstance(data, bool) or data is None:
        return data
    return "number" if isinstance(data, (int, float)) else "string"


def _clip(text: str) -> str:
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _is_html(ex: Exchange) -> bool:
    return "html" in ex.content_type or ex.body.lstrip().startswith(b"<")


def _body_shape(ex: Exchange) -> contract.Body | None:
    data = ex.json()
    if isinstance(data, dict):
        if contract.JOB_STATUS_KEY in data and contract.ERROR_BODY_KEY in data:
            return "job"
        if contract.ERROR_DESCRIPTION_KEY in data:
            return "auth"
        return "json" if contract.ERROR_BODY_KEY in data else None
    return "html" if _is_html(ex) else None


# --- Status-table rows -----------------------------------------------------------------------
def expected_answer(rule: contract.StatusRule) -> str:
    """A rule's documented answer in words: ``401 {"error": "Missing ..."}``."""
    message = rule.message or "<what is wrong>"
    if rule.body == "html":
        return f"{rule.status} HTML page {message!r}"
    if rule.body == "auth":
        code = rule.markers[0] if rule.markers else "<code>"
        return f'{rule.status} {{"error": "{code}", "error_description": "{message}"}}'
    if rule.body == "job":
        return f'{rule.status} {{"status": "FAILED", "error": "{message}", "metrics": {{...}}}}'
    return f'{rule.status} {{"error": "{message}"}}'


def _answers(ex: Exchange, rule: contract.StatusRule) -> bool:
    if ex.status != rule.status:
        return False
    error = error_for_status(ex.status, ex.body, ex.headers)
    if error.rule is not rule or _body_shape(ex) != rule.body:
        return False
    return rule.message is None or error.message == rule.message


def _status_check(probe: str, case: str, *also: str) -> _Check:
    """The row of status-table case ``case`` (or one of ``also``), judged on ``probe``."""
    rules = [_rule(name) for name in (case, *also)]

    def judge(ex: Exchange, obs: Observations) -> _Seen:
        return _Seen(describe(ex), any(_answers(ex, rule) for rule in rules))

    expected = " or ".join(expected_answer(rule) for rule in rules)
    return _Check(
        f"STATUS_TABLE[{case}]", rules[0].title, expected, probe, judge, mark=rules[0].mark
    )


def _rule(case: str) -> contract.StatusRule:
    rule = contract.rule_for_case(case)
    if rule is None:  # pragma: no cover - the table is fixed
        raise KeyError(case)
    return rule


# --- Credits and the key ---------------------------------------------------------------------
def _credits_ok(ex: Exchange, obs: Observations) -> _Seen:
    return _Seen(describe(ex, values=False), ex.status == 200 and isinstance(ex.json(), dict))


def _credits_keys(ex: Exchange, obs: Observations) -> _Seen | str:
    data = ex.json()
    if ex.status != 200 or not isinstance(data, dict):
        return f"the credits call answered {describe(ex, values=False)}"
    numbers = all(_is_number(data.get(key)) for key in contract.CREDITS_KEYS)
    return _Seen(describe(ex, values=False), numbers)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _key_accepted(ex: Exchange, obs: Observations) -> _Seen:
    return _Seen(f"{ex.status} on the credits call", ex.status == 200)


def _key_shape(ex: Exchange, obs: Observations) -> _Seen | str:
    if ex.status != 200:
        return "the key was not accepted"
    shape = "has that shape" if obs.key_has_shape else "does not have that shape"
    return _Seen(f"the key {shape} (not shown)", obs.key_has_shape)


def _base_url(ex: Exchange, obs: Observations) -> _Seen | str:
    if obs.base_url.rstrip("/") != contract.BASE_URL:
        return "another base URL was probed"
    return _Seen(f"answered ({ex.status})", True)


# --- Error bodies ----------------------------------------------------------------------------
def _auth_body(ex: Exchange, obs: Observations) -> _Seen | str:
    if _body_shape(ex) == "auth":
        return _Seen(describe(ex), True)
    return f"not seen: the invalid key got {describe(ex)}"


def _error_key(ex: Exchange, obs: Observations) -> _Seen | str:
    errors = [e for e in obs.exchanges.values() if 400 <= e.status < 500 and not _is_html(e)]
    if not errors:
        return "no JSON error answer was seen"
    odd = [e for e in errors if _body_shape(e) not in ("json", "auth")]
    if odd:
        return _Seen(f"{odd[0].probe}: {describe(odd[0])}", False)
    return _Seen(f"all {len(errors)} JSON error answers", True)


def _refused(ex: Exchange, obs: Observations) -> _Seen:
    return _Seen(describe(ex), 400 <= ex.status < 500)


def _is_406(ex: Exchange, obs: Observations) -> _Seen:
    return _Seen(describe(ex), ex.status == 406)


# --- The image -------------------------------------------------------------------------------
def _ok(ex: Exchange, obs: Observations) -> _Seen:
    return _Seen(describe(ex), ex.status == 200)


def _on_200(judge: Callable[[Exchange], _Seen | str]) -> Judge:
    """``judge`` reads a 200; any other answer means the fact could not be seen."""

    def judged(ex: Exchange, obs: Observations) -> _Seen | str:
        if ex.status != 200:
            return f"the {ex.probe} probe answered {describe(ex)}"
        return judge(ex)

    return judged


def _jpeg(ex: Exchange) -> _Seen:
    mime = sniff_mime_type(ex.body) or "unknown bytes"
    seen = f"content-type {ex.content_type or 'absent'}, {mime} body"
    return _Seen(seen, ex.content_type == mime == contract.IMAGE_CONTENT_TYPE)


def _size(ex: Exchange) -> _Seen | str:
    mime = sniff_mime_type(ex.body)
    size = image_size(ex.body, mime) if mime else None
    if size is None:
        return "the body is not a readable image"
    data = json.loads(ex.request_body)
    asked = (data["img_width"], data["img_height"])
    return _Seen(f"{size[0]}x{size[1]} for {asked[0]}x{asked[1]}", size == asked)


def _header(name: str) -> Judge:
    def judge(ex: Exchange) -> _Seen:
        present = bool((ex.header(name) or "").strip())
        return _Seen("present" if present else "absent", present)

    return _on_200(judge)


def _seed(ex: Exchange) -> _Seen | str:
    value = ex.header(contract.HEADER_SEED)
    if value is None:
        return f"no {contract.HEADER_SEED} header"
    seed = parse_float(value)
    top = contract.LIMITS["seed"].maximum
    whole = seed is not None and seed.is_integer() and 0 <= seed <= top
    return _Seen(f"{contract.HEADER_SEED}: {_clip(value)}", whole)


def _price(ex: Exchange) -> _Seen | str:
    cost = parse_float(ex.header(contract.HEADER_COST))
    if cost is None:
        return f"no readable {contract.HEADER_COST} header"
    images = len(_images(ex)) or 1
    each = round(cost / images, 6)
    price = round(contract.COST_PER_IMAGE_USD, 6)
    return _Seen(f"${each:g} per image ({contract.HEADER_COST})", each == price)


# --- base64 ----------------------------------------------------------------------------------
def _images(ex: Exchange) -> list[bytes]:
    """Every image in a success body (raw, or base64 under either key, prefix or not)."""
    if sniff_mime_type(ex.body) is not None:
        return [ex.body]
    data = ex.json()
    found = []
    for text in _base64_texts(data):
        try:
            found.append(base64.b64decode(text.partition(",")[2] if _prefixed(text) else text))
        except (binascii.Error, ValueError):
            continue
    return [blob for blob in found if sniff_mime_type(blob) is not None]


def _base64_texts(data: object) -> list[str]:
    if not isinstance(data, dict):
        return []
    found: list[str] = []
    for key in (contract.BASE64_ONE_KEY, contract.BASE64_MANY_KEY):
        value = data.get(key)
        items = value if isinstance(value, list) else [value]
        found += [item for item in items if isinstance(item, str)]
    return found


def _prefixed(text: str) -> bool:
    return text.startswith("data:")


def _many_key(ex: Exchange) -> _Seen:
    data = ex.json()
    if not isinstance(data, dict):
        return _Seen(describe(ex), False)
    samples = json.loads(ex.request_body)["samples"]
    value = data.get(contract.BASE64_MANY_KEY)
    items = value if isinstance(value, list) else []
    holds = isinstance(value, list) and len(items) == samples
    holds = holds and all(isinstance(item, str) for item in items)
    return _Seen(_clip(json.dumps(_b64_shape(data))), holds)


def _b64_shape(data: Mapping[str, Any]) -> dict[str, Any]:
    def one(value: Any) -> Any:
        if isinstance(value, list):
            return [one(item) for item in value]
        return "<base64>" if isinstance(value, str) and len(value) > 40 else value

    return {key: one(value) for key, value in data.items()}


def _data_prefix(ex: Exchange) -> _Seen | str:
    texts = _base64_texts(ex.json())
    if not texts:
        return "no base64 strings in the answer"
    prefixed = [text.split(",", 1)[0] for text in texts if _prefixed(text)]
    seen = f"prefix {prefixed[0]!r}" if prefixed else "no prefix"
    return _Seen(seen, bool(prefixed) == contract.BASE64_DATA_PREFIX)


def _all_samples(ex: Exchange) -> _Seen:
    samples = json.loads(ex.request_body)["samples"]
    found = len(_images(ex))
    return _Seen(f"{found} images for samples={samples}", found == samples)


# --- v2 --------------------------------------------------------------------------------------
def _submitted(ex: Exchange, obs: Observations) -> _Seen:
    seen = describe(ex)
    if ex.status == 404:
        seen += " (no v2 queue for this model here)"
    return _Seen(seen, 200 <= ex.status < 300)


def _submit_keys(ex: Exchange, obs: Observations) -> _Seen | str:
    data = ex.json()
    if not 200 <= ex.status < 300 or not isinstance(data, dict):
        return f"the v2 submit answered {describe(ex)}"
    missing = [key for key in contract.V2_SUBMIT_KEYS if key not in data]
    state = data.get(contract.JOB_STATUS_KEY)
    seen = f"keys {sorted(data)}, status {state!r}"
    return _Seen(seen, not missing and state == "QUEUED")


def _status_body(ex: Exchange, obs: Observations) -> _Seen | str:
    if not obs.v2_polls:
        return obs.skipped.get("v2-status", "no status poll was sent")
    last = obs.v2_polls[-1]
    data = last.json()
    if not isinstance(data, dict):
        return _Seen(describe(last), False)
    only = contract.JOB_OUTPUT_KEY not in data and contract.JOB_METRICS_KEY in data
    holds = only and data.get(contract.JOB_STATUS_KEY) in contract.JOB_STATES
    return _Seen(f"{last.status} keys {sorted(data)}", holds)


def _states(ex: Exchange, obs: Observations) -> _Seen | str:
    bodies = [e.json() for e in (ex, *obs.v2_polls, *_result(obs))]
    states = [b.get(contract.JOB_STATUS_KEY) for b in bodies if isinstance(b, dict)]
    if not 200 <= ex.status < 300 or not states:
        return f"the v2 submit answered {describe(ex)}"
    unknown = [s for s in states if s not in contract.JOB_STATES]
    return _Seen(" -> ".join(_dedupe(map(str, states))), not unknown)


def _dedupe(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        if not out or out[-1] != item:
            out.append(item)
    return out


def _result(obs: Observations) -> list[Exchange]:
    found = obs.exchanges.get("v2-result")
    return [found] if found is not None else []


def _completed(ex: Exchange) -> _Seen:
    data = ex.json()
    state = data.get(contract.JOB_STATUS_KEY) if isinstance(data, dict) else None
    return _Seen(f"{ex.status}, status {state!r}", ex.status == 200 and state == "COMPLETED")


def _result_json(judge: Callable[[dict[str, Any]], _Seen | str]) -> Judge:
    def judged(ex: Exchange, obs: Observations) -> _Seen | str:
        data = ex.json()
        if ex.status != 200 or not isinstance(data, dict):
            return f"the result answered {describe(ex)}"
        return judge(data)

    return judged


def _output(data: dict[str, Any]) -> _Seen:
    value = data.get(contract.JOB_OUTPUT_KEY)
    items = value if isinstance(value, list) else [value]
    ok = bool(items) and all(isinstance(item, str) and item for item in items)
    return _Seen(_output_words(value), ok)


def _output_words(value: object) -> str:
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, str):
        return "a URL" if value.startswith(("http://", "https://")) else "a string (base64?)"
    return "absent" if value is None else f"a {type(value).__name__}"


def _images_key(data: dict[str, Any]) -> _Seen:
    value = data.get(contract.JOB_IMAGES_KEY)
    urls = [i.get("url") for i in value if isinstance(i, dict)] if isinstance(value, list) else []
    ok = bool(urls) and all(isinstance(url, str) and url for url in urls)
    seen = f"{len(urls)} with a url" if isinstance(value, list) else _output_words(value)
    return _Seen(seen, ok)


def _seed_key(data: dict[str, Any]) -> _Seen:
    value = data.get(contract.JOB_SEED_KEY)
    seen = "absent" if value is None else f"{type(value).__name__} {_clip(str(value))}"
    return _Seen(seen, value is not None)


def _metric(name: str) -> Judge:
    def judge(data: dict[str, Any]) -> _Seen:
        metrics = data.get(contract.JOB_METRICS_KEY)
        value = metrics.get(name) if isinstance(metrics, dict) else None
        text = value if isinstance(value, str) else None
        present = _is_number(value) or parse_float(text) is not None
        return _Seen("present" if present else "absent", present)

    return _result_json(judge)


def _image_host(ex: Exchange, obs: Observations) -> _Seen | str:
    """The output URLs' host. A local stand-in (the mock) serves its images itself: it cannot
    speak for the vendor's host, so the fact is not probed there rather than said to differ."""
    data = ex.json()
    if ex.status != 200 or not isinstance(data, dict):
        return f"the result answered {describe(ex)}"
    value = data.get(contract.JOB_OUTPUT_KEY)
    items = value if isinstance(value, list) else [value]
    urls = [item for item in items if isinstance(item, str) and "://" in item]
    if not urls:
        return "the output holds no URL"
    hosts = sorted({urlsplit(url).hostname or "" for url in urls})
    own = urlsplit(obs.base_url).hostname or ""
    if hosts == [own] and _is_local(own):
        return f"{own} is a local stand-in that serves its own images"
    return _Seen(", ".join(hosts), hosts == [contract.IMAGE_HOST])


_LOCAL_SUFFIXES: Final = (".test", ".localhost", ".invalid", ".example", ".local")


def _is_local(host: str) -> bool:
    """Loopback, or a name reserved for tests and local use (RFC 2606, RFC 6761)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost" or host.endswith(_LOCAL_SUFFIXES)


# --- 429 -------------------------------------------------------------------------------------
def _rate_limit_rows(obs: Observations) -> list[VerifyRow]:
    rule = _rule("429")
    fact = "HEADER_RATE_LIMIT_RESET"
    check = f"{contract.HEADER_RATE_LIMIT_RESET} on a 429"
    if not obs.rate_limited:
        reason = "no 429 was met (verify does not provoke one)"
        return [
            _unprobed(f"STATUS_TABLE[{rule.case}]", rule.title, expected_answer(rule), reason),
            _unprobed(fact, check, "present, a readable time", reason),
        ]
    first = obs.rate_limited[0]
    reset = first.header(contract.HEADER_RATE_LIMIT_RESET)
    readable = parse_datetime(reset) is not None
    return [
        _row(
            f"STATUS_TABLE[{rule.case}]",
            rule.title,
            expected_answer(rule),
            _Seen(describe(first), _answers(first, rule)),
            rule.mark,
        ),
        _row(
            fact,
            check,
            "present, a readable time",
            _Seen(f"{reset!r}" if reset else "absent", readable),
        ),
    ]


# --- Schedulers ------------------------------------------------------------------------------
def _scheduler_rows(obs: Observations) -> list[VerifyRow]:
    names = unconfirmed_schedulers()
    if not obs.schedulers:
        reason = f"pass --schedulers: each of the {len(names)} names costs an image if accepted"
        return [_unprobed("SCHEDULERS", "the unconfirmed names are accepted", "200", reason)]
    return [
        _run(_Check("SCHEDULERS", f"{name!r} is accepted", "200", f"scheduler:{name}", _ok), obs)
        for name in names
    ]


# --- The table -------------------------------------------------------------------------------
def _checks() -> list[_Check]:
    """Every probed fact, in the order the probes are sent."""
    h = contract
    # fmt: off
    return [
        _Check("CREDITS_PATH", "GET answers a JSON object", "200 JSON", "credits", _credits_ok),
        _Check("CREDITS_KEYS", "the balance's keys are numbers",
               json.dumps(dict.fromkeys(h.CREDITS_KEYS, "number")), "credits", _credits_keys),
        _Check("API_KEY_HEADER", f"the key in {h.API_KEY_HEADER} is accepted", "200",
               "credits", _key_accepted),
        _Check("API_KEY_PATTERN", "the working key has the documented shape",
               h.API_KEY_SHAPE, "credits", _key_shape),
        _Check("BASE_URL", "the service answers there", h.BASE_URL, "credits", _base_url),
        _status_check("no-key", "401-missing-key"),
        _status_check("malformed-key", "401", "401-invalid-api-key"),
        _Check("ERROR_DESCRIPTION_KEY", "an auth error carries error_description",
               expected_answer(_rule("401-invalid-api-key")), "malformed-key", _auth_body),
        _status_check("get-generate", "405"),
        _status_check("unknown-model", "404"),
        _Check("CONTENT_TYPE", f"a body not sent as {h.CONTENT_TYPE} is refused",
               "406", "content-type", _is_406),
        _status_check("content-type", "406-content-type"),
        _status_check("out-of-range", "400"),
        _Check("LIMITS", "num_inference_steps above its maximum is refused, unbilled",
               "a 4xx", "out-of-range", _refused),
        _Check("ERROR_BODY_KEY", f'JSON errors are {{"{h.ERROR_BODY_KEY}": ...}}',
               f'{{"{h.ERROR_BODY_KEY}": "<message>"}}', "credits", _error_key),
        _Check("GENERATE_PATH", "POST one image", "200", "image", _ok),
        _Check("IMAGE_CONTENT_TYPE", "base64: false answers the raw image",
               f"content-type {h.IMAGE_CONTENT_TYPE}, {h.IMAGE_CONTENT_TYPE} body",
               "image", _on_200(_jpeg)),
        _Check("IMAGE_SIZE_AS_REQUESTED", "the image has the size asked for",
               "the requested width x height", "image", _on_200(_size)),
        *(_Check(name, f"{getattr(h, name)} on a 200", "present", "image",
                 _header(getattr(h, name))) for name in _HEADERS),
        _Check("RANDOM_SEED", "seed -1 comes back as the seed used",
               f"{h.HEADER_SEED}: a whole number >= 0", "image", _on_200(_seed)),
        _Check("COST_PER_IMAGE_USD", "the price per image",
               f"${h.COST_PER_IMAGE_USD:g} per image ({h.HEADER_COST})", "image",
               _on_200(_price)),
        _Check("BASE64_MANY_KEY", "base64 with 2 samples: the JSON shape",
               f'{{"{h.BASE64_MANY_KEY}": ["<base64>", "<base64>"]}}', "base64",
               _on_200(_many_key)),
        _Check("BASE64_DATA_PREFIX", "base64 strings carry a data: prefix",
               "a prefix" if h.BASE64_DATA_PREFIX else "no prefix", "base64",
               _on_200(_data_prefix)),
        _Check("BASE64_ALL_SAMPLES", "base64 with 2 samples returns both images",
               "2 images for samples=2", "base64", _on_200(_all_samples)),
        _Check("V2_SUBMIT_PATH", "POST submits a job", "2xx", "v2-submit", _submitted),
        _Check("V2_SUBMIT_KEYS", "the submit answer's keys",
               f"{', '.join(h.V2_SUBMIT_KEYS)}; status 'QUEUED'", "v2-submit", _submit_keys),
        _Check("V2_STATUS_PATH", "a status poll returns status and metrics, no output",
               f"{h.JOB_STATUS_KEY}, {h.JOB_METRICS_KEY}; no {h.JOB_OUTPUT_KEY}",
               "v2-submit", _status_body),
        _Check("JOB_STATES", "every state seen is documented", " | ".join(h.JOB_STATES),
               "v2-submit", _states),
        _Check("V2_RESULT_PATH", "the result of a finished job", "200, status 'COMPLETED'",
               "v2-result", _on_200(_completed)),
        _Check("JOB_OUTPUT_KEY", "the result's output", "a URL, a list of them, or base64",
               "v2-result", _result_json(_output)),
        _Check("JOB_IMAGES_KEY", "the result's images[].url", "a list of {url, ...}",
               "v2-result", _result_json(_images_key)),
        _Check("JOB_SEED_KEY", "the result's seed", "present (a string)", "v2-result",
               _result_json(_seed_key)),
        *(_Check(name, f"metrics.{getattr(h, name)} in the result", "present", "v2-result",
                 _metric(getattr(h, name))) for name in _METRICS),
        _Check("IMAGE_HOST", "the output URL's host", h.IMAGE_HOST, "v2-result", _image_host),
    ]
    # fmt: on


_HEADERS: Final = (
    "HEADER_REMAINING_CREDITS",
    "HEADER_REQUEST_ID",
    "HEADER_COST",
    "HEADER_GENERATION_TIME",
    "HEADER_SEED",
)
_METRICS: Final = (
    "METRIC_COST",
    "METRIC_REMAINING_CREDITS",
    "METRIC_INFERENCE_TIME",
    "METRIC_QUEUE_TIME",
    "METRIC_TOTAL_TIME",
)
#: Why the facts verify has no probe for are not probed (the rest: "no probe for this fact").
_UNPROBED: Final = {
    "BASE64_ONE_KEY": "a one-sample base64 request would cost another image",
    "CONFIRMED_SCHEDULERS": "shown on the vendor's page",
    "RESULT_TTL_S": "it takes an hour",
    "FAILED_STATUS_CODES": "it needs a job that fails",
    "POLLS_COUNT_AGAINST_RATE_LIMIT": "it needs a run at the rate limit",
    "RATE_LIMIT_FREE_PER_MINUTE": "it needs a run at the rate limit",
    "RATE_LIMIT_PRO_PER_MINUTE": "it needs a run at the rate limit",
    "BILLED_STATUSES": "the balance is not compared before and after",
    "401-invalid-api-key": "see STATUS_TABLE[401] and ERROR_DESCRIPTION_KEY",
}


def _run(check: _Check, obs: Observations) -> VerifyRow:
    mark = check.mark or contract.FACTS[check.fact].mark
    ex = obs.exchanges.get(check.probe)
    if ex is None:
        reason = obs.skipped.get(check.probe, "not sent")
        return _unprobed(check.fact, check.check, check.expected, reason, mark)
    outcome = check.judge(ex, obs)
    if isinstance(outcome, str):
        return _unprobed(check.fact, check.check, check.expected, outcome, mark)
    return _row(check.fact, check.check, check.expected, outcome, mark)


def _row(
    fact: str, check: str, expected: str, seen: _Seen, mark: contract.Mark | None = None
) -> VerifyRow:
    verdict: Verdict = "holds" if seen.holds else "differs"
    mark = mark or contract.FACTS[fact].mark
    return VerifyRow(fact, check, mark, expected, seen.observed, verdict)


def _unprobed(
    fact: str, check: str, expected: str, reason: str, mark: contract.Mark | None = None
) -> VerifyRow:
    mark = mark or _mark(fact)
    return VerifyRow(fact, check, mark, expected, "", "not probed", reason)


def _mark(fact: str) -> contract.Mark:
    if fact.startswith("STATUS_TABLE["):
        return _rule(fact[len("STATUS_TABLE[") : -1]).mark
    return contract.FACTS[fact].mark


def _rest(rows: Sequence[VerifyRow]) -> list[VerifyRow]:
    """A not-probed row for every fact and status case no check covered."""
    seen = {row.fact for row in rows}
    out = [
        _unprobed(name, "", _value(fact.value), _UNPROBED.get(name, "no probe for this fact"))
        for name, fact in contract.FACTS.items()
        if name not in seen
    ]
    for rule in contract.STATUS_TABLE:
        fact = f"STATUS_TABLE[{rule.case}]"
        if rule.case and fact not in seen:
            reason = _UNPROBED.get(rule.case, "verify cannot cause it for free")
            out.append(_unprobed(fact, rule.title, expected_answer(rule), reason, rule.mark))
    return out


def _value(value: object) -> str:
    if isinstance(value, (frozenset, set)):
        value = sorted(value, key=str)
    return _clip(value if isinstance(value, str) else repr(value))


def build_rows(obs: Observations) -> list[VerifyRow]:
    """One row per fact: the probed ones in the order they were sent, then the rest."""
    rows = [_run(check, obs) for check in _checks()]
    rows += _scheduler_rows(obs) + _rate_limit_rows(obs)
    return rows + _rest(rows)
