"""Image to image and hires fix on Stable Diffusion (issue 21), against bare diffusers.

The oracle is diffusers alone: StableDiffusionImg2ImgPipeline / StableDiffusionXL-
Img2ImgPipeline loaded from the model's folder, called with the same image, strength,
scheduler and generators; hires fix done by hand as its two steps (txt2img, the same
resize, img2img). Bad input, progress and cancel: test_sd_img2img_input.
"""

from __future__ import annotations

import functools
from pathlib import Path

import diffusers
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from diffusers import (
    StableDiffusionImg2ImgPipeline,
    StableDiffusionPipeline,
    StableDiffusionXLImg2ImgPipeline,
)
from PIL import Image

from engine.api.image_parts import Hires, SourceImage
from engine.api.kinds import Family
from engine.api.parts import ImageRef, ModelRef, Prompt, Sampling, Size
from engine.api.requests import Txt2ImgRequest
from engine.context import JobContext
from tests.sd_original_layout import save_folder, save_single_file, tiny_pipeline
from tests.test_sd import A1111_TO_DIFFUSERS
from tests.upscalers import compact_net, photo_like, save_safetensors, write_png

pytestmark = [
    pytest.mark.filterwarnings("ignore:__array_wrap__ must accept context:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept:DeprecationWarning"),
]

PROMPT, NEGATIVE = "a photo of a cat", "blurry"


@pytest.fixture(scope="module")
def runtime(sd_runtime):
    return sd_runtime


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    """sd1 and sdxl tiny pipelines, each as a diffusers folder and an original-layout file."""
    made = {}
    for family in ("sd1", "sdxl"):
        root = tmp_path_factory.mktemp(family)
        pipe = tiny_pipeline(family, seed=3)
        made[family] = save_folder(pipe, root / f"tiny-{family}")
        made[f"{family}-file"] = save_single_file(pipe, root / f"tiny-{family}.safetensors")
    return made


@pytest.fixture(scope="module")
def picture(tmp_path_factory) -> Path:
    return write_png(tmp_path_factory.mktemp("src") / "source.png", photo_like(64, 64, seed=5))


def request(model: Path, **overrides) -> Txt2ImgRequest:
    sampling = Sampling(
        steps=overrides.pop("steps", 4),
        cfg_scale=7.0,
        sampler=overrides.pop("sampler", None),
        seed=overrides.pop("seed", 1234),
    )
    size = overrides.pop("size", Size(64, 64))
    return Txt2ImgRequest(
        model=ModelRef(Family.SD, str(model)),
        prompt=Prompt(PROMPT, NEGATIVE),
        size=size,
        sampling=sampling,
        **overrides,
    )


def source(path: Path, strength: float = 0.5, **options) -> SourceImage:
    return SourceImage(ImageRef(str(path), ""), strength, **options)


# ---------------------------------------------------------------- bare diffusers


