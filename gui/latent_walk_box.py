"""Create's latent walk: instead of one image, frames whose starting noise moves from the
seed's to a second seed's (slerp or lerp), and whose prompt may move to a second prompt.
One job; the frames make one strip in the gallery, each frame reproducible from it.
The widgets only: CreateViewModel holds the values and builds the request."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLineEdit, QVBoxLayout, QWidget

from engine.api import limits
from engine.api.requests import INTERPOLATION_MODES
from gui.seed_edit import SeedEdit
from gui.widgets import spin_box


class LatentWalkBox(QGroupBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Latent walk", parent)
        self.setCheckable(True)
        self.setChecked(False)
        self.setToolTip(
            "Walk from this seed's image to another seed's (and, if given, to another "
            "prompt): one strip of frames, all with the same sampler and steps"
        )
        self.to_seed = SeedEdit()
        self.to_prompt = QLineEdit()
        self.to_prompt.setPlaceholderText("the same prompt")
        self.frames = spin_box(limits.INTERPOLATION_FRAMES, 8)
        self.mode = QComboBox()
        self.mode.addItems(list(INTERPOLATION_MODES))
        self.body = QWidget()
        form = QFormLayout(self.body)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("To seed", self.to_seed)
        form.addRow("To prompt", self.to_prompt)
        form.addRow("Frames", self.frames)
        form.addRow("Path", self.mode)
        layout = QVBoxLayout(self)
        layout.addWidget(self.body)
        self.toggled.connect(self.body.setVisible)
        self.body.setVisible(False)
