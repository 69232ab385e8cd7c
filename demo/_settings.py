"""The owner's limits for a public app on its own key, read from the environment.

Every setting has an environment variable (a Space's "Variables") and an ``app.py`` option;
the option wins. A bad value is a :class:`realdream.ConfigurationError` naming the variable
(or option), the value and what is allowed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import realdream

__all__ = [
    "DAILY_BUDGET_ENV",
    "DEFAULT_DAILY_BUDGET_USD",
    "DEFAULT_MIN_BALANCE_USD",
    "DEFAULT_VISITOR_IMAGES_PER_HOUR",
    "MIN_BALANCE_ENV",
    "REQUIRE_LOGIN_ENV",
    "SHOW_BALANCE_ENV",
    "SPACE_DATA_DIR",
    "STATE_DIR_ENV",
    "VISITOR_LIMIT_ENV",
    "GuardSettings",
    "check_number",
    "default_state_dir",
    "env_flag",
    "env_number",
]

DAILY_BUDGET_ENV: Final = "REALDREAM_DAILY_BUDGET_USD"
MIN_BALANCE_ENV: Final = "REALDREAM_MIN_BALANCE_USD"
VISITOR_LIMIT_ENV: Final = "REALDREAM_VISITOR_IMAGES_PER_HOUR"
REQUIRE_LOGIN_ENV: Final = "REALDREAM_REQUIRE_LOGIN"
SHOW_BALANCE_ENV: Final = "REALDREAM_SHOW_BALANCE"
STATE_DIR_ENV: Final = "REALDREAM_STATE_DIR"

DEFAULT_DAILY_BUDGET_USD: Final = 1.00
DEFAULT_MIN_BALANCE_USD: Final = 0.0
DEFAULT_VISITOR_IMAGES_PER_HOUR: Final = 10
#: A Space's persistent storage, when the Space has it.
SPACE_DATA_DIR: Final = Path("/data")

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"", "0", "false", "no", "off"})


@dataclass(frozen=True)
class GuardSettings:
    """The limits on spending the server's key. ``0`` means "no limit" for each number."""

    daily_budget_usd: float = DEFAULT_DAILY_BUDGET_USD
    min_balance_usd: float = DEFAULT_MIN_BALANCE_USD
    visitor_images_per_hour: int = DEFAULT_VISITOR_IMAGES_PER_HOUR
    require_login: bool = False
    show_balance: bool = False
    state_dir: Path | None = None  # None: the ledger lives in memory only (tests)

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        daily_budget_usd: float | None = None,
        min_balance_usd: float | None = None,
        visitor_images_per_hour: int | None = None,
        require_login: bool = False,
        show_balance: bool = False,
        state_dir: Path | None = None,
    ) -> GuardSettings:
        """The settings: an argument that is given wins over its environment variable."""
        env = os.environ if environ is None else environ
        budget = env_number(env, DAILY_BUDGET_ENV, DEFAULT_DAILY_BUDGET_USD)
        floor = env_number(env, MIN_BALANCE_ENV, DEFAULT_MIN_BALANCE_USD)
        per_hour = env_number(env, VISITOR_LIMIT_ENV, DEFAULT_VISITOR_IMAGES_PER_HOUR, whole=True)
        return cls(
            daily_budget_usd=budget if daily_budget_usd is None else daily_budget_usd,
            min_balance_usd=floor if min_balance_usd is None else min_balance_usd,
            visitor_images_per_hour=int(
                per_hour if visitor_images_per_hour is None else visitor_images_per_hour
            ),
            require_login=require_login or env_flag(env, REQUIRE_LOGIN_ENV),
            show_balance=show_balance or env_flag(env, SHOW_BALANCE_ENV),
            state_dir=state_dir or _state_dir_from(env),
        )


def check_number(value: float, *, whole: bool = False) -> str | None:
    """Why ``value`` is not a number >= 0 (whole if ``whole``), or ``None`` when it is."""
    if not (math.isfinite(value) and value >= 0):
        return "must be a whole number >= 0" if whole else "must be a number >= 0"
    if whole and not float(value).is_integer():
        return "must be a whole number >= 0"
    return None


def env_number(env: Mapping[str, str], name: str, default: float, *, whole: bool = False) -> float:
    """``env[name]`` as a number >= 0 (whole if ``whole``); ``default`` when unset or blank."""
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    problem = check_number(value, whole=whole)
    if problem is not None:
        raise realdream.ConfigurationError(f"{name}={text!r}: {problem}")
    return value


def env_flag(env: Mapping[str, str], name: str) -> bool:
    """``env[name]`` as a yes/no flag: 1/true/yes/on, or 0/false/no/off (or unset)."""
    text = env.get(name, "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise realdream.ConfigurationError(
        f"{name}={env[name]!r}: must be 1, true, yes or on (or 0, false, no, off)"
    )


def default_state_dir(env: Mapping[str, str], data: Path = SPACE_DATA_DIR) -> Path:
    """``/data/realdream`` when ``/data`` is writable (a Space's persistent storage), otherwise
    ``$XDG_CACHE_HOME/realdream`` (``~/.cache/realdream``)."""
    if data.is_dir() and os.access(data, os.W_OK):
        return data / "realdream"
    cache = env.get("XDG_CACHE_HOME", "").strip()
    return (Path(cache) if cache else Path.home() / ".cache") / "realdream"


def _state_dir_from(env: Mapping[str, str]) -> Path:
    text = env.get(STATE_DIR_ENV, "").strip()
    return Path(text).expanduser() if text else default_state_dir(env)