@functools.cache
def bare_pipe(kind: type, folder: str):
    pipe = kind.from_pretrained(folder, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def bare_sd_img2img(folder: Path) -> StableDiffusionImg2ImgPipeline:
    return bare_pipe(StableDiffusionImg2ImgPipeline, str(folder))


def generators(seed: int, count: int) -> list[torch.Generator]:
    return [torch.Generator("cpu").manual_seed(seed + i) for i in range(count)]


def scheduled(pipe, sampler: str | None):
    """The pipe with the A1111 sampler's documented diffusers scheduler (None: its own)."""
    own = pipe.scheduler
    if sampler is not None:
        cls, options = A1111_TO_DIFFUSERS[sampler]
        pipe.scheduler = getattr(diffusers, cls).from_config(own.config, **options)
    return own


def bare_img2img(pipe, image, strength: float, steps: int, seed: int, batch: int = 1, sampler=None):
    own = scheduled(pipe, sampler)
    try:
        images = pipe(
            prompt=PROMPT,
            negative_prompt=NEGATIVE,
            image=image,
            strength=strength,
            num_inference_steps=steps,
            guidance_scale=7.0,
            num_images_per_prompt=batch,
            generator=generators(seed, batch),
            output_type="np",
        ).images
    finally:
        pipe.scheduler = own
    return (images * 255).round().astype(np.uint8)


def rgbs(runtime, req: Txt2ImgRequest):
    results = runtime.run(req, JobContext(1)).images
    return [r.rgb for r in results], results


# ---------------------------------------------------------------- image to image


@pytest.mark.reproducibility
@pytest.mark.parametrize(
    ("sampler", "batch"), [(None, 1), ("Euler a", 2), ("DPM++ 2M Karras", 1), ("DDIM", 1)]
)
def test_img2img_equals_bare_diffusers_img2img(runtime, tiny, picture, sampler, batch):
    req = request(tiny["sd1"], sampler=sampler, batch_size=batch, source=source(picture, 0.6))
    got, results = rgbs(runtime, req)
    image = Image.open(picture).convert("RGB")
    expected = bare_img2img(bare_sd_img2img(tiny["sd1"]), image, 0.6, 4, 1234, batch, sampler)
    assert len(got) == batch
    for i in range(batch):
        np.testing.assert_array_equal(got[i], expected[i])
    info = results[0].info
    assert info["steps_run"] == 2 and info["denoising_strength"] == 0.6
    assert info["source"]["size"] == [64, 64] and len(info["source"]["sha256"]) == 64
    assert info["notes"] == []


@pytest.mark.reproducibility
@pytest.mark.parametrize("model", ["sd1-file", "sdxl", "sdxl-file"])
def test_img2img_from_single_files_and_sdxl_equals_bare_diffusers(runtime, tiny, picture, model):
    family = model.removesuffix("-file")
    kind = StableDiffusionXLImg2ImgPipeline if family == "sdxl" else StableDiffusionImg2ImgPipeline
    got, _ = rgbs(runtime, request(tiny[model], source=source(picture, 0.75)))
    bare = bare_pipe(kind, str(tiny[family]))  # the folder the single file was made from
    expected = bare_img2img(bare, Image.open(picture).convert("RGB"), 0.75, 4, 1234)
    np.testing.assert_array_equal(got[0], expected[0])
    assert got[0].std() > 0


def test_strength_one_draws_over_the_source_and_small_strength_stays_near_it(
    runtime, tiny, picture
):
    near, _ = rgbs(runtime, request(tiny["sd1"], steps=10, source=source(picture, 0.2)))
    far, _ = rgbs(runtime, request(tiny["sd1"], steps=10, source=source(picture, 1.0)))
    original = np.asarray(Image.open(picture), np.int16)
    assert np.abs(near[0] - original).mean() < np.abs(far[0] - original).mean()


def test_variation_seeds_change_the_image_and_strength_zero_is_plain(runtime, tiny, picture):
    plain, _ = rgbs(runtime, request(tiny["sd1"], source=source(picture)))
    zero, _ = rgbs(
        runtime,
        request(tiny["sd1"], source=source(picture), variation_seed=9, variation_strength=0.0),
    )
    varied = [
        rgbs(
            runtime,
            request(tiny["sd1"], source=source(picture), variation_seed=9, variation_strength=0.5),
        )[0][0]
        for _ in range(2)
    ]
    np.testing.assert_array_equal(zero[0], plain[0])
    np.testing.assert_array_equal(varied[0], varied[1])  # still reproducible
    assert not np.array_equal(varied[0], plain[0])


def test_clip_skip_and_weighted_prompts_work_in_image_to_image(runtime, tiny, picture):
    plain, _ = rgbs(runtime, request(tiny["sd1"], source=source(picture)))
    skipped, _ = rgbs(runtime, request(tiny["sd1"], source=source(picture), clip_skip=2))
    assert not np.array_equal(plain[0], skipped[0])


# ---------------------------------------------------------------- hires fix


def hires_by_hand(folder: Path, enlarge, denoise: float, steps: int, seed: int) -> np.ndarray:
    """txt2img at 64², `enlarge` (pixels or latents), img2img: with diffusers alone."""
    base = bare_pipe(StableDiffusionPipeline, str(folder))
    second = StableDiffusionImg2ImgPipeline(**base.components)
    second.set_progress_bar_config(disable=True)
    latent = enlarge == "latent"
    first = base(
        prompt=PROMPT,
        negative_prompt=NEGATIVE,
        width=64,
        height=64,
        num_inference_steps=4,
        guidance_scale=7.0,
        generator=generators(seed, 1),
        output_type="latent" if latent else "np",
    ).images
    if latent:
        image = F.interpolate(first, size=(16, 16), mode="bilinear", align_corners=False)
    else:
        image = enlarge(Image.fromarray((first[0] * 255).round().astype(np.uint8)))
    return bare_img2img(second, image, denoise, steps, seed)[0]


@pytest.mark.reproducibility
def test_hires_with_lanczos_equals_its_two_steps_by_hand(runtime, tiny):
    hires = Hires(scale=2.0, steps=6, denoise=0.5)
    got, results = rgbs(runtime, request(tiny["sd1"], hires=hires))
    expected = hires_by_hand(
        tiny["sd1"], lambda im: im.resize((128, 128), Image.Resampling.LANCZOS), 0.5, 6, 1234
    )
    assert got[0].shape == (128, 128, 3)
    np.testing.assert_array_equal(got[0], expected)
    info = results[0].info
    assert info["hires_size"] == [128, 128] and info["hires_steps_run"] == 3
    assert info["hires_upscaler"] == "lanczos" and info["first_pass_size"] == [64, 64]


@pytest.mark.reproducibility
def test_hires_latent_equals_bilinear_latents_by_hand(runtime, tiny):
    latent = ModelRef(Family.UPSCALE, "latent")
    got, _ = rgbs(runtime, request(tiny["sd1"], hires=Hires(2.0, 4, 0.7, latent)))
    np.testing.assert_array_equal(got[0], hires_by_hand(tiny["sd1"], "latent", 0.7, 4, 1234))


@pytest.mark.reproducibility
def test_hires_with_an_upscaler_model_equals_the_model_then_img2img(runtime, tiny, tmp_path):
    net = compact_net(scale=2)
    path = save_safetensors(net, tmp_path / "2x-tiny.safetensors")

    def by_model(image: Image.Image) -> Image.Image:
        x = torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)[None].float() / 255
        with torch.inference_mode():
            y = net(x)[0].clamp(0, 1).mul(255).round().to(torch.uint8)
        return Image.fromarray(y.permute(1, 2, 0).numpy())

    upscaler = ModelRef(Family.UPSCALE, str(path))
    got, _ = rgbs(runtime, request(tiny["sd1"], hires=Hires(2.0, 4, 0.5, upscaler)))
    np.testing.assert_array_equal(got[0], hires_by_hand(tiny["sd1"], by_model, 0.5, 4, 1234))


def test_hires_size_is_rounded_to_a_multiple_of_8_and_a_batch_gives_one_each(runtime, tiny):
    got, results = rgbs(runtime, request(tiny["sd1"], batch_size=2, hires=Hires(1.3, 2, 0.5)))
    assert [g.shape for g in got] == [(80, 80, 3)] * 2  # 64 × 1.3 = 83.2 -> 80
    assert [r.seed for r in results] == [1234, 1235]


def test_hires_of_no_second_step_is_the_enlarged_first_pass(runtime, tiny):
    got, results = rgbs(runtime, request(tiny["sd1"], hires=Hires(2.0, 4, 0.1)))  # int(0.4)
    first, _ = rgbs(runtime, request(tiny["sd1"]))
    enlarged = Image.fromarray(first[0]).resize((128, 128), Image.Resampling.LANCZOS)
    np.testing.assert_array_equal(got[0], np.asarray(enlarged))
    assert results[0].info["hires_steps_run"] == 0
