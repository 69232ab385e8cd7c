"""The guard inside the handler: every request on the app's key is reserved, then settled or
released; refusals send nothing; a visitor's own key and the offline mock are never limited."""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr
import httpx
import pytest

import realdream
import realdream.mock as mocks
from demo import AddressRule, Backend, Guard, GuardSettings, Handlers, Mode
from demo._ledger import MemoryLedger
from realdream.contract import cost

PRICE = cost(1)
ApiBackend = Callable[..., Backend]


def form(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "prompt": "studio portrait of a lighthouse keeper",
        "negative_prompt": "",
        "scheduler": realdream.DEFAULT_SCHEDULER,
        "num_inference_steps": 8.0,
        "guidance_scale": 1.5,
        "seed": 7.0,
        "img_width": 512.0,
        "img_height": 512.0,
        "samples": 1.0,
        "api_key": "",
    }
    values.update(changes)
    return values


@pytest.fixture
def service() -> mocks.MockService:
    """The "real API" behind the app's key: a mock with $10 of credits."""
    return mocks.MockService(mocks.MockConfig(latency=0, credits=10.0))


def app(service: mocks.MockService, tmp_path: Path, **settings: Any) -> Handlers:
    """An app on the server key whose API is ``service``, its guard on ``settings``."""
    mock = Backend.offline(latency_s=0.0)
    backend = Backend(
        Mode.SERVER_KEY,
        server_key=mocks.MOCK_API_KEY,
        api_transport=lambda: mocks.MockTransport(service),
        max_retries=0,
        mock_transport=mock.mock_transport,
        service=mock.service,
    )
    values: dict[str, Any] = {"daily_budget_usd": 1.0, "visitor_images_per_hour": 10}
    values.update(settings)
    guard = Guard(GuardSettings(**values), MemoryLedger())
    return Handlers(backend, tmp_path / "out", guard=guard, addresses=AddressRule())


def refused(handlers: Handlers, **changes: Any) -> str:
    with pytest.raises(gr.Error) as caught:
        handlers.generate(**form(**changes))
    return str(caught.value.message)


def spent(service: mocks.MockService) -> float:
    return 10.0 - service.balance


def visitor_request(address: str) -> Any:
    return SimpleNamespace(headers={}, client=SimpleNamespace(host=address))


def test_a_request_on_the_apps_key_is_settled_with_the_reported_cost(
    service: mocks.MockService, tmp_path: Path
) -> None:
    handlers = app(service, tmp_path)
    handlers.generate(**form(samples=3.0))
    assert handlers.guard is not None
    assert handlers.guard.spent_today_usd() == pytest.approx(3 * PRICE) == spent(service)
    assert handlers.guard.open_reservations() == 0


def test_a_request_over_the_budget_is_refused_and_nothing_is_sent(
    service: mocks.MockService, tmp_path: Path
) -> None:
    handlers = app(service, tmp_path, daily_budget_usd=4 * PRICE)
    handlers.generate(**form(samples=3.0))
    message = refused(handlers, samples=2.0)
    assert message.startswith("Daily budget reached: ")
    assert "$0.002 is left today" in message
    assert service.stats.requests == 1
    assert spent(service) == pytest.approx(3 * PRICE)


def test_an_error_status_releases_the_reservation_and_the_visitors_images(
    service: mocks.MockService, tmp_path: Path
) -> None:
    handlers = app(service, tmp_path, visitor_images_per_hour=4)
    service.script([500])
    assert refused(handlers, samples=4.0).startswith("Internal server error (500): ")
    handlers.generate(**form(samples=4.0))  # the failed 4 were given back
    assert handlers.guard is not None
    assert handlers.guard.spent_today_usd() == pytest.approx(4 * PRICE)


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (lambda request: httpx.Response(200, content=b"not an image"), "Unreadable answer (200)"),
        (lambda request: (_ for _ in ()).throw(httpx.ReadTimeout("slow")), "may have been billed"),
    ],
    ids=["unreadable-200", "read-timeout"],
)
def test_what_may_have_been_billed_is_settled(
    api_backend: ApiBackend, tmp_path: Path, answer: Any, words: str
) -> None:
    guard = Guard(GuardSettings(daily_budget_usd=1.0), MemoryLedger())
    handlers = Handlers(api_backend(answer), tmp_path, guard=guard, addresses=AddressRule())
    assert words in refused(handlers, samples=2.0)
    assert guard.spent_today_usd() == pytest.approx(2 * PRICE)
    assert guard.open_reservations() == 0


def test_a_visitors_own_key_has_no_limits(service: mocks.MockService, tmp_path: Path) -> None:
    handlers = app(service, tmp_path, daily_budget_usd=PRICE, visitor_images_per_hour=1)
    for _ in range(3):
        handlers.generate(**form(samples=4.0, api_key=mocks.MOCK_API_KEY))
    assert handlers.guard is not None
    assert handlers.guard.spent_today_usd() == 0
    assert spent(service) == pytest.approx(12 * PRICE)


def test_the_offline_mock_choice_spends_nothing(service: mocks.MockService, tmp_path: Path) -> None:
    handlers = app(service, tmp_path, daily_budget_usd=PRICE)
    out = handlers.generate(**form(samples=4.0, offline_mock=True))
    assert out.details["offline"] is True
    assert "offline: nothing spent" in out.summary
    assert service.stats.requests == 0


