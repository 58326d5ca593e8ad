"""The Latent Lab from a terminal: train, sample and score every family, as real processes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.api.kinds import Family
from engine.store import read_metadata
from tests.test_cli import json_lines, run_main


@pytest.mark.parametrize(
    ("family", "terms"),
    [
        ("gan", {"d_loss", "g_loss", "d_real", "d_fake"}),
        ("ddpm", {"eps_mse"}),
    ],
)
def test_train_then_sample_then_resume_a_gan_and_a_ddpm(tmp_path, family, terms):
    out = run_main(
        "train", "--model", family, "--data", "digits", "--steps", "30", "--batch", "16",
        "--seed", "3", "--out", str(tmp_path),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = json_lines(out.stdout)
    assert terms | {"images_per_s"} <= set(lines[-2]) and lines[-2]["step"] == 30
    checkpoint = Path(lines[-1]["checkpoint"])
    assert checkpoint.is_file() and checkpoint.parent == tmp_path

    resumed = run_main(
        "train", "--model", family, "--data", "digits", "--steps", "45", "--batch", "16",
        "--seed", "3", "--resume", str(checkpoint.with_suffix(".train.safetensors")),
        "--out", str(tmp_path / "more"),
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    steps = [line["step"] for line in json_lines(resumed.stdout) if "step" in line]
    assert steps[0] > 30 and steps[-1] == 45  # it went on from step 30, not from 0

    sampled = run_main(
        "sample", "--model", str(checkpoint), "--seed", "5", "--count", "3", "--steps", "4",
        "--out", str(tmp_path / "g"),
    )  # fmt: skip
    assert sampled.returncode == 0, sampled.stderr
    images = json_lines(sampled.stdout)
    assert [line["seed"] for line in images] == [5, 6, 7]
    meta = read_metadata(Path(images[0]["path"]))
    assert meta.request.model.family is Family(family)


@pytest.mark.reproducibility
def test_sample_a_bundled_ddpm_draws_the_asked_digit_and_reproduces(tmp_path):
    def sample(folder: str) -> tuple[list[dict], list[np.ndarray]]:
        out = run_main(
            "sample", "--model", "ddpm-digits", "--seed", "9", "--count", "2", "--steps", "20",
            "--label", "7", "--out", str(tmp_path / folder),
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        lines = json_lines(out.stdout)
        return lines, [np.asarray(Image.open(line["path"])) for line in lines]

    first, pixels = sample("a")
    again, same = sample("b")
    assert all(np.array_equal(a, b) for a, b in zip(pixels, same, strict=True))
    request = read_metadata(Path(first[0]["path"])).request
    assert (request.options.label, request.options.steps) == (7, 20)
    assert request.model.id == "ddpm-digits"


@pytest.mark.parametrize("model", ["gan-digits", "ddpm-digits"])
def test_score_prints_the_meter_as_name_value_lines(model):
    out = run_main("score", "--model", model, "--count", "60")
    assert out.returncode == 0, out.stderr
    values = dict(line.split(": ") for line in out.stdout.splitlines())
    assert values["samples"] == "60"
    assert 0 <= float(values["recognisable"]) <= 1 and 0 <= float(values["copies"]) <= 1
    assert 1 <= int(values["classes"]) <= 10 and float(values["diversity"]) > 0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["score", "--model", "models/sd15"], "not one of Latent Studio's Lab models"),
        (["train", "--model", "gan", "--data", "nowhere/at/all", "--out", "{out}"], "nowhere"),
        (["train", "--model", "ddpm", "--data", "digits", "--size", "32", "--out", "{out}"], "8"),
        (["sample", "--model", "ddpm-digits", "--label", "12", "--out", "{out}"], "12"),
    ],
)
def test_bad_lab_input_is_one_line_and_creates_nothing(tmp_path, args, words):
    out = tmp_path / "out"
    result = run_main(*(a.replace("{out}", str(out)) for a in args))
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("error: ") and words in line and line.endswith(".")
    assert not out.exists()
