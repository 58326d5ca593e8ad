"""`main.py upscale FOLDER` as a batch: a damaged image is named and the rest are made, a
stopped upscale resumes with every image made exactly once, another setting is another
batch, hostile names are made safe and nothing is overwritten. Spandrel's own output
is the oracle for the pixels."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import main
from engine.batch.upscale_batch import BatchClock
from tests.upscalers import compact_net, photo_like, save_safetensors, write_png

spandrel = pytest.importorskip("spandrel")


@pytest.fixture
def model_file(tmp_path) -> Path:
    return save_safetensors(compact_net(scale=2), tmp_path / "tiny-x2.safetensors")


@pytest.fixture
def folder(tmp_path) -> Path:
    """Six images in name order a…f; c is damaged (a PNG cut short)."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i, name in enumerate("abdef"):
        write_png(inputs / f"{name}.png", photo_like(12 + i, 10, seed=i))
    good = (inputs / "a.png").read_bytes()
    (inputs / "c.png").write_bytes(good[: len(good) // 2])
    return inputs


def upscale(capsys, model: str, *inputs: Path, out: Path, more=()) -> tuple[int, list, str]:
    argv = ["upscale", "--model", model, *map(str, inputs), "--out", str(out), "--device", "cpu"]
    code = main.main(argv + list(more))
    captured = capsys.readouterr()
    lines = [json.loads(x) for x in captured.out.splitlines() if x.startswith("{")]
    return code, lines, captured.err


def pictures(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.png") if ".batches" not in p.parts)


def spandrel_reference(model: Path, rgb: np.ndarray) -> np.ndarray:
    """The oracle: spandrel's own loader and call on the whole image."""
    import torch

    descriptor = spandrel.ModelLoader("cpu").load_from_file(str(model)).eval()
    tensor = torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].float() / 255
    with torch.inference_mode():
        result = descriptor(tensor)
    return (result[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()


def test_a_damaged_image_is_named_and_the_other_five_are_made(tmp_path, capsys, model_file, folder):
    out = tmp_path / "out"
    code, lines, err = upscale(capsys, str(model_file), folder, out=out, more=["--tile", "0"])
    assert code == 1  # some failed; the rest were made
    assert "skipped: " in err and "c.png could not be read: it looks damaged" in err
    assert [Path(x["source"]).name for x in lines] == ["a.png", "b.png", "d.png", "e.png", "f.png"]
    assert pictures(out) == sorted(Path(x["path"]) for x in lines)
    assert "upscale: 5/6 images, 1 failed" in err and "5 upscaled, 1 failed." in err
    made = np.asarray(Image.open(lines[1]["path"]).convert("RGB"))
    source = np.asarray(Image.open(folder / "b.png").convert("RGB"))
    assert np.array_equal(made, spandrel_reference(model_file, source))


def test_a_stopped_upscale_resumes_and_makes_each_image_exactly_once(
    tmp_path, capsys, monkeypatch, model_file, folder
):
    from engine.runtime import Runtime

    out = tmp_path / "out"
    real_run = Runtime.run
    calls = []

    def stop_at_the_third(self, request, ctx):
        calls.append(Path(request.image.path).name)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C while the third image runs
        return real_run(self, request, ctx)

    monkeypatch.setattr(Runtime, "run", stop_at_the_third)
    code, first, err = upscale(capsys, str(model_file), folder, out=out)
    assert code == 130 and "run the same command again" in err.lower()
    assert [Path(x["source"]).name for x in first] == ["a.png", "b.png"]
    before = {p: os.stat(p) for p in pictures(out)}
    assert len(before) == 2

    monkeypatch.setattr(Runtime, "run", real_run)
    code, second, err = upscale(capsys, str(model_file), folder, out=out)
    assert code == 1  # c.png is still damaged
    assert "Resuming: 2 of 6 images were made before." in err
    assert [Path(x["source"]).name for x in second] == ["d.png", "e.png", "f.png"]
    assert len(pictures(out)) == 5
    for path, stat in before.items():  # the first two were not made again
        now = os.stat(path)
        assert (now.st_ino, now.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)

    # The same folder given again, and one of its files beside it: nothing is made twice.
    code, third, err = upscale(capsys, str(model_file), folder, folder / "a.png", out=out)
    assert (code, third) == (1, [])
    assert "Resuming: 5 of 6 images were made before." in err
    assert len(pictures(out)) == 5


def test_another_scale_is_another_batch_and_an_edited_file_is_made_again(tmp_path, capsys, folder):
    (folder / "c.png").unlink()
    out = tmp_path / "out"
    code, first, _ = upscale(capsys, "lanczos", folder, out=out, more=["--scale", "2"])
    assert code == 0 and len(first) == 5
    code, third, _ = upscale(capsys, "lanczos", folder, out=out, more=["--scale", "3"])
    assert code == 0 and [(x["width"], x["height"]) for x in third][0] == (36, 30)
    code, again, err = upscale(capsys, "lanczos", folder, out=out, more=["--scale", "2"])
    assert (code, again) == (0, []) and "5 of 5 images were made before" in err
    write_png(folder / "d.png", photo_like(20, 10, seed=9))  # edited since
    stat = (folder / "d.png").stat()
    os.utime(folder / "d.png", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    code, edited, _ = upscale(capsys, "lanczos", folder, out=out, more=["--scale", "2"])
    assert code == 0 and [Path(x["source"]).name for x in edited] == ["d.png"]
    assert edited[0]["width"] == 40
    assert len(pictures(out)) == 11


def test_hostile_and_clashing_names_are_made_safe_and_never_overwrite(tmp_path, capsys):
    names = ["-rf $(reboot); ünï.png", "..png", "a.png"]
    inputs = [tmp_path / "x", tmp_path / "y"]
    for i, folder in enumerate(inputs):
        folder.mkdir()
        for j, name in enumerate(names):
            Image.fromarray(photo_like(6, 6, seed=i * 3 + j)).save(folder / name, format="PNG")
    out = tmp_path / "out"
    code, lines, err = upscale(capsys, "lanczos", *inputs, out=out, more=["--scale", "2"])
    assert code == 0, err
    paths = [Path(x["path"]) for x in lines]
    assert len(set(paths)) == 6 == len(pictures(out))  # a.png twice: two files
    for path in paths:
        assert path.resolve().is_relative_to(out.resolve())
        assert re.fullmatch(r"[A-Za-z0-9._-]+", path.name) and not path.name.startswith(("-", "."))


def test_the_batch_clock_counts_failures_and_times_the_rest():
    now = [0.0]
    clock = BatchClock(10, before=4, clock=lambda: now[0])
    assert clock.line() == "upscale: 4/10 images"
    now[0] = 6.0
    clock.ended(made=True)
    now[0] = 12.0
    clock.ended(made=False)
    # 6 s an image this run; 4 images left.
    assert (clock.made, clock.failed, clock.left, clock.eta_s()) == (5, 1, 4, 24.0)
    assert clock.line() == "upscale: 5/10 images, 1 failed, about 24 s left"


def test_on_a_cluster_the_images_fan_out_and_are_journalled_as_they_end(
    tmp_path, capsys, monkeypatch, folder
):
    """--cluster hands every image at once to engine.cluster.batch (faked here: the Ray
    side is tested in tests/test_cluster_*.py) and takes the endings in the order they
    come; what it made is in the journal a local run reads."""
    from engine.api.errors import UserFacingError
    from engine.api.events import Failed, Finished
    from engine.cli import LazyGallery
    from engine.context import JobContext
    from engine.runtime import Runtime

    sent = {}

    def endings_on_cluster(requests, address, args):
        sent.update(address=address, images=[Path(r.image.path).name for r in requests])
        store = LazyGallery(Path(args.out))
        runtime = Runtime(store=store, device_preference="cpu")
        try:
            for index in reversed(range(len(requests))):  # the last to go ends first
                try:
                    outcome = runtime.run(requests[index], JobContext(index + 1, previews=False))
                except UserFacingError as exc:
                    yield index, Failed(index + 1, exc.message, exc.kind)
                else:
                    yield index, Finished(index + 1, outcome)
        finally:
            runtime.close()
            store.close()

    fake = type(sys)("engine.cluster.batch")
    fake.endings_on_cluster = endings_on_cluster
    monkeypatch.setitem(sys.modules, "engine.cluster.batch", fake)
    out = tmp_path / "out"
    more = ["--scale", "2", "--cluster", "ray://gpu-box:10001"]
    code, lines, err = upscale(capsys, "lanczos", folder, out=out, more=more)
    assert code == 1 and "c.png could not be read: it looks damaged" in err
    assert sent == {"address": "ray://gpu-box:10001", "images": [f"{n}.png" for n in "abcdef"]}
    assert [Path(x["source"]).name for x in lines] == ["f.png", "e.png", "d.png", "b.png", "a.png"]
    assert "upscale: 5/6 images, 1 failed" in err

    code, again, err = upscale(capsys, "lanczos", folder, out=out, more=["--scale", "2"])
    assert (code, again) == (1, []) and "Resuming: 5 of 6 images were made before." in err
    assert len(pictures(out)) == 5
