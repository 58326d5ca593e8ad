"""`main.py upscale` as a script uses it: JSON lines, skipped files, exit codes."""

from __future__ import annotations

import numpy as np
from PIL import Image

from engine.api.kinds import Family
from engine.api.parts import ImageRef, ModelRef
from engine.api.requests import UpscaleRequest
from engine.store import read_metadata
from tests.test_cli import json_lines, run_main
from tests.upscalers import photo_like, write_png


def test_images_and_folders_in_one_json_line_per_image_out(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    first = write_png(inputs / "a.png", photo_like(20, 10))
    write_png(inputs / "b.png", photo_like(12, 12, seed=1))
    (inputs / "readme.txt").write_text("not an image")  # not an image name: not taken
    (inputs / "broken.png").write_bytes(b"")  # an image name, unreadable: skipped
    out = tmp_path / "out"
    result = run_main(
        "upscale", "--model", "lanczos", "--scale", "2", str(inputs), "--out", str(out)
    )
    assert result.returncode == 1, result.stderr  # one failed; the others were made
    lines = json_lines(result.stdout)
    assert [(line["width"], line["height"]) for line in lines] == [(40, 20), (24, 24)]
    assert "broken.png" in result.stderr and "empty" in result.stderr
    meta = read_metadata(lines[0]["path"])
    assert meta.request == UpscaleRequest(
        model=ModelRef(Family.UPSCALE, "lanczos"), image=ImageRef(str(first), ""), scale=2.0
    )
    assert meta.recipe["parent"]["path"] == str(first)
    expected = Image.open(first).resize((40, 20), Image.Resampling.LANCZOS)
    assert np.array_equal(np.asarray(Image.open(lines[0]["path"]).convert("RGB")), expected)


def test_nothing_readable_is_a_bad_input_exit(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    result = run_main(
        "upscale", "--model", "bicubic", "--scale", "2", str(empty), "--out", str(tmp_path / "o")
    )
    assert result.returncode == 2
    assert "empty" in result.stderr
    assert not (tmp_path / "o").exists()  # nothing is created for nothing written


def test_an_output_folder_that_cannot_be_written_is_one_error_line(tmp_path):
    """(A file where the folder should be: what permissions cannot show when run as root.)"""
    image = write_png(tmp_path / "a.png", photo_like(8, 8))
    blocker = tmp_path / "taken"
    blocker.write_text("a file where the output folder should be")
    result = run_main(
        "upscale", "--model", "lanczos", "--scale", "2", str(image), "--out", str(blocker / "x")
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "is a file" in result.stderr
    assert blocker.read_text() == "a file where the output folder should be"


def test_a_factor_the_model_cannot_do_stops_with_its_own_factor_offered(tmp_path):
    images = [write_png(tmp_path / f"{i}.png", photo_like(8, 8, seed=i)) for i in range(2)]
    result = run_main(
        "upscale",
        "--model",
        "lite-x4",
        "--scale",
        "2",
        *map(str, images),
        "--out",
        str(tmp_path / "o"),
    )
    assert result.returncode == 2
    assert result.stderr.count("error: ") == 1 and "×4" in result.stderr  # once, not per image
    assert not (tmp_path / "o").exists()
