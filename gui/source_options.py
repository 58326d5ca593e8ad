"""The options of each way to start from an image, with A1111's names: the inpaint
options, the outpaint sides, and the hires fix of text to image. Widgets only: their
values live in SourceViewModel (gui/viewmodels/source.py)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.api import limits
from engine.api.catalogue import CatalogueEntry
from engine.api.image_parts import LATENT_UPSCALER
from gui.bindings import bind_check, bind_combo, bind_spin
from gui.mask_tools import MaskTools
from gui.viewmodels.fields import Field
from gui.viewmodels.source import SourceViewModel
from gui.widgets import double_spin_box, spin_box

RESIZE_MODES = {
    "just-resize": "Just resize",
    "crop-and-resize": "Crop and resize",
    "resize-and-fill": "Resize and fill",
}
MASK_MODES = {"masked": "Inpaint masked", "unmasked": "Inpaint not masked"}
MASKED_CONTENTS = {
    "fill": "Fill",
    "original": "Original",
    "latent-noise": "Latent noise",
    "latent-nothing": "Latent nothing",
}
INPAINT_AREAS = {"whole": "Whole picture", "masked": "Only masked"}
OUTPAINT_FILLS = {"edge": "Edge (stretch)", "mirror": "Mirror (blurred)", "noise": "Noise"}
PAINT_NOTE = "Paint the area to repaint on the canvas."
ASPECTS = ("1:1", "4:3", "3:2", "16:9", "3:4", "2:3", "9:16")


def choice_box(choices: dict[str, str], field: Field, tip: str = "") -> QComboBox:
    """A combo of labelled values, bound to the field (which holds the value)."""
    box = QComboBox()
    for value, label in choices.items():
        box.addItem(label, value)
    box.setToolTip(tip)
    bind_combo(box, field)
    return box


def pixels_box(limit: limits.Limit, field: Field, tip: str = "") -> QSpinBox:
    box = spin_box(limit, field.value)
    box.setSuffix(" px")
    if tip:
        box.setToolTip(f"{tip} ({limit.low}–{limit.high})")
    bind_spin(box, field)
    return box


class StrengthSlider(QWidget):
    """A 0–1 slider beside its spin box, one field behind both (A1111's denoising strength)."""

    def __init__(self, field: Field, limit: limits.Limit, tip: str) -> None:
        super().__init__()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.spin = double_spin_box(limit, field.value, step=0.05, decimals=2)
        self.setToolTip(tip)
        bind_spin(self.spin, field)
        self.slider.setValue(round(field.value * 100))
        self.slider.valueChanged.connect(lambda v: field.set(v / 100))
        field.changed.connect(self._show)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.slider, 1)
        row.addWidget(self.spin)

    def _show(self, value: float) -> None:
        blocked = self.slider.blockSignals(True)
        self.slider.setValue(round(value * 100))
        self.slider.blockSignals(blocked)


class InpaintOptions(QWidget):
    """A1111's inpaint options, plus mask grow/shrink and colour match."""

    def __init__(self, vm: SourceViewModel) -> None:
        super().__init__()
        self.blur = pixels_box(limits.MASK_BLUR, vm.blur, "Mask blur: softens the mask's edge")
        self.mode = choice_box(MASK_MODES, vm.mask_mode, "Repaint the painted part, or the rest")
        self.content = choice_box(
            MASKED_CONTENTS,
            vm.content,
            "What the masked area starts from: the picture (Original), its surroundings' "
            "colours (Fill), or noise (Latent noise / nothing: new content)",
        )
        self.area = choice_box(
            INPAINT_AREAS,
            vm.area,
            "Only masked: the masked part and its padding are drawn at the full size and "
            "pasted back (more detail for small areas)",
        )
        self.padding = pixels_box(
            limits.MASK_PADDING, vm.padding, "Only masked padding: context around the mask"
        )
        self.grow = pixels_box(
            limits.MASK_GROW, vm.grow, "Grows the mask (or, below 0, shrinks it) before blur"
        )
        self.colour_match = QCheckBox("Match colours to the surroundings")
        bind_check(self.colour_match, vm.colour_match)
        vm.area.changed.connect(lambda area: self.padding.setEnabled(area == "masked"))
        self.padding.setEnabled(vm.area.value == "masked")
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self._build_mask_box())
        form.addRow("Mask blur", self.blur)
        form.addRow("Mask mode", self.mode)
        form.addRow("Masked content", self.content)
        form.addRow("Inpaint area", self.area)
        form.addRow("Only masked padding", self.padding)
        form.addRow("Mask grow/shrink", self.grow)
        form.addRow(self.colour_match)

    def _build_mask_box(self) -> QGroupBox:
        """The brush's tools and Load mask, boxed apart: the mask's Clear is not the
        source's Clear above it."""
        self.load_mask = QToolButton()
        self.load_mask.setText("Load mask")
        self.load_mask.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.mask_note = QLabel(PAINT_NOTE)
        self.mask_note.setWordWrap(True)
        self.mask_note.setStyleSheet("color: #8a8a8a;")
        # The brush's controls; the source section binds them to its layer (set_layer).
        self.tools = MaskTools()
        self.tools_place = QVBoxLayout()
        self.tools_place.setContentsMargins(0, 0, 0, 0)
        self.tools_place.addWidget(self.tools)
        mask_row = QHBoxLayout()
        mask_row.addWidget(self.mask_note, 1)
        mask_row.addWidget(self.load_mask)
        box = QGroupBox("Mask")
        layout = QVBoxLayout(box)
        layout.addLayout(self.tools_place)
        layout.addLayout(mask_row)
        return box


