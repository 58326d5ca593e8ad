"""The command line, as a script would use it: real processes, JSON lines, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from engine.api.kinds import Family
from engine.api.parts import ModelRef, Prompt, Sampling, Size
from engine.api.requests import SampleRequest, Txt2ImgRequest
from engine.models.vae.files import load_vae
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
        assert meta.request == SampleRequest(
            model=ModelRef(Family.VAE, "vae-digits"), seed=5, count=3
        )


def in_process(capsys, *args: str) -> subprocess.CompletedProcess:
    """main.main() in this process: the whole command path but the interpreter start,
    for the commands that would otherwise import diffusers in a fresh process (~10 s)."""
    import main

    code = main.main(list(args))
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, captured.out, captured.err)


def test_generate_batch_with_a_sampler(tmp_path, tiny_sd_model, capsys):
    out = in_process(
        capsys,
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
        model=ModelRef(Family.SD, str(tiny_sd_model)),
        prompt=Prompt("a lighthouse", "fog"),
        size=Size(64, 48),
        sampling=Sampling(steps=3, cfg_scale=5.5, sampler="DPM++ 2M Karras", seed=9),
        batch_size=2,
    )
    assert "Seed: 10" in meta.parameters_text
    assert "Sampler: DPM++ 2M, Schedule type: Karras," in meta.parameters_text  # A1111 1.9+


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
    assert last.startswith(f"error: The model {tmp_path}") and "does not exist" in last


def test_train_prints_progress_lines_then_the_checkpoint(tmp_path):
    out = run_main(
        "train", "--model", "vae", "--data", "digits", "--steps", "40", "--out", str(tmp_path)
    )
    assert out.returncode == 0, out.stderr
    lines = json_lines(out.stdout)
    assert lines[-2]["step"] == 40 and {"loss", "recon", "kl", "images_per_s"} <= set(lines[-2])
    checkpoint = Path(lines[-1]["checkpoint"])
    assert lines[-1]["step"] == 40 and checkpoint.parent == tmp_path
    assert load_vae(checkpoint)[2]["steps"] == 40
    sampled = run_main(
        "sample",
        "--model",
        str(checkpoint),
        "--seed",
        "1",
        "--count",
        "1",
        "--out",
        str(tmp_path / "g"),
    )
    assert sampled.returncode == 0, sampled.stderr
    assert (
        read_metadata(Path(json_lines(sampled.stdout)[0]["path"])).request.model.family
        is Family.VAE
    )


def test_selftest_passes_offline():
    out = run_main("--selftest")
    assert out.returncode == 0, out.stderr
    assert "selftest: ok" in out.stderr
    # Two samples each from the VAE, GAN and DDPM, one upscale, two tiny SD images.
    names = [Path(line["path"]).name for line in json_lines(out.stdout)]
    assert len(names) == 9
    for part in ("vae-digits", "gan-shapes", "ddpm-digits", "lite-x2", "a-lighthouse"):
        assert any(part in name for name in names), (part, names)
