"""The command line given bad input: one `error:` line, a non-zero exit, nothing created."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.store import read_metadata

ROOT = Path(__file__).resolve().parent.parent


def run_main(*args: str | bytes, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=300,
        **kwargs,
    )


def one_error_line(out: subprocess.CompletedProcess) -> str:
    lines = out.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines
    return lines[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["sample", "--out", ""], "output folder"),
        (
            ["sample", "--model", "vae-faces", "--out", "{out}"],
            "no bundled model called 'vae-faces' (bundled: ",
        ),
        (["sample", "--seed", "4294967295", "--count", "2", "--out", "{out}"], "largest seed"),
        (["sample", "--count", "0", "--out", "{out}"], "Count must be between 1 and 256"),
        (["sample", "--model", "{tmp}/nowhere.safetensors", "--out", "{out}"], "does not exist"),
        (
            ["generate", "--model", "{tmp}", "--prompt", "x", "--cfg", "nan", "--out", "{out}"],
            "finite",
        ),
        (
            ["generate", "--model", "{tmp}", "--prompt", "x", "--cfg", "1e308", "--out", "{out}"],
            "CFG scale",
        ),
        (
            [
                "generate",
                "--model",
                "{tmp}",
                "--prompt",
                "x",
                "--width",
                "100000",
                "--out",
                "{out}",
            ],
            "between 8 and 4096",
        ),
        (["sample", "--count", "many", "--out", "{out}"], "invalid int value"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_creates_nothing(tmp_path, args, words):
    out = tmp_path / "out"
    filled = [a.format(out=out, tmp=tmp_path) for a in args]
    result = run_main(*filled)
    assert result.returncode == 2
    assert words in one_error_line(result)
    assert result.stdout == b""
    assert not out.exists()


def test_a_prompt_that_is_not_valid_text_is_refused(tmp_path):
    result = run_main(
        "generate",
        "--model",
        str(tmp_path),
        "--prompt",
        b"caf\xe9 au lait",
        "--out",
        str(tmp_path / "out"),
    )
    assert result.returncode == 2
    assert "not valid text: character 4" in one_error_line(result)


def test_a_failed_generation_leaves_no_output_folder(tmp_path, tiny_sd_model, capsys):
    import shutil

    import main  # in this process: a fresh one would spend ~10 s importing diffusers

    broken = Path(shutil.copytree(tiny_sd_model, tmp_path / "broken"))
    (broken / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    out = tmp_path / "out"
    args = ["generate", "--model", str(broken), "--prompt", "x", "--steps", "2"]
    code = main.main([*args, "--width", "64", "--height", "64", "--out", str(out)])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "unet weights are missing" in lines[0]
    assert not out.exists()


def test_asking_for_cuda_without_a_gpu_says_so_and_records_the_real_device(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = run_main(
        "sample", "--device", "cuda", "--count", "1", "--seed", "3", "--out", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert (
        "warning: cuda was asked for but is not available here; running on the CPU."
        in result.stderr.decode()
    )
    path = Path(json.loads(result.stdout.decode().splitlines()[0])["path"])
    assert read_metadata(path).recipe["device"] == "cpu"


def test_ctrl_c_is_cancelled_not_a_traceback(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "main.py", "train", "--steps", "1000000", "--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout.readline()  # training has started
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err.decode().strip().splitlines() == ["Cancelled."]


# ---------------------------------------------------------------- the gallery command


def test_gallery_lists_checks_and_rebuilds(tmp_path, capsys):
    import main  # in this process: the command path is the same, the start-up cheaper

    def gallery(*flags: str) -> tuple[int, list[dict]]:
        code = main.main(["gallery", "--out", str(tmp_path), *flags])
        return code, [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    assert main.main(["sample", "--seed", "5", "--count", "2", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    code, listed = gallery()
    assert code == 0 and sorted(i["seed"] for i in listed) == [5, 6]
    assert {i["kind"] for i in listed} == {"sample"}
    assert {i["model"] for i in listed} == {"vae-digits"}

    assert gallery("--check") == (0, [{"consistent": True, "images": 2}])
    Path(listed[0]["path"]).unlink()
    gone = Path(listed[0]["path"]).relative_to(tmp_path).as_posix()
    assert gallery("--check") == (1, [{"not_on_disk": gone}])
    assert gallery("--rebuild") == (0, [{"rebuilt": 1}])
    assert gallery("--check") == (0, [{"consistent": True, "images": 1}])


def test_gallery_of_a_folder_that_does_not_exist_is_one_line(tmp_path):
    result = run_main("gallery", "--out", str(tmp_path / "nowhere"))
    assert result.returncode == 2 and "is not a folder" in one_error_line(result)
    assert not (tmp_path / "nowhere").exists()
