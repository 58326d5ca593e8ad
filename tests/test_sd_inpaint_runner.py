"""Inpainting and outpainting through the runtime and the SD runner (issue 21): requests
with a mask or an outpaint on a source, read from files, saved with their recipe.

The oracle is bare diffusers' StableDiffusionInpaintPipeline loaded from the folder and
called with the files' pixels; properties (what stays the source file's) are checked on
the saved results. engine.models.sd.inpaint's own options: test_sd_inpaint.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionInpaintPipeline
from PIL import Image

from engine.api.errors import BadInput, JobCancelled
from engine.api.events import Progress
from engine.api.image_parts import Mask, Outpaint, SourceImage
from engine.api.kinds import Family
from engine.api.parts import ImageRef, ModelRef, Prompt, Sampling, Size
from engine.api.requests import Txt2ImgRequest
from engine.context import JobContext
from engine.models.sd import masking
from engine.models.sd.drawing import largest_size, total_steps
from engine.store.metadata import read_metadata
from tests.sd_original_layout import save_folder, save_single_file, tiny_pipeline
from tests.upscalers import photo_like, write_png

pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

PROMPT, NEGATIVE = "a photo of a cat", "blurry"
SIDE, SEED = 64, 1234


@pytest.fixture(scope="module")
def gallery(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gallery")


@pytest.fixture(scope="module")
def runtime(gallery, tmp_path_factory):
    """A CPU runtime that saves into `gallery`, so a test can see what was written."""
    from engine.hashing import HashCache, HashService
    from engine.runtime import Runtime
    from engine.store import GalleryStore

    store = GalleryStore(gallery)
    hashes = HashService(HashCache(tmp_path_factory.mktemp("hashes") / "h"))
    runtime = Runtime(store=lambda: store, device_preference="cpu", hashes=hashes)
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """An ordinary SD 1.x folder; a 9-channel one as an original-layout single file and,
    for the oracle, as diffusers' own inpaint folder of the same weights."""
    root = tmp_path_factory.mktemp("models")
    nine = tiny_pipeline("sd1", seed=5, unet={"in_channels": 9})
    return {
        "sd1": save_folder(tiny_pipeline("sd1", seed=3), root / "tiny-sd1"),
        "nine-file": save_single_file(nine, root / "tiny-inpainting.safetensors"),
        "nine-folder": save_folder(StableDiffusionInpaintPipeline(**nine.components), root / "9"),
    }


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("inputs")
    box = np.zeros((SIDE, SIDE), np.uint8)
    box[16:44, 20:48] = 255
    return {
        "source": write_png(root / "source.png", photo_like(SIDE, SIDE, seed=2)),
        "mask": _grey_png(root / "mask.png", box),
        "small mask": _grey_png(root / "small.png", box[::2, ::2]),
        "black": _grey_png(root / "black.png", np.zeros((SIDE, SIDE), np.uint8)),
        "small source": write_png(root / "small-source.png", photo_like(48, 40, seed=4)),
    }


def _grey_png(path: Path, grey: np.ndarray) -> Path:
    Image.fromarray(grey, "L").save(path)
    return path


def request(model: Path, source: Path, mask: Path | None = None, **over) -> Txt2ImgRequest:
    options = over.pop("options", {})
    return Txt2ImgRequest(
        model=ModelRef(Family.SD, str(model)),
        prompt=Prompt(PROMPT, NEGATIVE),
        size=over.pop("size", Size(SIDE, SIDE)),
        sampling=Sampling(
            steps=over.pop("steps", 4),
            cfg_scale=7.0,
            sampler=over.pop("sampler", None),
            seed=over.pop("seed", SEED),
        ),
        source=SourceImage(ImageRef(str(source), ""), over.pop("strength", 0.75)),
        mask=Mask(ImageRef(str(mask), over.pop("mask_sha256", "")), **options) if mask else None,
        **over,
    )


def run(runtime, req: Txt2ImgRequest, ctx: JobContext | None = None):
    return runtime.run(req, ctx or JobContext(1)).images


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def bare_inpaint(folder: Path, files: dict[str, Path], strength: float, steps: int = 4):
    """diffusers alone: its inpaint pipeline from the folder, the files as PIL images."""
    pipe = StableDiffusionInpaintPipeline.from_pretrained(
        str(folder), local_files_only=True, safety_checker=None, requires_safety_checker=False
    )
    pipe.set_progress_bar_config(disable=True)
    images = pipe(
        prompt=PROMPT,
        negative_prompt=NEGATIVE,
        image=Image.open(files["source"]).convert("RGB"),
        mask_image=Image.open(files["mask"]),
        strength=strength,
        width=SIDE,
        height=SIDE,
        num_inference_steps=steps,
        guidance_scale=7.0,
        generator=[torch.Generator("cpu").manual_seed(SEED)],
        output_type="np",
    ).images
    return (images[0] * 255).round().astype(np.uint8)


