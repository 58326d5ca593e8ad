"""The details and the queue say how a picture made from an image was drawn (issue 21):
rows from the recipe alone, with the literal words a user reads."""

from __future__ import annotations

from engine.api.image_parts import Hires, Mask, Outpaint, SourceImage
from engine.api.kinds import Family
from engine.api.parts import ImageRef, ModelRef, Sampling
from engine.api.requests import Txt2ImgRequest
from gui.details_image_parts import image_part_rows
from gui.viewmodels.source import size_note

SD = ModelRef(Family.SD, "/models/sd.safetensors")
PHOTO = ImageRef("/pictures/holiday/beach.png", "ab" * 32)
MASK = ImageRef("/gallery/inputs/0123456789abcdef.png", "cd" * 32)


def rows_of(request: Txt2ImgRequest, recipe: dict) -> dict:
    return {label: value for label, value in image_part_rows(request, recipe) if value}


def test_an_inpainted_picture_names_its_source_strength_mask_and_notes():
    request = Txt2ImgRequest(
        model=SD,
        source=SourceImage(PHOTO, 0.6, resize_mode="crop-and-resize"),
        mask=Mask(MASK, blur=8, content="latent-noise", area="masked", padding=48, grow=-3),
    )
    rows = rows_of(request, {"steps_run": 12, "notes": ["a grey image: converted"]})
    assert rows == {
        "Source": "beach.png",
        "Denoising strength": "0.6 (12 steps run)",
        "Resize mode": "crop and resize",
        "Mask": "0123456789abcdef.png · blur 8 · latent noise · only masked, padding 48 · "
        "shrunk 3 px",
        "Notes": "a grey image: converted",
    }


def test_an_outpainted_and_a_hires_picture_say_so():
    out = Txt2ImgRequest(model=SD, source=SourceImage(PHOTO), outpaint=Outpaint(right=64))
    assert rows_of(out, {})["Outpaint"] == "right +64 · edge fill · overlap 32 px"
    hires = Txt2ImgRequest(
        model=SD, hires=Hires(2.0, 10, 0.4, ModelRef(Family.UPSCALE, "/m/4x-UltraSharp.pth"))
    )
    recipe = {"hires_steps_run": 4, "hires_size": [1024, 768]}
    assert rows_of(hires, recipe) == {
        "Hires fix": "×2 4x-UltraSharp · denoise 0.4 · 4 steps run → 1024×768",
        # no parent in the lineage: the first pass was never saved, and the dock says so
        "First pass": "not kept (drawn over in the same job; this recipe without the hires "
        "fix draws it)",
    }


def test_a_text_to_image_picture_has_no_image_rows():
    assert rows_of(Txt2ImgRequest(model=SD), {}) == {}


def test_the_queue_says_how_each_job_is_drawn():
    seed = Sampling(seed=7)
    plain = Txt2ImgRequest(model=SD, sampling=seed).describe()
    assert plain == "(no prompt) · 512×512 · seed 7 · model sampler"
    source = SourceImage(PHOTO, 0.35)
    cases = {
        "img2img 0.35": Txt2ImgRequest(model=SD, sampling=seed, source=source),
        "inpaint 0.35": Txt2ImgRequest(model=SD, sampling=seed, source=source, mask=Mask(MASK)),
        "outpaint 0.35": Txt2ImgRequest(
            model=SD, sampling=seed, source=source, outpaint=Outpaint(top=8)
        ),
        "hires ×1.5": Txt2ImgRequest(model=SD, sampling=seed, hires=Hires(1.5)),
    }
    for how, request in cases.items():
        assert request.describe() == plain.replace(" · 512×512", f" · {how} · 512×512")


def test_the_size_line_of_an_outpaint_names_the_source_and_the_sides():
    assert size_note((320, 192), (320, 192), "just-resize", (256, 192)) == (
        "Output 320×192: the source's 256×192 and the sides added"
    )
    assert size_note((256, 192), (256, 192), "just-resize", (256, 192)) == (
        "Output 256×192, the source's size"
    )