def test_on_the_apps_key_the_balance_is_hidden_and_the_allowance_shown(
    service: mocks.MockService, tmp_path: Path
) -> None:
    out = app(service, tmp_path).generate(**form(samples=2.0))
    assert "credits left" not in out.summary
    assert "9.99" not in out.summary
    assert out.details["remaining_credits"] is None
    assert "8 of 10 images left for you this hour" in out.summary
    assert "$0.996 of today's $1.00 budget left (resets 00:00 UTC)" in out.summary
    assert out.details["allowance"]["images_left_this_hour"] == 8


def test_the_owner_may_show_the_balance(service: mocks.MockService, tmp_path: Path) -> None:
    out = app(service, tmp_path, show_balance=True).generate(**form(samples=2.0))
    assert "9.996 credits left" in out.summary
    assert out.details["remaining_credits"] == pytest.approx(9.996)


def test_the_allowance_is_each_visitors_own(service: mocks.MockService, tmp_path: Path) -> None:
    handlers = app(service, tmp_path, visitor_images_per_hour=5)
    handlers.generate(**form(samples=4.0), request=visitor_request("203.0.113.1"))
    mine = handlers.allowance(visitor_request("203.0.113.1"))
    theirs = handlers.allowance(visitor_request("203.0.113.2"))
    assert "1 of 5 images left for you this hour" in mine
    assert "5 of 5 images left for you this hour" in theirs
    message = refused(handlers, samples=2.0, request=visitor_request("203.0.113.1"))
    assert message.startswith("Visitor limit reached: ")


def test_without_a_key_of_its_own_the_app_shows_no_allowance(tmp_path: Path) -> None:
    assert Handlers(Backend.offline(latency_s=0.0), tmp_path).allowance() == ""


def profile(username: str) -> gr.OAuthProfile:
    return gr.OAuthProfile(
        {
            "name": username.title(),
            "preferred_username": username,
            "profile": f"https://huggingface.co/{username}",
            "picture": "",
        }
    )


def test_with_sign_in_required_anonymous_visitors_cannot_spend_the_apps_key(
    service: mocks.MockService, tmp_path: Path
) -> None:
    handlers = app(service, tmp_path, require_login=True)
    assert refused(handlers).startswith("Sign-in required: ")
    assert service.stats.requests == 0
    assert "sign in with Hugging Face" in handlers.allowance()
    handlers.generate(**form(), profile=profile("alice"))
    assert "9 of 10 images left" in handlers.allowance(profile=profile("alice"))


def test_with_sign_in_required_anonymous_visitors_keep_their_key_and_the_mock(
    service: mocks.MockService, tmp_path: Path
) -> None:
    handlers = app(service, tmp_path, require_login=True)
    handlers.generate(**form(api_key=mocks.MOCK_API_KEY))
    handlers.generate(**form(offline_mock=True))
    assert service.stats.images == 1


def test_the_balance_floor_reads_the_balance_and_stops_before_spending(
    service: mocks.MockService, tmp_path: Path
) -> None:
    handlers = app(service, tmp_path, min_balance_usd=10.0 - 3 * PRICE)
    handlers.generate(**form(samples=2.0))
    message = refused(handlers, samples=2.0)
    assert message.startswith("Balance floor reached: ")
    assert "$0.002 can still be spent above it" in message
    assert service.stats.images == 2


def test_each_settled_spend_is_logged_once_without_the_key_or_address(
    service: mocks.MockService, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    handlers = app(service, tmp_path)
    handlers.generate(**form(samples=2.0), request=visitor_request("203.0.113.77"))
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("spend ")]
    assert len(lines) == 1
    assert lines[0].startswith("spend visitor=addr:")
    assert "images=2 cost=$0.0040 today=$0.0040 of $1.00" in lines[0]
    assert mocks.MOCK_API_KEY not in caplog.text
    assert "203.0.113.77" not in caplog.text


def test_every_app_on_a_key_has_a_guard_even_when_none_is_given(tmp_path: Path) -> None:
    backend = Backend.from_env({"SEGMIND_API_KEY": "SG_0000000000000000"})
    handlers = Handlers(backend, tmp_path)
    assert handlers.guard is not None
    assert handlers.guard.settings == GuardSettings()


def test_thirty_concurrent_visitors_on_a_dearer_service_never_pass_the_budget(
    tmp_path: Path,
) -> None:
    """The stand-in bills 2.5 times the contract price, and says so: the first answer tells
    the guard, before the other visitors' requests are started, and they are reserved at it."""
    budget, dearer = 0.05, 2.5 * PRICE
    dear = mocks.MockService(mocks.MockConfig(latency=0.1, credits=10.0, cost_per_image=dearer))
    handlers = app(dear, tmp_path, daily_budget_usd=budget, visitor_images_per_hour=0)
    start = threading.Barrier(30)

    def visitor(n: int) -> str:
        start.wait()
        try:
            handlers.generate(**form(samples=2.0), request=visitor_request(f"198.51.100.{n}"))
        except gr.Error as exc:
            return str(exc.message)
        return "ok"

    with concurrent.futures.ThreadPoolExecutor(30) as pool:
        outcomes = list(pool.map(visitor, range(30)))
    assert spent(dear) <= budget + 1e-9  # the stand-in's own ledger
    assert outcomes.count("ok") == dear.stats.images // 2 == 5  # all the budget buys
    refusals = [o for o in outcomes if o != "ok"]
    assert all(o.startswith("Daily budget reached: ") for o in refusals), refusals[:3]