BARE_OPTIONS = {"blur": 0, "composite": False}  # whole picture, content original


# ---------------------------------------------------------------- against bare diffusers


@pytest.mark.reproducibility
def test_inpaint_through_the_runner_equals_bare_diffusers(runtime, models, files):
    req = request(models["sd1"], files["source"], files["mask"], options=BARE_OPTIONS)
    image = run(runtime, req)[0]
    assert np.array_equal(image.rgb, bare_inpaint(models["sd1"], files, 0.75))
    assert image.info["steps_run"] == 3 and image.info["denoising_strength"] == 0.75
    assert image.info["masked_content"] == "original" and image.info["mask_blur"] == 0
    sha = hashlib.sha256(files["mask"].read_bytes()).hexdigest()
    assert image.info["mask"] == {"path": str(files["mask"]), "sha256": sha, "size": [SIDE, SIDE]}
    assert (
        image.info["source"]["sha256"] == hashlib.sha256(files["source"].read_bytes()).hexdigest()
    )


@pytest.mark.reproducibility
def test_a_9_channel_single_file_inpaints_through_the_runner(runtime, models, files):
    req = request(models["nine-file"], files["source"], files["mask"], options=BARE_OPTIONS)
    image = run(runtime, req)[0]
    assert np.array_equal(image.rgb, bare_inpaint(models["nine-folder"], files, 0.75))
    without_mask = request(models["nine-file"], files["source"])
    with pytest.raises(BadInput, match="only repaints a masked part"):
        run(runtime, without_mask)


# ---------------------------------------------------------------- properties


def test_the_composite_keeps_the_source_files_pixels_outside_the_blurred_mask(
    runtime, models, files
):
    req = request(models["sd1"], files["source"], files["mask"], strength=0.9)
    out = run(runtime, req)[0].rgb
    mask = masking.as_mask(np.asarray(Image.open(files["mask"])))
    keep = masking.grow_mask(mask, masking.blur_reach(4) + 1) == 0  # blur 4: the default
    source = pixels(files["source"])
    assert np.array_equal(out[keep], source[keep])
    assert not np.array_equal(out[~keep], source[~keep])


def test_outpaint_gives_the_extended_size_and_keeps_the_original(runtime, models, files):
    sides = Outpaint(left=0, top=0, right=16, bottom=24, fill="edge", feather=8)
    req = request(models["sd1"], files["small source"], outpaint=sides, strength=1.0)
    image = run(runtime, req)[0]
    assert image.rgb.shape == (SIDE, SIDE, 3)
    source = pixels(files["small source"])  # 48 x 40
    assert np.array_equal(image.rgb[: 40 - 8, : 48 - 8], source[: 40 - 8, : 48 - 8])
    assert image.info["outpaint"] == [0, 0, 16, 24] and image.info["outpaint_fill"] == "edge"
    assert largest_size(req) == Size(SIDE, SIDE)  # the memory check measures the canvas


def test_an_outpaint_that_leaves_no_room_for_the_source_is_a_sentence(runtime, models, files):
    req = request(models["sd1"], files["source"], outpaint=Outpaint(left=60))
    with pytest.raises(BadInput, match="leaves the source 4 × 64 px"):
        run(runtime, req)


@pytest.mark.reproducibility
def test_image_i_of_a_batch_is_its_own_seed(runtime, models, files):
    """Image 1 of a batch of 2 is what seed + 1 draws alone: within one grey level in one
    batched call, exactly where the batch is drawn one image per call (latent noise)."""
    for content, tolerance in (("original", 1), ("latent-noise", 0)):
        options = {"content": content}
        batch = run(
            runtime,
            request(models["sd1"], files["source"], files["mask"], options=options, batch_size=2),
        )
        alone = run(
            runtime,
            request(models["sd1"], files["source"], files["mask"], options=options, seed=SEED + 1),
        )[0]
        assert batch[1].seed == SEED + 1
        diff = np.abs(batch[1].rgb.astype(int) - alone.rgb.astype(int))
        assert diff.max() <= tolerance, content


def test_a_variation_seed_moves_the_repainted_part_only(runtime, models, files):
    plain = run(runtime, request(models["sd1"], files["source"], files["mask"]))[0].rgb
    varied_req = request(
        models["sd1"], files["source"], files["mask"], variation_seed=99, variation_strength=0.5
    )
    varied = run(runtime, varied_req)[0].rgb
    assert not np.array_equal(varied, plain)
    assert np.array_equal(run(runtime, varied_req)[0].rgb, varied)
    source = pixels(files["source"])
    keep = np.ones((SIDE, SIDE), bool)
    keep[6:54, 10:58] = False  # the box grown by the blur's reach
    assert np.array_equal(varied[keep], source[keep])


