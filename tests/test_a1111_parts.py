"""The image parts in A1111's `parameters` text (issue 21), written and read back.

The oracles are literal texts in the form AUTOMATIC1111's web UI writes them
(modules/processing.py create_infotext and the img2img/hires extra_generation_params:
field names, value formats, and which fields it leaves out at their defaults)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from engine.api.a1111_parts import parts_from_parameters, upscaler_text
from engine.api.a1111_request import request_from_parameters
from engine.api.image_parts import Hires, Mask, SourceImage
from engine.api.kinds import Family
from engine.api.outcomes import ResultImage
from engine.api.parts import ImageRef, ModelRef, Prompt, Sampling, Size
from engine.api.requests import Txt2ImgRequest
from engine.store import metadata
from engine.store.a1111 import parse_parameters

SD = ModelRef(Family.SD, "/models/v1-5-pruned-emaonly.safetensors")
PICTURE = ImageRef("/gallery/2026-01-02/00001-fox.png", "ab" * 32)
NO_IMAGE = ImageRef("", "")
INFO = {"model": SD.id, "model_sha256": "6ce0161689" + "0" * 54}


def request(**parts: object) -> Txt2ImgRequest:
    return Txt2ImgRequest(
        model=SD,
        prompt=Prompt("a fox in the snow", "blurry"),
        size=Size(512, 512),
        sampling=Sampling(20, 7.0, "Euler a", 42),
        **parts,
    )


def last_line(made: Txt2ImgRequest, pixels: tuple[int, int] = (512, 512)) -> str:
    image = ResultImage(np.zeros((pixels[1], pixels[0], 3), np.uint8), 42, 0, INFO)
    return metadata.build_parameters(image, made).splitlines()[-1]


def version() -> str:
    return f"Version: latentstudio {metadata.app_version()}"


BASE = "Steps: 20, Sampler: Euler a, CFG scale: 7"
MODEL = "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly"


# ---------------------------------------------------------------- writing


def test_without_parts_the_text_has_no_new_field():
    assert last_line(request()) == f"{BASE}, Seed: 42, Size: 512x512, {MODEL}, {version()}"


def test_image_to_image_writes_its_denoising_strength():
    made = request(source=SourceImage(PICTURE, 0.3, "crop-and-resize"))
    assert last_line(made) == (
        f"{BASE}, Denoising strength: 0.3, Seed: 42, Size: 512x512, {MODEL}, {version()}"
    )


def test_an_inpaint_with_a1111_defaults_writes_only_the_blur():
    made = request(source=SourceImage(PICTURE), mask=Mask(PICTURE))
    assert last_line(made) == (
        f"{BASE}, Denoising strength: 0.75, Mask blur: 4, "
        f"Seed: 42, Size: 512x512, {MODEL}, {version()}"
    )


def test_an_only_masked_inpaint_writes_every_inpaint_field_as_a1111_does():
    mask = Mask(PICTURE, blur=8, mode="unmasked", content="latent-noise", area="masked", padding=48)
    made = request(source=SourceImage(PICTURE, 1.0), mask=mask)
    assert last_line(made) == (
        f"{BASE}, Denoising strength: 1, Mask blur: 8, Mask mode: Inpaint not masked, "
        "Masked content: latent noise, Inpaint area: Only masked, Masked area padding: 48, "
        f"Seed: 42, Size: 512x512, {MODEL}, {version()}"
    )


@pytest.mark.parametrize(
    ("content", "text"),
    [("fill", "fill"), ("latent-nothing", "latent nothing"), ("original", None)],
)
def test_masked_content_is_written_in_a1111s_words_unless_original(content, text):
    made = request(source=SourceImage(PICTURE), mask=Mask(PICTURE, blur=0, content=content))
    line = last_line(made)
    assert "Mask blur" not in line  # A1111 writes it only above 0
    if text is None:
        assert "Masked content" not in line
    else:
        assert f"Masked content: {text}," in line


def test_hires_writes_its_fields_and_the_first_passs_size():
    hires = Hires(2.0, 15, 0.45, ModelRef(Family.UPSCALE, "/models/ESRGAN/4x-UltraSharp.pth"))
    made = request(hires=hires)
    assert last_line(made, pixels=(1024, 1024)) == (
        f"{BASE}, Denoising strength: 0.45, Hires upscale: 2, Hires steps: 15, "
        f"Hires upscaler: 4x-UltraSharp, Seed: 42, Size: 512x512, {MODEL}, {version()}"
    )


def test_hires_steps_0_is_left_out_and_latent_is_a1111s_latent():
    made = request(hires=Hires(1.5, 0, 0.7, ModelRef(Family.UPSCALE, "latent")))
    line = last_line(made, pixels=(768, 768))
    assert "Hires upscale: 1.5, Hires upscaler: Latent, Seed: 42, Size: 512x512" in line
    assert "Hires steps" not in line and "Hires resize" not in line


@pytest.mark.parametrize(
    ("upscaler", "text"),
    [
        ("lanczos", "Lanczos"),
        ("bicubic", "Bicubic"),
        ("latent", "Latent"),
        ("lite-x2", "lite-x2"),
        ("C:\\models\\RealESRGAN_x4plus.safetensors", "RealESRGAN_x4plus"),
    ],
)
def test_upscalers_are_named_as_a1111_lists_them(upscaler, text):
    assert upscaler_text(upscaler) == text


# ---------------------------------------------------------------- reading A1111's own texts


HIRES_TEXT = (
    "masterpiece, a fox in the snow\n"
    "Negative prompt: lowres, blurry\n"
    "Steps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 3821590126, "
    "Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, "
    "Denoising strength: 0.45, Hires upscale: 2, Hires steps: 15, Hires upscaler: Latent, "
    "Version: v1.10.1"
)
INPAINT_TEXT = (
    "a red woollen hat\n"
    "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512, "
    "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Denoising strength: 0.75, "
    "Mask blur: 4, Inpaint area: Only masked, Masked area padding: 32, Version: v1.6.0"
)
INVERTED_TEXT = (
    "a night sky\n"
    "Steps: 25, Sampler: DPM++ SDE, Schedule type: Karras, CFG scale: 6.5, Seed: 7, "
    "Size: 768x512, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, "
    "Denoising strength: 1, Mask blur: 8, Mask mode: Inpaint not masked, "
    "Masked content: latent noise, Version: v1.8.0"
)
IMG2IMG_TEXT = (
    "oil painting of a harbour\n"
    "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 99, Size: 768x512, "
    "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Denoising strength: 0.3, "
    "Version: v1.7.0"
)
TXT2IMG_TEXT = (
    "a fox\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, "
    "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Version: v1.7.0"
)


def test_an_a1111_hires_text_reads_as_text_to_image_with_hires():
    read = request_from_parameters(parse_parameters(HIRES_TEXT))
    assert read.missing == () and read.notes == ()
    assert read.request == Txt2ImgRequest(
        model=ModelRef(Family.SD, "v1-5-pruned-emaonly"),
        prompt=Prompt("masterpiece, a fox in the snow", "lowres, blurry"),
        size=Size(512, 768),
        sampling=Sampling(30, 7.0, "DPM++ 2M Karras", 3821590126),
        hires=Hires(2.0, 15, 0.45, ModelRef(Family.UPSCALE, "latent")),
    )
    read.request.validate()


def test_an_a1111_only_masked_inpaint_reads_with_its_options_and_names_what_is_missing():
    read = request_from_parameters(parse_parameters(INPAINT_TEXT))
    assert read.missing == ("source image", "mask")
    assert read.request.source == SourceImage(NO_IMAGE, 0.75)
    assert read.request.mask == Mask(NO_IMAGE, blur=4, area="masked", padding=32)
    assert read.request.hires is None
    with pytest.raises(Exception, match="The source image is not chosen"):
        read.request.validate()  # it cannot run until the user chooses them


def test_an_a1111_inverted_latent_noise_inpaint_reads_back():
    read = request_from_parameters(parse_parameters(INVERTED_TEXT))
    assert read.request.mask == Mask(NO_IMAGE, blur=8, mode="unmasked", content="latent-noise")
    assert read.request.source == SourceImage(NO_IMAGE, 1.0)
    assert read.request.sampling == Sampling(25, 6.5, "DPM++ SDE Karras", 7)
    assert read.request.size == Size(768, 512)


def test_an_a1111_img2img_text_reads_as_a_source_with_its_strength():
    read = request_from_parameters(parse_parameters(IMG2IMG_TEXT))
    assert read.missing == ("source image",)
    assert read.request.source == SourceImage(NO_IMAGE, 0.3)
    assert read.request.mask is None and read.request.hires is None


def test_an_a1111_txt2img_text_has_no_part_and_nothing_missing():
    read = request_from_parameters(parse_parameters(TXT2IMG_TEXT))
    assert read.missing == () and not read.request.has_parts
    read.request.validate()


def test_hires_resize_becomes_a_scale_and_a_crop_is_said():
    text = TXT2IMG_TEXT.replace(
        "Version", "Denoising strength: 0.5, Hires resize: 1024x1536, Hires upscaler: Lanczos, V"
    )
    parts = parts_from_parameters(parse_parameters(text))
    assert parts.hires == Hires(3.0, 0, 0.5, ModelRef(Family.UPSCALE, "lanczos"))
    assert parts.notes == (
        "A1111 resized to 1024x1536, cropping; here the hires pass scales by 3 without the crop.",
    )
    same_shape = parts_from_parameters(parse_parameters(text.replace("1024x1536", "1024x0")))
    assert same_shape.hires is not None and same_shape.hires.scale == 2.0
    assert same_shape.notes == ()


@pytest.mark.parametrize(
    ("name", "ours", "noted"),
    [
        ("Latent", "latent", False),
        ("Latent (nearest-exact)", "latent", True),
        ("Lanczos", "lanczos", False),
        ("None", "lanczos", False),
        ("R-ESRGAN 4x+", "R-ESRGAN 4x+", True),
    ],
)
def test_a1111_hires_upscalers_read_as_ours_or_are_noted(name, ours, noted):
    text = HIRES_TEXT.replace("Hires upscaler: Latent", f"Hires upscaler: {name}")
    parts = parts_from_parameters(parse_parameters(text))
    assert parts.hires is not None and parts.hires.upscaler.id == ours
    assert bool(parts.notes) == noted
    if noted:
        assert name in parts.notes[0]


def test_the_parsed_text_has_numbers_for_the_inpaint_numbers():
    params = parse_parameters(INPAINT_TEXT)
    assert params["mask_blur"] == 4 and params["masked_area_padding"] == 32
    assert params["inpaint_area"] == "Only masked"
    assert params["denoising_strength"] == 0.75


# ---------------------------------------------------------------- both ways


@pytest.mark.parametrize(
    "parts",
    [
        {"source": SourceImage(PICTURE, 0.55)},
        {
            "source": SourceImage(PICTURE, 0.9),
            "mask": Mask(
                PICTURE, blur=6, mode="unmasked", content="fill", area="masked", padding=8
            ),
        },
        {"hires": Hires(1.5, 12, 0.35, ModelRef(Family.UPSCALE, "latent"))},
        {"hires": Hires(2.0, 0, 0.5, ModelRef(Family.UPSCALE, "lanczos"))},
    ],
)
def test_what_we_write_reads_back_to_the_same_options(parts):
    made = request(**parts)
    image = ResultImage(np.zeros((512, 512, 3), np.uint8), 42, 0, INFO)
    text = metadata.png_text(image, made, datetime.now().astimezone())["parameters"]
    meta = metadata.metadata_from_text({"parameters": text}, 512, 512)  # as another tool's
    read = meta.from_parameters()
    assert read is not None
    again = read.request
    if made.source is not None:
        assert again.source == SourceImage(NO_IMAGE, made.source.strength)
    if made.mask is not None:
        assert again.mask == Mask(
            NO_IMAGE,
            **{k: getattr(made.mask, k) for k in ("blur", "mode", "content", "area", "padding")},
        )
    assert again.hires == made.hires
    assert (again.prompt, again.size, again.sampling) == (made.prompt, made.size, made.sampling)


def test_our_own_images_are_read_from_their_recipe_not_the_text():
    made = request(source=SourceImage(PICTURE, 0.4))
    image = ResultImage(np.zeros((512, 512, 3), np.uint8), 42, 0, INFO)
    chunks = metadata.png_text(image, made, datetime.now().astimezone())
    meta = metadata.metadata_from_text(chunks, 512, 512)
    assert meta.request == made and meta.from_parameters() is None
