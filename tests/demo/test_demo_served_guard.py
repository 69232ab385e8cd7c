"""``python app.py`` on a server key, served for real and spent on a loopback mock that bills
2.5 times the contract's price: the guard holds for gradio_client, raw HTTP and concurrent
visitors, across a restart, and counts visitors by address the way the README says. Money is
counted on the mock's own ledger, never on the app's report of it."""

from __future__ import annotations

import concurrent.futures
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

import realdream
import realdream.mock as mocks
from tests.demo.conftest import call_generate, form_data
from tests.served import TIMEOUT_S

pytestmark = pytest.mark.slow  # three apps in subprocesses, fifty visitors at once

BUDGET_USD = 0.11  # five 4-image requests at the real price, and two images more
VISITORS = 50
#: What the stand-in bills per image: more than the contract's price, and it says so.
PRICE = 2.5 * realdream.contract.COST_PER_IMAGE_USD
VISITOR_LIMIT = 2


@pytest.fixture(scope="module")
def paid_mock() -> Iterator[mocks.RunningMock]:
    """The "real API" the apps spend the owner's key on: it keeps the true ledger."""
    config = mocks.MockConfig(latency=0.2, credits=10.0, cost_per_image=PRICE)
    with mocks.serve(config) as running:
        yield running


def on_key(mock: mocks.RunningMock, **extra: str) -> dict[str, str]:
    """The environment of an app whose SEGMIND_API_KEY is the mock's key."""
    return {
        realdream.API_KEY_ENV: mock.api_key,
        realdream.BASE_URL_ENV: mock.base_url,
        **extra,
    }


