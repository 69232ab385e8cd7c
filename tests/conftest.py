"""Suite-wide settings: hypothesis profiles, and no real key or network ever reaches a test."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import HealthCheck, Phase, settings

# The suite starts many Python processes (examples, the CLI, served apps, a user's pytest run).
# Without bytecode caching each would compile its imports afresh, and a user's pytest run would
# rewrite the asserts of every plugin's distribution (about 3 s a run), so the caches are on.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

pytest_plugins = ["pytester"]  # the contract suite runs a user's test file with our plugin

settings.register_profile("dev", max_examples=30, deadline=None)
# The quick run's (`pytest -m "not slow"`, unless HYPOTHESIS_PROFILE says otherwise): every
# property is still tried, on fewer examples.
settings.register_profile("quick", max_examples=10, deadline=None)
settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_configure(config: pytest.Config) -> None:
    """The quick run (slow tests deselected) tries each property on the "quick" profile."""
    if "HYPOTHESIS_PROFILE" not in os.environ and re.search(
        r"\bnot\s+slow\b", config.option.markexpr or ""
    ):
        settings.load_profile("quick")


_SECRET_VARIABLES = ("SEGMIND_API_KEY", "REALDREAM_BASE_URL", "REALDREAM_MOCK")


@pytest.fixture(autouse=True)
def _no_real_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's real key or endpoint must never reach a test."""
    for name in _SECRET_VARIABLES:
        monkeypatch.delenv(name, raising=False)
