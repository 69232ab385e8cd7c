"""The package's weight: nothing heavy at import, and typed (``__all__``: test_public_surface)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_package_pulls_in_no_server_ui_or_cli_library():
    code = (
        "import sys, realdream; "
        "heavy = ('fastapi', 'uvicorn', 'gradio', 'typer', 'hypothesis', 'realdream.mock'); "
        "print(sorted(m for m in heavy "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_package_is_typed():
    from importlib.resources import files

    assert files("realdream").joinpath("py.typed").is_file()
