"""ControlNet and T2I-Adapter units through the SD runner, held to bare diffusers.

Tiny ControlNets are made from the tiny UNets (ControlNetModel.from_unet, weights then
set from a fixed seed so the residuals are not the zero convolutions' zeros), tiny
T2I-Adapters are built to the SD 1.x and SDXL UNets' widths; all are saved as diffusers
folders and loaded by the app's control-file loader (SD 1.x adapters also as TencentARC's
original .pth, written from tests/t2i_original_layout.py's literal name tables). Every
picture equals diffusers' own ControlNet / Adapter pipeline, loaded from the same
folders, pixel for pixel.
"""

from __future__ import annotations

import functools
from pathlib import Path

import diffusers
import numpy as np
import pytest
import torch
from diffusers import ControlNetModel, T2IAdapter
from PIL import Image

from engine.api.errors import BadInput
from engine.api.image_parts import ControlUnit, Mask, SourceImage
from engine.api.kinds import Family
from engine.api.parts import ImageRef, ModelRef, Prompt, Sampling, Size
from engine.api.requests import Txt2ImgRequest
from engine.context import JobContext
from tests.sd_original_layout import save_folder, tiny_pipeline
from tests.t2i_original_layout import TINY as TINY_ADAPTER
from tests.t2i_original_layout import to_original
from tests.upscalers import photo_like, write_png

pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

PROMPT, NEGATIVE, STEPS, SEED = "a photo of a cat", "blurry", 3, 1234


@pytest.fixture(scope="module")
def runtime(sd_runtime):
    return sd_runtime


