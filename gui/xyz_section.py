"""Create's X/Y/Z plot: three rows of an axis type and its values, as A1111's script has.

Checked, Generate makes the plot of the form's request (engine.api.requests.xyz): one
picture per cell and a labelled grid. Under the rows, the number of cells the values
give, or the sentence saying which value cannot be read, as the user types. A
checkpoint or VAE may be named as the model lists show it; it is looked up in the last
scan of the model folders, as the command line looks up --model.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.api.errors import BadInput
from engine.api.requests import LatentWalkRequest, Txt2ImgRequest, XyzAxis, XyzPlotRequest
from engine.api.requests.xyz import AXIS_NAMES, plot_axes, with_seeds_drawn
from engine.api.requests.xyz_axes import AXIS_TYPES, NOTHING, axis_type, csv_text
from engine.api.samplers import SAMPLER_NAMES
from engine.api.xyz_ranges import split_values
from engine.library.detect import ModelKind
from engine.library.scan import LibraryEntry

QUIET = "color: #8a8a8a;"
WARNING = "color: #f0a040;"
SYNTAX = (
    'Values separated by commas; quote one that holds a comma: "a, b", c.\n'
    "Numbers also take ranges: 1-5 → 1,2,3,4,5; 1-10 (+3) → 1,4,7,10; 10-5 (-3) → 10,7;\n"
    "1-10 [5] → five values from 1 to 10; 0.5-1.5 [5] → 0.5,0.75,1,1.25,1.5."
)
_FILE_KINDS = {"checkpoint": ModelKind.CHECKPOINT, "vae": ModelKind.VAE}


class XyzSection(QGroupBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("X/Y/Z plot", parent)
        self.setCheckable(True)
        self.setChecked(False)
        self.setToolTip(
            "A1111's X/Y/Z plot: every combination of up to three axes' values, one "
            "picture each, and a labelled grid of them"
        )
        self.entries: tuple[LibraryEntry, ...] = ()
        self.types: list[QComboBox] = []
        self.values: list[QLineEdit] = []
        self.fills: list[QToolButton] = []
        self.body = QWidget()
        grid = QGridLayout(self.body)
        grid.setContentsMargins(0, 0, 0, 0)
        for row, name in enumerate(AXIS_NAMES):
            combo = QComboBox()
            for kind in AXIS_TYPES:
                combo.addItem(kind.label, kind.key)
            edit = QLineEdit()
            fill = QToolButton()
            fill.setText("All")
            fill.clicked.connect(lambda _c=False, r=row: self.fill_all(r))
            combo.currentIndexChanged.connect(lambda _i, r=row: self._type_changed(r))
            edit.textChanged.connect(self.recount)
            grid.addWidget(QLabel(name), row, 0)
            grid.addWidget(combo, row, 1)
            grid.addWidget(edit, row, 2)
            grid.addWidget(fill, row, 3)
            grid.setColumnStretch(2, 1)
            self.types.append(combo)
            self.values.append(edit)
            self.fills.append(fill)
        self.count = QLabel()
        self.count.setWordWrap(True)
        grid.addWidget(self.count, len(AXIS_NAMES), 0, 1, 4)
        self.types[0].setCurrentIndex(self.types[0].findData("seed"))
        for row in range(len(AXIS_NAMES)):
            self._type_changed(row)
        self.toggled.connect(self.body.setVisible)
        QVBoxLayout(self).addWidget(self.body)
        self.body.setVisible(False)

    def set_library(self, entries: Iterable[LibraryEntry]) -> None:
        """The last scan's files: the checkpoints and VAEs an axis may name."""
        self.entries = tuple(entries)

    # ------------------------------------------------------------ the rows

    def _type_changed(self, row: int) -> None:
        kind = axis_type(self.types[row].currentData())
        edit = self.values[row]
        edit.setEnabled(kind.key != NOTHING)
        edit.setPlaceholderText(kind.hint)
        edit.setToolTip(f"{kind.label}: {kind.hint}\n{SYNTAX}" if kind.hint else SYNTAX)
        fill = self.fills[row]
        fill.setEnabled(kind.key in ("sampler", *_FILE_KINDS))
        fill.setToolTip(f"Every {kind.label.lower()} there is (A1111's 📒)")
        self.recount()

    def choices(self, key: str) -> list[str]:
        """Every value an axis of choices takes: the samplers, or the scanned files."""
        if key == "sampler":
            return list(SAMPLER_NAMES)
        kind = _FILE_KINDS.get(key)
        return [e.name for e in self.entries if e.kind is kind and not e.problem]

    def fill_all(self, row: int) -> None:
        """The row's values: every choice its axis has (A1111's fill button)."""
        if names := self.choices(self.types[row].currentData()):
            self.values[row].setText(csv_text(names))

    def axes(self) -> tuple[XyzAxis, ...]:
        """The three rows as typed (Nothing rows included: they keep their place)."""
        return tuple(
            XyzAxis(combo.currentData(), edit.text().strip())
            for combo, edit in zip(self.types, self.values, strict=True)
        )

    def recount(self, *_args: object) -> str:
        """The line under the rows: "6 cells (2 × 3)", or why the values do not read."""
        try:
            x, y, z = plot_axes(self.axes())
        except BadInput as exc:
            self.count.setText(exc.message)
            self.count.setStyleSheet(WARNING)
            return exc.message
        sizes = [len(a.values) for a in (x, y, z) if a.type.key != NOTHING] or [1]
        cells = len(x.values) * len(y.values) * len(z.values)
        text = f"{cells} cell{'s' * (cells != 1)} ({' × '.join(map(str, sizes))})"
        self.count.setText(text)
        self.count.setStyleSheet(QUIET)
        return text

    # ------------------------------------------------------------ requests

    def plot(self, request: Txt2ImgRequest) -> XyzPlotRequest:
        """The form's request as a plot; random seeds drawn now, so the recipe names them."""
        if isinstance(request, LatentWalkRequest):
            raise BadInput(
                "An X/Y/Z plot makes single pictures, not latent walks: turn one of them off."
            )
        axes = tuple(self._resolved(axis) for axis in self.axes())
        while axes and axis_type(axes[-1].type).key == NOTHING:
            axes = axes[:-1]  # the recipe names only the axes in use
        return with_seeds_drawn(XyzPlotRequest(base=request, axes=axes))

    def _resolved(self, axis: XyzAxis) -> XyzAxis:
        """Checkpoint and VAE names as the files of the last scan."""
        kind = _FILE_KINDS.get(axis_type(axis.type).key)
        if kind is None:
            return axis
        by_name = {}
        for entry in self.entries:
            if entry.kind is kind:
                by_name.setdefault(entry.name, str(entry.path))
                by_name.setdefault(entry.path.name, str(entry.path))
        values = [by_name.get(value, value) for value in split_values(axis.values)]
        return XyzAxis(axis.type, csv_text(values))

    def show_plot(self, request: XyzPlotRequest) -> None:
        """Use these parameters of a plot's grid: its axes, checked."""
        padded = (*request.axes, *(XyzAxis(),) * (len(AXIS_NAMES) - len(request.axes)))
        for combo, edit, axis in zip(self.types, self.values, padded, strict=False):
            combo.setCurrentIndex(max(0, combo.findData(axis_type(axis.type).key)))
            edit.setText(axis.values)
        self.setChecked(True)
