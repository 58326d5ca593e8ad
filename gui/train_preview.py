"""The Train tab's own view of a training's samples, refreshed as it learns.

Training samples live here, not on the shared canvas: the canvas belongs to the user's
results (a sheet just made, an image opened from the gallery), and the Image details
describe what the canvas shows. A1111 shows a training's previews in its Train tab too.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QWidget

from engine.api.grid import image_grid
from gui.images import rgb_to_qimage

PREVIEW_SIDE = 220  # pixels: enough to read a 4x4 sheet of 32 px samples


class TrainPreview(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None  # the grid at its own size (tests read it)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumHeight(PREVIEW_SIDE // 2)
        self.setToolTip("Samples from the model as it trains, about once a second")
        self.setStyleSheet("color: #8a8a8a;")
        self.clear()

    def clear(self) -> None:
        self.image = None
        self.setPixmap(QPixmap())
        self.setText("Samples appear here as the model trains.")

    def show_samples(self, frames: tuple[np.ndarray, ...]) -> None:
        if not frames:
            return
        self.image = rgb_to_qimage(image_grid(list(frames)))
        # Enlarged samples stay crisp (8x8 digits): nearest neighbour, never smoothed.
        scaled = self.image.scaled(
            PREVIEW_SIDE,
            PREVIEW_SIDE,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.FastTransformation,
        )
        self.setPixmap(QPixmap.fromImage(scaled))
