"""The vendor's own sample code against the mock (only URL and key changed), and our fix.

The sample has two bugs against the real service, and the mock reproduces both faithfully:
``"base64": false`` is not Python (NameError before anything is sent), and on success it calls
``response.json()`` on what is a raw JPEG body. The contract notes (docs/contract.md) show the
corrected code, which this file runs from that page itself.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from realdream import contract
from tests.reference import SAMPLE_CODE as SAMPLE

ROOT = Path(__file__).resolve().parents[2]
#: A user's pytest: plugins load from their entry points, realdream's among them. schemathesis,
#: a plugin of our own test environment and not of a user's, is left out (about 1.5 s of start-up).
USERS_PYTEST = ("-p", "no:cacheprovider", "-p", "no:schemathesis")


def _pointed_at(code: str, server) -> str:
    changed = code.replace(contract.BASE_URL, server.base_url).replace(
        "YOUR_API_KEY", server.api_key
    )
    assert changed.count(server.base_url) == 1
    assert changed.count(server.api_key) == 1
    return changed


def _run(
    code: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, timeout=60
    )


def test_the_sample_as_published_is_not_python_and_sends_nothing(realdream_server, tmp_path):
    run = _run(_pointed_at(SAMPLE, realdream_server), tmp_path)
    assert run.returncode != 0
    assert "NameError: name 'false' is not defined" in run.stderr
    assert realdream_server.service.stats.requests == 0


def test_the_sample_reaches_200_then_fails_on_response_json(realdream_server, tmp_path):
    code = _pointed_at(SAMPLE, realdream_server).replace('"base64": false', '"base64": False')
    code = code.replace(
        "    result = response.json()",
        ("    open('body.bin', 'wb').write(response.content)\n    result = response.json()"),
    )
    run = _run(code, tmp_path)
    assert "JSONDecodeError" in run.stderr
    assert realdream_server.service.stats.by_status == {200: 1}
    with Image.open(io.BytesIO((tmp_path / "body.bin").read_bytes())) as image:
        assert (image.format, image.size) == ("JPEG", (768, 1152))


def test_the_docs_corrected_sample_saves_the_jpeg(realdream_server, tmp_path):
    page = (ROOT / "docs" / "contract.md").read_text()
    section = page.split("## The vendor's sample, corrected", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert code is not None
    env = {
        "PATH": "/usr/bin:/bin",
        "SEGMIND_API_KEY": realdream_server.api_key,
        "REALDREAM_BASE_URL": realdream_server.base_url,
    }
    run = _run(code.group(1), tmp_path, env)
    assert run.returncode == 0, run.stderr
    assert "saved" in run.stdout
    with Image.open(tmp_path / "realdream.jpg") as image:
        assert (image.format, image.size) == ("JPEG", (768, 1152))


@pytest.mark.slow  # a pytest in a subprocess (plugins loaded afresh): about 3 s
def test_the_plugin_fixtures_work_in_a_users_test_suite(pytester):
    pytester.makepyfile(
        test_user="""
        import pytest, requests, realdream

        def test_with_client(realdream_client, realdream_mock):
            result = realdream_client.generate("a portrait", seed=5)
            assert result.seed == 5
            assert realdream_mock.stats.by_status == {200: 1}

        def test_forced_failure(realdream_client, realdream_mock):
            realdream_mock.script([406])
            try:
                realdream_client.generate("a portrait")
            except realdream.InsufficientCreditsError:
                return
            raise AssertionError("406 was not raised")

        @pytest.mark.anyio
        async def test_with_async_client(realdream_async_client, realdream_mock):
            result = await realdream_async_client.generate("a portrait", seed=6)
            assert result.seed == 6
            assert realdream_mock.stats.by_status == {200: 1}

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        def test_with_server(realdream_server):
            response = requests.post(
                realdream_server.base_url + "/v1/sdxl1.0-realdream-lightning",
                headers={"x-api-key": realdream_server.api_key},
                json={"prompt": "a portrait", "img_width": 256, "img_height": 256},
            )
            assert response.status_code == 200
            assert response.headers["content-type"] == "image/jpeg"
        """
    )
    result = pytester.runpytest_subprocess(*USERS_PYTEST)
    result.assert_outcomes(passed=4)


@pytest.mark.slow  # a pytest in a subprocess: about 3 s
def test_a_fixture_without_the_testing_extra_says_what_to_install(pytester):
    pytester.makeconftest("import sys\nsys.modules['starlette'] = None  # not installed\n")
    pytester.makepyfile(test_user="def test_needs_the_mock(realdream_client):\n    pass\n")
    result = pytester.runpytest_subprocess(*USERS_PYTEST)
    result.assert_outcomes(errors=1)
    assert "(starlette is not installed); install them with: pip install 'realdream[testing]'" in (
        result.stdout.str()
    )
