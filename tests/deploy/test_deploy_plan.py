"""What ``python -m demo.deploy`` would send, decided without any network: the files, the
variables, the front matter, the key's source, and the warning about restarts."""

from __future__ import annotations

import io
import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from demo._deploy_plan import (
    Limits,
    front_matter,
    front_matter_problem,
    restart_warning,
    space_files,
)
from demo._settings import (
    DAILY_BUDGET_ENV,
    MIN_BALANCE_ENV,
    REQUIRE_LOGIN_ENV,
    VISITOR_LIMIT_ENV,
    env_flag,
    env_number,
)
from demo.deploy import main
from tests.deploy.conftest import CANARY_KEY, ROOT


def _paths(root: Path) -> set[str]:
    return {upload.path_in_repo for upload in space_files(root)}


def test_the_space_gets_the_app_its_requirements_readme_and_packages() -> None:
    paths = _paths(ROOT)
    assert {"app.py", "requirements.txt", "README.md", "realdream/__init__.py"} <= paths
    assert {"demo/__init__.py", "realdream/contract.py", "realdream/testing/plugin.py"} <= paths


def test_the_mocks_source_goes_as_real_files_under_realdream_mock() -> None:
    uploads = {upload.path_in_repo: upload.local for upload in space_files(ROOT)}
    sources = sorted(p for p in (ROOT / "mocks").rglob("*") if p.is_file() and ".pyc" not in p.name)
    assert sources
    for source in sources:
        target = "realdream/mock/" + source.relative_to(ROOT / "mocks").as_posix()
        assert uploads[target] == source  # the file itself, not the link realdream/mock
    assert "realdream/mock" not in uploads
    assert not any(path.startswith("mocks/") for path in uploads)


def test_nothing_the_space_does_not_run_is_sent() -> None:
    for path in _paths(ROOT):
        top = path.split("/")[0]
        assert top in {"app.py", "requirements.txt", "README.md", "realdream", "demo"}, path
        assert "__pycache__" not in path, path
        assert not path.endswith(".pyc"), path
        assert not any(part.startswith(".") for part in path.split("/")), path


def test_every_file_sent_is_text_so_none_needs_large_file_storage() -> None:
    for upload in space_files(ROOT):
        upload.local.read_bytes().decode("utf-8")  # raises on a binary


def _checkout(root: Path) -> Path:
    for name in ("app.py", "requirements.txt", "README.md"):
        (root / name).write_text("x\n")
    for folder in ("realdream", "demo", "mocks"):
        (root / folder).mkdir()
        (root / folder / "__init__.py").write_text("")
    return root