@pytest.fixture(scope="module")
def apps(
    launcher: Any, paid_mock: mocks.RunningMock, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Three apps, started together: a flood on a budget, and a visitor limit off Spaces (with
    a tiny queue and a slow offline mock) and on Spaces."""
    state = tmp_path_factory.mktemp("state")
    limit = str(VISITOR_LIMIT)
    started = {
        "budget": launcher.start(
            "budget",
            *("--daily-budget", str(BUDGET_USD), "--visitor-limit", "0"),
            *("--concurrency", "16", "--state-dir", str(state / "budget")),
            env=on_key(paid_mock),
        ),
        "visitors": launcher.start(
            "visitors",
            *("--visitor-limit", limit, "--state-dir", str(state / "visitors")),
            *("--concurrency", "1", "--max-queue", "1", "--mock-latency", "2"),
            env=on_key(paid_mock),
        ),
        "space": launcher.start(
            "space",
            *("--visitor-limit", limit, "--state-dir", str(state / "space")),
            env=on_key(paid_mock, SPACE_ID="owner/realdream"),
        ),
    }
    launcher.wait(*started.values())
    started["state"] = state
    return started


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """One HTTP client for the module's raw calls, its timeouts from configuration."""
    limits = httpx.Limits(max_connections=2 * VISITORS)
    with httpx.Client(timeout=TIMEOUT_S, limits=limits) as client:
        yield client


def client(app: Any, downloads: Path, **headers: str) -> Client:
    return Client(
        app.url,
        verbose=False,
        analytics_enabled=False,
        download_files=downloads,
        headers=headers or None,
        httpx_kwargs={"timeout": TIMEOUT_S},
    )


def generate(visitor: Client, samples: int = 1) -> tuple[Any, ...]:
    result = visitor.predict(
        prompt="a lighthouse",
        samples=samples,
        img_width=256,
        img_height=256,
        api_name="/generate",
    )
    return tuple(result)


def refusal(visitor: Client, samples: int = 1) -> str:
    with pytest.raises(AppError) as caught:
        generate(visitor, samples)
    return str(caught.value)


def spent(mock: mocks.RunningMock) -> float:
    return 10.0 - mock.service.balance


def test_fifty_concurrent_visitors_never_spend_past_the_budget(
    apps: dict[str, Any], paid_mock: mocks.RunningMock, http: httpx.Client
) -> None:
    before = spent(paid_mock)
    url = apps["budget"].url
    with concurrent.futures.ThreadPoolExecutor(VISITORS) as pool:
        outcomes = list(pool.map(lambda _: call_generate(http, url, form_data(4)), range(VISITORS)))
    refused = [o for o in outcomes if o != "ok"]
    assert spent(paid_mock) - before <= BUDGET_USD + 1e-9
    assert outcomes.count("ok") == int(BUDGET_USD / (4 * PRICE))  # 5: all it can buy
    assert refused
    assert all(o.startswith("Daily budget reached: ") for o in refused), refused[:3]


def test_a_restart_with_the_same_state_folder_keeps_the_days_spend_and_price(
    apps: dict[str, Any], launcher: Any, paid_mock: mocks.RunningMock, tmp_path: Path
) -> None:
    visitor = client(apps["budget"], tmp_path / "before")
    left = re.search(r"\$([\d.]+) is left today", spend_down(visitor))
    assert left is not None
    generate(visitor, samples=round(float(left.group(1)) / PRICE))  # the last of the budget
    launcher.stop(apps["budget"])  # at once (SIGTERM): the last spend must reach the ledger
    visitor.close()
    images = paid_mock.service.stats.images
    again = launcher.start(
        "budget-again",
        *("--daily-budget", str(BUDGET_USD), "--state-dir", str(apps["state"] / "budget")),
        env=on_key(paid_mock),
    )
    launcher.wait(again)
    visitor = client(again, tmp_path / "after")
    message = refusal(visitor, samples=1)
    visitor.close()
    assert message.startswith("Daily budget reached: ")
    assert "$0.00 is left today" in message
    assert "(1 image) costs $0.005" in message  # the price the ledger kept
    assert paid_mock.service.stats.images == images


def spend_down(visitor: Client) -> str:
    """Spend 4-image requests until the budget refuses one; the refusal."""
    for _ in range(int(BUDGET_USD / (4 * PRICE)) + 1):
        try:
            generate(visitor, samples=4)
        except AppError as exc:
            return str(exc)
    raise AssertionError("the budget never refused")


def test_off_spaces_a_forged_forwarded_address_does_not_reset_the_limit(
    apps: dict[str, Any], tmp_path: Path
) -> None:
    plain = client(apps["visitors"], tmp_path / "plain")
    generate(plain, samples=2)
    forged = client(apps["visitors"], tmp_path / "forged", **{"X-Forwarded-For": "198.51.100.9"})
    message = refusal(forged)
    plain.close()
    forged.close()
    assert message.startswith("Visitor limit reached: each visitor may make 2 images an hour")
    assert "you have 0 left" in message


def test_raw_http_calls_meet_the_same_limit(apps: dict[str, Any], http: httpx.Client) -> None:
    url = apps["visitors"].url
    outcomes = [call_generate(http, url, form_data(2)) for _ in range(2)]
    assert outcomes[-1].startswith("Visitor limit reached")  # the second call at the latest


def test_on_spaces_forged_leftmost_entries_buy_no_fresh_quota(
    apps: dict[str, Any], paid_mock: mocks.RunningMock, http: httpx.Client
) -> None:
    """One address behind the Space's proxy, writing a new first hop every time."""
    images = paid_mock.service.stats.images
    outcomes = [
        call_generate(
            http,
            apps["space"].url,
            form_data(1),
            headers={"X-Forwarded-For": f"198.51.100.{n}, 203.0.113.7"},
        )
        for n in range(3 * VISITOR_LIMIT)
    ]
    assert paid_mock.service.stats.images - images <= VISITOR_LIMIT  # the mock's own count
    assert outcomes.count("ok") == VISITOR_LIMIT
    assert all(o.startswith("Visitor limit reached: ") for o in outcomes if o != "ok")
    log = apps["space"].log.read_text()
    assert "counted by the X-Forwarded-For entry 1st from the right" in log  # said at start-up
    assert "198.51.100" not in log


def test_on_spaces_two_forwarded_addresses_are_two_visitors(
    apps: dict[str, Any], http: httpx.Client
) -> None:
    url = apps["space"].url
    first = {"X-Forwarded-For": "203.0.113.1"}
    second = {"X-Forwarded-For": "203.0.113.1, 203.0.113.2"}  # what its proxy appended counts
    assert call_generate(http, url, form_data(2), first) == "ok"
    assert call_generate(http, url, form_data(2), second) == "ok"
    assert call_generate(http, url, form_data(1), first).startswith("Visitor limit reached: ")


def test_results_on_the_apps_key_hide_the_balance_and_name_every_output(
    apps: dict[str, Any], paid_mock: mocks.RunningMock, tmp_path: Path
) -> None:
    visitor = client(apps["space"], tmp_path, **{"X-Forwarded-For": "203.0.113.50"})
    returns = visitor.view_api(print_info=False, return_format="dict")
    names = [r["label"] for r in returns["named_endpoints"]["/generate"]["returns"]]
    gallery, summary, details, files = generate(visitor)
    visitor.close()
    assert names == ["Images", "Summary", "Run details", "Download PNGs (parameters embedded)"]
    assert details["remaining_credits"] is None
    assert "credits left" not in summary
    assert "1 of 2 images left for you this hour" in summary
    assert len(gallery) == len(files) == 1


def test_a_flood_is_told_the_app_is_busy(apps: dict[str, Any], tmp_path: Path) -> None:
    visitor = client(apps["visitors"], tmp_path)
    jobs = [  # one runs for 2 s (offline mock: free), one waits, the rest find the queue full
        visitor.submit(prompt=f"a cat {n}", offline_mock=True, api_name="/generate")
        for n in range(4)
    ]
    errors = []
    for job in jobs:
        try:
            job.result(timeout=TIMEOUT_S)
        except Exception as exc:  # gradio_client's QueueError for a full queue
            errors.append(str(exc))
    visitor.close()
    assert errors
    assert all("Queue is full! Please try again." in error for error in errors), errors
