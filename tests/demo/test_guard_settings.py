"""The owner's settings from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

import realdream
from demo._settings import (
    DEFAULT_DAILY_BUDGET_USD,
    DEFAULT_VISITOR_IMAGES_PER_HOUR,
    GuardSettings,
    default_state_dir,
)


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
