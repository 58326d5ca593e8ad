"""Inpainting and outpainting (engine/models/sd/inpaint.py) on tiny SD 1.x and SDXL models,
ordinary and inpainting (9 input channels), as folders and as original-layout single files.

The oracle is bare diffusers: StableDiffusionInpaintPipeline / StableDiffusionXLInpaintPipeline
loaded by diffusers itself from the folder and called with the same image, mask, strength
and generator. Properties (what stays the source's, what cannot leak) are checked on the
app's own results.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers import (
    StableDiffusionInpaintPipeline,
    StableDiffusionXLInpaintPipeline,
    StableDiffusionXLPipeline,
)
from PIL import Image

from engine.api.errors import BadInput
from engine.api.image_parts import Mask, Outpaint
from engine.api.parts import ImageRef
from engine.models.sd import inpaint as ours
from engine.models.sd import masking
from engine.models.sd.loading import load_sd_pipeline, locate_sd_model
from tests.sd_original_layout import save_folder, save_single_file, tiny_pipeline

pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

PROMPT = {"prompt": "a photo of a cat", "negative_prompt": "blurry"}
SIDE = 64
SEED = 1234
BARE = {"sd1": StableDiffusionInpaintPipeline, "sdxl": StableDiffusionXLInpaintPipeline}


def _image(seed: int, height: int = SIDE, width: int = SIDE) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _box(x0: int, y0: int, x1: int, y1: int, height: int = SIDE, width: int = SIDE):
    mask = np.zeros((height, width), dtype=np.uint8)
    mask[y0:y1, x0:x1] = 255
    return mask


def _options(**changes) -> Mask:
    return Mask(ImageRef("/mask.png", ""), **changes)


def _job(strength: float = 0.75, width: int = SIDE, height: int = SIDE, **changes):
    return ours.Denoise(
        prompt=PROMPT,
        width=width,
        height=height,
        steps=3,
        cfg_scale=6.0,
        strength=strength,
        generators=[torch.Generator("cpu").manual_seed(SEED)],
        seed=SEED,
        **changes,
    )


def _build(family: str, channels: int, seed: int = 0):
    return tiny_pipeline(family, seed=seed, unet={"in_channels": channels})


def _as_saved(pipe, channels: int):
    """An inpainting checkpoint's folder names its own pipeline class."""
    return (
        BARE["sdxl" if isinstance(pipe, StableDiffusionXLPipeline) else "sd1"](**pipe.components)
        if channels == 9
        else pipe
    )


@pytest.fixture(scope="module", params=[("sd1", 4), ("sd1", 9), ("sdxl", 4), ("sdxl", 9)])
def model(request, tmp_path_factory):
    """(family, folder, single file) of a tiny model; each is built once per module."""
    family, channels = request.param
    folder = tmp_path_factory.mktemp(f"{family}-{channels}")
    pipe = _build(family, channels)
    # The original layout is written from the text-to-image class, which the converter
    # knows (an XL inpaint pipeline is not an XL pipeline to isinstance).
    single = save_single_file(pipe, folder / f"{family}-{channels}.safetensors")
    return family, save_folder(_as_saved(pipe, channels), folder / "diffusers"), single


