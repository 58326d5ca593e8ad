"""Explore → Interpolate: frames on the path between two seeds' latent codes (VAE, GAN).

The frames make one strip in the gallery (its recipe lists each frame's t); here they
play as an animation, which exports as an animated GIF or lossless WebP."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QVBoxLayout, QWidget

from engine.api import limits
from engine.api.outcomes import Outcome
from engine.api.parts import ModelRef
from engine.api.requests import INTERPOLATION_MODES, InterpolateRequest, Request
from gui.explore.animation import AnimationPlayer, cells_of_sheet
from gui.explore.page import ExplorePage, about_label
from gui.seed_edit import SeedEdit
from gui.widgets import spin_box

ABOUT = (
    "Frames on the path from the first seed's latent code to the second's. "
    "<i>slerp</i> follows the sphere Gaussian codes live near; <i>lerp</i> cuts "
    "straight through it, where codes are atypical and pictures wash out. The first "
    "and last frames are those seeds' samples."
)


class WalkPage(ExplorePage):
    run_text = "Interpolate"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.from_seed, self.to_seed = SeedEdit(), SeedEdit()
        self.frames = spin_box(limits.INTERPOLATION_FRAMES, 16)
        self.mode = QComboBox()
        self.mode.addItems(list(INTERPOLATION_MODES))
        self.player = AnimationPlayer("Interpolate to see the frames play here", "walk.gif")
        form = QFormLayout()
        form.addRow("From seed", self.from_seed)
        form.addRow("To seed", self.to_seed)
        form.addRow("Frames", self.frames)
        form.addRow("Path", self.mode)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(about_label(ABOUT))
        layout.addWidget(self.player)
        layout.addStretch(1)

    def handles(self, request: Request) -> bool:
        return isinstance(request, InterpolateRequest)

    def build_request(self, model: ModelRef) -> Request:
        return InterpolateRequest(
            model=model,
            from_seed=self.from_seed.resolve(),
            to_seed=self.to_seed.resolve(),
            frames=self.frames.value(),
            mode=self.mode.currentText(),
            grid=True,
        )

    def apply_request(self, request: Request) -> None:
        assert isinstance(request, InterpolateRequest)
        self.from_seed.set_seed(request.from_seed)
        self.to_seed.set_seed(request.to_seed)
        self.frames.setValue(request.frames)
        self.mode.setCurrentText(request.mode)

    def job_finished(self, request: Request, outcome: Outcome) -> None:
        images = getattr(outcome, "images", ())
        if images:
            self.player.set_frames(cells_of_sheet(images[0].rgb, images[0].info)[0], play=True)
            self.from_seed.set_last_seed(request.from_seed)
