"""The image parts in AUTOMATIC1111's `parameters` text, both ways (issue 21).

Writing: the fields A1111 itself writes for image to image, inpainting and hires fix,
with its names, its values and its rule of leaving a field out when it has its default
(modules/processing.py: `Denoising strength`, `Mask blur` when above 0, `Mask mode` only
for "Inpaint not masked", `Masked content` unless "original", `Inpaint area: Only
masked` with `Masked area padding` only for only-masked; for hires `Hires upscale`,
`Hires steps` when not 0, `Hires upscaler`, and the hires denoise as `Denoising
strength`). `Hires resize` is never written: our Hires has a scale only, which A1111
writes as `Hires upscale`. What A1111 has no field for (mask grow, colour match,
composite, outpaint, resize mode) is in the recipe only.

Reading: the same fields back into parts. A1111's PNG does not carry the source image
or the mask, so those parts come back with an empty ImageRef and are named in
`missing`, for the GUI to ask for them; validation names them too ("The source image is
not chosen"). An inpaint with every option at its default writes no inpaint field in
A1111, so it reads back as image to image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.api.image_parts import LATENT_UPSCALER, Hires, Mask, SourceImage
from engine.api.kinds import Family
from engine.api.parts import ImageRef, ModelRef


class WithParts(Protocol):
    """What the writing reads of a Txt2ImgRequest (typed so, not by the class: the
    request module imports this one)."""

    @property
    def source(self) -> SourceImage | None: ...
    @property
    def mask(self) -> Mask | None: ...
    @property
    def hires(self) -> Hires | None: ...


# Our masked-content names and A1111's (its radio's labels).
MASKED_CONTENT_TEXT = {
    "fill": "fill",
    "original": "original",
    "latent-noise": "latent noise",
    "latent-nothing": "latent nothing",
}
ONLY_MASKED = "Only masked"
WHOLE_PICTURE = "Whole picture"
NOT_MASKED = "Inpaint not masked"
# Our resamplers and latent upscaler by A1111's names ("None" resizes with Lanczos).
UPSCALER_TEXT = {LATENT_UPSCALER: "Latent", "lanczos": "Lanczos", "bicubic": "Bicubic"}
_UPSCALER_OF_TEXT = {"none": "lanczos", **{v.lower(): k for k, v in UPSCALER_TEXT.items()}}
_MODEL_SUFFIXES = (".pth", ".pt", ".safetensors", ".ckpt")
_MASK_KEYS = ("mask_blur", "mask_mode", "masked_content", "inpaint_area", "masked_area_padding")
_HIRES_KEYS = ("hires_upscale", "hires_resize", "hires_upscaler", "hires_steps")

# ---------------------------------------------------------------- writing


def parts_params(request: WithParts) -> list[tuple[str, object]]:
    """The A1111 fields of the request's image parts; None where A1111 leaves one out.
    A request without parts gives only Nones, so its text is exactly as before."""
    source, mask, hires = request.source, request.mask, request.hires
    strength = source.strength if source else (hires.denoise if hires else None)
    params: list[tuple[str, object]] = [("Denoising strength", strength)]
    if mask is not None:
        only_masked = mask.area == "masked"
        params += [
            ("Mask blur", mask.blur or None),
            ("Mask mode", NOT_MASKED if mask.mode == "unmasked" else None),
            ("Masked content", None if mask.content == "original" else _masked_text(mask)),
            ("Inpaint area", ONLY_MASKED if only_masked else None),
            ("Masked area padding", mask.padding if only_masked else None),
        ]
    if hires is not None:
        params += [
            ("Hires upscale", hires.scale),
            ("Hires steps", hires.steps or None),
            ("Hires upscaler", upscaler_text(hires.upscaler.id)),
        ]
    return params


def _masked_text(mask: Mask) -> str:
    return MASKED_CONTENT_TEXT[mask.content]


def upscaler_text(upscaler_id: str) -> str:
    """A1111's name for an upscaler: its own for the resamplers and latent, a file's
    name without its folder and suffix (as A1111 lists ESRGAN files), else the id."""
    if upscaler_id in UPSCALER_TEXT:
        return UPSCALER_TEXT[upscaler_id]
    name = upscaler_id.replace("\\", "/").rsplit("/", 1)[-1]
    for suffix in _MODEL_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class A1111Parts:
    """The parts an A1111 text says. `missing`: what the text cannot carry and the user
    must choose ("source image", "mask"); `notes`: sentences on what was read
    approximately (an upscaler A1111 has and we do not, a crop of hires resize)."""

    source: SourceImage | None = None
    mask: Mask | None = None
    hires: Hires | None = None
    missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())


def parts_from_parameters(params: dict[str, Any]) -> A1111Parts:
    """The parts of a parsed A1111 text (engine.store.a1111.parse_parameters): hires for
    text to image, a source (and a mask) with their options for image to image."""
    notes: list[str] = []
    if any(key in params for key in _HIRES_KEYS):
        return A1111Parts(hires=_hires(params, notes), notes=tuple(notes))
    has_mask = any(key in params for key in _MASK_KEYS)
    if not has_mask and not _number(params.get("denoising_strength")):
        return A1111Parts()  # text to image: no part
    strength = params.get("denoising_strength")
    source = SourceImage(ImageRef("", ""), strength if _number(strength) else 0.75)
    if not has_mask:
        return A1111Parts(source=source, missing=("source image",))
    return A1111Parts(
        source=source,
        mask=_mask(params, notes),
        missing=("source image", "mask"),
        notes=tuple(notes),
    )


def _mask(params: dict[str, Any], notes: list[str]) -> Mask:
    content_of = {text: ours for ours, text in MASKED_CONTENT_TEXT.items()}
    content = str(params.get("masked_content", "original")).strip().lower()
    if content not in content_of:
        notes.append(f"Masked content {content!r} is not one Latent Studio has: original is used.")
    area = str(params.get("inpaint_area", WHOLE_PICTURE)).strip()
    padding = params.get("masked_area_padding")
    return Mask(
        ImageRef("", ""),
        # A1111 leaves "Mask blur" out when it is 0, and a mask without it had none.
        blur=_int(params.get("mask_blur"), 0),
        mode="unmasked" if str(params.get("mask_mode", "")).strip() == NOT_MASKED else "masked",
        content=content_of.get(content, "original"),
        area="masked" if area == ONLY_MASKED else "whole",
        padding=_int(padding, 32),
    )


def _hires(params: dict[str, Any], notes: list[str]) -> Hires:
    denoise = params.get("denoising_strength")
    return Hires(
        scale=_hires_scale(params, notes),
        steps=_int(params.get("hires_steps"), 0),
        # A1111's own default when the text has none (its txt2img slider starts at 0.7).
        denoise=denoise if _number(denoise) else 0.7,
        upscaler=ModelRef(Family.UPSCALE, _upscaler_id(params.get("hires_upscaler"), notes)),
    )


def _hires_scale(params: dict[str, Any], notes: list[str]) -> float:
    """`Hires upscale`, or the scale `Hires resize: WxH` makes of `Size` (A1111 fits the
    covering size, then crops; a crop is said in a note)."""
    if _number(params.get("hires_upscale")):
        return float(params["hires_upscale"])
    resize = _resize(params.get("hires_resize"))
    width, height = params.get("width"), params.get("height")
    if resize is None or not (_number(width) and _number(height)) or not (width and height):
        return 2.0  # A1111's default scale
    ratios = [side / base for side, base in zip(resize, (width, height), strict=True) if side]
    if not ratios:
        return 2.0
    scale = max(ratios)
    if len(ratios) == 2 and abs(ratios[0] - ratios[1]) > 1e-6:
        notes.append(
            f"A1111 resized to {resize[0]}x{resize[1]}, cropping; here the hires pass scales "
            f"by {scale:g} without the crop."
        )
    return round(scale, 4)


def _resize(value: Any) -> tuple[int, int] | None:
    width, _, height = str(value or "").strip().partition("x")
    if not (width.isdigit() and height.isdigit()):
        return None
    return int(width), int(height)


def _upscaler_id(value: Any, notes: list[str]) -> str:
    name = str(value or "Latent").strip()
    key = name.lower()
    if key.startswith("latent"):
        if key != "latent":
            notes.append(
                f"The hires upscaler {name!r} is drawn with Latent Studio's latent upscaler."
            )
        return LATENT_UPSCALER
    if key in _UPSCALER_OF_TEXT:
        return _UPSCALER_OF_TEXT[key]
    notes.append(
        f"The hires upscaler {name!r} is A1111's: choose it among your upscalers, or "
        "another, before generating."
    )
    return name


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
