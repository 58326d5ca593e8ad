"""Image details: everything an image says about how it was made, and what to do with it.

Our images show their recipe; other tools' PNGs their A1111 `parameters` (prompt,
negative, steps, sampler, CFG, seed, size, model, and every other key as it is), or what
engine.store.foreign read from any other tool's metadata (gui/details_foreign.py).
Buttons: Use these parameters (all or in part: gui/use_parts.py; fills Create or the
Lab), Copy prompt, Copy seed, Copy parameters (the A1111 text), Show in folder.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDockWidget,
    QGridLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from engine.api.families import title_of
from engine.api.naming import model_name
from engine.api.requests import (
    ArithmeticRequest,
    DiffuseRequest,
    InterpolateRequest,
    LatentWalkRequest,
    ReconstructRequest,
    SampleRequest,
    Txt2ImgRequest,
    UpscaleRequest,
    image_name,
)
from engine.api.sample_options import DiffusionSampleOptions
from engine.store import ImageMetadata
from engine.store.foreign import ForeignRead
from engine.store.marks import Marks
from gui.details_foreign import (
    A1111_TEXT_TOOLS,
    MADE_BY,
    NOT_MAPPED,
    NOTES,
    a1111_text,
    foreign_rows,
    unmapped_tip,
)
from gui.details_image_parts import image_part_rows
from gui.details_lineage import LineageRow
from gui.details_marks import keep_focus, marks_control
from gui.details_rows import (
    diffusion_rows,
    marks_rows,
    option_rows,
    seed_range,
    short_hash,
    upscale_rows,
    versions,
)
from gui.picture_info import tool_title
from gui.reveal import reveal_in_folder
from gui.send_menu import send_to_menu
from gui.use_parts import use_button

EMPTY = "Select an image in the gallery, or make one, to see how it was made."


def describe(meta: ImageMetadata) -> list[tuple[str, str]]:
    """(label, value) rows for the details panel, in the order people look for them."""
    if meta.recipe is not None:
        return _from_recipe(meta)
    return _from_parameters(meta)


def describe_picture(meta: ImageMetadata, read: ForeignRead | None) -> list[tuple[str, str]]:
    """describe(), with what engine.store.foreign read when the picture has no recipe."""
    if read is None or meta.recipe is not None:
        return describe(meta)
    if meta.parameters_text and read.tool in A1111_TEXT_TOOLS:
        notes = [(NOTES, "\n".join(read.notes))] if read.notes else []
        return [(MADE_BY, tool_title(read.tool)), *describe(meta), *notes]
    return foreign_rows(read, (meta.width, meta.height))


def _from_recipe(meta: ImageMetadata) -> list[tuple[str, str]]:
    recipe, request = meta.recipe or {}, meta.request
    rows: list[tuple[str, Any]] = []
    if isinstance(request, Txt2ImgRequest):
        rows += [
            ("Prompt", request.prompt.positive or "(none)"),
            ("Negative prompt", request.prompt.negative or "(none)"),
            ("Model", request.model.name),
            ("Size", str(request.size)),
            ("Steps", request.sampling.steps),
            (
                "Sampler",
                request.sampling.sampler or f"model default ({recipe.get('sampler', '?')})",
            ),
            ("CFG scale", f"{request.sampling.cfg_scale:g}"),
            ("Seed", meta.seed),
            ("Batch", f"image {(meta.index or 0) + 1} of {request.batch_size}")
            if not isinstance(request, LatentWalkRequest)
            else ("Latent walk", _walk_text(request)),
            ("LoRAs", ", ".join(f"{lora.name} (weight {lora.weight:g})" for lora in request.loras)),
            ("VAE", model_name(request.vae) if request.vae else None),
            ("Embeddings", ", ".join(model_name(path) for path in request.embeddings)),
            ("Clip skip", request.clip_skip if request.clip_skip > 1 else None),
            ("Format", _model_format(recipe)),
            *image_part_rows(request, recipe),
        ]
    elif isinstance(request, SampleRequest):
        rows += [
            ("Model", request.model.name),
            ("Family", title_of(request.model.family)),
            ("Seed", meta.seed),
            ("Samples", request.count),
            ("Latent code", _code_text(request.latent) if request.latent else None),
        ]
        if recipe.get("seeds"):
            rows.append(("Seeds", seed_range(recipe["seeds"])))
        if isinstance(request.options, DiffusionSampleOptions):
            rows += diffusion_rows(request.options, recipe)
        else:  # another family's own options, as its options class titles them
            rows += option_rows(request.options)
    elif isinstance(request, UpscaleRequest):
        rows += upscale_rows(request, recipe)
    elif isinstance(request, InterpolateRequest):
        rows += [
            ("Model", request.model.name),
            ("Family", title_of(request.model.family)),
            ("From", request.end_names()[0]),
            ("To", request.end_names()[1]),
            ("Frames", f"{request.frames}, {request.mode}"),
        ]
    elif isinstance(request, ArithmeticRequest):
        rows += [
            ("Model", request.model.name),
            ("Family", title_of(request.model.family)),
            ("Arithmetic", f"seed {request.a} − seed {request.b} + seed {request.c}"),
        ]
    elif isinstance(request, ReconstructRequest):
        rows += [
            ("Model", request.model.name),
            ("Reconstructed", image_name(request.image.path)),
            (
                "Mean error",
                f"{recipe['mean_abs_error']:.4f}" if "mean_abs_error" in recipe else None,
            ),
            ("Fitted", recipe.get("note") or None),
        ]
    elif isinstance(request, DiffuseRequest):
        how = (
            "ancestral DDPM, all T steps"
            if request.ancestral
            else (f"DDIM, {request.steps} steps, η {request.eta:g}")
        )
        rows += [
            ("Model", request.model.name),
            ("Seed", request.seed),
            ("Sampler", how),
            ("Filmstrip", _filmstrip_text(recipe) if meta.index == 0 else None),
        ]
    else:
        rows.append(("Made by", f"a {meta.kind} job this version cannot read back"))
    rows += [
        ("Size", f"{meta.width}×{meta.height}")
        if not isinstance(request, Txt2ImgRequest)
        else None,
        ("Created", meta.created.strftime("%Y-%m-%d %H:%M:%S") if meta.created else "unknown"),
        ("Model hash", short_hash(recipe)),
        ("Device", f"{recipe['device']} · {recipe.get('precision') or recipe.get('dtype', '?')}")
        if recipe.get("device")
        else None,
        ("Versions", versions(recipe)),
    ]
    return [
        (label, str(value)) for label, value in (r for r in rows if r) if value not in (None, "")
    ]


def breakable(text: str) -> str:
    """Long words (paths, hashes, seeds) get places to wrap (zero-width spaces), after each
    separator and every 12 characters: a label wraps only at spaces, and the dock would
    otherwise cut them at its edge."""
    return _LONG_WORD.sub(lambda m: _wrap_points(m.group(0)), text)


def _wrap_points(word: str) -> str:
    parts = re.split(r"(?<=[/\\_\-.])", word)
    chunks = [p[i : i + 12] for p in parts for i in range(0, len(p), 12)]
    return ZERO_WIDTH_SPACE.join(chunks)


ZERO_WIDTH_SPACE = "\u200b"
_LONG_WORD = re.compile(r"\S{16,}")


def _walk_text(request: LatentWalkRequest) -> str:
    walk = (
        f"seed {request.sampling.seed} → {request.to_seed}, {request.frames} frames, {request.mode}"
    )
    return walk + (f", to the prompt “{request.to_prompt}”" if request.to_prompt else "")


def _code_text(code: tuple[float, ...]) -> str:
    """A kept slider code, shortened: its recipe holds every value."""
    shown = ", ".join(f"{v:.2f}" for v in code[:4])
    return f"{len(code)} values ({shown}{', …' if len(code) > 4 else ''})"


def _filmstrip_text(recipe: dict) -> str | None:
    steps = recipe.get("filmstrip_steps")
    if not isinstance(steps, list) or not steps:
        return None
    return f"x_t over predicted x_0 at steps {', '.join(map(str, steps))}"


def _model_format(recipe: dict) -> str | None:
    """'SD 1.x · single file' from what the runner recorded."""
    titles = {"sd1": "SD 1.x", "sd2": "SD 2.x", "sdxl": "SDXL"}
    architecture = titles.get(str(recipe.get("architecture")))
    parts = [p for p in (architecture, recipe.get("model_format")) if p]
    return " · ".join(parts) or None


def _from_parameters(meta: ImageMetadata) -> list[tuple[str, str]]:
    params = dict(meta.parameters)
    if not params and not meta.parameters_text:
        return [
            ("Made by", "another program (this image carries no parameters)"),
            ("Size", f"{meta.width}×{meta.height}"),
        ]
    rows = [
        ("Prompt", params.pop("prompt", "") or "(none)"),
        ("Negative prompt", params.pop("negative_prompt", "") or "(none)"),
    ]
    width, height = params.pop("width", meta.width), params.pop("height", meta.height)
    known = [
        ("steps", "Steps"),
        ("sampler", "Sampler"),
        ("cfg_scale", "CFG scale"),
        ("seed", "Seed"),
        ("model", "Model"),
    ]
    for key, label in known:
        if key in params:
            rows.append((label, str(params.pop(key))))
    rows.append(("Size", f"{width}×{height}"))
    rows += [(key.replace("_", " ").capitalize(), str(value)) for key, value in params.items()]
    return rows


class DetailsPanel(QWidget):
    use_parameters = Signal(object, str)  # the ImageMetadata, which part (gui/use_parts.py)
    upscale_requested = Signal(str)  # the image's path
    send_to_requested = Signal(str, str)  # the image's path, how Create starts from it
    stars_chosen = Signal(str, int)  # the image's path, its stars (clicked in the Stars row)
    board_left = Signal(str, str)  # the image's path, the board it leaves (× in Boards)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # keys 0-5 and B act on its picture
        self.meta: ImageMetadata | None = None
        self.foreign: ForeignRead | None = None  # what another tool's metadata says
        self.grid = QGridLayout()
        self.grid.setColumnStretch(1, 1)
        self.grid.setVerticalSpacing(4)
        body = QWidget()
        packed = QVBoxLayout(body)  # rows at the top, however tall the dock is
        packed.setContentsMargins(0, 0, 0, 0)
        packed.addLayout(self.grid)
        self.lineage = LineageRow()  # parents and children, fetched off the GUI thread
        packed.addWidget(self.lineage)
        packed.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)

        self.use_button = use_button(self, self._use)
        self.copy_prompt = QPushButton("Copy prompt")
        self.copy_prompt.clicked.connect(lambda: self._copy(self.prompt()))
        self.copy_seed = QPushButton("Copy seed")
        self.copy_seed.clicked.connect(lambda: self._copy(str(self.seed())))
        self.copy_parameters = QPushButton("Copy parameters")
        self.copy_parameters.setToolTip("The A1111 parameters text, as other tools read it")
        self.copy_parameters.clicked.connect(lambda: self._copy(self.parameters_text()))
        self.upscale_button = QPushButton("Upscale…")
        self.upscale_button.setToolTip("Add this image to the Upscale list")
        self.upscale_button.clicked.connect(self._upscale)
        self.send_button = QPushButton("Send to")
        self.send_button.setToolTip("Start Create from this image")
        self.send_button.setMenu(send_to_menu(self.send_button, self._send))
        self.reveal = QPushButton("Show in folder")
        self.reveal.clicked.connect(
            lambda: self.meta and self.meta.path and reveal_in_folder(self.meta.path, self)
        )

        buttons = QGridLayout()
        buttons.addWidget(self.use_button, 0, 0)
        buttons.addWidget(self.upscale_button, 0, 1)
        buttons.addWidget(self.copy_prompt, 1, 0)
        buttons.addWidget(self.copy_seed, 1, 1)
        buttons.addWidget(self.copy_parameters, 2, 0)
        buttons.addWidget(self.reveal, 2, 1)
        buttons.addWidget(self.send_button, 3, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)
        self.show_metadata(None)

    def show_metadata(
        self,
        meta: ImageMetadata | None,
        empty: str = EMPTY,
        foreign: ForeignRead | None = None,
        marks: Marks | None = None,
    ) -> None:
        """Describe `meta` (and what `foreign` read of another tool's metadata, and the
        gallery's stars and boards); with None, say `empty` (why there is nothing)."""
        self.meta, self.foreign = meta, foreign if meta is not None else None
        self.marks = marks if meta is not None else None
        keep_focus(self)  # the focused row goes: the dock keeps the focus (keys 0-5, B)
        while self.grid.count():
            gone = self.grid.takeAt(0).widget()
            gone.hide()  # at once: a click until it is deleted would act on the old rows
            gone.deleteLater()
        rows = self.rows()
        if not rows:
            note = QLabel(empty)
            note.setWordWrap(True)
            note.setStyleSheet("color: #8a8a8a;")
            self.grid.addWidget(note, 0, 0, 1, 2)
        for i, (label, value) in enumerate(rows):
            name = QLabel(f"<b>{html.escape(label)}</b>")
            name.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            if (control := marks_control(label, self)) is not None:
                self.grid.addWidget(name, i, 0)
                self.grid.addWidget(control, i, 1)
                continue
            text = QLabel(html.escape(breakable(value)).replace("\n", "<br>"))
            text.setWordWrap(True)
            text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            if label == NOT_MAPPED:  # the names here, the raw values on hover
                text.setToolTip(html.escape(unmapped_tip(self.foreign)).replace("\n", "<br>"))
                name.setToolTip(text.toolTip())
            self.grid.addWidget(name, i, 0)
            self.grid.addWidget(text, i, 1)
        usable = meta is not None and (
            isinstance(meta.request, Txt2ImgRequest | SampleRequest)
            or bool(meta.parameters_text)
            or bool(self.foreign and self.foreign.fields)
        )
        self.lineage.show_for(meta.path if meta is not None else None)
        self.use_button.setEnabled(usable)
        self.copy_prompt.setEnabled(bool(self.prompt()))
        self.copy_seed.setEnabled(self.seed() is not None)
        self.copy_parameters.setEnabled(bool(self.parameters_text()))
        on_disk = bool(meta and meta.path and Path(meta.path).exists())
        self.reveal.setEnabled(on_disk)
        self.upscale_button.setEnabled(on_disk)
        self.send_button.setEnabled(on_disk)

    def rows(self) -> list[tuple[str, str]]:
        """What is shown, as (label, value) pairs (tests read it)."""
        if self.meta is None:
            return []
        return describe_picture(self.meta, self.foreign) + marks_rows(self.marks)

    def prompt(self) -> str:
        """The shown picture's prompt, from its recipe, its A1111 text or another tool's."""
        if self.meta is not None and self.meta.prompt:
            return self.meta.prompt
        return str(self.foreign.fields.get("prompt", "")) if self.foreign else ""

    def parameters_text(self) -> str:
        """The A1111 text: the picture's own, else one written from what was read."""
        if self.meta is not None and self.meta.parameters_text:
            return self.meta.parameters_text
        return a1111_text(self.foreign) if self.meta is not None and self.foreign else ""

    def seed(self) -> int | None:
        if self.meta is not None and self.meta.seed is not None:
            return self.meta.seed
        seed = self.foreign.fields.get("seed") if self.foreign else None
        return seed if isinstance(seed, int) else None

    def _use(self, part: str) -> None:
        if self.meta is not None:
            self.use_parameters.emit(self.meta, part)

    def _upscale(self) -> None:
        if self.meta is not None and self.meta.path:
            self.upscale_requested.emit(str(self.meta.path))

    def _send(self, kind: str) -> None:
        if self.meta is not None and self.meta.path:
            self.send_to_requested.emit(str(self.meta.path), kind)

    @staticmethod
    def _copy(text: str) -> None:
        QGuiApplication.clipboard().setText(text)


class DetailsDock(QDockWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Image details", parent)
        self.setObjectName("details-dock")
        self.panel = DetailsPanel()
        self.setWidget(self.panel)
