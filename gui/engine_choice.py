"""Settings → Engine: this computer, or a Ray cluster at an address (issue 25).

Only the address is checked here (its form, and nothing is reached); joining the
cluster, and refusing one without authentication, is the engine's at the next start.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from engine.api.errors import BadInput
from engine.cluster.connect import parse_address

THIS_COMPUTER, CLUSTER = "local", "cluster"


class EngineChoice(QWidget):
    def __init__(self, address: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.where = QComboBox()
        self.where.addItem("This computer", THIS_COMPUTER)
        self.where.addItem("A Ray cluster at", CLUSTER)
        self.address_edit = QLineEdit(address)
        self.address_edit.setPlaceholderText("ray://gpu-box.lan:10001")
        self.where.setCurrentIndex(1 if address else 0)
        self.where.currentIndexChanged.connect(self._update)
        note = QLabel(
            "Create's jobs and the Train tab's sweeps run on the cluster's GPUs and land "
            "here; the Lab's sliders and a single training stay here. Takes effect at the "
            "next start; needs pip install .[cluster] here and on every node (see the README)."
        )
        note.setWordWrap(True)
        note.setStyleSheet("color: #a8a8a8;")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.where)
        row.addWidget(self.address_edit, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(note)
        self._update()

    def _update(self) -> None:
        self.address_edit.setEnabled(self.where.currentData() == CLUSTER)

    def address(self) -> str:
        """ "" for this computer, else the cluster's address as typed."""
        return self.address_edit.text().strip() if self.where.currentData() == CLUSTER else ""

    def problem(self) -> str | None:
        if self.where.currentData() != CLUSTER:
            return None
        try:
            parse_address(self.address_edit.text())
        except BadInput as exc:
            return exc.message
        return None
