"""What ``import realdream`` loads: the request model and the errors, not the heavy extras.

Each check runs in a fresh interpreter (this one has imported everything already) and reads
``sys.modules``. Pillow loads where an image is decoded or encoded; httpx (and with it the
rich and click that httpx's own command line imports when they are installed) when the client
is first used; the CLI, the mock server and the demo only when they are run.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Top-level packages that ``import realdream`` must not load.
NOT_ON_IMPORT = (
    "PIL",
    "realdream.mock",
    "typer",
    "click",
    "rich",
    "gradio",
    "starlette",
    "uvicorn",
    "httpx",
    "asyncio",
)
#: Loaded by neither ``from realdream import Client`` nor a request (httpx's own rich is allowed).
NOT_WITH_THE_CLIENT = (
    "PIL",
    "realdream.mock",
    "typer",
    "gradio",
    "starlette",
    "uvicorn",
    "realdream.cli",
)


def loaded_after(code: str) -> set[str]:
    """Every module (and its top-level package) in ``sys.modules`` after running ``code``."""
    script = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    names = json.loads(ran.stdout.splitlines()[-1])
    return set(names) | {name.split(".")[0] for name in names}


def test_importing_realdream_loads_no_pillow_http_cli_server_or_ui_library() -> None:
    loaded = loaded_after("import realdream")
    assert loaded.isdisjoint(NOT_ON_IMPORT), sorted(loaded & set(NOT_ON_IMPORT))
    assert not {name for name in loaded if name.startswith("realdream.cli")}
    assert "realdream.verify._rows" not in loaded  # verify's rows load with verify


def test_a_request_can_be_validated_without_loading_httpx_or_pillow() -> None:
    code = "import realdream\nrealdream.GenerationRequest.create(prompt='a lighthouse', seed=3)"
    loaded = loaded_after(code)
    assert loaded.isdisjoint({"httpx", "PIL"})


@pytest.mark.parametrize(
    "code",
    [
        "from realdream import Client",
        "import realdream\nrealdream.AsyncClient",
        "import realdream\nrealdream.Client('SG_0123456789abcdef').close()",
    ],
)
def test_the_client_loads_httpx_but_no_pillow_cli_server_or_ui(code: str) -> None:
    loaded = loaded_after(code)
    assert "httpx" in loaded
    assert loaded.isdisjoint(NOT_WITH_THE_CLIENT), sorted(loaded & set(NOT_WITH_THE_CLIENT))


def test_lazy_names_are_the_same_objects_as_their_modules_and_listed_by_dir() -> None:
    import realdream
    from realdream import _async_client, _client, _retry

    assert realdream.Client is _client.Client
    assert realdream.AsyncClient is _async_client.AsyncClient
    assert realdream.RetryPolicy is _retry.RetryPolicy
    assert set(realdream.__all__) <= set(dir(realdream))


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    import realdream

    with pytest.raises(AttributeError, match="'no_such_name'"):
        realdream.no_such_name  # noqa: B018