@pytest.fixture(scope="module")
def sd1(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sd1-props")
    return load(save_folder(_build("sd1", 4), folder / "sd1"))


@pytest.fixture(scope="module")
def sd1_inpainting(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sd1-9")
    return load(save_folder(_as_saved(_build("sd1", 9), 9), folder / "sd1-9"))


def load(path):
    return load_sd_pipeline(locate_sd_model(path, with_mask=True), "cpu", torch.float32)


def bare_inpaint(family: str, folder, source, mask, strength: float, **call) -> np.ndarray:
    """diffusers alone: its inpaint pipeline from the folder, called as a user would."""
    extra = {} if family == "sdxl" else {"safety_checker": None, "requires_safety_checker": False}
    pipe = BARE[family].from_pretrained(str(folder), local_files_only=True, **extra)
    pipe.set_progress_bar_config(disable=True)
    images = pipe(
        **PROMPT,
        image=Image.fromarray(source),
        mask_image=Image.fromarray(mask),
        strength=strength,
        width=SIDE,
        height=SIDE,
        num_inference_steps=3,
        guidance_scale=6.0,
        generator=[torch.Generator("cpu").manual_seed(SEED)],
        output_type="np",
        **call,
    ).images
    return (images[0] * 255).round().astype(np.uint8)


# ---------------------------------------------------------------- the oracle


@pytest.mark.reproducibility
@pytest.mark.parametrize("fmt", ["folder", "single file"])
def test_inpaint_equals_bare_diffusers(model, fmt):
    """Whole picture, content 'original', no blur, no composite: bare diffusers' pixels,
    for ordinary and inpainting checkpoints, folders and single files."""
    family, folder, single = model
    source, mask = _image(1), _box(16, 20, 48, 44)
    pipe = load(folder if fmt == "folder" else single)
    options = _options(blur=0, composite=False)
    got = ours.inpaint(pipe, source, mask, options, _job(0.75)).images[0]
    want = bare_inpaint(family, folder, source, mask, 0.75)
    assert np.array_equal(got, want)


def test_inpainting_models_load_as_inpaint_pipelines_and_need_a_mask(model):
    family, folder, single = model
    for path in (folder, single):
        located = locate_sd_model(path, with_mask=True)
        nine = located.inpainting
        assert nine == (ours.is_inpainting_model(load(path)))
        if nine:
            with pytest.raises(BadInput, match="only repaints a masked part"):
                locate_sd_model(path)
        else:
            locate_sd_model(path)  # an ordinary model draws from text as before


# ---------------------------------------------------------------- properties


@pytest.mark.parametrize("area", ["whole", "masked"])
@pytest.mark.parametrize("content", ["original", "fill", "latent-noise", "latent-nothing"])
def test_outside_the_blurred_mask_the_source_is_kept_exactly(sd1, content, area):
    source, mask = _image(2), _box(24, 24, 40, 40)
    options = _options(blur=3, grow=2, content=content, area=area, padding=8)
    out = ours.inpaint(sd1, source, mask, options, _job(0.9)).images[0]
    prepared = masking.prepare_mask(masking.as_mask(mask), invert=False, grow=2, blur=0)
    reach = masking.blur_reach(3)
    keep = masking.grow_mask(prepared.sharp, reach + 1) == 0  # a disc within the square
    assert keep.sum() > SIDE * SIDE // 2
    assert np.array_equal(out[keep], source[keep])
    assert not np.array_equal(out[~keep], source[~keep])  # something was repainted


@pytest.mark.parametrize("content", ["fill", "latent-noise", "latent-nothing"])
@pytest.mark.parametrize("which", ["ordinary", "inpainting"])
def test_inside_a_hard_mask_the_source_does_not_leak(sd1, sd1_inpainting, content, which):
    """Two sources that differ only under the mask give the same picture."""
    pipe = sd1 if which == "ordinary" else sd1_inpainting
    mask = _box(16, 16, 48, 48)
    first, second = _image(3), _image(3)
    second[16:48, 16:48] = _image(4)[16:48, 16:48]
    options = _options(blur=0, content=content)
    a, b = (ours.inpaint(pipe, s, mask, options, _job(0.8)).images[0] for s in (first, second))
    assert np.array_equal(a, b)
    original = _options(blur=0, content="original")
    c, d = (ours.inpaint(pipe, s, mask, original, _job(0.8)).images[0] for s in (first, second))
    assert not np.array_equal(c, d)  # with 'original' it does show through


def test_only_masked_runs_the_unet_on_the_padded_crop_only(sd1):
    source = _image(5, 1024, 1024)
    mask = _box(600, 300, 640, 340, 1024, 1024)
    seen: list[tuple[int, ...]] = []
    hook = sd1.unet.register_forward_pre_hook(lambda _m, args: seen.append(tuple(args[0].shape)))
    try:
        options = _options(blur=2, area="masked", padding=16)
        result = ours.inpaint(sd1, source, mask, options, _job(0.75))
    finally:
        hook.remove()
    assert seen and {shape[-2:] for shape in seen} == {(SIDE // 8, SIDE // 8)}
    x0, y0, x1, y1 = result.info["crop_region"]
    reach = masking.blur_reach(2)
    assert (x0, y0) == (600 - reach - 16, 300 - reach - 16)
    assert (x1, y1) == (640 + reach + 16, 340 + reach + 16)
    outside = np.ones((1024, 1024), bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(result.images[0][outside], source[outside])


def test_a_mask_of_another_size_is_resized_with_a_note(sd1):
    source, mask = _image(6), _box(8, 8, 24, 24, 32, 32)
    result = ours.inpaint(sd1, source, mask, _options(blur=0), _job())
    assert result.notes and "resized" in result.notes[0]
    assert result.images.shape == (1, SIDE, SIDE, 3)


def test_an_all_black_mask_is_refused(sd1):
    with pytest.raises(BadInput, match="nothing to repaint"):
        ours.inpaint(sd1, _image(7), np.zeros((SIDE, SIDE), np.uint8), _options(), _job())
    everything = np.full((SIDE, SIDE), 255, np.uint8)  # inverted: nothing left to repaint
    with pytest.raises(BadInput, match="nothing to repaint"):
        ours.inpaint(sd1, _image(7), everything, _options(mode="unmasked"), _job())


@pytest.mark.parametrize("fill", ["edge", "mirror", "noise"])
def test_outpaint_leaves_the_original_unchanged(sd1, fill):
    source = _image(8, 48, 56)
    sides = Outpaint(left=8, top=0, right=0, bottom=16, fill=fill, feather=6)
    result = ours.outpaint(sd1, source, sides, _job(1.0, width=64, height=64))
    out = result.images[0]
    assert out.shape == (64, 64, 3)
    kept = out[0 : 48 - 6, 8 + 6 : 64]  # the original minus the feathered bands
    assert np.array_equal(kept, source[0 : 48 - 6, 6:56])
    assert result.info["outpaint"] == [8, 0, 0, 16]


def test_outpaint_past_the_size_limit_is_refused(sd1):
    source = _image(9, 8, 4000)
    with pytest.raises(BadInput, match="4096"):
        ours.outpaint(sd1, source, Outpaint(right=200), _job())


def test_strength_one_with_a_full_mask_against_text_to_image(sd1):
    """What diffusers says: an inpaint call at strength 1 starts from pure noise, but it
    draws the VAE's posterior sample from the generator first, so the same seed gives
    other noise than text to image. Given text to image's starting noise, the pictures
    agree (a full mask blends nothing back)."""
    from diffusers import StableDiffusionPipeline

    txt2img = StableDiffusionPipeline(**sd1.components)
    call = dict(**PROMPT, width=SIDE, height=SIDE, num_inference_steps=3, guidance_scale=6.0)
    generator = torch.Generator("cpu").manual_seed(SEED)
    noise = torch.randn((1, 4, SIDE // 8, SIDE // 8), generator=generator)
    want = txt2img(**call, generator=torch.Generator().manual_seed(SEED), output_type="np")
    full = np.full((SIDE, SIDE), 255, np.uint8)
    options = _options(blur=0, composite=False)
    same_seed = ours.inpaint(sd1, _image(10), full, options, _job(1.0)).images[0]
    assert not np.array_equal(same_seed, (want.images[0] * 255).round().astype(np.uint8))
    given = ours.inpaint_pipeline(sd1)(
        **call,
        image=Image.fromarray(_image(10)),
        mask_image=Image.fromarray(full),
        strength=1.0,
        latents=noise,
        generator=torch.Generator().manual_seed(SEED),
        output_type="np",
    )
    assert np.abs(given.images[0] - want.images[0]).max() < 1e-5


def test_the_inpaint_pipeline_shares_the_cached_components(sd1):
    inpainter = ours.inpaint_pipeline(sd1)
    assert inpainter.unet is sd1.unet and inpainter.vae is sd1.vae
    assert not isinstance(sd1, StableDiffusionXLPipeline)