# ---------------------------------------------------------------- progress and cancel


def test_progress_counts_the_steps_that_run(runtime, models, files):
    events: list = []
    req = request(
        models["sd1"], files["source"], files["mask"], strength=0.35, steps=10, sampler="Euler"
    )
    image = run(runtime, req, JobContext(1, emit=events.append))[0]
    progress = [e for e in events if isinstance(e, Progress)]
    assert {e.total for e in progress} == {3}  # int(10 × 0.35)
    assert [e.step for e in progress if e.step] == [1, 2, 3]
    assert image.info["steps_run"] == 3
    one_by_one = request(
        models["sd1"],
        files["source"],
        files["mask"],
        strength=0.35,
        steps=10,
        batch_size=2,
        options={"content": "latent-nothing"},
    )
    assert total_steps(one_by_one) == 6  # two calls of three steps


def test_cancel_stops_within_one_step(runtime, models, files):
    req = request(
        models["sd1"], files["source"], files["mask"], strength=0.8, steps=10, sampler="Euler"
    )
    ctx = JobContext(2)

    def emit(event):
        if isinstance(event, Progress) and event.step == 2:
            ctx.control.cancel()

    ctx.emit = emit
    key = [k for k in runtime.cache.lru_keys() if k.family is Family.SD][-1]
    calls: list = []
    hook = runtime.cache.peek(key).pipe.unet.register_forward_hook(lambda *a: calls.append(1))
    try:
        with pytest.raises(JobCancelled):
            runtime.run(req, ctx)
    finally:
        hook.remove()
    assert len(calls) <= 3  # two steps, and at most the one in flight


# ---------------------------------------------------------------- masks and bad input


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_a_mask_of_another_size_is_stretched_with_a_note(runtime, models, files):
    image = run(runtime, request(models["sd1"], files["source"], files["small mask"]))[0]
    assert any("the mask is 32×32 and the source 64×64" in n for n in image.info["notes"])
    assert image.info["mask"]["size"] == [32, 32]


def test_an_alpha_only_mask_is_read_from_its_alpha(runtime, models, files, tmp_path):
    alpha = np.zeros((SIDE, SIDE), np.uint8)
    alpha[16:44, 20:48] = 255
    rgba = np.dstack([np.zeros((SIDE, SIDE, 3), np.uint8), alpha])
    path = tmp_path / "layer.png"
    Image.fromarray(rgba, "RGBA").save(path)
    by_alpha = run(runtime, request(models["sd1"], files["source"], path))[0]
    by_grey = run(runtime, request(models["sd1"], files["source"], files["mask"]))[0]
    assert np.array_equal(by_alpha.rgb, by_grey.rgb)
    assert any("its opaque part is the mask" in n for n in by_alpha.info["notes"])


def test_an_all_black_mask_is_a_sentence_and_nothing_is_saved(runtime, models, files, gallery):
    before = files_in(gallery)
    with pytest.raises(BadInput, match="The mask is all black: there is nothing to repaint"):
        run(runtime, request(models["sd1"], files["source"], files["black"]))
    assert files_in(gallery) == before


def test_a_mask_changed_since_the_recipe_is_a_sentence(runtime, models, files, gallery):
    before = files_in(gallery)
    req = request(models["sd1"], files["source"], files["mask"], mask_sha256="0" * 64)
    with pytest.raises(BadInput, match="mask.png has changed since .* Choose the mask again"):
        run(runtime, req)
    assert files_in(gallery) == before


def test_the_saved_recipe_gives_the_request_back(runtime, models, files):
    sha = {k: hashlib.sha256(files[k].read_bytes()).hexdigest() for k in ("source", "mask")}
    req = request(
        models["sd1"],
        files["source"],
        files["mask"],
        mask_sha256=sha["mask"],
        options={"blur": 2, "content": "fill", "area": "masked", "padding": 8, "grow": 1},
    )
    req = replace(req, source=SourceImage(ImageRef(str(files["source"]), sha["source"]), 0.75))
    image = run(runtime, req)[0]
    assert image.path is not None
    metadata = read_metadata(Path(image.path))
    assert metadata.request == req
    assert metadata.recipe["mask"]["sha256"] == sha["mask"]
    assert metadata.recipe["inpaint_area"] == "masked" and metadata.recipe["steps_run"] == 3
