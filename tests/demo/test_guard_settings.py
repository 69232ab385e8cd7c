"""The owner's settings from the environment, and who a visitor is."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import realdream
from demo._settings import (
    DEFAULT_DAILY_BUDGET_USD,
    DEFAULT_VISITOR_IMAGES_PER_HOUR,
    GuardSettings,
    default_state_dir,
)
from demo._visitor import FORWARDED_ALLOW_IPS_ENV, distrust_proxy_headers, visitor_from


def test_the_defaults_are_a_dollar_a_day_and_ten_images_an_hour(tmp_path: Path) -> None:
    settings = GuardSettings.from_env({"REALDREAM_STATE_DIR": str(tmp_path)})
    assert settings.daily_budget_usd == DEFAULT_DAILY_BUDGET_USD == 1.00
    assert settings.visitor_images_per_hour == DEFAULT_VISITOR_IMAGES_PER_HOUR == 10
    assert settings.min_balance_usd == 0
    assert not settings.require_login
    assert not settings.show_balance
    assert settings.state_dir == tmp_path


def test_every_setting_comes_from_its_variable() -> None:
    settings = GuardSettings.from_env(
        {
            "REALDREAM_DAILY_BUDGET_USD": "0.25",
            "REALDREAM_MIN_BALANCE_USD": "2",
            "REALDREAM_VISITOR_IMAGES_PER_HOUR": "0",
            "REALDREAM_REQUIRE_LOGIN": "yes",
            "REALDREAM_SHOW_BALANCE": "1",
            "REALDREAM_STATE_DIR": "/srv/state",
        }
    )
    assert settings == GuardSettings(0.25, 2.0, 0, True, True, Path("/srv/state"))


def test_options_win_over_variables() -> None:
    env = {"REALDREAM_DAILY_BUDGET_USD": "5", "REALDREAM_VISITOR_IMAGES_PER_HOUR": "3"}
    settings = GuardSettings.from_env(env, daily_budget_usd=0.0, visitor_images_per_hour=7)
    assert (settings.daily_budget_usd, settings.visitor_images_per_hour) == (0.0, 7)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "REALDREAM_DAILY_BUDGET_USD",
            "lots",
            "REALDREAM_DAILY_BUDGET_USD='lots': must be a number",
        ),
        ("REALDREAM_DAILY_BUDGET_USD", "-1", "must be a number >= 0"),
        ("REALDREAM_MIN_BALANCE_USD", "nan", "REALDREAM_MIN_BALANCE_USD='nan'"),
        ("REALDREAM_VISITOR_IMAGES_PER_HOUR", "2.5", "must be a whole number >= 0"),
        ("REALDREAM_REQUIRE_LOGIN", "maybe", "must be 1, true, yes or on"),
    ],
)
def test_a_bad_value_names_the_variable_the_value_and_the_rule(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(realdream.ConfigurationError, match=message.replace("(", r"\(")):
        GuardSettings.from_env({name: value})


def test_the_state_lives_in_a_writable_data_folder_first(tmp_path: Path) -> None:
    assert default_state_dir({}, data=tmp_path) == tmp_path / "realdream"


def test_without_a_data_folder_the_state_lives_in_the_users_cache(tmp_path: Path) -> None:
    missing = tmp_path / "no-data"
    cache = tmp_path / "cache"
    assert default_state_dir({"XDG_CACHE_HOME": str(cache)}, data=missing) == cache / "realdream"


# --- who a visitor is -------------------------------------------------------------------------


def request(peer: str, **headers: str) -> SimpleNamespace:
    """What a gr.Request offers: headers and the client (the socket peer, as uvicorn saw it)."""
    named = {name.replace("_", "-"): value for name, value in headers.items()}
    return SimpleNamespace(headers=named, client=SimpleNamespace(host=peer))


def test_a_signed_in_visitor_is_their_username() -> None:
    visitor = visitor_from(request("10.0.0.1"), "alice", spaces=True)
    assert (visitor.id, visitor.signed_in) == ("user:alice", True)


def test_off_spaces_a_forwarded_address_is_ignored() -> None:
    plain = visitor_from(request("127.0.0.1"), None, spaces=False)
    forged = visitor_from(request("127.0.0.1", x_forwarded_for="203.0.113.7"), None, spaces=False)
    assert plain == forged
    assert not plain.signed_in


def test_on_spaces_the_first_forwarded_hop_is_the_visitor() -> None:
    first = visitor_from(
        request("10.0.0.1", x_forwarded_for="203.0.113.7, 10.0.0.1"), None, spaces=True
    )
    second = visitor_from(request("10.0.0.1", x_forwarded_for="198.51.100.2"), None, spaces=True)
    again = visitor_from(request("10.0.0.9", X_Forwarded_For="203.0.113.7"), None, spaces=True)
    assert first != second
    assert first == again


def test_on_spaces_without_the_header_the_peer_is_the_visitor() -> None:
    assert visitor_from(request("10.0.0.1"), None, spaces=True) != visitor_from(
        request("10.0.0.2"), None, spaces=True
    )


def test_addresses_are_hashed_never_kept() -> None:
    visitor = visitor_from(request("203.0.113.7"), None, spaces=False)
    assert visitor.id.startswith("addr:")
    assert "203.0.113" not in visitor.id


def test_a_direct_call_without_a_request_is_one_anonymous_visitor() -> None:
    assert visitor_from(None, None, spaces=False) == visitor_from(None, None, spaces=True)


def test_off_spaces_uvicorn_is_told_to_trust_no_proxy() -> None:
    env: dict[str, str] = {}
    distrust_proxy_headers(env)
    assert env == {FORWARDED_ALLOW_IPS_ENV: ""}


def test_an_owners_own_proxy_setting_and_spaces_are_left_alone() -> None:
    owner = {FORWARDED_ALLOW_IPS_ENV: "10.1.2.3"}
    distrust_proxy_headers(owner)
    assert owner == {FORWARDED_ALLOW_IPS_ENV: "10.1.2.3"}
    space = {"SPACE_ID": "me/realdream"}
    distrust_proxy_headers(space)
    assert space == {"SPACE_ID": "me/realdream"}
