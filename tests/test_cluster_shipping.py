"""Every file a job names, on a real local Ray cluster (conftest's `cluster`): an img2img job with
a LoRA runs on a worker and equals the same job run here pixel for pixel, its model,
LoRA and source picture are sent once and then found in the node's cache; an IP-Adapter
job (whose CLIP vision encoder the request does not name) equals it run here too; and
`batch --cluster` makes the pictures a local batch makes. The oracle is the local
runtime, the code a local lane runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.api.events import Finished
from engine.api.image_parts import SourceImage
from engine.api.kinds import Family
from engine.api.parts import ImageRef, LoraSpec, ModelRef, Prompt, Sampling, Size
from engine.api.requests import Txt2ImgRequest
from engine.hashing import file_sha256

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install .[cluster]")

import main  # noqa: E402
from tests.test_cluster import open_session, pixels_of  # noqa: E402


@pytest.fixture(scope="module")
def inputs(tiny_sd_model, tmp_path_factory) -> dict[str, Path]:
    """A LoRA for the tiny model's UNet, a picture to start from, and an IP-Adapter job's
    files in ComfyUI's layout (checkpoint, adapter, CLIP vision encoder)."""
    from diffusers import UNet2DConditionModel

    from tests.test_ip_adapter import comfy_files
    from tests.tiny_loras import lora_state, save_diffusers_lora
    from tests.upscalers import photo_like, write_png

    folder = tmp_path_factory.mktemp("inputs")
    unet = UNet2DConditionModel.from_pretrained(str(tiny_sd_model / "unet"))
    lora = save_diffusers_lora(lora_state(unet, seed=1), folder / "ink.safetensors")
    picture = write_png(folder / "cat.png", photo_like(64, 64, seed=2))
    return {"lora": lora, "picture": picture, "ip": comfy_files(tmp_path_factory, "sd1", "tiny")}


def img2img(model: Path, inputs: dict[str, Path], seed: int) -> Txt2ImgRequest:
    picture = inputs["picture"]
    return Txt2ImgRequest(
        model=ModelRef(Family.SD, str(model)),
        prompt=Prompt("a lighthouse at dusk", "blurry"),
        size=Size(64, 64),
        sampling=Sampling(steps=3, seed=seed),
        loras=(LoraSpec(str(inputs["lora"]), 0.8),),
        source=SourceImage(ImageRef(str(picture), file_sha256(picture)), 0.7),
    )


def run_here(requests: list[Txt2ImgRequest], tmp_path: Path) -> list[np.ndarray]:
    from engine.context import JobContext
    from engine.hashing import HashCache, HashService
    from engine.runtime import Runtime

    runtime = Runtime(device_preference="cpu", hashes=HashService(HashCache(tmp_path / "h.db")))
    try:
        return [runtime.run(request, JobContext(0)).images[0].rgb for request in requests]
    finally:
        runtime.close()


def test_img2img_with_a_lora_on_a_worker_equals_it_here_and_each_file_is_sent_once(
    cluster, tiny_sd_model, inputs, tmp_path, monkeypatch
):
    from engine.cluster import model_shipping
    from tests.test_ip_adapter import request as ip_adapter_job

    monkeypatch.setattr(model_shipping, "CHUNK_BYTES", 64 << 10)  # the UNet: several pieces

    requests = [img2img(tiny_sd_model, inputs, seed) for seed in (1, 2)]
    requests.append(ip_adapter_job(inputs["ip"], weight=0.8))
    local = run_here(requests, tmp_path)
    assert not np.array_equal(local[0], local[1])
    session, collector = open_session(tmp_path, 1)
    try:
        (worker,) = session.scheduler.workers
        for job_id, request in enumerate(requests, start=1):
            session.submit(job_id, request)
            collector.wait_endings(job_id)
            # The driver forgets where the worker keeps them: the worker is asked again.
            session.shipper.forget(worker, [m.sha256 for _, m in session.shipper.files(request)])
        for finished in collector.of(Finished):
            (image,) = finished.outcome.images
            expected = local[finished.job_id - 1]
            np.testing.assert_array_equal(image.rgb, expected)
            np.testing.assert_array_equal(pixels_of(image.path), expected)
            assert str(tmp_path / "cache") not in json.dumps(image.info, default=str)
        assert len(collector.of(Finished)) == 3
        # Model, LoRA and picture: each sent for the first job, found in the node's cache
        # by the second; the IP-Adapter job's checkpoint, adapter, encoder and picture.
        assert len(session.shipper.sent) == 3 + 4
        assert len(ray.get(worker.actor.received_models.remote())) == 3 + 4
        # The model's files, sent in pieces, are its files byte for byte there
        (copy,) = (tmp_path / "cache").rglob(tiny_sd_model.name)
        for original in (p for p in tiny_sd_model.rglob("*") if p.is_file()):
            there = copy / original.relative_to(tiny_sd_model)
            assert there.read_bytes() == original.read_bytes()
        assert max(len(pieces) for pieces in session.shipper._refs.values()) > 1
    finally:
        session.close()
        session.store.close()


