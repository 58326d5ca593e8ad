"""`train` given hostile names and numbers: one `error:` line, exit 2, before anything is
created, and nothing written outside --out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.parts import DatasetRef
from engine.api.requests import TrainRequest

ROOT = Path(__file__).resolve().parent.parent


def run_train(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "main.py", "train", "--steps", "2", "--batch", "4", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def everything_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--name", "../../escape"], "cannot contain /"),
        (["--name", "a/b"], "cannot contain /"),
        (["--name", "..\\up"], "cannot contain /"),
        (["--name", ".."], "cannot start with a dot"),
        (["--name", ""], "cannot be empty"),
        (["--name", "x" * 300], "at most 223 bytes"),
        (["--data", "/tmp/" + "f" * 240], "at most 223 bytes"),  # the default name, too long
        (["--steps", "0"], "Training steps must be between 1"),
        (["--batch", "0"], "Training batch size must be between 1"),
        (["--lr", "0"], "Learning rate must be between"),
        (["--lr", "-0.5"], "Learning rate must be between"),
        (["--lr", "nan"], "finite"),
    ],
)
def test_a_bad_name_or_number_is_one_line_and_creates_nothing(tmp_path, extra, words):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    out = work / "out"
    result = run_train("--out", str(out), *extra)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert words in lines[0]
    assert everything_under(tmp_path) == ["a", "a/b"]  # nothing in --out, nothing above it


def test_a_name_that_fits_is_trained_inside_out_with_all_its_files(tmp_path):
    out = tmp_path / "out"
    name = "é" * 111  # 222 bytes: the longest that fits with its state's temp file
    result = run_train("--model", "gan", "--out", str(out), "--name", name)
    assert result.returncode == 0, result.stderr
    assert everything_under(tmp_path) == sorted(
        ["out", f"out/{name}.json", f"out/{name}.safetensors", f"out/{name}.train.safetensors"]
    )


def test_a_request_whose_file_name_is_too_long_is_refused_before_training():
    request = TrainRequest(
        family=Family.GAN,
        preset="digits",
        dataset=DatasetRef("digits"),
        output="/somewhere/" + "n" * 230 + ".safetensors",
    )
    with pytest.raises(BadInput, match="at most 223 bytes"):
        request.validate()
