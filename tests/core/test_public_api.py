"""The package's front door: a complete, duplicate-free __all__ and nothing heavy at import."""

from __future__ import annotations

import subprocess
import sys
import types

import realdream


def test_all_is_complete_and_has_no_duplicates():
    public = {
        name
        for name, value in vars(realdream).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public <= set(realdream.__all__) | {"annotations"}
    assert len(realdream.__all__) == len(set(realdream.__all__))
    for name in realdream.__all__:
        assert hasattr(realdream, name), name


def test_importing_the_package_pulls_in_no_server_ui_or_cli_library():
    code = (
        "import sys, realdream; "
        "print(sorted(m for m in ('fastapi','uvicorn','gradio','typer','hypothesis','mocks') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_package_is_typed():
    from importlib.resources import files

    assert files("realdream").joinpath("py.typed").is_file()
