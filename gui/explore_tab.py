"""Latent Lab → Explore: walk a model's latent space between two seeds (VAE, GAN), or
watch a DDPM's reverse process step by step.

Interpolation makes one strip in the gallery (its recipe lists each frame's t); here the
frames play as an animation, and *Export animation…* writes them as an animated GIF or
lossless WebP. For a DDPM the same button runs the reverse process: a filmstrip of x_t
over the predicted x̂_0, and the final sample.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
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
from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.outcomes import ImagesOutcome
from engine.api.parts import ModelRef
from engine.api.requests import INTERPOLATION_MODES, DiffuseRequest, InterpolateRequest, Request
from engine.atomic import write_atomic
from engine.store.animation import animation_bytes
from gui.images import rgb_to_qimage
from gui.seed_edit import SeedEdit
from gui.widgets import double_spin_box, spin_box

PREVIEW_SIDE = 192
FILMSTRIP_COLUMNS = 12  # wide enough to see each step at the canvas's fit
ABOUT = {
    "walk": (
        "Frames on the path from the first seed's latent code to the second's. "
        "<i>slerp</i> follows the sphere Gaussian codes live near; <i>lerp</i> cuts "
        "straight through it, where codes are atypical and pictures wash out. The first "
        "and last frames are those seeds' samples."
    ),
    "diffuse": (
        "A DDPM makes an image by removing noise step by step. The filmstrip shows, at "
        "each step, the noisy image x<sub>t</sub> (top) and the model's guess of the clean "
        "image x̂<sub>0</sub> (bottom); the last column is the sample."
    ),
}


class ExploreTab(QWidget):
    run_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.from_seed, self.to_seed = SeedEdit(), SeedEdit()
        self.frames = spin_box(limits.INTERPOLATION_FRAMES, 16)
        self.mode = QComboBox()
        self.mode.addItems(list(INTERPOLATION_MODES))
        self.fps = double_spin_box(limits.Limit("Frames per second", 0.5, 60.0), 8.0, 1.0, 1)
        self.steps = spin_box(limits.DIFFUSION_STEPS, 50)
        self.eta = double_spin_box(limits.ETA, 0.0, 0.1, 2)
        self.about = QLabel()
        self.about.setWordWrap(True)
        self.about.setTextFormat(Qt.TextFormat.RichText)
        self.about.setStyleSheet("color: #a8a8a8;")
        self.preview = QLabel()
        self.preview.setFixedSize(PREVIEW_SIDE, PREVIEW_SIDE)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet("background: #1b1b1b;")
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._play)
        self.export_button = QPushButton("Export animation…")
        self.export_button.clicked.connect(self._export)
        self.run_button = QPushButton("Interpolate")
        self.run_button.setMinimumHeight(36)
        self.run_button.clicked.connect(self.run_requested)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._next_frame)
        self.fps.valueChanged.connect(self._retime)
        self.clips: list[np.ndarray] = []
        self._shown = 0

        self.form = QFormLayout()
        self.form.addRow("From seed", self.from_seed)
        self.form.addRow("To seed", self.to_seed)
        self.form.addRow("Frames", self.frames)
        self.form.addRow("Path", self.mode)
        self.form.addRow("Frames/s", self.fps)
        self.form.addRow("Steps", self.steps)
        self.form.addRow("η (eta)", self.eta)
        buttons = QHBoxLayout()
        buttons.addWidget(self.play_button)
        buttons.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.about)
        layout.addWidget(self.preview, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addLayout(buttons)
        layout.addStretch(1)
        layout.addWidget(self.run_button)
        self.set_family(Family.GAN)
        self._set_clips([])

    # ------------------------------------------------------------ what it asks for

    def set_family(self, family: Family | None) -> None:
        diffusion = family is Family.DDPM
        walk_rows = (self.to_seed, self.frames, self.mode, self.fps)
        for widget in walk_rows:
            self.form.setRowVisible(widget, not diffusion)
        for widget in (self.steps, self.eta):
            self.form.setRowVisible(widget, diffusion)
        self.form.labelForField(self.from_seed).setText("Seed" if diffusion else "From seed")
        self.run_button.setText("Run the reverse process" if diffusion else "Interpolate")
        self.about.setText(ABOUT["diffuse" if diffusion else "walk"])
        self.play_button.setVisible(not diffusion)
        self.export_button.setVisible(not diffusion)
        self.preview.setVisible(not diffusion)

    def build_request(self, model: ModelRef | None) -> Request:
        if model is None:
            raise BadInput("Choose a model in the Sample tab first.")
        if model.family is Family.DDPM:
            return DiffuseRequest(
                model=model,
                seed=self.from_seed.resolve(),
                steps=self.steps.value(),
                eta=round(self.eta.value(), 2),
                columns=FILMSTRIP_COLUMNS,
            )
        return InterpolateRequest(
            model=model,
            from_seed=self.from_seed.resolve(),
            to_seed=self.to_seed.resolve(),
            frames=self.frames.value(),
            mode=self.mode.currentText(),
            grid=True,
        )

    def apply_request(self, request: InterpolateRequest | DiffuseRequest) -> None:
        if isinstance(request, DiffuseRequest):
            self.from_seed.set_seed(request.seed)
            self.steps.setValue(request.steps)
            self.eta.setValue(request.eta)
            return
        self.from_seed.set_seed(request.from_seed)
        self.to_seed.set_seed(request.to_seed)
        self.frames.setValue(request.frames)
        self.mode.setCurrentText(request.mode)

    def job_finished(self, request: Request, outcome: ImagesOutcome) -> None:
        if isinstance(request, InterpolateRequest) and outcome.images:
            self._set_clips(frames_of_strip(outcome.images[0].rgb, outcome.images[0].info))
            self.from_seed.set_last_seed(request.from_seed)
            self.play_button.setChecked(True)

    # ------------------------------------------------------------ the animation

    def _set_clips(self, frames: list[np.ndarray]) -> None:
        self.clips = frames
        self._shown = 0
        self.play_button.setEnabled(bool(frames))
        self.export_button.setEnabled(bool(frames))
        if not frames:
            self.play_button.setChecked(False)
            self.preview.setText("Interpolate to see the frames play here")
            self.preview.setWordWrap(True)
        else:
            self._show(0)

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
            self, "Export animation", "interpolation.gif", "Animated GIF (*.gif);;WebP (*.webp)"
        )
        if path:
            problem = self.export_to(path)
            if problem:
                QMessageBox.warning(self, "Not exported", problem)

    def export_to(self, path: str) -> str:
        """Write the animation; "" when written, else what went wrong (nothing is left
        half-written: the file is written beside and renamed into place)."""
        kind = "webp" if path.lower().endswith(".webp") else "gif"
        data = animation_bytes(self.clips, self.fps.value(), kind)
        try:
            write_atomic(Path(path), lambda file: file.write(data))
        except OSError as exc:
            return (
                f"The animation could not be written to {path}: {exc.strerror or exc}. "
                "Choose a folder you can write to."
            )
        return ""


def frames_of_strip(strip: np.ndarray, info: dict) -> list[np.ndarray]:
    """The frames of a one-row sheet, cut by the layout its recipe records."""
    grid = info.get("grid") or {}
    width, height, gap = grid.get("cell_width"), grid.get("cell_height"), grid.get("gap", 0)
    if not width or not height:
        return [strip]
    count = int(grid.get("columns", 1)) * int(grid.get("rows", 1))
    return [strip[:height, i * (width + gap) : i * (width + gap) + width] for i in range(count)]
