"""Explore → Reconstruct (VAE): drop an image (or open one) to see it beside the VAE's
reconstruction and the per-pixel error, and where it lands on a map of the latent space
(the encoded data set's first two principal components, coloured by class). An image of
another size or mode is fitted to the model, and a note says how."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QPixmap
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.api.errors import BadInput
from engine.api.imagefiles import IMAGE_FILTER
from engine.api.outcomes import Outcome
from engine.api.parts import ImageRef, ModelRef
from engine.api.requests import ReconstructRequest, Request
from gui.explore.page import ExplorePage, about_label
from gui.images import rgb_to_qimage
from gui.start_folders import Purpose, remember, start_folder

MAP_SHOWN = 280
ABOUT = (
    "Drop an image here (or open one). The canvas shows it as the model takes it, the "
    "reconstruction, and the error |input\u00a0−\u00a0reconstruction| (black: none, "
    "white: half the range or more); the map below places its code among the encoded "
    "data set."
)


class ReconstructPage(ExplorePage):
    run_text = "Reconstruct"
    reopens = "explore:reconstruct"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.path = ""
        self.file_label = QLabel("No image chosen")
        self.file_label.setWordWrap(True)
        self.open_button = QPushButton("Open image…")
        self.open_button.clicked.connect(self._open)
        self.note = about_label()
        self.map = QLabel()
        self.map.setFixedSize(MAP_SHOWN, MAP_SHOWN)
        self.map.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.map.setStyleSheet("background: #1b1b1b; color: #a8a8a8;")
        self.map.setWordWrap(True)
        self.map.setText("The latent map appears here")
        row = QHBoxLayout()
        row.addWidget(self.file_label, 1)
        row.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(about_label(ABOUT))
        layout.addWidget(self.note)
        layout.addWidget(self.map, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)

    def set_image(self, path: str) -> None:
        self.path = path
        self.file_label.setText(Path(path).name)
        self.file_label.setToolTip(path)

    def _open(self) -> None:
        folder = str(start_folder(Purpose.OPEN_IMAGE))
        path, _ = QFileDialog.getOpenFileName(self, "Image to reconstruct", folder, IMAGE_FILTER)
        if path:
            remember(Purpose.OPEN_IMAGE, path)
            self.set_image(path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        files = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if files:
            self.set_image(files[0])
            event.acceptProposedAction()

    def build_request(self, model: ModelRef) -> Request:
        if not self.path:
            raise BadInput(
                "Choose an image to reconstruct: drop one on the Explore tab, or open one."
            )
        return ReconstructRequest(model=model, image=ImageRef(self.path, ""))

    def apply_request(self, request: Request) -> None:
        assert isinstance(request, ReconstructRequest)
        self.set_image(request.image.path)

    def job_finished(self, request: Request, outcome: Outcome) -> None:
        images = getattr(outcome, "images", ())
        if not images:
            return
        info = images[0].info
        error = info.get("mean_abs_error")
        parts = [f"Mean error {error:.3f} per pixel (0 to 1)." if error is not None else ""]
        if info.get("note"):
            parts.append(f"The image was {info['note']}.")
        self.note.setText(" ".join(p for p in parts if p))
        if len(images) > 1:
            pixmap = QPixmap.fromImage(rgb_to_qimage(images[1].rgb))
            self.map.setPixmap(
                pixmap.scaled(MAP_SHOWN, MAP_SHOWN, Qt.AspectRatioMode.KeepAspectRatio,
                              Qt.TransformationMode.SmoothTransformation)
            )  # fmt: skip
        else:
            self.map.setText("No map: the data set this model learned from is not here.")

    def job_failed(self, request: Request, message: str) -> None:
        self.note.setText(message)
