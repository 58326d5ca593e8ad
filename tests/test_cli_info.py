"""`main.py info FILE...` (issue 24): one JSON line per file, in the order given, with
the reader's fields; an unreadable file is a line with an error sentence, and the exit
status is 1 only when no file at all could be read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.foreign_pictures import png, with_exif

ROOT = Path(__file__).resolve().parent.parent
A1111 = (
    "a fox\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 5, Size: 16x8"
)


def run_info(*files: str | bytes) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "main.py", "info", *files],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )


def lines(out: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in out.stdout.decode().splitlines()]


def test_info_prints_one_line_per_file_in_order_and_succeeds_if_any_was_read(tmp_path):
    a1111 = png(tmp_path / "a.png", {"parameters": A1111})
    exif = Image.Exif()
    exif[0x9286] = json.dumps({"sui_image_params": {"prompt": "owl", "steps": 12}})
    swarm = with_exif(tmp_path / "s.jpg", exif, "JPEG")
    plain = png(tmp_path / "plain.png")
    junk = tmp_path / "junk.webp"
    junk.write_bytes(b"RIFF....WEBPnot really")
    missing = tmp_path / "missing.png"
    out = run_info(*(str(p) for p in (a1111, swarm, plain, junk, missing)))
    assert out.returncode == 0, out.stderr
    read = lines(out)
    assert [line["path"] for line in read] == [str(p) for p in (a1111, swarm, plain, junk, missing)]
    assert read[0]["tool"] == "a1111"
    assert read[0]["fields"] == {
        "prompt": "a fox",
        "negative_prompt": "blurry",
        "steps": 20,
        "sampler": "Euler a",
        "cfg_scale": 7.0,
        "seed": 5,
        "width": 16,
        "height": 8,
    }
    assert read[0]["unmapped"] == {} and read[0]["notes"] == [] and read[0]["pixels"] == [16, 8]
    assert read[1]["tool"] == "swarmui" and read[1]["fields"] == {"prompt": "owl", "steps": 12}
    assert read[2]["tool"] == "" and read[2]["fields"] == {} and read[2]["notes"]
    assert set(read[3]) == {"path", "error"} and "not a picture" in read[3]["error"]
    assert set(read[4]) == {"path", "error"} and "does not exist" in read[4]["error"]


def test_info_fails_only_when_no_file_could_be_read(tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not a picture")
    out = run_info(str(junk), str(tmp_path / "missing.png"))
    assert out.returncode == 1
    assert len(lines(out)) == 2 and b"none of the files could be read" in out.stderr


def test_info_prints_a_file_name_that_is_not_utf8(tmp_path):
    name = os.fsencode(tmp_path) + b"/caf\xe9.png"  # latin-1 bytes: not valid UTF-8
    try:
        Path(os.fsdecode(name)).write_bytes(png(tmp_path / "x.png").read_bytes())
    except (OSError, UnicodeError):  # a file system that insists on UTF-8 names
        return
    out = run_info(name)
    assert out.returncode == 0 and lines(out)[0]["pixels"] == [16, 8]