def test_caches_hidden_files_and_links_are_left_behind(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    (root / "demo" / "__pycache__").mkdir()
    (root / "demo" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (root / "demo" / "stale.pyc").write_bytes(b"\0")
    (root / "demo" / ".hidden").write_text("secret")
    (root / "realdream" / "mock").symlink_to("../mocks")
    (root / "mocks" / "_rules.py").write_text("")
    (root / "tests").mkdir()
    (root / "tests" / "test_x.py").write_text("")
    assert _paths(root) == {
        "app.py", "requirements.txt", "README.md", "demo/__init__.py",
        "realdream/__init__.py", "realdream/mock/__init__.py", "realdream/mock/_rules.py",
    }  # fmt: skip


def test_a_folder_that_is_not_a_checkout_is_refused_naming_what_is_missing(
    tmp_path: Path,
) -> None:
    root = _checkout(tmp_path)
    (root / "app.py").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing app\.py"):
        space_files(root)


@pytest.mark.slow
def test_the_uploaded_tree_runs_from_its_root_without_installing_anything(tmp_path: Path) -> None:
    for upload in space_files(ROOT):
        target = tmp_path / upload.path_in_repo
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(upload.local.read_bytes())
    code = (
        "import realdream, realdream.mock, demo, app\n"
        "service = realdream.mock.MockService(realdream.mock.MockConfig(latency=0))\n"
        "print(realdream.__file__, realdream.mock.__file__, demo.__file__)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, ''); exec({code!r})"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    for path in ran.stdout.split():
        assert Path(path).is_relative_to(tmp_path), path


def test_the_readmes_front_matter_is_what_a_gradio_space_needs() -> None:
    readme = (ROOT / "README.md").read_text()
    meta = front_matter(readme)
    assert (meta["sdk"], meta["app_file"], meta["license"]) == ("gradio", "app.py", "mit")
    assert front_matter_problem(readme, require_login=True) is None


@pytest.mark.parametrize(
    ("readme", "require_login", "named"),
    [
        ("# no front matter\n", False, "sdk: gradio"),
        ("---\nsdk: docker\napp_file: app.py\n---\n", False, "sdk: gradio"),
        ("---\nsdk: gradio\napp_file: main.py\n---\n", False, "app_file: app.py"),
        ("---\nsdk: gradio\napp_file: app.py\n---\n", True, "hf_oauth: true"),
        ("---\nsdk: gradio\napp_file: app.py\n", False, "sdk: gradio"),  # never closed
    ],
)
def test_a_readme_that_cannot_configure_the_space_is_refused(
    readme: str, require_login: bool, named: str
) -> None:
    problem = front_matter_problem(readme, require_login=require_login)
    assert problem is not None
    assert named in problem


def test_only_the_limits_given_become_variables_with_the_apps_names() -> None:
    assert Limits().variables() == {}
    limits = Limits(
        daily_budget_usd=2.5, visitor_images_per_hour=4, min_balance_usd=1.0, require_login=False
    )
    assert limits.variables() == {
        DAILY_BUDGET_ENV: "2.5", VISITOR_LIMIT_ENV: "4", MIN_BALANCE_ENV: "1",
        REQUIRE_LOGIN_ENV: "0",
    }  # fmt: skip
    assert Limits(require_login=True).variables() == {REQUIRE_LOGIN_ENV: "1"}


@given(st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False))
def test_a_budget_set_as_a_variable_reads_back_as_the_same_number(usd: float) -> None:
    text = Limits(daily_budget_usd=usd).variables()[DAILY_BUDGET_ENV]
    assert env_number({DAILY_BUDGET_ENV: text}, DAILY_BUDGET_ENV, math.nan) == usd


@given(st.booleans())
def test_require_login_reads_back_as_the_app_reads_it(flag: bool) -> None:
    text = Limits(require_login=flag).variables()[REQUIRE_LOGIN_ENV]
    assert env_flag({REQUIRE_LOGIN_ENV: text}, REQUIRE_LOGIN_ENV) is flag


@pytest.mark.parametrize(
    ("floor", "storage", "warned"),
    [(0.0, None, True), (0.0, False, True), (0.0, True, False), (0.5, None, False),
     (0.5, False, False)],
)  # fmt: skip
def test_a_space_with_neither_storage_nor_a_floor_is_warned_about(
    floor: float, storage: bool | None, warned: bool
) -> None:
    warning = restart_warning(floor, storage=storage)
    assert (warning is not None) is warned
    if warning:
        assert "restart" in warning
        assert "--min-balance" in warning


def _main(*argv: str, environ: dict[str, str], secret: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return secret

    code = main(list(argv), environ=environ, ask_secret=ask, out=out, err=err)
    return code, out.getvalue(), err.getvalue() + "".join(f"[asked: {p}]" for p in asked)


def test_a_dry_run_prints_the_plan_and_asks_for_no_key() -> None:
    code, out, err = _main("owner/space", "--dry-run", "--daily-budget", "2", environ={})
    assert code == 0
    assert "owner/space" in out
    assert "Gradio SDK" in out
    assert "Secret: SEGMIND_API_KEY" in out
    assert f"{DAILY_BUDGET_ENV}=2" in out
    assert "    realdream/mock/_rules.py" in out
    assert "    app.py" in out
    assert "[asked:" not in err
    assert "warning: no balance floor" in err


def test_a_dry_run_with_a_floor_does_not_warn() -> None:
    code, out, err = _main("owner/space", "--dry-run", "--min-balance", "0.5", environ={})
    assert (code, err) == (0, "")
    assert f"{MIN_BALANCE_ENV}=0.5" in out


def test_without_a_key_in_the_environment_it_asks_at_a_hidden_prompt() -> None:
    code, _, err = _main("owner/space", environ={})
    assert code == 1
    assert "[asked: SEGMIND_API_KEY (hidden; Enter for none): ]" in err
    assert "error: no Segmind key" in err


def test_a_key_of_the_wrong_shape_is_refused_without_showing_it() -> None:
    code, out, err = _main("owner/space", environ={"SEGMIND_API_KEY": "sk-not-a-segmind-key"})
    assert code == 1
    assert "does not look like a Segmind key (SG_ followed by 16 hex characters)" in err
    assert "sk-not-a-segmind-key" not in out + err


def test_a_key_on_the_command_line_is_not_an_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["owner/space", "--api-key", CANARY_KEY], environ={})
    assert exited.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["nobody"], "must be OWNER/SPACE"),
        (["a/b/c"], "must be OWNER/SPACE"),
        (["owner/space", "--daily-budget", "-1"], "--daily-budget='-1'"),
        (["owner/space", "--daily-budget", "nan"], "--daily-budget='nan'"),
        (["owner/space", "--visitor-images", "2.5"], "must be a whole number"),
        (["owner/space", "--min-balance", "lots"], "--min-balance='lots'"),
    ],
)
def test_bad_input_is_refused_naming_the_option_and_value(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--dry-run"], environ={})
    assert exited.value.code == 2
    assert named in capsys.readouterr().err
