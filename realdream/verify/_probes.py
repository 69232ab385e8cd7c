"""The requests ``realdream verify`` sends and what they may cost: data only.

Every path, header, bound and price is read from :mod:`realdream.contract`. Each probe's body
names the probe in its prompt, so every recorded request is unique (method, path and body) and
a replay can answer it alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from realdream import contract

__all__ = [
    "DEFAULT_VERIFY_MAX_COST",
    "FREE_PROBES",
    "MALFORMED_KEY",
    "UNKNOWN_MODEL_PATH",
    "V2_PROBE",
    "Probe",
    "billed_probes",
    "payload",
    "scheduler_probe",
    "unconfirmed_schedulers",
]

#: What ``realdream verify`` may spend by default (USD): the billed probes cost 4 images.
DEFAULT_VERIFY_MAX_COST: Final = 0.01

#: Sent by the invalid-key probe: not the shape of a key, and never the user's.
MALFORMED_KEY: Final = "SG_not-a-real-key"
UNKNOWN_MODEL_PATH: Final = "/v1/realdream-verify-no-such-model"
KeyUse = Literal["user", "none", "malformed"]

_STEPS: Final = contract.LIMITS["num_inference_steps"]
_SMALLEST: Final = (
    int(contract.LIMITS["img_width"].minimum),
    int(contract.LIMITS["img_height"].minimum),
)


def payload(probe: str, **changes: object) -> dict[str, object]:
    """The smallest request, named after ``probe`` (seed ``-1``, so the server picks one)."""
    body: dict[str, object] = {
        "prompt": f"realdream verify: {probe}",
        "samples": 1,
        "num_inference_steps": int(_STEPS.default),
        "seed": contract.RANDOM_SEED,
        "img_width": _SMALLEST[0],
        "img_height": _SMALLEST[1],
        "base64": False,
    }
    body.update(changes)
    return body


@dataclass(frozen=True)
class Probe:
    """One request: where it goes, with which key and body, and what a 200 would cost.

    ``images`` is what the service bills if it answers 200; it is reserved against the cap
    before the request is sent. A free probe with ``images`` is one whose expected answer is
    an error, but which a service that ignored its own rule could bill.
    """

    name: str
    method: str
    path: str
    body: Mapping[str, object] | None = None
    key: KeyUse = "user"
    content_type: str = contract.CONTENT_TYPE
    images: int = 0
    billed: bool = False

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":")).encode()


_GENERATE: Final = contract.GENERATE_PATH

#: Sent first: their expected answers are errors (or the free credits call), never billed.
FREE_PROBES: Final = (
    Probe("credits", "GET", contract.CREDITS_PATH),
    Probe("no-key", "POST", _GENERATE, payload("no key"), key="none"),
    Probe("malformed-key", "POST", _GENERATE, payload("malformed key"), key="malformed"),
    Probe("get-generate", "GET", _GENERATE),
    Probe("unknown-model", "POST", UNKNOWN_MODEL_PATH, payload("unknown model")),
    Probe(
        "content-type",
        "POST",
        _GENERATE,
        payload("wrong content type"),
        content_type="text/plain",
        images=1,
    ),
    Probe(
        "out-of-range",
        "POST",
        _GENERATE,
        payload("out of range", num_inference_steps=int(_STEPS.maximum) + 1),
        images=1,
    ),
)

#: The v2 job: one image, submitted to the queue, then polled.
V2_PROBE: Final = Probe(
    "v2", "POST", contract.V2_SUBMIT_PATH, payload("v2 job"), images=1, billed=True
)


def billed_probes() -> tuple[Probe, ...]:
    """The v1 probes that cost images (the v2 job is :data:`V2_PROBE`)."""
    return (
        Probe("image", "POST", _GENERATE, payload("image"), images=1, billed=True),
        Probe(
            "base64",
            "POST",
            _GENERATE,
            payload("base64", samples=2, base64=True),
            images=2,
            billed=True,
        ),
    )


def unconfirmed_schedulers() -> tuple[str, ...]:
    """The scheduler names we accept that the vendor's page does not show."""
    return tuple(n for n in contract.SCHEDULERS if n not in contract.CONFIRMED_SCHEDULERS)


def scheduler_probe(name: str) -> Probe:
    """One image with scheduler ``name``: a refusal is free, an acceptance costs one image."""
    body = payload(f"scheduler {name}", scheduler=name)
    return Probe(f"scheduler:{name}", "POST", _GENERATE, body, images=1, billed=True)
