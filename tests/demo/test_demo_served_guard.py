"""``python app.py`` on a server key, served for real and spent on a loopback mock: the guard
holds for gradio_client, raw HTTP and concurrent visitors, across a restart, and counts
visitors by address the way the README says."""

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

BUDGET_USD = 0.10
VISITORS = 50
PRICE = 0.002


@pytest.fixture(scope="module")
def paid_mock() -> Iterator[mocks.RunningMock]:
    """The "real API" the apps spend the owner's key on: it keeps the true ledger."""
    with mocks.serve(mocks.MockConfig(latency=0.2, credits=10.0)) as running:
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
    started = {
        "budget": launcher.start(
            "budget",
            *("--daily-budget", str(BUDGET_USD), "--visitor-limit", "0"),
            *("--concurrency", "16", "--state-dir", str(state / "budget")),
            env=on_key(paid_mock),
        ),
        "visitors": launcher.start(
            "visitors",
            *("--visitor-limit", "2", "--state-dir", str(state / "visitors")),
            *("--concurrency", "1", "--max-queue", "1", "--mock-latency", "2"),
            env=on_key(paid_mock),
        ),
        "space": launcher.start(
            "space",
            *("--visitor-limit", "2", "--state-dir", str(state / "space")),
            env=on_key(paid_mock, SPACE_ID="owner/realdream"),
        ),
    }
    launcher.wait(*started.values())
    started["state"] = state
    return started


def client(app: Any, downloads: Path, **headers: str) -> Client:
    return Client(
        app.url,
        verbose=False,
        analytics_enabled=False,
        download_files=downloads,
        headers=headers or None,
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


@pytest.mark.slow
def test_fifty_concurrent_visitors_never_spend_past_the_budget(
    apps: dict[str, Any], paid_mock: mocks.RunningMock, tmp_path: Path
) -> None:
    before = spent(paid_mock)
    with concurrent.futures.ThreadPoolExecutor(VISITORS) as pool:
        visitors = list(pool.map(lambda n: client(apps["budget"], tmp_path / str(n)), range(50)))
        outcomes = list(pool.map(_outcome, visitors))
        list(pool.map(Client.close, visitors))
    refused = [o for o in outcomes if o != "ok"]
    assert spent(paid_mock) - before <= BUDGET_USD + 1e-9
    assert outcomes.count("ok") == int(BUDGET_USD / (4 * PRICE) + 1e-9)  # 12: all it can buy
    assert refused
    assert all(o.startswith("Daily budget reached: ") for o in refused), refused[:3]


def _outcome(visitor: Client) -> str:
    try:
        generate(visitor, samples=4)
    except AppError as exc:
        return str(exc)
    return "ok"


@pytest.mark.slow
def test_a_restart_with_the_same_state_folder_keeps_the_days_spend(
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


def test_raw_http_calls_meet_the_same_limit(apps: dict[str, Any]) -> None:
    url = apps["visitors"].url + "/gradio_api/call/generate"
    data = ["a lighthouse", "", realdream.DEFAULT_SCHEDULER, 8, 1.5, -1, 256, 256, 2, "", False]
    streams = []
    for _ in range(2):  # the limit is 2 images an hour: the second call at the latest is refused
        started = httpx.post(url, json={"data": data}, timeout=30)
        started.raise_for_status()
        streams.append(httpx.get(f"{url}/{started.json()['event_id']}", timeout=60).text)
    assert "event: error" in streams[-1]
    assert "Visitor limit reached" in streams[-1]


def test_on_spaces_two_forwarded_addresses_are_two_visitors(
    apps: dict[str, Any], tmp_path: Path
) -> None:
    first = client(apps["space"], tmp_path / "a", **{"X-Forwarded-For": "203.0.113.1"})
    second = client(apps["space"], tmp_path / "b", **{"X-Forwarded-For": "203.0.113.2, 10.0.0.1"})
    generate(first, samples=2)
    generate(second, samples=2)
    assert refusal(first).startswith("Visitor limit reached: ")
    first.close()
    second.close()


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
            job.result(timeout=60)
        except Exception as exc:  # gradio_client's QueueError for a full queue
            errors.append(str(exc))
    visitor.close()
    assert errors
    assert all("Queue is full! Please try again." in error for error in errors), errors
