"""Export… and Contact Sheet… for the gallery's selection (issue 24).

Each dialog asks where and how, then runs the engine's export (engine.store.export) or
contact sheet (engine.store.contact_sheet) on a thread of its own: the window never
waits on the disk, a progress bar counts the pictures, and Cancel stops between two
files (or mid-copy) with only whole files left. What went wrong, per picture, is shown
in the dialog as the engine's sentences.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.api.errors import UserFacingError
from engine.interface import Gallery
from engine.store.contact_sheet import SheetOptions, SheetReport, contact_sheet
from engine.store.export import ExportOptions, ExportReport, export

FORMATS = (("Each picture's own", ""), ("PNG", "png"), ("JPEG", "jpeg"), ("WebP", "webp"))
MAX_FAILURES_SHOWN = 10


class Job(QObject):
    """One export or sheet on a thread of its own; `done` gets its result (or the
    sentence that stopped it), on the GUI thread."""

    progress = Signal(int, int)
    done = Signal(object)  # the report, or a str: why it could not start

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cancel = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self, work: Callable[[Callable[[int, int], None], Callable[[], bool]], Any]) -> None:
        self.cancel.clear()
        self.thread = threading.Thread(target=self._run, args=(work,), name="export", daemon=True)
        self.thread.start()

    def _run(self, work) -> None:
        try:
            result = work(self.progress.emit, self.cancel.is_set)
        except UserFacingError as exc:
            result = exc.message
        except Exception as exc:  # a surprise must end the dialog's wait, with a sentence
            result = f"The export failed unexpectedly ({exc!r})."
        self.done.emit(result)

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


class _JobDialog(QDialog):
    """A form above a progress bar and a message; OK starts the job, Cancel stops it."""

    def __init__(self, title: str, ok: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.form = QFormLayout()
        self.bar = QProgressBar()
        self.bar.setVisible(False)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.addButton(ok, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._start)
        self.buttons.rejected.connect(self._cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.bar)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.job = Job(self)
        self.job.progress.connect(self._progress)
        self.job.done.connect(self._done)
        self.result_value: object = None
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def _start(self) -> None:
        work = self.work()
        if work is None:
            return
        self.ok.setEnabled(False)
        self.bar.setVisible(True)
        self.bar.setRange(0, 0)
        self.message.setText("")
        self.job.start(work)

    def work(self):  # the job to run, or None (the message says why)
        raise NotImplementedError

    def _progress(self, done: int, total: int) -> None:
        self.bar.setRange(0, total)
        self.bar.setValue(done)

    def _cancel(self) -> None:
        self.reject()

    def reject(self) -> None:
        """Cancel a running job (the dialog stays until its thread has stopped, and then
        says what was written); close otherwise."""
        if self.job.running:
            self.job.cancel.set()
            self.message.setText("Cancelling: the file being written is finished or removed…")
            return
        super().reject()

    def _done(self, result: object) -> None:
        self.result_value = result
        self.bar.setVisible(False)
        self.ok.setEnabled(True)
        if isinstance(result, str):
            self.message.setText(result)
            return
        text = self.describe(result)
        self.message.setText(text)
        self.ok.setEnabled(False)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Close")

    def describe(self, result) -> str:
        raise NotImplementedError

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.job.running:  # its thread still reports to this dialog: stop it first
            self.reject()
            event.ignore()
            return
        super().closeEvent(event)

    def folder_row(self, label: str, edit: QLineEdit, choose: Callable[[], None]) -> None:
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        button = QPushButton("Choose…")
        button.clicked.connect(choose)
        row.addWidget(button)
        self.form.addRow(label, row)


class ExportDialog(_JobDialog):
    def __init__(self, paths: list[str], folder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(f"Export {_pictures(len(paths))}", "Export", parent)
        self.paths = list(paths)
        self.folder = QLineEdit(folder)
        self.folder.setPlaceholderText("the folder to export into")
        self.folder_row("Folder:", self.folder, self._choose)
        self.keep = QRadioButton("Keep (prompt and settings travel with the picture)")
        self.strip = QRadioButton("Strip (pixels only, for sharing without prompts)")
        self.keep.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.keep)
        group.addButton(self.strip)
        metadata = QVBoxLayout()
        metadata.addWidget(self.keep)
        metadata.addWidget(self.strip)
        self.form.addRow("Metadata:", metadata)
        self.format = QComboBox()
        for label, value in FORMATS:
            self.format.addItem(label, value)
        self.format.setToolTip("JPEG and WebP carry the A1111 text in EXIF, as other sites read it")
        self.format.currentIndexChanged.connect(self._format_changed)
        self.form.addRow("Format:", self.format)
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(90)
        self.quality.setToolTip("JPEG and WebP; WebP at 100 is lossless")
        self.form.addRow("Quality:", self.quality)
        self._format_changed()

    def _format_changed(self) -> None:
        self.quality.setEnabled(self.format.currentData() in ("jpeg", "webp"))

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def options(self) -> ExportOptions:
        return ExportOptions(
            metadata="strip" if self.strip.isChecked() else "keep",
            format=self.format.currentData(),
            quality=self.quality.value(),
        )

    def work(self):
        folder = self.folder.text().strip()
        if not folder:
            self.message.setText("Choose the folder to export into.")
            return None
        paths, how = self.paths, self.options()
        return lambda progress, cancelled: export(paths, Path(folder), how, progress, cancelled)

    def describe(self, report: ExportReport) -> str:
        lines = [report.summary()]
        lines += [x.why for x in report.failed[:MAX_FAILURES_SHOWN]]
        if len(report.failed) > MAX_FAILURES_SHOWN:
            lines.append(f"…and {len(report.failed) - MAX_FAILURES_SHOWN} more not exported.")
        return "\n".join(lines)


class ContactSheetDialog(_JobDialog):
    def __init__(
        self, paths: list[str], store: Gallery, target: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(f"Contact Sheet of {_pictures(len(paths))}", "Make Sheet", parent)
        self.paths = list(paths)
        self.store = store
        self.target = QLineEdit(target)
        self.target.setPlaceholderText("the PNG file to write")
        self.folder_row("File:", self.target, self._choose)
        self.columns = QSpinBox()
        self.columns.setRange(1, 64)
        self.columns.setValue(min(4, max(1, len(paths))))
        self.form.addRow("Columns:", self.columns)
        self.tile = QSpinBox()
        self.tile.setRange(32, 2048)
        self.tile.setValue(256)
        self.tile.setSuffix(" px")
        self.form.addRow("Thumbnail size:", self.tile)

    def _choose(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Contact sheet", self.target.text(), "PNG pictures (*.png)"
        )
        if path:
            self.target.setText(path)

    def work(self):
        target = self.target.text().strip()
        if not target:
            self.message.setText("Choose the file to write the sheet to.")
            return None
        paths, store = self.paths, self.store
        how = SheetOptions(columns=self.columns.value(), tile=self.tile.value())

        def run(progress, cancelled) -> SheetReport | None:
            stars = {str(Path(p)): store.marks(p).stars for p in paths}  # the index: off the GUI
            return contact_sheet(paths, Path(target), how, stars, progress, cancelled)

        return run

    def describe(self, report: SheetReport | None) -> str:
        if report is None:
            return "Cancelled: no sheet was written."
        lines = [f"Wrote {report.path} ({report.size[0]}x{report.size[1]} pixels)."]
        lines += [f"{p.name}: {why}" for p, why in report.left_out[:MAX_FAILURES_SHOWN]]
        return "\n".join(lines)


def _pictures(count: int) -> str:
    return "1 Picture" if count == 1 else f"{count:,} Pictures"
