"""Explore → Interpolate: frames on the path between two latent codes (VAE, GAN,
RealNVP): two seeds' samples, pictures kept before (a kept slider picture is its exact
code), or, for a family that finds any picture's code (a flow exactly, a VAE by its
encoder), two image files.

The frames make one strip in the gallery (its recipe lists each frame's t); here they
play as an animation, which exports as an animated GIF or lossless WebP."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.api import limits
from engine.api.families import spec_of
from engine.api.imagefiles import IMAGE_FILTER
from engine.api.outcomes import Outcome
from engine.api.parts import ImageRef, ModelRef
from engine.api.requests import INTERPOLATION_MODES, InterpolateRequest, Request, SampleRequest
from engine.store import read_metadata
from gui.explore.animation import AnimationPlayer, cells_of_sheet
from gui.explore.page import ExplorePage, about_label
from gui.seed_edit import SeedEdit
from gui.start_folders import Purpose, remember, start_folder
from gui.widgets import spin_box

ABOUT = (
    "Frames on the path from the first seed's latent code to the second's. "
    "<i>slerp</i> follows the sphere Gaussian codes live near; <i>lerp</i> cuts "
    "straight through it, where codes are atypical and pictures wash out. The first "
    "and last frames are those seeds' samples, or the pictures chosen with <i>Kept…</i> "
    "(a picture kept from the sliders is its exact code), or, with <i>Image…</i>, any "
    "picture's own code: a flow's is exact, so its walk starts and ends at the pictures "
    "themselves."
)
IMAGE_TIP = "Start or end at the code of any image file (resized to the model's size)"


ENDS = ("from", "to")


class WalkPage(ExplorePage):
    run_text = "Interpolate"
    reopens = "explore:walk"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model: ModelRef | None = None
        self.from_seed, self.to_seed = SeedEdit(), SeedEdit()
        self.seeds = {"from": self.from_seed, "to": self.to_seed}
        # An end's exact code when it is a picture kept from the sliders (None: its seed).
        self.kept: dict[str, tuple[float, ...] | None] = {"from": None, "to": None}
        self.kept_buttons: dict[str, QToolButton] = {}
        # An end that is an image file's code (None: its seed or kept code).
        self.images: dict[str, str | None] = {"from": None, "to": None}
        self.image_buttons: dict[str, QToolButton] = {}
        for end in ENDS:
            button = QToolButton(text="Kept…")
            button.setToolTip("Start or end at a picture of this model from the gallery")
            button.clicked.connect(lambda _=False, end=end: self._choose_kept(end))
            self.kept_buttons[end] = button
            image = QToolButton(text="Image…")
            image.setToolTip(IMAGE_TIP)
            image.clicked.connect(lambda _=False, end=end: self._choose_image(end))
            self.image_buttons[end] = image
            self.seeds[end].edit.textEdited.connect(lambda _t, end=end: self._forget_ends(end))
        self.frames = spin_box(limits.INTERPOLATION_FRAMES, 16)
        self.mode = QComboBox()
        self.mode.addItems(list(INTERPOLATION_MODES))
        self.player = AnimationPlayer("Interpolate to see the frames play here", "walk.gif")
        form = QFormLayout()
        self.end_labels = {end: QLabel(f"{end.title()} seed") for end in ENDS}
        for end, label in self.end_labels.items():
            row = QHBoxLayout()
            row.addWidget(self.seeds[end], 1)
            row.addWidget(self.kept_buttons[end])
            row.addWidget(self.image_buttons[end])
            form.addRow(label, row)
        form.addRow("Frames", self.frames)
        form.addRow("Path", self.mode)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(about_label(ABOUT))
        layout.addWidget(self.player)
        layout.addStretch(1)

    def set_model(self, model: ModelRef | None) -> None:
        if model != self.model:
            for end in ENDS:
                self._forget_kept(end)  # another model's code means nothing here
        self.model = model
        encodes = model is not None and spec_of(model.family).encodes_images
        for end in ENDS:
            self.image_buttons[end].setVisible(encodes)
            if not encodes:
                self._use_image(end, None)

    # ------------------------------------------------------------ image files as ends

    def _choose_image(self, end: str) -> None:
        folder = str(start_folder(Purpose.OPEN_IMAGE))
        title = "The picture the walk starts at" if end == "from" else "The picture it ends at"
        path, _ = QFileDialog.getOpenFileName(self, title, folder, IMAGE_FILTER)
        if path:
            remember(Purpose.OPEN_IMAGE, path)
            self._use_image(end, path)

    def _use_image(self, end: str, path: str | None) -> None:
        """Make an image file's code an end (None: back to the seed)."""
        if path is not None:
            self._forget_kept(end)
            self.seeds[end].edit.clear()  # the seed only names the end: the name shows
        self.images[end] = path
        self.end_labels[end].setText(f"{end.title()} {'image' if path else 'seed'}")
        self.seeds[end].edit.setPlaceholderText(Path(path).name if path else "random")
        button = self.image_buttons[end]
        button.setText("Image ✓" if path else "Image…")
        button.setToolTip(
            f"This end is the code of {Path(path).name}; type a seed to use a seed again"
            if path
            else IMAGE_TIP
        )

    def _forget_ends(self, end: str) -> None:
        """A typed seed is the end again."""
        self._forget_kept(end)
        self._use_image(end, None)

    # ------------------------------------------------------------ kept pictures as ends

    def _choose_kept(self, end: str) -> None:
        folder = str(start_folder(Purpose.GALLERY_PICTURE))
        path, _ = QFileDialog.getOpenFileName(
            self, "A picture kept from this model", folder, "PNG images (*.png)"
        )
        if path:
            remember(Purpose.GALLERY_PICTURE, path)
            problem = self.use_kept(end, path)
            if problem:
                QMessageBox.warning(self, "Not used", problem)

    def use_kept(self, end: str, path: str) -> str:
        """Make a gallery picture an end of the walk; "" when done, else why not."""
        name = Path(path).name
        try:
            meta = read_metadata(Path(path))
        except (OSError, ValueError):
            return f"{name} could not be read as an image."
        request = meta.request
        if not isinstance(request, SampleRequest) or meta.seed is None:
            return (
                f"{name} is not a Latent Lab sample: its recipe holds no latent code. "
                "Choose a sample, or a picture kept from the sliders."
            )
        if self.model is not None and request.model != self.model:
            return (
                f"{name} was drawn by {request.model.name}, and this walk is in "
                f"{self.model.name}'s latent space. Choose a picture of {self.model.name}, "
                f"or pick {request.model.name} in the Sample tab."
            )
        if request.grid and request.count > 1:
            return (
                f"{name} is a sheet of {request.count} samples. Click one on the canvas and "
                "keep it (Keep sample), then choose that picture."
            )
        self.seeds[end].set_seed(meta.seed)
        self._use_image(end, None)
        self.kept[end] = request.latent  # None for a plain sample: its seed is its code
        self._show_kept(end, name if request.latent is not None else "")
        return ""

    def _forget_kept(self, end: str) -> None:
        self.kept[end] = None
        self._show_kept(end, "")

    def _show_kept(self, end: str, name: str) -> None:
        button = self.kept_buttons[end]
        button.setText("Kept ✓" if name else "Kept…")
        button.setToolTip(
            f"This end is the exact code of {name}; type a seed to use a seed again"
            if name
            else "Start or end at a picture of this model from the gallery"
        )

    # ------------------------------------------------------------ requests

    def build_request(self, model: ModelRef) -> Request:
        return InterpolateRequest(
            model=model,
            from_seed=self.from_seed.resolve(),
            to_seed=self.to_seed.resolve(),
            frames=self.frames.value(),
            mode=self.mode.currentText(),
            grid=True,
            from_latent=self.kept["from"],
            to_latent=self.kept["to"],
            from_image=_image_ref(self.images["from"]),
            to_image=_image_ref(self.images["to"]),
        )

    def apply_request(self, request: Request) -> None:
        assert isinstance(request, InterpolateRequest)
        self.from_seed.set_seed(request.from_seed)
        self.to_seed.set_seed(request.to_seed)
        self.frames.setValue(request.frames)
        self.mode.setCurrentText(request.mode)
        self.model = request.model
        for end, code in zip(ENDS, (request.from_latent, request.to_latent), strict=True):
            self.kept[end] = code
            self._show_kept(end, "a kept code" if code is not None else "")
        for end, image in zip(ENDS, (request.from_image, request.to_image), strict=True):
            self._use_image(end, image.path if image is not None else None)

    def job_finished(self, request: Request, outcome: Outcome) -> None:
        images = getattr(outcome, "images", ())
        if images:
            self.player.set_frames(cells_of_sheet(images[0].rgb, images[0].info)[0], play=True)
            self.from_seed.set_last_seed(request.from_seed)


def _image_ref(path: str | None) -> ImageRef | None:
    return ImageRef(path, "") if path else None
