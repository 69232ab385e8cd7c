"""Suite-wide settings: hypothesis profiles, and no real key or network ever reaches a test."""

from __future__ import annotations

import os
import re
import signal
import threading
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

from tests import served

# The suite starts many Python processes (examples, the CLI, served apps, a user's pytest run).
# Without bytecode caching each would compile its imports afresh, and a user's pytest run would
# rewrite the asserts of every plugin's distribution (about 3 s a run), so the caches are on.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

# A run started in the background of a non-interactive shell (`cmd &`) ignores SIGINT, and every
# process it starts inherits that: the tests that press Ctrl-C on a server or a batch would wait
# forever. A handler here (exec resets handled signals to their default) gives those processes
# Ctrl-C as a terminal does.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN and (
    threading.current_thread() is threading.main_thread()
):
    signal.signal(signal.SIGINT, signal.default_int_handler)

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


def _unique_node_ids(items: list[pytest.Item]) -> None:
    """schemathesis 4 under pytest 9 gives every operation's test the node id of its function
    (pytest builds it from ``originalname``), so the ids repeat; xdist keys its work by node id
    and would run one of each. Such items get the id of their full name, and a run whose ids
    still repeat stops here rather than skip tests unseen."""
    counts = Counter(item.nodeid for item in items)
    for item in items:
        if counts[item.nodeid] > 1 and item.parent is not None:
            item._id = item.parent.id.child(item.name)  # type: ignore[attr-defined]
    repeated = [nodeid for nodeid, n in Counter(item.nodeid for item in items).items() if n > 1]
    if repeated:
        raise pytest.UsageError(f"tests share a node id, xdist would run one: {repeated[:5]}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules with the most slow tests run first, each module whole (``--dist loadscope``, in
    this order): the long ones start while there is other work to run beside them, and the run
    ends on short modules instead of one worker finishing a long one alone."""
    _unique_node_ids(items)
    slow: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        slow[module] = slow.get(module, 0) + (item.get_closest_marker("slow") is not None)
    # A stable sort: a module's tests stay together and in their order.
    items.sort(key=lambda item: -slow[item.nodeid.split("::", 1)[0]])


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of this run that its xdist workers share (pytest cleans it up as it does its
    other temporary folders): what is made once a run, under a lock, lives here."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session", autouse=True)
def _one_folder_for_served_apps(run_folder: Path) -> None:
    """The run's served apps share their zygotes (tests/zygote.py) across xdist workers."""
    served.ZYGOTES.use(run_folder / "zygotes")


_SECRET_VARIABLES = ("SEGMIND_API_KEY", "REALDREAM_BASE_URL", "REALDREAM_MOCK")


@pytest.fixture(autouse=True)
def _no_real_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's real key or endpoint must never reach a test."""
    for name in _SECRET_VARIABLES:
        monkeypatch.delenv(name, raising=False)
