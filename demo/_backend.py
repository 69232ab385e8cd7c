"""Which server a request goes to, and with which key: decided per request, never shared.

=====================================  ===============================================
Configuration                          Where a request goes
=====================================  ===============================================
``REALDREAM_MOCK=1`` or ``--mock``     the in-process offline mock, whatever the key
"Offline mock" ticked                  the in-process offline mock, whatever the key
a key typed into the page              ``REALDREAM_BASE_URL`` or the real API, that key
``SEGMIND_API_KEY`` (a Space secret)   ``REALDREAM_BASE_URL`` or the real API, that key
``REALDREAM_BASE_URL`` alone           that server, with the mock's documented test key
nothing                                the in-process offline mock
=====================================  ===============================================

``REALDREAM_API=v2`` (or ``--api v2``) sends every request through the v2 queue (submit, then
poll), on any route; v1 (one blocking call) is the default.

A typed key lives only in the call that uses it: the client made for it is closed when the
call returns, so one visitor's key is never seen by, stored for or used for another. A typed
key without the documented shape is refused before any request.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Final

import httpx

import realdream
from realdream import contract

if TYPE_CHECKING:
    from realdream.mock import MockService

__all__ = [
    "API_ENV",
    "DEFAULT_API",
    "DEFAULT_MOCK_LATENCY_S",
    "MOCK_ENV",
    "MOCK_LATENCY_ENV",
    "Backend",
    "KeyShapeError",
    "Mode",
    "Route",
    "api_from_env",
    "check_key_shape",
]

#: ``v1`` (one blocking call per generation) or ``v2`` (a queued job, its state shown).
API_ENV: Final = "REALDREAM_API"
DEFAULT_API: Final[realdream.Api] = "v1"
#: Set to 1/true/yes/on to force the offline mock even when a key is configured.
MOCK_ENV: Final = "REALDREAM_MOCK"
#: Seconds the offline mock takes per request (default :data:`DEFAULT_MOCK_LATENCY_S`).
MOCK_LATENCY_ENV: Final = "REALDREAM_MOCK_LATENCY"
#: Short enough to keep the offline demo snappy, long enough to show the progress bar.
DEFAULT_MOCK_LATENCY_S: Final = 1.0
#: The offline mock's balance: a long-running Space must not run dry (10 USD = 5,000 images).
OFFLINE_CREDITS_USD: Final = 1_000_000.0
#: Where in-process mock requests claim to go; no socket is ever opened for it.
MOCK_BASE_URL: Final = "http://offline-mock.invalid"
_TRUE: Final = frozenset({"1", "true", "yes", "on"})

TransportFactory = Callable[[], httpx.BaseTransport]


class Mode(Enum):
    """How the app was configured at start-up (what the banner tells visitors)."""

    FORCED_MOCK = "forced mock"
    OFFLINE = "offline mock"
    SERVER_KEY = "server key"
    CUSTOM_SERVER = "custom server"


@dataclass(frozen=True)
class Route:
    """Where one request goes; ``offline`` when the in-process mock answers it, ``server_key``
    when the app's own key pays for it (the spend guard's business)."""

    label: str
    offline: bool
    expected_latency_s: float
    server_key: bool = False
    api: realdream.Api = DEFAULT_API


class KeyShapeError(ValueError):
    """A typed key that cannot be a Segmind key; ``message`` is for the visitor (no key)."""

    def __init__(self) -> None:
        self.message = (
            f"The API key you typed does not look like a Segmind key: keys look like "
            f"{contract.API_KEY_SHAPE}. Nothing was sent. Check it, or clear the box."
        )
        super().__init__(self.message)


def check_key_shape(typed_key: str | None) -> None:
    """Raise :class:`KeyShapeError` for a typed key without the documented shape."""
    if typed_key is not None and not re.fullmatch(contract.API_KEY_PATTERN, typed_key):
        raise KeyShapeError


@dataclass(frozen=True, repr=False)
class Backend:
    """The app's server choice. Holds the server's own secret, never a visitor's key.

    ``mock_transport`` makes a fresh transport onto the app's one mock service per request;
    ``mock_key`` is the key sent to it (default: the mock's documented test key).
    ``api_transport`` replaces the network for the other routes (tests use it). ``api`` is
    the path every request takes: ``"v1"`` or ``"v2"`` (the queue).
    """

    mode: Mode
    base_url: str | None = None
    server_key: str | None = None
    mock_transport: TransportFactory | None = None
    mock_latency_s: float = DEFAULT_MOCK_LATENCY_S
    service: MockService | None = None
    max_retries: int | None = None
    mock_key: str | None = None
    api_transport: TransportFactory | None = None
    api: realdream.Api = DEFAULT_API

    def __post_init__(self) -> None:
        _check_api(self.api, "api")

    def __repr__(self) -> str:
        return f"Backend(mode={self.mode.value!r}, base_url={self.base_url!r}, api={self.api!r})"

    @property
    def accepts_typed_key(self) -> bool:
        """Whether the page shows the API key box (hidden in forced mock mode)."""
        return self.mode is not Mode.FORCED_MOCK

    @property
    def offers_offline_mock(self) -> bool:
        """Whether the page offers the offline mock as a choice (it is the default offline)."""
        has_mock = self.mock_transport is not None
        return has_mock and self.mode in (Mode.SERVER_KEY, Mode.CUSTOM_SERVER)

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        force_mock: bool = False,
        mock_latency_s: float | None = None,
        api: realdream.Api | None = None,
    ) -> Backend:
        """Read ``SEGMIND_API_KEY``, ``REALDREAM_BASE_URL``, ``REALDREAM_MOCK``,
        ``REALDREAM_API`` and friends; ``api`` (the ``--api`` option) overrides the variable."""
        env = os.environ if environ is None else environ
        latency = _latency_from(env) if mock_latency_s is None else mock_latency_s
        api = api_from_env(env) if api is None else api
        forced = force_mock or env.get(MOCK_ENV, "").strip().lower() in _TRUE
        base_url = env.get(realdream.BASE_URL_ENV, "").strip() or None
        server_key = env.get(realdream.API_KEY_ENV, "").strip() or None
        if forced or (server_key is None and base_url is None):
            mode = Mode.FORCED_MOCK if forced else Mode.OFFLINE
            return cls.offline(mode=mode, latency_s=latency, api=api)
        mode = Mode.SERVER_KEY if server_key else Mode.CUSTOM_SERVER
        mock = cls.offline(latency_s=latency)  # for visitors who tick "Offline mock"
        return cls(
            mode,
            base_url=base_url,
            server_key=server_key,
            mock_transport=mock.mock_transport,
            mock_latency_s=latency,
            service=mock.service,
            api=api,
        )

    @classmethod
    def offline(
        cls,
        *,
        mode: Mode = Mode.OFFLINE,
        latency_s: float = DEFAULT_MOCK_LATENCY_S,
        max_retries: int | None = None,
        api: realdream.Api = DEFAULT_API,
        **config: Any,
    ) -> Backend:
        """The built-in mock in this process: one :class:`mocks.MockService` for the app.

        ``config`` goes to :class:`mocks.MockConfig` (for example ``credits=0.0``).
        """
        import realdream.mock as mocks

        settings = {"latency": latency_s, "credits": OFFLINE_CREDITS_USD, **config}
        service = mocks.MockService(mocks.MockConfig(**settings))
        return cls(
            mode,
            mock_transport=lambda: mocks.MockTransport(service),
            mock_latency_s=latency_s,
            service=service,
            max_retries=max_retries,
            api=api,
        )

    def route(self, typed_key: str | None, *, offline: bool = False) -> Route:
        """Where a request with ``typed_key`` (stripped, or ``None``) goes, in words."""
        if self._uses_mock(typed_key, offline):
            label = "offline mock (placeholder images)"
            return Route(label, True, self.mock_latency_s, api=self.api)
        server = self.base_url or contract.BASE_URL
        whose = "your key" if typed_key else "this app's key"
        if self.mode is Mode.CUSTOM_SERVER and not typed_key:
            whose = "the mock test key"
        on_server_key = typed_key is None and self.server_key is not None
        latency = contract.ADVERTISED_LATENCY_S
        label = f"{server} with {whose}"
        return Route(label, False, latency, server_key=on_server_key, api=self.api)

    def client(
        self,
        typed_key: str | None,
        *,
        offline: bool = False,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], object] | None = None,
    ) -> realdream.Client:
        """A new client for one request; close it when done (``with backend.client(...)``).

        ``clock`` and ``sleep`` (default: the client's) time and space its retries and polls.
        """
        options: dict[str, Any] = {"api": self.api}
        if clock is not None:
            options["clock"] = clock
        if sleep is not None:
            options["sleep"] = sleep
        if self.max_retries is not None:
            options["retry"] = realdream.RetryPolicy(max_retries=self.max_retries)
        if self._uses_mock(typed_key, offline):
            if self.mock_transport is None:
                raise realdream.ConfigurationError("This app has no offline mock configured.")
            transport = self.mock_transport()
            key = self.mock_key or _mock_key()
            return realdream.Client(key, base_url=MOCK_BASE_URL, transport=transport, **options)
        key = typed_key or self.server_key or _mock_key()
        if self.api_transport is not None:
            options["transport"] = self.api_transport()
        return realdream.Client(key, base_url=self.base_url or contract.BASE_URL, **options)

    def server_balance(self) -> float:
        """The server key's balance in USD (a free credits check, no image)."""
        with self.client(None) as client:
            return client.credits().credits

    def _uses_mock(self, typed_key: str | None, offline: bool) -> bool:
        if self.mode is Mode.FORCED_MOCK or offline:
            return True
        return self.mode is Mode.OFFLINE and not typed_key


def api_from_env(env: Mapping[str, str]) -> realdream.Api:
    """``REALDREAM_API`` (``v1`` or ``v2``; empty or unset: ``v1``)."""
    text = env.get(API_ENV, "").strip().lower()
    return _check_api(text, API_ENV) if text else DEFAULT_API


def _check_api(value: str, name: str) -> realdream.Api:
    if value not in contract.APIS:
        allowed = " or ".join(contract.APIS)
        raise realdream.ConfigurationError(f"{name}={value!r}: must be {allowed}")
    return value


def _mock_key() -> str:
    from realdream.mock import MOCK_API_KEY

    return MOCK_API_KEY


def _latency_from(env: Mapping[str, str]) -> float:
    text = env.get(MOCK_LATENCY_ENV, "").strip()
    if not text:
        return DEFAULT_MOCK_LATENCY_S
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise realdream.ConfigurationError(
            f"{MOCK_LATENCY_ENV}={text!r}: must be a number of seconds >= 0"
        )
    return value
