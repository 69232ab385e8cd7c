"""The facts the v2 probe shows: the submit's answer, the status polls, the job's states, and
the result's keys, metrics and image host."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any, Final
from urllib.parse import urlsplit

from realdream import contract
from realdream._amounts import parse_amount
from realdream.verify._describe import clip, describe
from realdream.verify._exchange import Exchange, request_id
from realdream.verify._observations import Observations
from realdream.verify._rows import Check, Judge, Seen

__all__ = ["job_checks"]

_METRICS: Final = (
    "METRIC_COST",
    "METRIC_REMAINING_CREDITS",
    "METRIC_INFERENCE_TIME",
    "METRIC_QUEUE_TIME",
    "METRIC_TOTAL_TIME",
)
_LOCAL_SUFFIXES: Final = (".test", ".localhost", ".invalid", ".example", ".local")


def _submitted(ex: Exchange, obs: Observations) -> Seen:
    seen = describe(ex)
    if ex.status == 404:
        seen += " (no v2 queue for this model here)"
    accepted = 200 <= ex.status < 300
    if accepted and request_id(ex) is None:
        seen += " (no usable request_id: a job nobody can follow, held as paid)"
    return Seen(seen, accepted and request_id(ex) is not None)


def _submit_keys(ex: Exchange, obs: Observations) -> Seen | str:
    data = ex.json()
    if not 200 <= ex.status < 300:
        return f"the v2 submit answered {describe(ex)}"
    if not isinstance(data, dict):
        return Seen(f"not a JSON object: {describe(ex)}", False)
    missing = [key for key in contract.V2_SUBMIT_KEYS if key not in data]
    state = data.get(contract.JOB_STATUS_KEY)
    usable = request_id(ex) is not None
    seen = f"keys {sorted(data)}, status {state!r}"
    if not usable:
        seen += f", request_id {clip(repr(data.get('request_id')))} is not usable"
    return Seen(seen, not missing and state == "QUEUED" and usable)


def _status_body(ex: Exchange, obs: Observations) -> Seen | str:
    if not obs.v2_polls:
        return obs.skipped.get("v2-status", "no status poll was sent")
    last = obs.v2_polls[-1]
    data = last.json()
    if not isinstance(data, dict):
        return Seen(describe(last), False)
    only = contract.JOB_OUTPUT_KEY not in data and contract.JOB_METRICS_KEY in data
    holds = only and data.get(contract.JOB_STATUS_KEY) in contract.JOB_STATES
    return Seen(f"{last.status} keys {sorted(data)}", holds)


def _states(ex: Exchange, obs: Observations) -> Seen | str:
    bodies = [e.json() for e in (ex, *obs.v2_polls, *_result(obs))]
    states = [b.get(contract.JOB_STATUS_KEY) for b in bodies if isinstance(b, dict)]
    if not 200 <= ex.status < 300 or not states:
        return f"the v2 submit answered {describe(ex)}"
    unknown = [s for s in states if s not in contract.JOB_STATES]
    return Seen(" -> ".join(_dedupe(map(str, states))), not unknown)


def _dedupe(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        if not out or out[-1] != item:
            out.append(item)
    return out


def _result(obs: Observations) -> list[Exchange]:
    found = obs.exchanges.get("v2-result")
    return [found] if found is not None else []


def _completed(ex: Exchange, obs: Observations) -> Seen | str:
    if ex.status != 200:
        return f"the {ex.probe} probe answered {describe(ex)}"
    data = ex.json()
    state = data.get(contract.JOB_STATUS_KEY) if isinstance(data, dict) else None
    return Seen(f"{ex.status}, status {state!r}", state == "COMPLETED")


def _result_json(judge: Callable[[dict[str, Any]], Seen | str]) -> Judge:
    def judged(ex: Exchange, obs: Observations) -> Seen | str:
        data = ex.json()
        if ex.status != 200 or not isinstance(data, dict):
            return f"the result answered {describe(ex)}"
        return judge(data)

    return judged


def _output(data: dict[str, Any]) -> Seen:
    value = data.get(contract.JOB_OUTPUT_KEY)
    items = value if isinstance(value, list) else [value]
    ok = bool(items) and all(isinstance(item, str) and item for item in items)
    return Seen(_output_words(value), ok)


def _output_words(value: object) -> str:
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, str):
        return "a URL" if value.startswith(("http://", "https://")) else "a string (base64?)"
    return "absent" if value is None else f"a {type(value).__name__}"


def _images_key(data: dict[str, Any]) -> Seen:
    value = data.get(contract.JOB_IMAGES_KEY)
    urls = [i.get("url") for i in value if isinstance(i, dict)] if isinstance(value, list) else []
    ok = bool(urls) and all(isinstance(url, str) and url for url in urls)
    seen = f"{len(urls)} with a url" if isinstance(value, list) else _output_words(value)
    return Seen(seen, ok)


def _seed_key(data: dict[str, Any]) -> Seen:
    value = data.get(contract.JOB_SEED_KEY)
    seen = "absent" if value is None else f"{type(value).__name__} {clip(str(value))}"
    return Seen(seen, value is not None)


def _metric(name: str) -> Judge:
    def judge(data: dict[str, Any]) -> Seen:
        metrics = data.get(contract.JOB_METRICS_KEY)
        value = metrics.get(name) if isinstance(metrics, dict) else None
        if value is None:
            return Seen("absent", False)
        if not _is_amount(value, f"{contract.JOB_METRICS_KEY}.{name}"):
            return Seen(f"{clip(repr(value))}: not a number that can be true", False)
        return Seen("present", True)

    return _result_json(judge)


def _is_amount(value: object, field: str) -> bool:
    """Whether ``value`` is a number that can be true (a finite amount, or the text of one)."""
    try:
        parse_amount(value, field=field)
    except ValueError:
        return False
    return True


def _image_host(ex: Exchange, obs: Observations) -> Seen | str:
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
    return Seen(", ".join(hosts), hosts == [contract.IMAGE_HOST])


def _is_local(host: str) -> bool:
    """Loopback, or a name reserved for tests and local use (RFC 2606, RFC 6761)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost" or host.endswith(_LOCAL_SUFFIXES)


