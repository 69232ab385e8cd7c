"""Suite-wide settings: hypothesis profiles, and no real key or network ever reaches a test."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, settings

pytest_plugins = ["pytester"]  # the contract suite runs a user's test file with our plugin

settings.register_profile("dev", max_examples=30, deadline=None)
# The quick run (`pytest -m "not slow"`, see pytest_configure): every property is still tried,
# on fewer examples.
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

_SECRET_VARIABLES = ("SEGMIND_API_KEY", "REALDREAM_BASE_URL", "REALDREAM_MOCK")


@pytest.fixture(autouse=True)
def _no_real_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's real key or endpoint must never reach a test."""
    for name in _SECRET_VARIABLES:
        monkeypatch.delenv(name, raising=False)