class OutpaintOptions(QWidget):
    """Pixels added on each side (or up to an aspect ratio), how they start, the overlap."""

    def __init__(self, vm: SourceViewModel) -> None:
        super().__init__()
        side = "Pixels added on this side"
        self.left = pixels_box(limits.OUTPAINT_SIDE, vm.left, side)
        self.top = pixels_box(limits.OUTPAINT_SIDE, vm.top, side)
        self.right = pixels_box(limits.OUTPAINT_SIDE, vm.right, side)
        self.bottom = pixels_box(limits.OUTPAINT_SIDE, vm.bottom, side)
        for box, name in zip(
            (self.left, self.top, self.right, self.bottom),
            ("Left", "Top", "Right", "Bottom"),
            strict=True,
        ):
            box.setPrefix(f"{name} +")
            box.setSingleStep(limits.SIZE_MULTIPLE * 8)
        self.aspect = QComboBox()
        self.aspect.addItems(list(ASPECTS))
        self.extend = QPushButton("Extend to")
        self.extend.setToolTip("Add pixels (half on each side) to reach this aspect ratio")
        self.extend.clicked.connect(
            lambda: vm.extend_to_aspect(*map(int, self.aspect.currentText().split(":")))
        )
        self.fill = choice_box(
            OUTPAINT_FILLS, vm.fill, "What the new area starts from before it is painted"
        )
        self.feather = pixels_box(
            limits.OUTPAINT_FEATHER, vm.feather, "Overlap: how far the new part blends in"
        )

        sides = QGridLayout()
        sides.addWidget(self.left, 0, 0)
        sides.addWidget(self.right, 0, 1)
        sides.addWidget(self.top, 1, 0)
        sides.addWidget(self.bottom, 1, 1)
        aspect_row = QHBoxLayout()
        aspect_row.addWidget(self.extend)
        aspect_row.addWidget(self.aspect, 1)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(QLabel("Pixels to add around the image:"))
        form.addRow(sides)
        form.addRow("Aspect", aspect_row)
        form.addRow("Fill", self.fill)
        form.addRow("Overlap", self.feather)


class HiresBox(QGroupBox):
    """A1111's hires fix: draw at the size, enlarge, then draw over it again."""

    TIP = (
        "Hires fix: draw at this size, enlarge by the factor, then image to image at the "
        "denoising strength (more detail at large sizes)"
    )
    SOURCE_TIP = "Hires fix is for text to image: with a source image, set the size instead."

    def __init__(self, vm: SourceViewModel) -> None:
        super().__init__("Hires fix")
        self.setCheckable(True)
        self.setToolTip(self.TIP)
        self.scale = double_spin_box(limits.HIRES_SCALE, vm.hires_scale.value, 0.25, 2)
        self.scale.setPrefix("×")
        self.upscaler = QComboBox()
        # Long upscaler titles ("4x-UltraSharp · ×4 ESRGAN") must not widen the form.
        self.upscaler.setMinimumContentsLength(14)
        self.upscaler.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.set_upscalers([])
        self.steps = spin_box(limits.HIRES_STEPS, vm.hires_steps.value)
        self.steps.setSpecialValueText("Same as Steps")
        self.denoise = StrengthSlider(
            vm.hires_denoise, limits.HIRES_DENOISE, "How far the second pass may change the image"
        )
        bind_spin(self.scale, vm.hires_scale)
        bind_spin(self.steps, vm.hires_steps)
        # A remembered upscaler not listed yet (the models folders are scanned later) is
        # added by name, so the choice survives the start.
        self.upscaler_binding = bind_combo(
            self.upscaler, vm.hires_upscaler, missing=self._add_upscaler
        )
        bind_check(self, vm.hires)
        self.body = QWidget()
        form = QFormLayout(self.body)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Upscale by", self.scale)
        form.addRow("Upscaler", self.upscaler)
        form.addRow("Hires steps", self.steps)
        form.addRow("Denoising", self.denoise)
        QVBoxLayout(self).addWidget(self.body)
        self.body.setVisible(vm.hires.value)
        vm.hires.changed.connect(self.body.setVisible)

    def set_upscalers(self, entries: list[CatalogueEntry]) -> None:
        """Latent, then the Upscale mode's list (resamplers, bundled, the user's files)."""
        blocked = self.upscaler.blockSignals(True)
        self.upscaler.clear()
        self.upscaler.addItem("Latent", LATENT_UPSCALER)
        for entry in entries:
            self.upscaler.addItem(entry.title, entry.ref.id)
        if not entries:  # before the Upscale mode's list arrives
            self.upscaler.addItem("Lanczos (no model)", "lanczos")
        self.upscaler.blockSignals(blocked)
        if hasattr(self, "upscaler_binding"):
            self.upscaler_binding.show()

    def _add_upscaler(self, upscaler_id: str) -> int:
        if not upscaler_id:
            return -1
        self.upscaler.addItem(Path(upscaler_id).name, upscaler_id)
        return self.upscaler.count() - 1

    def set_source_present(self, present: bool) -> None:
        """Disabled (and says why) while a source image is set."""
        self.setEnabled(not present)
        self.setTitle("Hires fix (text to image only)" if present else "Hires fix")
        self.setToolTip(self.SOURCE_TIP if present else self.TIP)
