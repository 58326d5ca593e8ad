"""The queue: pending and running jobs with their progress; remove or cancel them."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.jobs import Request, SampleRequest, Txt2ImgRequest

JobIdRole = Qt.ItemDataRole.UserRole


def describe(request: Request) -> str:
    if isinstance(request, Txt2ImgRequest):
        prompt = request.prompt or "(no prompt)"
        return f"{prompt[:40]} · {request.width}×{request.height} ×{request.batch_size}"
    if isinstance(request, SampleRequest):
        return f"{request.model} · {request.count} samples"
    return type(request).__name__


class QueueDock(QDockWidget):
    cancel_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Queue", parent)
        self.setObjectName("queue-dock")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Job", "Status"])
        self.tree.setRootIsDecorated(False)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, header.ResizeMode.Stretch)
        header.setSectionResizeMode(1, header.ResizeMode.ResizeToContents)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.cancel_button = QPushButton("Cancel / Remove")
        self.cancel_button.setToolTip("Remove a queued job, or stop the running one (Esc)")
        self.cancel_button.clicked.connect(self._cancel_selected)
        self.clear_button = QPushButton("Clear finished")
        self.clear_button.clicked.connect(self.clear_finished)

        buttons = QHBoxLayout()
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.clear_button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tree)
        layout.addLayout(buttons)
        self.setWidget(body)
        self._items: dict[int, QTreeWidgetItem] = {}
        self._active: set[int] = set()
        self._update_buttons()

    def add(self, job_id: int, request: Request) -> None:
        item = QTreeWidgetItem([f"#{job_id} {describe(request)}", "queued"])
        item.setData(0, JobIdRole, job_id)
        item.setToolTip(0, describe(request))
        self.tree.addTopLevelItem(item)
        self._items[job_id] = item
        self._active.add(job_id)
        self._update_buttons()

    def set_status(self, job_id: int, status: str, done: bool = False) -> None:
        item = self._items.get(job_id)
        if item is None:
            return
        item.setText(1, status)
        if done:
            self._active.discard(job_id)
            self._update_buttons()

    def status(self, job_id: int) -> str | None:
        item = self._items.get(job_id)
        return item.text(1) if item else None

    def clear_finished(self) -> None:
        for job_id in [j for j in self._items if j not in self._active]:
            item = self._items.pop(job_id)
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(item))

    def select(self, job_id: int) -> None:
        self.tree.setCurrentItem(self._items[job_id])

    def _selected_active(self) -> list[int]:
        ids = [item.data(0, JobIdRole) for item in self.tree.selectedItems()]
        return [j for j in ids if j in self._active]

    def _cancel_selected(self) -> None:
        for job_id in self._selected_active():
            self.cancel_requested.emit(job_id)

    def _update_buttons(self) -> None:
        self.cancel_button.setEnabled(bool(self._selected_active()))
