"""``python -m demo.deploy`` against a stand-in Hub: the requests ``huggingface_hub`` sends.

Each test runs the command in a subprocess, as its owner would, with ``HF_ENDPOINT`` pointing
at the stand-in on loopback (tests/deploy/hub.py). A canary key checks where the key goes:
through the secrets endpoint, and nowhere else.
"""

from __future__ import annotations

import json

import pytest

from demo._deploy_plan import space_files
from demo._settings import DAILY_BUDGET_ENV, MIN_BALANCE_ENV, REQUIRE_LOGIN_ENV, VISITOR_LIMIT_ENV
from tests.deploy.conftest import CANARY_KEY, ROOT, Deploy
from tests.deploy.hub import INITIAL_FILES, Space, StandInHub

pytestmark = pytest.mark.slow  # each test starts Python, gradio and huggingface_hub afresh


def _everything_sent(hub: StandInHub, *, but: str = "/secrets") -> str:
    return "\n".join(
        f"{s.method} {s.path}?{s.query} {json.dumps(s.headers)} {s.body.decode('latin-1')}"
        for s in hub.seen
        if not s.path.endswith(but)
    )


def test_a_first_deploy_creates_a_gradio_space_with_its_secret_limits_and_files(
    hub: StandInHub, deploy: Deploy
) -> None:
    ran = deploy(
        "owner/realdream", "--daily-budget", "2.5", "--visitor-images", "4",
        "--min-balance", "1", "--require-login", "--private",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    (created,) = [json.loads(s.body) for s in hub.requests_to("/api/repos/create")]
    assert created == {
        "name": "realdream", "organization": "owner", "type": "space", "sdk": "gradio",
        "visibility": "private",
    }  # fmt: skip
    (secret,) = [json.loads(s.body) for s in hub.requests_to("/owner/realdream/secrets")]
    assert (secret["key"], secret["value"]) == ("SEGMIND_API_KEY", CANARY_KEY)
    variables = [json.loads(s.body) for s in hub.requests_to("/owner/realdream/variables")]
    assert {v["key"]: v["value"] for v in variables} == {
        DAILY_BUDGET_ENV: "2.5", VISITOR_LIMIT_ENV: "4", MIN_BALANCE_ENV: "1",
        REQUIRE_LOGIN_ENV: "1",
    }  # fmt: skip
    space = hub.spaces["owner/realdream"]
    planned = {u.path_in_repo: u.local.read_bytes() for u in space_files(ROOT)}
    assert space.files == {**INITIAL_FILES, **planned}
    assert (space.sdk, space.private) == ("gradio", True)
    assert ran.stdout.splitlines()[-1] == f"Deployed: {hub.url}/spaces/owner/realdream"
    assert ran.stderr == ""  # a floor is set: no warning about restarts


def test_the_key_goes_through_the_secrets_endpoint_and_nowhere_else(
    hub: StandInHub, deploy: Deploy
) -> None:
    ran = deploy("owner/realdream", "--daily-budget", "1")
    assert ran.returncode == 0, ran.stderr
    space = hub.spaces["owner/realdream"]
    assert space.secrets == {"SEGMIND_API_KEY": CANARY_KEY}
    assert CANARY_KEY not in _everything_sent(hub)
    assert not any(CANARY_KEY in value for value in space.variables.values())
    assert not any(CANARY_KEY.encode() in content for content in space.files.values())
    assert CANARY_KEY not in ran.stdout + ran.stderr


def test_running_it_again_updates_the_space_and_removes_files_it_no_longer_has(
    hub: StandInHub, deploy: Deploy
) -> None:
    old = {"realdream/_gone.py": b"old = 1\n", "demo/app_notes.md": b"old\n", "notes.md": b"mine"}
    hub.spaces["owner/realdream"] = Space(sdk="gradio", files={**INITIAL_FILES, **old})
    hub.spaces["owner/realdream"].variables[DAILY_BUDGET_ENV] = "3"
    ran = deploy("owner/realdream", "--private")
    assert ran.returncode == 0, ran.stderr
    assert hub.spaces["owner/realdream"].private  # an existing public Space made private
    assert len(hub.requests_to("/owner/realdream/settings", method="PUT")) == 1
    files = hub.spaces["owner/realdream"].files
    assert "realdream/_gone.py" not in files
    assert "demo/app_notes.md" not in files
    assert files["notes.md"] == b"mine"  # outside the folders it manages: left alone
    assert files["app.py"] == (ROOT / "app.py").read_bytes()
    assert hub.requests_to("/variables") == []  # no limit given: the Space keeps its own
    assert hub.spaces["owner/realdream"].variables == {DAILY_BUDGET_ENV: "3"}
    assert "warning: no balance floor" in ran.stderr  # no storage, no floor
    assert "has no persistent storage" in ran.stderr


def test_a_space_with_persistent_storage_is_not_warned_about(
    hub: StandInHub, deploy: Deploy
) -> None:
    hub.spaces["owner/realdream"] = Space(sdk="gradio", storage="small")
    ran = deploy("owner/realdream")
    assert (ran.returncode, ran.stderr) == (0, "")


def test_a_dry_run_sends_nothing_and_needs_no_key(hub: StandInHub, deploy: Deploy) -> None:
    ran = deploy("owner/realdream", "--dry-run", "--visitor-images", "3", key=None)
    assert ran.returncode == 0, ran.stderr
    assert hub.seen == []
    assert f"Plan for {hub.url}/spaces/owner/realdream" in ran.stdout
    assert "SEGMIND_API_KEY" in ran.stdout
    assert f"{VISITOR_LIMIT_ENV}=3" in ran.stdout


@pytest.mark.parametrize(
    ("space", "token", "expected"),
    [
        ("owner/realdream", None, 'error: no Hugging Face token: run "hf auth login"'),
        ("owner/realdream", "hf_expired", "error: the Hub refused the token (401)"),
        ("someone/realdream", "default", "error: no permission to write someone/realdream (403)"),
        ("owner/taken", "default", "error: owner/taken is taken: it exists as a docker Space"),
    ],
    ids=["no-token", "bad-token", "no-permission", "name-taken"],
)
def test_a_hub_refusal_is_one_line_and_no_secret_is_sent(
    hub: StandInHub, deploy: Deploy, space: str, token: str | None, expected: str
) -> None:
    hub.spaces["owner/taken"] = Space(sdk="docker")
    ran = deploy(space, **({} if token == "default" else {"token": token}))
    assert ran.returncode == 1
    assert len(ran.stderr.splitlines()) == 1, ran.stderr
    assert ran.stderr.startswith(expected), ran.stderr
    assert hub.requests_to("/secrets") == []
    assert CANARY_KEY not in ran.stdout + ran.stderr
