"""The Upscale progress bar: how far the batch is with the whole batch's ETA, and which
image runs with its own."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from gui.upscale.rows import QUIET
from gui.viewmodels.jobs import format_duration
from gui.viewmodels.upscale import UpscaleEntry


class BatchProgressMixin:
    """UpscalePanel's progress bar (a mixin: the panel owns the batch)."""

    def _build_progress(self) -> QWidget:
        self.progress = QProgressBar()
        self.progress.setFormat("%v of %m")
        self.progress_label = QLabel()
        self.progress_label.setWordWrap(True)
        self.progress_label.setStyleSheet(QUIET)
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.progress)
        column.addWidget(self.progress_label)
        box.hide()
        self.progress_box = box
        return box

    def _update_progress(
        self, entry: UpscaleEntry | None = None, eta_s: float | None = None
    ) -> None:
        batch = self.batch
        self.progress_box.setVisible(batch.total > 0)
        self.progress.setRange(0, max(1, batch.total))
        self.progress.setValue(batch.ended)
        left = batch.eta_s(time.monotonic())
        whole = f" · about {format_duration(left)} left" if left is not None else ""
        self.progress.setFormat(batch.text() + whole)
        running = entry is not None and batch.running
        self.progress_label.setVisible(running)
        if not running:
            return
        position = f" ({batch.ended + 1} of {batch.total})" if batch.total > 1 else ""
        eta = f" · {format_duration(eta_s)} left" if eta_s is not None else ""
        self.progress_label.setText(f"Upscaling {entry.name}{position}: {entry.detail}{eta}")
