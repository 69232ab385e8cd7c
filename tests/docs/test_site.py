"""The docs site's frame: every page is in the nav, every nav entry is a page, the licence is
the one the metadata names. (``mkdocs build --strict`` in scripts/test.sh checks the links.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.readme import DOCS, ROOT


def _nav_pages(entries: Any) -> Iterator[str]:
    if isinstance(entries, str):
        yield entries
    elif isinstance(entries, list):
        for entry in entries:
            yield from _nav_pages(entry)
    elif isinstance(entries, dict):
        for value in entries.values():
            yield from _nav_pages(value)


def _config() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_every_page_is_in_the_nav_and_every_entry_is_a_page() -> None:
    nav = list(_nav_pages(_config()["nav"]))
    pages = sorted(path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md"))
    assert sorted(nav) == pages
    assert {"architecture.md", "testing.md", "deploy.md", "api/realdream.md"} <= set(nav)


def test_the_api_reference_covers_the_three_public_packages() -> None:
    directives = "".join(path.read_text() for path in (DOCS / "api").glob("*.md"))
    for package in ("realdream", "realdream.contract", "realdream.mock", "realdream.testing"):
        assert re.search(rf"^::: {re.escape(package)}(\.\w+)*$", directives, re.M), package


def test_the_site_uses_material_and_mkdocstrings_strictly() -> None:
    config = _config()
    assert config["theme"]["name"] == "material"
    assert config["strict"] is True
    plugins = [next(iter(p)) if isinstance(p, dict) else p for p in config["plugins"]]
    assert "mkdocstrings" in plugins


def test_the_licence_is_mit_as_the_metadata_and_the_space_say() -> None:
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License\n")
    assert "Copyright (c) 2026 the realdream authors" in licence
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^license = "MIT"$', pyproject, re.M)
    front_matter = (ROOT / "README.md").read_text(encoding="utf-8").split("---\n")[1]
    assert "license: mit" in front_matter


def test_scripts_test_sh_builds_the_docs_strictly() -> None:
    script = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert re.search(r"mkdocs build --strict", script)
    assert Path(ROOT / ".ci" / "run").read_text().count("scripts/test.sh") == 1
