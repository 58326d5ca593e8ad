"""Create's "start from an image" state: the source, its mode's options, and the hires pass.

The parts of a Txt2ImgRequest (engine.api.image_parts) come from here; CreateViewModel
adds them to its request. The option names and defaults are A1111's. Files are touched
only when a request is built (a click on Generate): the source's sha256 is read then, and
a pasted image or a painted mask is kept in the gallery through `keep` (the engine's
Gallery.keep_input), so the recipe can name it by path and hash.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from engine.api.errors import BadInput
from engine.api.image_parts import LATENT_UPSCALER, Hires, Mask, Outpaint, SourceImage
from engine.api.kinds import Family
from engine.api.limits import nearest_multiple
from engine.api.parts import ImageRef, ModelRef
from engine.api.requests import Txt2ImgRequest
from engine.hashing import file_sha256
from gui.viewmodels.fields import FormModel, text

# What the source is for: the request's parts follow from it.
IMG2IMG, INPAINT, OUTPAINT = "img2img", "inpaint", "outpaint"
SOURCE_KINDS = (IMG2IMG, INPAINT, OUTPAINT)
EMPTY_MASK = (
    "The mask is empty: paint the area to repaint on the canvas (or load a mask), "
    "then press Generate."
)
# The options a later start shows again (the source itself is not remembered).
REMEMBERED = (
    *("strength", "resize_mode", "blur", "mask_mode", "content", "area", "padding"),
    *("grow", "colour_match", "fill", "feather"),
    *("hires_scale", "hires_steps", "hires_denoise", "hires_upscaler"),
)


class MaskSource(Protocol):
    """The painted mask (gui/mask_layer.py's MaskLayer: what is read of it at Generate)."""

    def is_empty(self) -> bool: ...
    def png_bytes(self) -> bytes: ...


Keep = Callable[[bytes], ImageRef]


def _no_gallery(_data: bytes) -> ImageRef:
    raise BadInput("There is no gallery to keep the pasted image or the mask in.")


class SourceViewModel(FormModel):
    def __init__(self) -> None:
        super().__init__()
        self.path = self.field("", text)  # the source file ("" none, or a pasted image)
        self.kind = self.field(IMG2IMG, text)
        self.strength = self.field(0.75, float)  # A1111's denoising strength
        self.resize_mode = self.field("just-resize", text)
        self.blur = self.field(4, int)
        self.mask_mode = self.field("masked", text)
        self.content = self.field("original", text)
        self.area = self.field("whole", text)
        self.padding = self.field(32, int)
        self.grow = self.field(0, int)
        self.colour_match = self.field(False, bool)
        self.left, self.top = self.field(0, int), self.field(0, int)
        self.right, self.bottom = self.field(0, int), self.field(0, int)
        self.fill = self.field("edge", text)
        self.feather = self.field(32, int)
        self.hires = self.field(False, bool)
        self.hires_scale = self.field(2.0, float)
        self.hires_steps = self.field(0, int)
        self.hires_denoise = self.field(0.5, float)
        self.hires_upscaler = self.field(LATENT_UPSCALER, text)
        # The source's pixels size once read (None: no source), and a pasted image's PNG
        # until a Generate keeps it in the gallery.
        self.size: tuple[int, int] | None = None
        self.pending: bytes | None = None
        self.mask: MaskSource | None = None
        self.keep: Keep = _no_gallery
        self._hashes: dict[tuple[str, int, int], str] = {}

    # ------------------------------------------------------------ the source

    @property
    def has_source(self) -> bool:
        return self.size is not None

    def set_source(self, path: str, size: tuple[int, int], pending: bytes | None = None) -> None:
        """A file (or, with `pending`, a pasted image whose `path` is only a label)."""
        self.size, self.pending = size, pending
        if not self.path.set(path):
            self.path.changed.emit(path)  # the same name, new pixels: listeners still hear

    def clear(self) -> None:
        self.size, self.pending = None, None
        self.path.set("")

    def wanted_size(self) -> tuple[int, int] | None:
        """The source's size, plus the outpaint sides when it is outpainted."""
        if self.size is None:
            return None
        width, height = self.size
        if self.kind.value == OUTPAINT:
            width += self.left.value + self.right.value
            height += self.top.value + self.bottom.value
        return width, height

    def output_size(self) -> tuple[int, int] | None:
        """The wanted size in the steps Stable Diffusion draws (multiples of 8)."""
        wanted = self.wanted_size()
        return (
            None if wanted is None else (nearest_multiple(wanted[0]), nearest_multiple(wanted[1]))
        )

    def extend_to_aspect(self, ratio_w: int, ratio_h: int) -> None:
        """Outpaint sides that bring the source to ratio_w:ratio_h, split evenly."""
        if self.size is None:
            return
        left, top, right, bottom = sides_for_aspect(*self.size, ratio_w, ratio_h)
        for field, value in zip(
            (self.left, self.top, self.right, self.bottom), (left, top, right, bottom), strict=True
        ):
            field.set(value)

    # ------------------------------------------------------------ request parts

    def parts(self) -> dict[str, object]:
        """The request's optional parts: source (and mask or outpaint), or hires."""
        if self.size is None:
            return {"hires": self._hires()} if self.hires.value else {}
        parts: dict[str, object] = {"source": self._source()}
        if self.kind.value == INPAINT:
            parts["mask"] = self._mask()
        elif self.kind.value == OUTPAINT:
            parts["outpaint"] = Outpaint(
                self.left.value,
                self.top.value,
                self.right.value,
                self.bottom.value,
                self.fill.value,
                self.feather.value,
            )
        return parts

    def _source(self) -> SourceImage:
        if self.pending is not None:  # pasted: kept once, then it is a file like any other
            ref = self.keep(self.pending)
            self.pending = None
            self.path.set(ref.path)
        else:
            ref = ImageRef(self.path.value, self._sha256(self.path.value))
        return SourceImage(ref, round(self.strength.value, 2), self.resize_mode.value)

    def _sha256(self, path: str) -> str:
        try:
            stat = Path(path).stat()
            key = (path, stat.st_size, stat.st_mtime_ns)
            if key not in self._hashes:
                self._hashes[key] = file_sha256(Path(path))
        except OSError as exc:
            raise BadInput(f"The source image {path} cannot be read: {exc.strerror}.") from exc
        return self._hashes[key]

    def _mask(self) -> Mask:
        if self.mask is None or self.mask.is_empty():
            raise BadInput(EMPTY_MASK)
        return Mask(
            self.keep(self.mask.png_bytes()),
            blur=self.blur.value,
            mode=self.mask_mode.value,
            content=self.content.value,
            area=self.area.value,
            padding=self.padding.value,
            grow=self.grow.value,
            colour_match=self.colour_match.value,
        )

    def _hires(self) -> Hires:
        return Hires(
            scale=round(self.hires_scale.value, 2),
            steps=self.hires_steps.value,
            denoise=round(self.hires_denoise.value, 2),
            upscaler=ModelRef(Family.UPSCALE, self.hires_upscaler.value),
        )

    # ------------------------------------------------------------ reuse

    def apply_request(self, request: Txt2ImgRequest) -> None:
        """Every option from a recipe; the source and mask files are the panel's to
        open (it reads them, and names one that is missing or changed)."""
        if request.source is not None:
            self.strength.set(request.source.strength)
            self.resize_mode.set(request.source.resize_mode)
        self.kind.set(INPAINT if request.mask else OUTPAINT if request.outpaint else IMG2IMG)
        if (mask := request.mask) is not None:
            for name in ("blur", "content", "area", "padding", "grow", "colour_match"):
                getattr(self, name).set(getattr(mask, name))
            self.mask_mode.set(mask.mode)
        if (out := request.outpaint) is not None:
            for name in ("left", "top", "right", "bottom", "fill", "feather"):
                getattr(self, name).set(getattr(out, name))
        self.hires.set(request.hires is not None)
        if (hires := request.hires) is not None:
            self.hires_scale.set(hires.scale)
            self.hires_steps.set(hires.steps)
            self.hires_denoise.set(hires.denoise)
            self.hires_upscaler.set(hires.upscaler.id)

    def state(self) -> dict[str, object]:
        return {name: getattr(self, name).value for name in REMEMBERED}

    def restore(self, state: dict[str, object]) -> None:
        for name in REMEMBERED:
            if name in state:
                getattr(self, name).set(state[name])


def sides_for_aspect(width: int, height: int, ratio_w: int, ratio_h: int) -> tuple[int, ...]:
    """(left, top, right, bottom) that make width×height ratio_w:ratio_h by adding pixels
    (never cropping), half on each side of the short direction."""
    if width * ratio_h < height * ratio_w:  # too narrow: widen
        extra_w, extra_h = round(height * ratio_w / ratio_h) - width, 0
    else:
        extra_w, extra_h = 0, round(width * ratio_h / ratio_w) - height
    return extra_w // 2, extra_h // 2, extra_w - extra_w // 2, extra_h - extra_h // 2


def size_note(
    source: tuple[int, int],
    size: tuple[int, int],
    resize_mode: str,
    before_outpaint: tuple[int, int] | None = None,
) -> str:
    """What the size line under the source says: how the source becomes the output.
    `source` is the size wanted (the source's, plus the outpaint's sides when
    `before_outpaint`, the source's own size, is given)."""
    was = f"{source[0]}×{source[1]}"
    now = f"{size[0]}×{size[1]}"
    if was == now and before_outpaint and before_outpaint != source:
        own = f"{before_outpaint[0]}×{before_outpaint[1]}"
        return f"Output {now}: the source's {own} and the sides added"
    if was == now:
        return f"Output {now}, the source's size"
    how = resize_mode.replace("-", " ")
    return f"{was} → {now} ({how[0].upper()}{how[1:]})"
