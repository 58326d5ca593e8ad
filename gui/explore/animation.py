"""A small player for a run of frames (an interpolation, a reverse process): it loops
them at a chosen rate and exports them as an animated GIF or lossless WebP, enlarged
(nearest neighbour) to a size people can see: by default the smallest of ×1…×32 that makes
the longer side at least SHAREABLE_SIDE pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.api import limits
from engine.atomic import write_atomic
from engine.store.animation import animation_bytes
from gui.images import rgb_to_qimage
from gui.start_folders import Purpose, remember, start_path
from gui.widgets import double_spin_box

PREVIEW_SIDE = 192
FPS = limits.Limit("Frames per second", 0.5, 60.0)
SCALES = (1, 2, 4, 8, 16, 32)
SHAREABLE_SIDE = 256  # pixels: what a viewer or a chat shows at a readable size


class AnimationPlayer(QWidget):
    def __init__(self, empty_text: str, file_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.empty_text, self.file_name = empty_text, file_name
        self.fps = double_spin_box(FPS, 8.0, 1.0, 1)
        self.scale = QComboBox()
        self.scale.setToolTip("Export each pixel as a block of this many pixels a side")
        self.scale.activated.connect(self._scale_chosen)
        self._picked_scale: int | None = None  # the user's choice, kept for the next frames
        self.preview = QLabel()
        self.preview.setFixedSize(PREVIEW_SIDE, PREVIEW_SIDE)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet("background: #1b1b1b; color: #a8a8a8;")
        self.preview.setWordWrap(True)
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._play)
        self.export_button = QPushButton("Export animation…")
        self.export_button.clicked.connect(self._export)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._next_frame)
        self.fps.valueChanged.connect(self._retime)
        self.clips: list[np.ndarray] = []
        self._shown = 0

        rate = QFormLayout()
        rate.addRow("Frames/s", self.fps)
        rate.addRow("Export size", self.scale)
        buttons = QHBoxLayout()
        buttons.addWidget(self.play_button)
        buttons.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(rate)
        layout.addWidget(self.preview, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addLayout(buttons)
        self.set_frames([])

    def set_frames(self, frames: list[np.ndarray], play: bool = False) -> None:
        self.clips = frames
        self._shown = 0
        self.play_button.setEnabled(bool(frames))
        self.export_button.setEnabled(bool(frames))
        self.scale.setEnabled(bool(frames))
        self._fill_scales()
        if not frames:
            self.play_button.setChecked(False)
            self.preview.setText(self.empty_text)
            return
        self._show(0)
        self.play_button.setChecked(play)

    def _fill_scales(self) -> None:
        """One item per scale, saying the size it exports ("×8 · 256×256")."""
        self.scale.clear()
        if not self.clips:  # no frames, no size to offer
            return
        height, width = self.clips[0].shape[:2]
        for factor in SCALES:
            self.scale.addItem(f"×{factor} · {width * factor}×{height * factor}", factor)
        longer = max(width, height)
        shareable = next((f for f in SCALES if longer * f >= SHAREABLE_SIDE), SCALES[-1])
        self.scale.setCurrentIndex(self.scale.findData(self._picked_scale or shareable))

    def _scale_chosen(self, _index: int) -> None:
        self._picked_scale = self.scale.currentData()

    def _play(self, on: bool) -> None:
        self.play_button.setText("Pause" if on else "Play")
        if on and self.clips:
            self._retime()
            self._timer.start()
        else:
            self._timer.stop()

    def _retime(self, *_args: object) -> None:
        self._timer.setInterval(round(1000 / self.fps.value()))

    def _next_frame(self) -> None:
        if self.clips:
            self._show((self._shown + 1) % len(self.clips))

    def _show(self, index: int) -> None:
        self._shown = index
        image = rgb_to_qimage(self.clips[index])
        self.preview.setPixmap(
            QPixmap.fromImage(image).scaled(
                PREVIEW_SIDE, PREVIEW_SIDE, Qt.AspectRatioMode.KeepAspectRatio
            )
        )

    def _export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export animation",
            start_path(Purpose.EXPORT, self.file_name),
            "Animated GIF (*.gif);;WebP (*.webp)",
        )
        if path:
            remember(Purpose.EXPORT, path)
            problem = self.export_to(path)
            if problem:
                QMessageBox.warning(self, "Not exported", problem)

    def export_to(self, path: str) -> str:
        """Write the animation; "" when written, else what went wrong (nothing is left
        half-written: the file is written beside and renamed into place)."""
        kind = "webp" if path.lower().endswith(".webp") else "gif"
        scale = self.scale.currentData() or 1
        data = animation_bytes(self.clips, self.fps.value(), kind, scale)
        try:
            write_atomic(Path(path), lambda file: file.write(data))
        except OSError as exc:
            return (
                f"The animation could not be written to {path}: {exc.strerror or exc}. "
                "Choose a folder you can write to."
            )
        return ""


def cells_of_sheet(sheet: np.ndarray, info: dict) -> list[list[np.ndarray]]:
    """The cells of a sheet, row by row, cut by the layout its recipe records."""
    grid = info.get("grid") or {}
    width, height, gap = grid.get("cell_width"), grid.get("cell_height"), grid.get("gap", 0)
    if not width or not height:
        return [[sheet]]
    columns, rows = int(grid.get("columns", 1)), int(grid.get("rows", 1))
    return [
        [
            sheet[r * (height + gap) : r * (height + gap) + height,
                  c * (width + gap) : c * (width + gap) + width]
            for c in range(columns)
        ]
        for r in range(rows)
    ]  # fmt: skip