def _randomised(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Every weight drawn afresh (ControlNet's zero convolutions would add nothing)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in module.parameters():
            tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.05)
    return module


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    made = {}
    for family in ("sd1", "sdxl"):
        root = tmp_path_factory.mktemp(family)
        pipe = tiny_pipeline(family, seed=3)
        made[family] = save_folder(pipe, root / f"tiny-{family}")
        for seed in (1, 2):
            net = _randomised(ControlNetModel.from_unet(pipe.unet), seed)
            net.save_pretrained(str(root / f"cn-{seed}"), safe_serialization=True)
            made[f"{family}-cn{seed}"] = root / f"cn-{seed}"
    adapter = T2IAdapter(channels=[32, 64], num_res_blocks=1, downscale_factor=8)
    made["sd1-adapter"] = tmp_path_factory.mktemp("adapter") / "ad"
    _randomised(adapter, 7).save_pretrained(str(made["sd1-adapter"]))
    # SDXL's: the widths of the tiny SDXL UNet's down blocks; a 64 px map unshuffled by
    # 16 gives its features at the 4 x 4 the blocks' outputs have.
    adapter = T2IAdapter(
        channels=[32, 64], num_res_blocks=1, downscale_factor=16, adapter_type="full_adapter_xl"
    )
    made["sdxl-adapter"] = tmp_path_factory.mktemp("adapter-xl") / "ad"
    _randomised(adapter, 6).save_pretrained(str(made["sdxl-adapter"]))
    for channels in (3, 1):  # TencentARC's own files: a colour map's, canny's
        original = _randomised(T2IAdapter(in_channels=channels, **TINY_ADAPTER), 8)
        root = tmp_path_factory.mktemp(f"original-{channels}")
        original.save_pretrained(str(root / "ad"))
        made[f"sd1-adapter{channels}"] = root / "ad"
        torch.save(to_original(original), root / "t2iadapter_tiny_sd14v1.pth")
        made[f"sd1-adapter{channels}-original"] = root / "t2iadapter_tiny_sd14v1.pth"
    return made


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pictures")
    return {
        "map": write_png(root / "map.png", photo_like(64, 64, seed=8)),
        "map2": write_png(root / "map2.png", photo_like(64, 64, seed=9)),
        "wide": write_png(root / "wide.png", photo_like(96, 64, seed=8)),
        "source": write_png(root / "source.png", photo_like(64, 64, seed=5)),
        "mask": write_png(root / "mask.png", _mask()),
    }


def _mask() -> np.ndarray:
    mask = np.zeros((64, 64), np.uint8)
    mask[16:48, 20:52] = 255
    return mask


def unit(model: Path, image: Path, **options) -> ControlUnit:
    return ControlUnit(ModelRef(Family.SD, str(model)), ImageRef(str(image), ""), **options)


def request(model: Path, *units: ControlUnit, **overrides) -> Txt2ImgRequest:
    return Txt2ImgRequest(
        model=ModelRef(Family.SD, str(model)),
        prompt=Prompt(PROMPT, NEGATIVE),
        size=Size(64, 64),
        sampling=Sampling(steps=STEPS, cfg_scale=7.0, sampler=None, seed=SEED),
        control=units,
        **overrides,
    )


def drawn(runtime, req: Txt2ImgRequest):
    results = runtime.run(req, JobContext(1)).images
    return np.stack([r.rgb for r in results]), results


@functools.cache
def bare(cls_name: str, folder: str, nets: tuple[str, ...]):
    cls = getattr(diffusers, cls_name)
    key = "adapter" if "Adapter" in cls_name else "controlnet"
    loader = T2IAdapter if key == "adapter" else ControlNetModel
    models = [loader.from_pretrained(net) for net in nets]
    pipe = cls.from_pretrained(folder, **{key: models[0] if len(models) == 1 else models})
    pipe.set_progress_bar_config(disable=True)
    return pipe


def bare_call(pipe, **arguments) -> np.ndarray:
    images = pipe(
        prompt=PROMPT,
        negative_prompt=NEGATIVE,
        num_inference_steps=STEPS,
        guidance_scale=7.0,
        generator=[torch.Generator("cpu").manual_seed(SEED)],
        output_type="np",
        **arguments,
    ).images
    return (images * 255).round().astype(np.uint8)


def png(path: Path) -> Image.Image:
    return Image.open(path).convert("RGB")


# ---------------------------------------------------------------- oracles


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_one_controlnet_equals_bare_diffusers_text_to_image(runtime, tiny, pictures, family):
    ours, results = drawn(
        runtime, request(tiny[family], unit(tiny[f"{family}-cn1"], pictures["map"]))
    )
    name = (
        "StableDiffusionXLControlNetPipeline"
        if family == "sdxl"
        else "StableDiffusionControlNetPipeline"
    )
    pipe = bare(name, str(tiny[family]), (str(tiny[f"{family}-cn1"]),))
    theirs = bare_call(pipe, image=png(pictures["map"]), width=64, height=64)
    np.testing.assert_array_equal(ours, theirs)
    control = results[0].info["control"]
    assert control[0]["map"]["preprocessor"] == "none" and control[0]["weight"] == 1.0


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_controlnet_image_to_image_equals_bare_diffusers(runtime, tiny, pictures, family):
    req = request(
        tiny[family],
        unit(tiny[f"{family}-cn1"], pictures["map"], weight=0.8, start=0.1, end=0.9),
        source=SourceImage(ImageRef(str(pictures["source"]), ""), 0.7),
    )
    ours, _ = drawn(runtime, req)
    xl = "XL" if family == "sdxl" else ""
    pipe = bare(
        f"StableDiffusion{xl}ControlNetImg2ImgPipeline",
        str(tiny[family]),
        (str(tiny[f"{family}-cn1"]),),
    )
    theirs = bare_call(
        pipe,
        image=png(pictures["source"]),
        control_image=png(pictures["map"]),
        strength=0.7,
        controlnet_conditioning_scale=0.8,
        control_guidance_start=0.1,
        control_guidance_end=0.9,
    )
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_controlnet_inpaint_equals_bare_diffusers(runtime, tiny, pictures, family):
    mask = Mask(ImageRef(str(pictures["mask"]), ""), blur=0, composite=False)
    req = request(
        tiny[family],
        unit(tiny[f"{family}-cn1"], pictures["map"]),
        source=SourceImage(ImageRef(str(pictures["source"]), ""), 0.75),
        mask=mask,
    )
    ours, _ = drawn(runtime, req)
    xl = "XL" if family == "sdxl" else ""
    pipe = bare(
        f"StableDiffusion{xl}ControlNetInpaintPipeline",
        str(tiny[family]),
        (str(tiny[f"{family}-cn1"]),),
    )
    theirs = bare_call(
        pipe,
        image=[png(pictures["source"])],
        mask_image=Image.open(pictures["mask"]).convert("L"),
        control_image=png(pictures["map"]),
        controlnet_conditioning_scale=1.0,  # this pipeline's default is 0.5
        strength=0.75,
        width=64,
        height=64,
    )
    np.testing.assert_array_equal(ours, theirs)


def test_two_units_equal_multi_controlnet_and_three_units_draw(runtime, tiny, pictures):
    first = unit(tiny["sd1-cn1"], pictures["map"], weight=0.7, end=0.6)
    second = unit(tiny["sd1-cn2"], pictures["map2"], weight=1.2, start=0.3, preprocessor="invert")
    ours, results = drawn(runtime, request(tiny["sd1"], first, second))
    pipe = bare(
        "StableDiffusionControlNetPipeline",
        str(tiny["sd1"]),
        (str(tiny["sd1-cn1"]), str(tiny["sd1-cn2"])),
    )
    assert isinstance(pipe.controlnet, diffusers.MultiControlNetModel)
    inverted = Image.fromarray(255 - np.asarray(png(pictures["map2"])))
    theirs = bare_call(
        pipe,
        image=[png(pictures["map"]), inverted],
        controlnet_conditioning_scale=[0.7, 1.2],
        control_guidance_start=[0.0, 0.3],
        control_guidance_end=[0.6, 1.0],
    )
    np.testing.assert_array_equal(ours, theirs)
    assert [u["map"]["preprocessor"] for u in results[0].info["control"]] == ["none", "invert"]
    third = unit(tiny["sd1-cn1"], pictures["map2"], weight=0.5)
    three, results = drawn(runtime, request(tiny["sd1"], first, second, third))
    assert len(results[0].info["control"]) == 3 and not np.array_equal(three, ours)


def test_t2i_adapter_equals_bare_diffusers(runtime, tiny, pictures):
    ours, results = drawn(
        runtime, request(tiny["sd1"], unit(tiny["sd1-adapter"], pictures["map"], weight=0.9))
    )
    pipe = bare("StableDiffusionAdapterPipeline", str(tiny["sd1"]), (str(tiny["sd1-adapter"]),))
    theirs = bare_call(
        pipe, image=png(pictures["map"]), adapter_conditioning_scale=0.9, width=64, height=64
    )
    np.testing.assert_array_equal(ours, theirs)
    assert results[0].info["control"][0]["kind"] == "t2i-adapter"


def test_an_sdxl_t2i_adapter_equals_bare_diffusers(runtime, tiny, pictures):
    adapter = unit(tiny["sdxl-adapter"], pictures["map"], weight=0.8, end=0.7)
    ours, results = drawn(runtime, request(tiny["sdxl"], adapter))
    pipe = bare("StableDiffusionXLAdapterPipeline", str(tiny["sdxl"]), (str(tiny["sdxl-adapter"]),))
    theirs = bare_call(
        pipe,
        image=png(pictures["map"]),
        adapter_conditioning_scale=0.8,
        adapter_conditioning_factor=0.7,
        width=64,
        height=64,
    )
    np.testing.assert_array_equal(ours, theirs)
    assert results[0].info["control"][0]["kind"] == "t2i-adapter"
    plain, _ = drawn(runtime, request(tiny["sdxl"]))
    assert not np.array_equal(ours, plain)  # the adapter did something


@pytest.mark.parametrize("channels", [3, 1])
def test_an_original_t2i_adapter_file_equals_bare_diffusers(runtime, tiny, pictures, channels):
    original = tiny[f"sd1-adapter{channels}-original"]
    ours, results = drawn(runtime, request(tiny["sd1"], unit(original, pictures["map"])))
    folder = str(tiny[f"sd1-adapter{channels}"])
    pipe = bare("StableDiffusionAdapterPipeline", str(tiny["sd1"]), (folder,))
    image = png(pictures["map"])
    if channels == 1:  # a canny/sketch adapter reads one channel: the map's first
        image = Image.fromarray(np.asarray(image)[..., 0])
    theirs = bare_call(pipe, image=image, width=64, height=64)
    np.testing.assert_array_equal(ours, theirs)
    assert results[0].info["control"][0]["kind"] == "t2i-adapter"


# ---------------------------------------------------------------- settings reach diffusers


def test_weight_start_end_and_modes_change_the_picture(runtime, tiny, pictures):
    model, image = tiny["sd1-cn1"], pictures["map"]
    plain, _ = drawn(runtime, request(tiny["sd1"], unit(model, image)))
    for options in (
        {"weight": 0.5},
        {"start": 0.5},
        {"end": 0.5},
        {"mode": "prompt"},
        {"mode": "control"},
    ):
        other, _ = drawn(runtime, request(tiny["sd1"], unit(model, image, **options)))
        assert not np.array_equal(other, plain), options
    # "control" is diffusers' guess_mode exactly.
    guessed, _ = drawn(runtime, request(tiny["sd1"], unit(model, image, mode="control")))
    pipe = bare("StableDiffusionControlNetPipeline", str(tiny["sd1"]), (str(model),))
    np.testing.assert_array_equal(guessed, bare_call(pipe, image=png(image), guess_mode=True))


def test_a_unit_of_weight_zero_draws_what_no_unit_draws(runtime, tiny, pictures):
    """diffusers multiplies the residuals by 0 and adds them: the UNet's output is
    unchanged, so the picture is plain text to image's."""
    zero, _ = drawn(
        runtime, request(tiny["sd1"], unit(tiny["sd1-cn1"], pictures["map"], weight=0.0))
    )
    plain, _ = drawn(runtime, request(tiny["sd1"]))
    np.testing.assert_array_equal(zero, plain)


# ---------------------------------------------------------------- refusals and notes


def test_a_control_image_of_another_size_is_fitted_with_a_note(runtime, tiny, pictures):
    _, results = drawn(
        runtime,
        request(
            tiny["sd1"], unit(tiny["sd1-cn1"], pictures["wide"], resize_mode="crop-and-resize")
        ),
    )
    notes = results[0].info["notes"]
    assert any(n.startswith("control unit 1: resized from 96×64 to 64×64") for n in notes), notes
    assert results[0].info["control"][0]["map"]["image"]["size"] == [96, 64]


def test_a_missing_control_image_is_a_sentence(runtime, tiny, tmp_path):
    with pytest.raises(BadInput, match="gone.png does not exist"):
        drawn(runtime, request(tiny["sd1"], unit(tiny["sd1-cn1"], tmp_path / "gone.png")))


def test_a_controlnet_of_another_family_is_a_sentence(runtime, tiny, pictures):
    with pytest.raises(BadInput, match="for SDXL"):
        drawn(runtime, request(tiny["sd1"], unit(tiny["sdxl-cn1"], pictures["map"])))


def test_an_adapter_from_an_image_and_mixed_kinds_are_sentences(runtime, tiny, pictures):
    adapter = unit(tiny["sd1-adapter"], pictures["map"])
    source = SourceImage(ImageRef(str(pictures["source"]), ""), 0.5)
    with pytest.raises(BadInput, match="T2I-Adapters guide text to image only"):
        drawn(runtime, request(tiny["sd1"], adapter, source=source))
    with pytest.raises(BadInput, match="cannot guide one picture together"):
        drawn(runtime, request(tiny["sd1"], adapter, unit(tiny["sd1-cn1"], pictures["map"])))


def test_the_a1111_text_names_a_control_file_with_its_short_hash(runtime, tiny, pictures, tmp_path):
    """sd-webui-controlnet writes "Model: name [first 8 hex digits of the file's sha256]"."""
    import hashlib
    import shutil

    single = tmp_path / "diffusers_cn_tiny.safetensors"
    shutil.copy(tiny["sd1-cn1"] / "diffusion_pytorch_model.safetensors", single)
    _images, results = drawn(runtime, request(tiny["sd1"], unit(single, pictures["map"])))
    short = hashlib.sha256(single.read_bytes()).hexdigest()[:8]
    assert results[0].info["control_hashes"] == {str(single): short}
    text = Image.open(results[0].path).text["parameters"]
    assert f"Model: diffusers_cn_tiny [{short}]" in text
