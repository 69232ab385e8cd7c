"""Generated images on disk: an hour at most, and at most so many bytes, oldest removed first."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

import realdream
from demo import Backend, Handlers
from demo._outputs import KEEP_OUTPUTS_MB_ENV, OutputFolder, default_output_dir, prune


def run_folder(root: Path, name: str, size: int, age_s: float) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "image.png").write_bytes(b"\0" * size)
    then = time.time() - age_s
    os.utime(folder, (then, then))
    return folder


def test_over_the_cap_the_oldest_runs_go_first_and_the_newest_stays(tmp_path: Path) -> None:
    oldest = run_folder(tmp_path, "a", 400, age_s=300)
    older = run_folder(tmp_path, "b", 400, age_s=200)
    old = run_folder(tmp_path, "c", 400, age_s=100)
    new = run_folder(tmp_path, "d", 400, age_s=0)
    prune(tmp_path, keep=new, max_bytes=1000)
    assert [p.name for p in sorted(tmp_path.iterdir())] == ["c", "d"]
    assert not oldest.exists()
    assert not older.exists()
    assert old.exists()


def test_the_newest_run_stays_even_alone_over_the_cap(tmp_path: Path) -> None:
    big = run_folder(tmp_path, "big", 5000, age_s=0)
    run_folder(tmp_path, "small", 10, age_s=10)
    prune(tmp_path, keep=big, max_bytes=1000)
    assert [p.name for p in tmp_path.iterdir()] == ["big"]


def test_runs_older_than_an_hour_go_whatever_the_cap(tmp_path: Path) -> None:
    run_folder(tmp_path, "stale", 10, age_s=3601)
    new = run_folder(tmp_path, "new", 10, age_s=0)
    prune(tmp_path, keep=new, max_bytes=0)
    assert [p.name for p in tmp_path.iterdir()] == ["new"]


def test_a_zero_cap_keeps_an_hour_of_any_size(tmp_path: Path) -> None:
    for index in range(5):
        run_folder(tmp_path, f"run{index}", 10_000, age_s=index)
    prune(tmp_path, keep=tmp_path / "run0", max_bytes=0)
    assert len(list(tmp_path.iterdir())) == 5


def test_the_cap_comes_from_the_environment_in_megabytes(tmp_path: Path) -> None:
    assert OutputFolder.from_env(tmp_path, {KEEP_OUTPUTS_MB_ENV: "2.5"}).max_bytes == 2_500_000
    assert OutputFolder.from_env(tmp_path, {}).max_bytes == 500_000_000
    with pytest.raises(realdream.ConfigurationError, match=KEEP_OUTPUTS_MB_ENV):
        OutputFolder.from_env(tmp_path, {KEEP_OUTPUTS_MB_ENV: "lots"})


def test_the_app_keeps_its_images_under_the_cap(tmp_path: Path) -> None:
    handlers = Handlers(Backend.offline(latency_s=0.0), tmp_path, keep_outputs_mb=0.0)
    form: dict[str, Any] = {
        "prompt": "a lighthouse",
        "negative_prompt": "",
        "scheduler": realdream.DEFAULT_SCHEDULER,
        "num_inference_steps": 8,
        "guidance_scale": 1.5,
        "seed": 1,
        "img_width": 256,
        "img_height": 256,
        "samples": 1,
    }
    one_run = sum(p.stat().st_size for p in map(Path, handlers.generate(**form).files))
    capped = Handlers(handlers.backend, tmp_path, keep_outputs_mb=2.5 * one_run / 1e6)
    for seed in range(2, 7):
        capped.generate(**{**form, "seed": seed})
    runs = list(tmp_path.iterdir())
    assert len(runs) == 2  # 2.5 runs' worth of bytes holds two runs
    on_disk = sum(f.stat().st_size for run in runs for f in run.iterdir())
    assert on_disk <= 2.5 * one_run


def test_images_are_written_where_gradio_serves_them_without_a_copy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    assert default_output_dir().parent == tmp_path / "gradio"