def job_checks() -> tuple[Check, ...]:
    """The checks, in the order the probes are sent (read from the contract when called)."""
    c = contract
    return (
        Check("V2_SUBMIT_PATH", "POST submits a job", "2xx", "v2-submit", _submitted),
        Check("V2_SUBMIT_KEYS", "the submit answer's keys",
              f"{', '.join(c.V2_SUBMIT_KEYS)}; status 'QUEUED'", "v2-submit", _submit_keys),
        Check("V2_STATUS_PATH", "a status poll returns status and metrics, no output",
              f"{c.JOB_STATUS_KEY}, {c.JOB_METRICS_KEY}; no {c.JOB_OUTPUT_KEY}",
              "v2-submit", _status_body),
        Check("JOB_STATES", "every state seen is documented", " | ".join(c.JOB_STATES),
              "v2-submit", _states),
        Check("V2_RESULT_PATH", "the result of a finished job", "200, status 'COMPLETED'",
              "v2-result", _completed),
        Check("JOB_OUTPUT_KEY", "the result's output", "a URL, a list of them, or base64",
              "v2-result", _result_json(_output)),
        Check("JOB_IMAGES_KEY", "the result's images[].url", "a list of {url, ...}",
              "v2-result", _result_json(_images_key)),
        Check("JOB_SEED_KEY", "the result's seed", "present (a string)", "v2-result",
              _result_json(_seed_key)),
        *(Check(name, f"metrics.{getattr(c, name)} in the result", "present", "v2-result",
                _metric(getattr(c, name))) for name in _METRICS),
        Check("IMAGE_HOST", "the output URL's host", c.IMAGE_HOST, "v2-result", _image_host),
    )  # fmt: skip