def test_batch_on_the_cluster_makes_the_pictures_of_the_batch_made_here(
    cluster, tiny_sd_model, tmp_path, capsys
):
    batch = tmp_path / "b.txt"
    batch.write_text("--prompt a red fox --seed 3\n--prompt an owl --seed 5\n")

    def run(out: str, *extra: str) -> dict[int, np.ndarray]:
        argv = ["batch", str(batch), "--model", str(tiny_sd_model), "--steps", "2"]
        argv += ["--width", "32", "--height", "32", "--out", str(tmp_path / out)]
        assert main.main([*argv, "--device", "cpu", *extra]) == 0
        lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
        return {line["line"]: pixels_of(line["path"]) for line in lines}

    here = run("here")
    there = run("there", "--cluster", cluster)
    assert sorted(here) == sorted(there) == [1, 2]
    for line in (1, 2):
        np.testing.assert_array_equal(there[line], here[line])
    assert not np.array_equal(here[1], here[2])


def test_upscale_of_a_folder_on_the_cluster_is_spandrels_own_picture_for_each_image(
    cluster, tmp_path, capsys
):
    """`upscale --cluster`: a user's ESRGAN-family file and each image of a folder go to
    the workers; every picture that comes back is spandrel's own upscale of its image
    (the oracle), its recipe names the worker, and a damaged image is reported by name
    while the others are made."""
    from PIL import Image

    from engine.api.outcomes import WORKER_KEY
    from engine.store.metadata import RECIPE_KEY, read_metadata
    from gui.details_describe import describe
    from tests.test_upscale_batch import spandrel_reference
    from tests.upscalers import compact_net, photo_like, save_safetensors, write_png

    model = save_safetensors(compact_net(scale=2, seed=4), tmp_path / "user-x2.safetensors")
    folder = tmp_path / "photos"
    folder.mkdir()
    for index, name in enumerate("abd"):
        write_png(folder / f"{name}.png", photo_like(14 + index, 10, seed=index))
    whole = (folder / "a.png").read_bytes()
    (folder / "c.png").write_bytes(whole[: len(whole) // 2])  # cut short
    argv = ["upscale", "--model", str(model), str(folder), "--out", str(tmp_path / "out")]
    code = main.main([*argv, "--device", "cpu", "--cluster", cluster])
    captured = capsys.readouterr()
    lines = [json.loads(x) for x in captured.out.splitlines() if x.startswith("{")]
    assert code == 1  # some failed, the rest made
    assert "c.png" in captured.err
    made = {Path(line["source"]).name: line["path"] for line in lines}
    assert sorted(made) == ["a.png", "b.png", "d.png"]
    for name, path in made.items():
        rgb = np.asarray(Image.open(folder / name).convert("RGB"))
        np.testing.assert_array_equal(pixels_of(path), spandrel_reference(model, rgb))
        with Image.open(path) as picture:
            recipe = json.loads(picture.text[RECIPE_KEY])
        assert recipe[WORKER_KEY].startswith("Ray cluster: worker ")
        assert recipe["model_path"] == str(model)  # the user's path, not the worker's
        rows = dict(describe(read_metadata(Path(path))))  # the Details panel's rows
        assert rows["Made on"] == recipe[WORKER_KEY] and rows["Upscaler"].startswith("user-x2")
