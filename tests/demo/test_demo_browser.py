"""The served page in a real headless Chromium (Debian's), driven by Playwright for Python."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import realdream.mock as mocks
from tests.served import TIMEOUT_S

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = int(TIMEOUT_S * 1000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"Debian chromium is not installed at {CHROMIUM} (CI installs it)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


def generate(page: Any, prompt: str) -> None:
    page.locator("#prompt textarea").fill(prompt)
    page.locator("#generate").click()


def test_a_prompt_becomes_images_in_the_gallery(page: Any, served_offline: Any) -> None:
    from playwright.sync_api import expect

    page.goto(served_offline.url)
    expect(page.locator("#backend-banner")).to_contain_text("images are offline placeholders")
    samples = page.locator("#samples input[type=number]")
    samples.fill("2")
    samples.press("Enter")
    generate(page, "portrait of a lighthouse keeper, golden hour")
    expect(page.locator("#summary")).to_contain_text("2 images")
    expect(page.locator("#gallery img")).to_have_count(2)
    expect(page.locator("#summary")).to_contain_text("portrait of a lighthouse keeper, golden hour")
    expect(page.locator("#files")).to_contain_text("realdream-")


def test_an_invalid_form_shows_the_cores_message(page: Any, served_offline: Any) -> None:
    from playwright.sync_api import expect

    page.goto(served_offline.url)
    generate(page, "   ")
    expect(page.get_by_text("Invalid parameters: prompt='   ': must not be blank")).to_be_visible()


def test_a_406_from_the_server_shows_its_message(
    page: Any, served_remote: Any, mock_server: mocks.RunningMock
) -> None:
    from playwright.sync_api import expect

    page.goto(served_remote.url)
    mock_server.service.script([406])
    generate(page, "a cat")
    expect(page.get_by_text(re.compile(r"Not enough credits \(406\): "))).to_be_visible()
    expect(page.locator("#gallery img")).to_have_count(0)


def test_a_typed_key_is_not_kept_in_the_browser(
    page: Any, served_remote: Any, mock_server: mocks.RunningMock
) -> None:
    from playwright.sync_api import expect

    page.goto(served_remote.url)
    page.locator("#api_key input").fill(mock_server.api_key)
    generate(page, "a cat")
    expect(page.locator("#summary")).to_contain_text("your key")
    stored = page.evaluate("() => JSON.stringify([localStorage, sessionStorage])")
    assert mock_server.api_key not in stored
    assert mock_server.api_key not in page.locator("#summary").inner_text()


def test_size_presets_and_seed_buttons_fill_the_form(page: Any, served_offline: Any) -> None:
    from playwright.sync_api import expect

    page.goto(served_offline.url)
    page.locator("#size input").click()
    page.get_by_role("option", name="768 × 1152 (2:3, reference)").click()
    expect(page.locator("#img_width input[type=number]")).to_have_value("768")
    expect(page.locator("#img_height input[type=number]")).to_have_value("1152")
    generate(page, "a cat")
    expect(page.locator("#summary")).to_contain_text(re.compile(r"Seed: \d+, Size: 768x1152"))
    seed = re.search(r"Seed: (\d+)", page.locator("#summary").inner_text())
    assert seed is not None
    page.locator("#reuse-seed").click()
    expect(page.locator("#seed input")).to_have_value(seed.group(1))
    page.locator("#random-seed").click()
    expect(page.locator("#seed input")).to_have_value("-1")


# --- a public app on its owner's key ---------------------------------------------------------

#: What a Space with ``hf_oauth: true`` sets; the OAuth server is never contacted here.
FAKE_SPACE_OAUTH = {
    "SYSTEM": "spaces",
    "SPACE_ID": "owner/realdream",
    "OAUTH_CLIENT_ID": "test-client",
    "OAUTH_CLIENT_SECRET": "test-secret",
    "OAUTH_SCOPES": "openid profile",
    "OPENID_PROVIDER_URL": "https://huggingface.invalid",
}


@pytest.fixture(scope="module")
def guarded(
    launcher: Any, mock_server: mocks.RunningMock, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Two apps on the mock's key: one with a visitor limit of 3, one requiring sign-in."""
    state = tmp_path_factory.mktemp("state")
    key = {"SEGMIND_API_KEY": mock_server.api_key, "REALDREAM_BASE_URL": mock_server.base_url}
    apps = {
        "limited": launcher.start(
            "limited", "--visitor-limit", "3", "--state-dir", str(state / "a"), env=key
        ),
        "login": launcher.start(
            "login",
            *("--require-login", "--state-dir", str(state / "b")),
            env={**key, **FAKE_SPACE_OAUTH},
        ),
    }
    launcher.wait(*apps.values())
    return apps


def test_on_the_apps_key_the_page_shows_the_visitors_images_left_and_no_balance(
    page: Any, guarded: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    page.goto(guarded["limited"].url)
    expect(page.locator("#backend-banner")).to_contain_text("at most 3 images an hour per visitor")
    expect(page.locator("#allowance")).to_contain_text("3 of 3 images left for you this hour")
    generate(page, "a lighthouse keeper")
    expect(page.locator("#summary")).to_contain_text("1 image")
    expect(page.locator("#allowance")).to_contain_text("2 of 3 images left for you this hour")
    expect(page.locator("#summary")).to_contain_text("$0.998 of today's $1.00 budget left")
    assert "credits left" not in page.locator("body").inner_text()


def test_with_sign_in_required_an_anonymous_visitor_sees_the_button_and_cannot_spend(
    page: Any, guarded: dict[str, Any], mock_server: mocks.RunningMock
) -> None:
    from playwright.sync_api import expect

    images = mock_server.service.stats.images
    page.goto(guarded["login"].url)
    expect(page.get_by_role("button", name="Sign in with Hugging Face")).to_be_visible()
    expect(page.locator("#backend-banner")).to_contain_text(
        "Sign in with Hugging Face to use this app's key."
    )
    expect(page.locator("#allowance")).to_contain_text("sign in with Hugging Face")
    generate(page, "a lighthouse keeper")
    expect(page.get_by_text(re.compile(r"^Sign-in required: "))).to_be_visible()
    assert mock_server.service.stats.images == images
    page.locator("#offline_mock input").check()  # the offline mock stays open to everyone
    generate(page, "a lighthouse keeper")
    expect(page.locator("#summary")).to_contain_text("offline: nothing spent")
    assert mock_server.service.stats.images == images


def test_on_a_phone_the_image_is_whole_and_no_label_covers_it(
    browser: Any, served_offline: Any
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    phone.set_default_timeout(TIMEOUT_MS)
    phone.goto(served_offline.url)
    generate(phone, "portrait of a lighthouse keeper")
    expect(phone.locator("#gallery img")).to_have_count(1)
    image = phone.locator("#gallery img").bounding_box()
    gallery = phone.locator("#gallery").bounding_box()
    caption = phone.locator("#gallery .caption-label").bounding_box()
    labels = phone.locator("#gallery [data-testid=block-label]")
    visible_labels = [labels.nth(i) for i in range(labels.count()) if labels.nth(i).is_visible()]
    context.close()
    assert image["width"] > 250  # the picture gets the phone's width
    assert gallery["y"] <= image["y"]
    assert image["y"] + image["height"] <= gallery["y"] + gallery["height"]  # not cut off
    assert caption["y"] >= image["y"] + image["height"] - 1  # under the image, not over it
    assert not visible_labels
