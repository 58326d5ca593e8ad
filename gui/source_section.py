"""Create's "Start from an image" section: the source (open, paste, drop, the canvas's
result), what to do with it (image to image, inpaint, outpaint) and its options.

Collapsed and empty by default, so text to image looks as it always did; setting a
source opens it. Files are read on the user's action (a click, a drop), never on a move.
The section holds the source's pixels for the canvas and the mask (a MaskLayer the
canvas paints on while Inpaint is chosen, gui/send_to.py); SourceViewModel holds
everything the request is built from.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QImage, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.api import limits
from engine.api.errors import BadInput
from engine.api.imagefiles import IMAGES_ONLY_FILTER
from engine.api.parts import ImageRef
from gui.compare_view import dropped_images, dropped_paths
from gui.mask_layer import MaskLayer
from gui.source_image import (
    SourcePicture,
    alpha_mask,
    changed_or_missing,
    has_alpha,
    mask_from_file,
    open_picture,
    picture_of,
    png_bytes,
)
from gui.source_options import (
    PAINT_NOTE,
    RESIZE_MODES,
    InpaintOptions,
    OutpaintOptions,
    StrengthSlider,
    choice_box,
)
from gui.start_folders import Purpose, remember, start_folder
from gui.viewmodels.create import CreateViewModel
from gui.viewmodels.source import IMG2IMG, INPAINT, OUTPAINT

KIND_TITLES = {IMG2IMG: "Image to image", INPAINT: "Inpaint", OUTPAINT: "Outpaint"}
THUMB_SIDE = 88
QUIET = "color: #8a8a8a;"
# The chosen mode must read at a glance; Fusion's dark checked button barely differs.
CHECKED_STYLE = "QToolButton:checked { background: palette(highlight); color: white; }"


class SourceSection(QWidget):
    shown = Signal(object)  # the source's QImage for the canvas (None: cleared)
    notice = Signal(str)  # a sentence for the status bar
    use_result_requested = Signal()  # the window answers with set_image / open_file

    def __init__(self, create: CreateViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.create, self.vm = create, create.source
        self.picture: SourcePicture | None = None
        self.mask: MaskLayer | None = None  # one per source: its strokes outlive a mode switch
        self.toggle = QToolButton(text="Start from an image", checkable=True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setStyleSheet("QToolButton { border: none; font-weight: bold; }")
        self.toggle.toggled.connect(self.set_expanded)
        self.body = QWidget()
        self._build_source_row()
        self._build_form()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle)
        layout.addWidget(self.body)
        self.set_expanded(False)
        self.vm.kind.changed.connect(self._kind_changed)
        for field in (self.create.width, self.create.height, self.vm.resize_mode, self.vm.kind):
            field.changed.connect(self._show_size_note)
        for field in (self.vm.left, self.vm.top, self.vm.right, self.vm.bottom):
            field.changed.connect(self._show_size_note)
        self._kind_changed(self.vm.kind.value)

    # ------------------------------------------------------------ construction

    def _build_source_row(self) -> None:
        self.thumb = QLabel("No image")
        self.thumb.setFixedSize(THUMB_SIDE, THUMB_SIDE)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumb.setStyleSheet("border: 1px solid #555; color: #8a8a8a;")
        self.name = QLabel("Open, paste or drop an image here.")
        self.name.setWordWrap(True)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet(QUIET)
        self.open_button = QPushButton("Open…")
        self.open_button.clicked.connect(self.ask_file)
        self.paste_button = QPushButton("Paste")
        self.paste_button.setToolTip("The image on the clipboard (Ctrl+V)")
        self.paste_button.clicked.connect(self.paste)
        self.result_button = QPushButton("Use result")
        self.result_button.setToolTip("Start from the image the canvas shows")
        self.result_button.clicked.connect(self.use_result_requested)
        self.paste_action = QAction("Paste Image as Source", self)
        self.paste_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Paste))
        self.paste_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.paste_action.triggered.connect(self.paste)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        buttons = QGridLayout()
        for i, button in enumerate(
            (self.open_button, self.paste_button, self.result_button, self.clear_button)
        ):
            buttons.addWidget(button, i // 2, i % 2)
        text = QVBoxLayout()
        text.addWidget(self.name)
        text.addWidget(self.note)
        text.addLayout(buttons)
        text.addStretch(1)
        self.source_row = QHBoxLayout()
        self.source_row.addWidget(self.thumb, 0, Qt.AlignmentFlag.AlignTop)
        self.source_row.addLayout(text, 1)

    def _build_form(self) -> None:
        self.kind_buttons = QButtonGroup(self)
        kinds = QHBoxLayout()
        kinds.setSpacing(0)
        for kind, title in KIND_TITLES.items():
            button = QToolButton(text=title, checkable=True)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.setStyleSheet(CHECKED_STYLE)
            self.kind_buttons.addButton(button)
            button.clicked.connect(lambda _=False, k=kind: self.choose_kind(k))
            kinds.addWidget(button)
        self.strength = StrengthSlider(
            self.vm.strength,
            limits.SOURCE_STRENGTH,
            "Denoising strength: 0 keeps the source, 1 draws over it entirely",
        )
        self.resize_mode = choice_box(
            RESIZE_MODES, self.vm.resize_mode, "How the source becomes the output size"
        )
        self.size_note = QLabel()
        self.size_note.setStyleSheet(QUIET)
        self.inpaint = InpaintOptions(self.vm)
        self.outpaint = OutpaintOptions(self.vm)
        self._build_mask_menu()
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Denoising", self.strength)
        form.addRow("Resize mode", self.resize_mode)
        form.addRow(self.size_note)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.source_row)
        layout.addLayout(kinds)
        layout.addLayout(form)
        layout.addWidget(self.inpaint)
        layout.addWidget(self.outpaint)

    def _build_mask_menu(self) -> None:
        menu = QMenu(self.inpaint.load_mask)
        menu.addAction("From a file…", self.ask_mask_file)
        self.alpha_action = menu.addAction("From the source's transparency", self.mask_from_alpha)
        self.inpaint.load_mask.setMenu(menu)
        menu.aboutToShow.connect(
            lambda: self.alpha_action.setEnabled(
                self.picture is not None and has_alpha(self.picture.image)
            )
        )

    # ------------------------------------------------------------ showing

    def set_expanded(self, expanded: bool) -> None:
        self.toggle.setChecked(expanded)
        arrow = Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow
        self.toggle.setArrowType(arrow)
        self.body.setVisible(expanded)

    @property
    def painting_layer(self) -> MaskLayer | None:
        """The layer the canvas should paint on: the source's, while Inpaint is chosen."""
        return self.mask if self.picture is not None and self.vm.kind.value == INPAINT else None

    def choose_kind(self, kind: str) -> None:
        """A mode button: the chosen mode again puts the source back on the canvas (after
        a result replaced it), so a click on Inpaint is how the user paints again."""
        if not self.vm.kind.set(kind) and self.picture is not None:
            self.shown.emit(self.picture.image)

    def _kind_changed(self, kind: str) -> None:
        for button in self.kind_buttons.buttons():
            button.setChecked(button.text() == KIND_TITLES[kind])
        self.inpaint.setVisible(kind == INPAINT)
        self.outpaint.setVisible(kind == OUTPAINT)
        if self.picture is not None:  # the canvas shows the source (and, inpainting, the mask)
            self.shown.emit(self.picture.image)

    def _show_size_note(self, *_args: object) -> None:
        self.size_note.setText(self.create.size_note())

    def _show(self, label: str, note: str) -> None:
        picture = self.picture
        assert picture is not None
        thumb = picture.image.scaled(
            THUMB_SIDE - 2,
            THUMB_SIDE - 2,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.thumb.setPixmap(QPixmap.fromImage(thumb))
        width, height = picture.size
        self.name.setText(f"{label}\n{width}×{height}")
        self.name.setToolTip(label)
        self.note.setText(note)
        self.mask = MaskLayer(width, height)
        self.vm.mask = self.mask
        self.inpaint.tools.set_layer(self.mask)
        self.inpaint.mask_note.setText(PAINT_NOTE)
        self._show_size_note()
        self.set_expanded(True)
        self.shown.emit(picture.image)

    # ------------------------------------------------------------ setting the source

    def open_file(self, path: str, kind: str | None = None) -> bool:
        """Start from a file (Open…, a drop, Send to); False (and a notice) if unreadable."""
        try:
            self.picture = open_picture(path)
        except BadInput as exc:
            self.notice.emit(exc.message)
            return False
        if kind is not None:
            self.vm.kind.set(kind)
        self.vm.set_source(str(Path(path).absolute()), self.picture.size)
        self._show(Path(path).name, self.picture.note)
        return True

    def set_image(self, image: QImage, label: str, kind: str | None = None) -> bool:
        """Start from pixels in memory (the clipboard, an unsaved result); a Generate keeps
        them in the gallery."""
        try:
            self.picture = picture_of(image)
        except BadInput as exc:
            self.notice.emit(exc.message)
            return False
        if kind is not None:
            self.vm.kind.set(kind)
        self.vm.set_source(label, self.picture.size, pending=png_bytes(image))
        self._show(label, "Kept in the gallery's inputs folder when you press Generate.")
        return True

    def ask_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Start from an image", str(start_folder(Purpose.OPEN_IMAGE)), IMAGES_ONLY_FILTER
        )
        if path:
            remember(Purpose.OPEN_IMAGE, path)
            self.open_file(path)

    def paste(self) -> bool:
        """The clipboard's image file or pixels; False (and a notice) if it holds none."""
        mime = QGuiApplication.clipboard().mimeData()
        paths = [p for p in dropped_paths(mime) if p.is_file()]
        if paths:
            return self.open_file(str(paths[0]))
        if mime.hasImage():
            return self.set_image(QGuiApplication.clipboard().image(), "Pasted image")
        self.notice.emit("The clipboard holds no image to start from.")
        return False

    def clear(self) -> None:
        self.picture = None
        self.vm.clear()
        self.mask = self.vm.mask = None
        self.inpaint.tools.set_layer(None)
        self.thumb.clear()
        self.thumb.setText("No image")
        self.name.setText("Open, paste or drop an image here.")
        self.note.clear()
        self.size_note.clear()
        self.shown.emit(None)

    # ------------------------------------------------------------ masks

    def ask_mask_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Load a mask (white repaints)",
            str(start_folder(Purpose.OPEN_IMAGE)),
            IMAGES_ONLY_FILTER,
        )
        if path:
            self.load_mask_file(path)

    def load_mask_file(self, path: str) -> bool:
        """Into the layer (one undo step): the brush can touch it up."""
        if self.mask is None:
            self.notice.emit("Choose the source image first, then its mask.")
            return False
        try:
            image, note = mask_from_file(path, self.picture.size)
        except BadInput as exc:
            self.notice.emit(exc.message)
            return False
        self.mask.set_image(image)
        self.inpaint.mask_note.setText(note or f"Mask: {Path(path).name}")
        return True

    def mask_from_alpha(self) -> None:
        if self.mask is not None and self.picture is not None and has_alpha(self.picture.image):
            self.mask.set_image(alpha_mask(self.picture.image))
            self.inpaint.mask_note.setText("Mask: the source's transparent part")

    # ------------------------------------------------------------ reuse

    def reopen(self, source: ImageRef | None, mask: ImageRef | None) -> list[str]:
        """Open a recipe's source and mask; a sentence for each missing or changed one."""
        if source is None:
            self.clear()
            return []
        problems = [p for p in [changed_or_missing(source, "The source image")] if p]
        if not Path(source.path).is_file() or not self.open_file(source.path):
            self.clear()
            return problems or [f"The source image {source.path} could not be opened."]
        if mask is not None:
            if problem := changed_or_missing(mask, "The mask"):
                problems.append(problem)
            if Path(mask.path).is_file():
                self.load_mask_file(mask.path)
        return problems


class SourceDrops(QObject):
    """Image files dropped on a widget (Create, the canvas) become Create's source."""

    def __init__(self, section: SourceSection, *widgets: QWidget) -> None:
        super().__init__(section)
        self.section = section
        for widget in widgets:
            widget.setAcceptDrops(True)
            widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if dropped_images(event.mimeData()):
                event.acceptProposedAction()
                return True
        elif kind == QEvent.Type.Drop and (files := dropped_images(event.mimeData())):
            event.acceptProposedAction()
            self.section.open_file(str(files[0]))
            return True
        return False
