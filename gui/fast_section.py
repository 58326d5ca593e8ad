"""Create's speed controls: the few-step note under the model picker ("Use suggested
settings"), the timestep spacing, and the tiny decoder for previews and the final picture.

The widgets only show gui.viewmodels.fast and CreateViewModel's few-step answers; the
note is refreshed when the model, the prompt (its LoRA tags) or a sampling field changes.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

from engine.library.few_step import FewStepMatch
from gui.bindings import bind_check, bind_combo
from gui.viewmodels.create import CreateViewModel
from gui.viewmodels.fast import PREVIEWS, SPACINGS, TINY

NOTE_STYLE = "color: #6fa8dc;"


class FewStepNote(QWidget):
    """ "LCM (its file name): … Suggested: LCM, 6 steps, CFG 1.5." and a button."""

    def __init__(self, vm: CreateViewModel) -> None:
        super().__init__()
        self.vm = vm
        self.found: FewStepMatch | None = None
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setStyleSheet(NOTE_STYLE)
        self.use_button = QPushButton("Use suggested settings")
        self.use_button.clicked.connect(self._use)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, 1)
        row.addWidget(self.use_button)
        self._later = QTimer(self, singleShot=True, interval=300)
        self._later.timeout.connect(self.refresh)
        for field in (vm.model, vm.prompt, vm.steps, vm.cfg, vm.sampler, vm.fast.spacing):
            field.changed.connect(self._later.start)
        self.setVisible(False)

    def refresh(self) -> None:
        self.found = self.vm.few_step()
        self.setVisible(self.found is not None)
        if self.found is not None:
            self.label.setText(self.found.note)

    def _use(self) -> None:
        if self.found is not None:
            self.vm.use_suggested(self.found)
            self.refresh()


def spacing_box(vm: CreateViewModel) -> QComboBox:
    box = QComboBox()
    box.addItems(list(SPACINGS))
    box.setToolTip(
        "Where the sampler's timesteps fall. Few-step models (Turbo, Lightning, Hyper-SD) "
        "are made for trailing, which A1111 and ComfyUI call SGM Uniform."
    )
    bind_combo(box, vm.fast.spacing, by_text=True)
    return box


class TinyDecoderRow(QWidget):
    """Live previews: approximate or TAESD; and the final picture by TAESD (fast)."""

    def __init__(self, vm: CreateViewModel) -> None:
        super().__init__()
        self.vm = vm
        self.preview = QComboBox()
        self.preview.addItems(list(PREVIEWS))
        self.preview.setToolTip(
            "How live previews are drawn: a cheap colour approximation, or a tiny "
            "autoencoder (TAESD, from models/VAE-approx) at full size."
        )
        self.fast_decode = QCheckBox("Fast final decode")
        self.fast_decode.setToolTip(
            "Decode the finished picture with TAESD instead of the model's VAE: much "
            "faster on a CPU, with less fine detail. The recipe records it."
        )
        bind_combo(self.preview, vm.fast.preview, by_text=True)
        bind_check(self.fast_decode, vm.fast.fast_decode)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.preview, 1)
        row.addWidget(self.fast_decode)
        vm.model.changed.connect(self.refresh)

    def refresh(self, *_args: object) -> None:
        """TAESD is offered where one is found for the model's family."""
        found = self.vm.fast.tiny_vae(self.vm.model_family())
        self.preview.model().item(PREVIEWS.index(TINY)).setEnabled(found is not None)
        self.fast_decode.setEnabled(found is not None)
        where = f"Found: {found}" if found else "No taesd / taesdxl decoder in VAE-approx"
        self.setToolTip(where)
