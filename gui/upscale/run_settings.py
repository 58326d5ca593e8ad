"""The Upscale settings of a run: scale (presets, the model's own, or another factor) and
tiling, and the panel's saved state."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QRadioButton,
    QWidget,
)

from engine.api import limits
from engine.api.requests import UpscaleRequest
from gui.widgets import double_spin_box, spin_box

TILE_CHOICES = (("Auto", -1), ("Whole image", 0), ("Tiles of", None))
TILE_TIPS = (
    "Auto: tiles sized to the free memory (the whole image when the model needs it).\n"
    "Whole image: fastest, needs the most memory.\n"
    "Tiles of: smaller tiles use less memory; out of memory halves them and tries again."
)


class RunSettingsMixin:
    """UpscalePanel's scale and tile choices (a mixin: the panel owns the widgets)."""

    def _build_scale(self) -> QWidget:
        self.own_scale = QRadioButton("Model's own")
        self.x2, self.x4 = QRadioButton("×2"), QRadioButton("×4")
        self.other_scale = QRadioButton("Other")
        self.factor = double_spin_box(limits.UPSCALE_FACTOR, 3.0, step=0.5, decimals=2)
        self.factor.setPrefix("×")
        self.scale_group = QButtonGroup(self)
        for button in (self.own_scale, self.x2, self.x4, self.other_scale):
            self.scale_group.addButton(button)
        self.x4.setChecked(True)
        self.scale_group.buttonToggled.connect(self._scale_changed)
        box = QWidget()
        grid = QGridLayout(box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.x2, 0, 0)
        grid.addWidget(self.x4, 0, 1)
        grid.addWidget(self.own_scale, 0, 2)
        grid.addWidget(self.other_scale, 1, 0)
        grid.addWidget(self.factor, 1, 1, 1, 2)
        return box

    def _build_tile(self) -> QWidget:
        self.tile_mode = QComboBox()
        for text, value in TILE_CHOICES:
            self.tile_mode.addItem(text, value)
        self.tile_mode.setToolTip(TILE_TIPS)
        self.tile_size = spin_box(limits.UPSCALE_TILE, 512, step=32)
        self.tile_size.setSuffix(" px")
        self.tile_mode.currentIndexChanged.connect(self._tile_changed)
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.tile_mode, 1)
        row.addWidget(self.tile_size, 1)
        self._tile_changed()
        return box

    def _scale_changed(self, *_args: object) -> None:
        self.factor.setEnabled(self.other_scale.isChecked())

    def _tile_changed(self, *_args: object) -> None:
        self.tile_size.setEnabled(self.tile_mode.currentData() is None)

    def scale_value(self) -> float:
        """What the request's `scale` says: 0 for the model's own factor."""
        if self.own_scale.isChecked():
            return 0.0
        if self.other_scale.isChecked():
            return round(self.factor.value(), 2)
        return 2.0 if self.x2.isChecked() else 4.0

    def tile_value(self) -> int:
        mode = self.tile_mode.currentData()
        return self.tile_size.value() if mode is None else mode

    def apply_request(self, request: UpscaleRequest) -> None:
        """Use the settings of an upscaled image, and add its original: whether it is still
        there is asked off the GUI thread (a gone original is said in the notice)."""
        self.select_model(request.model.id)
        self._set_scale(request.scale)
        self._set_tile(request.tile)
        self.list_then_add([Path(request.image.path)])

    def _set_scale(self, scale: float) -> None:
        presets = {0.0: self.own_scale, 2.0: self.x2, 4.0: self.x4}
        button = presets.get(float(scale), self.other_scale)
        if button is self.own_scale and not self.own_scale.isEnabled():
            button = self.x2
        if button is self.other_scale:
            self.factor.setValue(float(scale))
        button.setChecked(True)

    def _set_tile(self, tile: int) -> None:
        index = self.tile_mode.findData(tile) if tile in (-1, 0) else self.tile_mode.findData(None)
        self.tile_mode.setCurrentIndex(index)
        if tile > 0:
            self.tile_size.setValue(tile)

    def state(self) -> dict[str, Any]:
        model = self.model
        return {
            "model": model.id if model else "",
            "scale": self.scale_value(),
            "factor": self.factor.value(),
            "tile": self.tile_value(),
            "tile_size": self.tile_size.value(),
            "smooth_before": self.smooth_box.isChecked(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        with contextlib.suppress(TypeError, ValueError):
            self.select_model(str(state.get("model", "")))
            self.factor.setValue(float(state.get("factor", self.factor.value())))
            self._set_scale(float(state.get("scale", self.scale_value())))
            self.tile_size.setValue(int(state.get("tile_size", self.tile_size.value())))
            self._set_tile(int(state.get("tile", self.tile_value())))
            self.smooth_box.setChecked(bool(state.get("smooth_before", False)))
