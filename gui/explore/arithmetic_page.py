"""Explore → Arithmetic: A − B + C on three samples' latent codes (VAE: the encoder's
means; GAN: their noise vectors). On shapes: a red square − a red circle + a blue circle
should give a blue square. Operands are seeds: type them, or click a sample on a Sample
sheet and take it with the operand's button."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from engine.api.outcomes import Outcome
from engine.api.parts import ModelRef
from engine.api.requests import ArithmeticRequest, Request, SampleRequest
from gui.explore.page import ExplorePage, about_label
from gui.seed_edit import SeedEdit

ABOUT = (
    "The picture of <b>A − B + C</b>: what A has and B lacks, added to C. The DCGAN "
    "paper's <i>man with glasses − man + woman = woman with glasses</i>; on shapes, try "
    "a red square − a red circle + a blue circle. The strip reads A − B + C = the result. "
    "To pick a sample, click it on a Sample sheet, then press its <i>Selected</i> button."
)


class ArithmeticPage(ExplorePage):
    run_text = "Compute A − B + C"
    reopens = "explore:arithmetic"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.operands = {name: SeedEdit() for name in "ABC"}
        self.take_buttons: dict[str, QPushButton] = {}
        self.selected: SampleRequest | None = None
        form = QFormLayout()
        for name, edit in self.operands.items():
            take = QPushButton("Selected")
            take.setToolTip("Use the sample selected on the Sample sheet")
            take.setEnabled(False)
            take.clicked.connect(lambda _=False, edit=edit: self._take(edit))
            self.take_buttons[name] = take
            row = QWidget()
            layout = QHBoxLayout(row)
            layout.setContentsMargins(0, 0, 0, 0)
            layout.addWidget(edit, 1)
            layout.addWidget(take)
            form.addRow({"A": "A", "B": "− B", "C": "+ C"}[name], row)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(about_label(ABOUT))
        layout.addStretch(1)

    def sample_selected(self, sample: SampleRequest | None) -> None:
        self.selected = sample
        for button in self.take_buttons.values():
            button.setEnabled(sample is not None)
            button.setText(f"Selected ({sample.seed})" if sample else "Selected")

    def _take(self, edit: SeedEdit) -> None:
        if self.selected is not None:
            edit.set_seed(self.selected.seed)

    def build_request(self, model: ModelRef) -> Request:
        a, b, c = (self.operands[name].resolve() for name in "ABC")
        return ArithmeticRequest(model=model, a=a, b=b, c=c)

    def apply_request(self, request: Request) -> None:
        assert isinstance(request, ArithmeticRequest)
        for name, seed in zip("ABC", (request.a, request.b, request.c), strict=True):
            self.operands[name].set_seed(seed)

    def job_finished(self, request: Request, outcome: Outcome) -> None:
        assert isinstance(request, ArithmeticRequest)
        for name, seed in zip("ABC", (request.a, request.b, request.c), strict=True):
            self.operands[name].set_last_seed(seed)
