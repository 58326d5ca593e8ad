"""Explore → Reverse process (DDPM): the filmstrip of x_t over the predicted x_0 at each
step, played as an animation (x_t beside predicted x_0) that exports as GIF or WebP.

No x-hat in what the user reads: a combining circumflex (U+0302) is drawn by Qt's fonts on
the line above the x, so the help says "predicted x_0" in words."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QCheckBox, QFormLayout, QVBoxLayout, QWidget

from engine.api import limits
from engine.api.grid import GAP_GRAY
from engine.api.outcomes import Outcome
from engine.api.parts import ModelRef
from engine.api.requests import DiffuseRequest, Request
from gui.explore.animation import AnimationPlayer, cells_of_sheet
from gui.explore.page import ExplorePage, about_label
from gui.seed_edit import SeedEdit
from gui.widgets import double_spin_box, spin_box

FILMSTRIP_COLUMNS = 12  # wide enough to see each step at the canvas's fit
ABOUT = (
    "A DDPM makes an image by removing noise step by step. The filmstrip shows, at "
    "each step, the noisy image x<sub>t</sub> (top) and the model's guess of the clean "
    "image, predicted x<sub>0</sub> (bottom); the last column is the sample. <i>DDIM</i> takes "
    "10–100 steps (η adds fresh noise at each); <i>ancestral DDPM</i> walks all T."
)


class ReversePage(ExplorePage):
    run_text = "Run the reverse process"
    reopens = "explore:reverse"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.seed = SeedEdit()
        self.steps = spin_box(limits.DIFFUSION_STEPS, 50)
        self.eta = double_spin_box(limits.ETA, 0.0, 0.1, 2)
        self.ancestral = QCheckBox("Ancestral DDPM (all T steps)")
        self.ancestral.toggled.connect(self._ancestral_toggled)
        self.player = AnimationPlayer(
            "Run the reverse process to watch the noisy image and the model's guess here",
            "reverse-process.gif",
        )
        self.form = QFormLayout()
        self.form.addRow("Seed", self.seed)
        self.form.addRow("Steps", self.steps)
        self.form.addRow("η (eta)", self.eta)
        self.form.addRow("", self.ancestral)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.form)
        layout.addWidget(about_label(ABOUT))
        layout.addWidget(self.player)
        layout.addStretch(1)

    def _ancestral_toggled(self, on: bool) -> None:
        self.steps.setEnabled(not on)
        self.eta.setEnabled(not on)

    def build_request(self, model: ModelRef) -> Request:
        return DiffuseRequest(
            model=model,
            seed=self.seed.resolve(),
            steps=self.steps.value(),
            eta=round(self.eta.value(), 2),
            ancestral=self.ancestral.isChecked(),
            columns=FILMSTRIP_COLUMNS,
        )

    def apply_request(self, request: Request) -> None:
        assert isinstance(request, DiffuseRequest)
        self.seed.set_seed(request.seed)
        self.steps.setValue(request.steps)
        self.eta.setValue(request.eta)
        self.ancestral.setChecked(request.ancestral)

    def job_finished(self, request: Request, outcome: Outcome) -> None:
        images = getattr(outcome, "images", ())
        if images:
            noisy, predicted = cells_of_sheet(images[0].rgb, images[0].info)[:2]
            self.player.set_frames(
                [side_by_side(a, b) for a, b in zip(noisy, predicted, strict=True)], play=True
            )
            self.seed.set_last_seed(request.seed)


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    gap = np.full((left.shape[0], max(1, left.shape[1] // 16), 3), GAP_GRAY, np.uint8)
    return np.concatenate([left, gap, right], axis=1)
