"""The command line, as a script would use it: real processes, JSON lines, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from engine.jobs import SampleRequest, Txt2ImgRequest
from engine.store import read_metadata

ROOT = Path(__file__).resolve().parent.parent


def run_main(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_sample_prints_one_json_line_per_image(tmp_path):
    out = run_main(
        "sample",
        "--model",
        "vae-digits",
        "--seed",
        "5",
        "--count",
        "3",
        "--out",
        str(tmp_path),
        "--device",
        "cpu",
    )
    assert out.returncode == 0, out.stderr
    lines = json_lines(out.stdout)
    assert [line["seed"] for line in lines] == [5, 6, 7]
    for line in lines:
        assert (line["width"], line["height"]) == (8, 8)
        meta = read_metadata(Path(line["path"]))
        assert meta.request == SampleRequest(model="vae-digits", seed=5, count=3)


def test_generate_batch_with_a_sampler(tmp_path, tiny_sd_model):
    out = run_main(
        "generate",
        "--model",
        str(tiny_sd_model),
        "--prompt",
        "a lighthouse",
        "--negative",
        "fog",
        "--seed",
        "9",
        "--steps",
        "3",
        "--cfg",
        "5.5",
        "--width",
        "64",
        "--height",
        "48",
        "--sampler",
        "DPM++ 2M Karras",
        "--batch",
        "2",
        "--out",
        str(tmp_path),
    )
    assert out.returncode == 0, out.stderr
    lines = json_lines(out.stdout)
    assert [(line["seed"], line["width"], line["height"]) for line in lines] == [
        (9, 64, 48),
        (10, 64, 48),
    ]
    meta = read_metadata(Path(lines[1]["path"]))
    assert meta.request == Txt2ImgRequest(
        model=str(tiny_sd_model),
        prompt="a lighthouse",
        negative_prompt="fog",
        width=64,
        height=48,
        steps=3,
        cfg_scale=5.5,
        seed=9,
        sampler="DPM++ 2M Karras",
        batch_size=2,
    )
    assert "Seed: 10" in meta.parameters_text and "Sampler: DPM++ 2M Karras" in meta.parameters_text


def test_bad_size_is_one_line_and_non_zero(tmp_path, tiny_sd_model):
    out = run_main(
        "generate",
        "--model",
        str(tiny_sd_model),
        "--prompt",
        "x",
        "--width",
        "500",
        "--out",
        str(tmp_path),
    )
    assert out.returncode != 0
    assert out.stdout == ""
    assert out.stderr.strip().splitlines() == [
        "error: Width 500 is not a multiple of 8; the nearest that works is 504."
    ]
    assert not list(tmp_path.rglob("*.png"))


def test_missing_model_folder_is_one_line_and_non_zero(tmp_path):
    out = run_main(
        "generate",
        "--model",
        str(tmp_path / "nope"),
        "--prompt",
        "x",
        "--out",
        str(tmp_path / "out"),
    )
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    last = lines[0]
    assert last.startswith("error: The model folder") and "does not exist" in last


def test_selftest_passes_offline():
    out = run_main("--selftest")
    assert out.returncode == 0, out.stderr
    assert "selftest: ok" in out.stderr
    assert len(json_lines(out.stdout)) == 4
