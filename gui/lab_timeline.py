"""Latent Lab → History: every family in the order history met them, side by side.

The tab holds the data set, Measure and what the figures mean; its table takes the
canvas's place (it wants the room). One row a family: its year, paper and idea, sixteen
samples from its bundled model on the chosen data, and the figures measured on the same
held-out split (the meter's, from the model's record; likelihood, sampling time and
parameters when Measure is pressed: one engine job a model, the rows filling in as they
finish). A family with no bundled model on that data says so. Double-clicking a row
opens that model's Explore tools.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.api.outcomes import ImagesOutcome, VectorsOutcome
from engine.api.parts import ModelRef
from engine.api.requests import SampleRequest, ScoreRequest
from engine.quality.timeline_table import (
    COLUMNS,
    COMPARING,
    TIMELINE_SAMPLES,
    TimelineRow,
    likelihood_note,
    row_cells,
    timeline_rows,
)
from gui.images import rgb_to_qimage
from gui.mode_panel import Send

DATA_SETS = (("digits", "Digits"), ("shapes", "Shapes"), ("emoji", "Emoji"))
THUMBNAIL = 96  # px: a 4 x 4 sheet of digits stays legible
FAMILY_WIDTH = 270  # px: year, title, paper and idea wrapped
FIRST_FIGURE = 3  # COLUMNS[3:] are the figures; the first three are drawn as one cell


class TimelineTab(QWidget):
    open_model = Signal(object)  # a ModelRef: show its Explore tools

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.send: Send | None = None
        self.rows: list[TimelineRow] = []
        self._measured: dict[str, dict[str, float]] = {}  # by model, for this session
        self.data_box = QComboBox()
        for key, title in DATA_SETS:
            self.data_box.addItem(title, key)
        self.data_box.currentIndexChanged.connect(self._data_changed)
        self.measure_button = QPushButton("Measure")
        self.measure_button.setToolTip(
            f"Measure each model now: held-out bits per dimension, the time {TIMELINE_SAMPLES} "
            "samples take, and its parameters (about a minute on two cores)"
        )
        self.measure_button.clicked.connect(self.measure)
        self.status = QLabel()
        self.status.setStyleSheet("color: #a8a8a8;")
        self.status.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Data"))
        top.addWidget(self.data_box, 1)
        top.addWidget(self.measure_button)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setTextFormat(Qt.TextFormat.RichText)
        self.notes.setStyleSheet("color: #a8a8a8;")
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(self.notes)
        layout.addStretch(1)
        self.table = _table()
        self.table.cellDoubleClicked.connect(self._row_opened)
        self.view = self.table  # what the window shows in place of the canvas
        self._shown_data = ""

    def set_submit(self, send: Send) -> None:
        self.send = send

    @property
    def data(self) -> str:
        return str(self.data_box.currentData())

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._shown_data != self.data:
            self._fill()

    def _data_changed(self, *_args: object) -> None:
        if self.isVisible():
            self._fill()

    # ------------------------------------------------------------ the rows

    def _fill(self) -> None:
        self._shown_data = self.data
        self.rows = [
            r.with_values(self._measured.get(r.model or "", {})) for r in timeline_rows(self.data)
        ]
        self.table.setRowCount(len(self.rows))
        for i, row in enumerate(self.rows):
            self.table.setCellWidget(i, 0, _history_cell(row))
            self.table.setCellWidget(i, 1, _thumbnail_cell(row))
            self._show_figures(i)
            self._draw_samples(i, row)
        self.table.resizeRowsToContents()
        notes = sorted({f"<b>{r.title}</b>: {likelihood_note(r)}" for r in self.rows})
        self.notes.setText(
            "Every family on the same held-out images, in the order history met them. "
            "<p><b>bits/dim</b>: the held-out negative log-likelihood per pixel value. "
            f"{COMPARING}</p><p>"
            + "<br>".join(notes)
            + "</p><p>The meter's figures (recognisable … realism) are from 500 samples, "
            "measured when each model was made; <b>Measure</b> times "
            f"{TIMELINE_SAMPLES} samples and scores the held-out images now.</p>"
            "<p>Double-click a row to explore that model.</p>"
        )

    def _show_figures(self, i: int) -> None:
        cells = row_cells(self.rows[i])[FIRST_FIGURE:]
        for column, text in enumerate(cells, start=2):
            item = QTableWidgetItem(text)
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            if column == 2:
                item.setToolTip(likelihood_note(self.rows[i]))
            self.table.setItem(i, column, item)

    def _draw_samples(self, i: int, row: TimelineRow) -> None:
        if row.model is None or self.send is None:
            return
        request = SampleRequest(
            model=ModelRef(row.family, row.model),
            seed=0,
            count=16,
            grid=True,
            save=False,
            preview=True,
        )
        handle = self.send(request)
        if handle is not None:
            data = self.data
            handle.finished.connect(lambda outcome: self._samples_drawn(data, i, outcome))

    def _samples_drawn(self, data: str, i: int, outcome: ImagesOutcome) -> None:
        if data != self._shown_data or not outcome.images:
            return  # the data set changed while it was drawn
        label = self.table.cellWidget(i, 1)
        image = rgb_to_qimage(outcome.images[0].rgb)
        label.setPixmap(
            QPixmap.fromImage(image).scaled(
                THUMBNAIL,
                THUMBNAIL,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.FastTransformation,  # pixels stay pixels
            )
        )

    # ------------------------------------------------------------ measuring

    def measure(self) -> None:
        if self.send is None:
            return
        waiting = [i for i, r in enumerate(self.rows) if r.model is not None]
        self.status.setText(f"Measuring {len(waiting)} models…")
        self.measure_button.setEnabled(False)
        self._failures: list[str] = []
        left = set(waiting)
        for i in waiting:
            row = self.rows[i]
            request = ScoreRequest(
                model=ModelRef(row.family, row.model), count=TIMELINE_SAMPLES, meter=False
            )
            handle = self.send(request)
            if handle is None:
                left.discard(i)
                continue
            data = self.data
            handle.finished.connect(lambda o, i=i, d=data: self._measured_row(d, i, o, left))
            handle.failed.connect(lambda message, _k, i=i: self._not_measured(i, message, left))
            handle.cancelled.connect(lambda i=i: self._not_measured(i, "Cancelled.", left))
        if not left:
            self._done()

    def _measured_row(self, data: str, i: int, outcome: VectorsOutcome, left: set[int]) -> None:
        values = dict(zip(outcome.labels, (v[0] for v in outcome.vectors), strict=True))
        model = self.rows[i].model if data == self._shown_data else None
        if model is not None:
            self._measured[model] = values
            self.rows[i] = self.rows[i].with_values(values)
            self._show_figures(i)
        self._one_done(i, left)

    def _not_measured(self, i: int, message: str, left: set[int]) -> None:
        self._failures.append(f"{self.rows[i].title}: {message}")
        self._one_done(i, left)

    def _one_done(self, i: int, left: set[int]) -> None:
        left.discard(i)
        if not left:
            self._done()

    def _done(self) -> None:
        self.measure_button.setEnabled(True)
        self.status.setText(" ".join(self._failures) or "Measured on the held-out images.")

    def _row_opened(self, i: int, _column: int) -> None:
        row = self.rows[i]
        if row.model is not None:
            self.open_model.emit(ModelRef(row.family, row.model))


def _table() -> QTableWidget:
    table = QTableWidget(0, len(COLUMNS) - FIRST_FIGURE + 2)
    table.setHorizontalHeaderLabels(["Family", "Samples", *COLUMNS[FIRST_FIGURE:]])
    table.verticalHeader().setVisible(False)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    header = table.horizontalHeader()
    # A cell widget's size is not its column's content: the first two are set.
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
    table.setColumnWidth(0, FAMILY_WIDTH)
    header.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
    table.setColumnWidth(1, THUMBNAIL + 16)
    for column in range(2, table.columnCount()):
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
    return table


def _history_cell(row: TimelineRow) -> QLabel:
    label = QLabel(
        f"<b>{row.year} · {escape(row.title)}</b><br>"
        f"<span style='color:#a8a8a8'>{escape(row.paper)}</span><br>{escape(row.idea)}"
    )
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setContentsMargins(6, 4, 6, 4)
    return label


def _thumbnail_cell(row: TimelineRow) -> QLabel:
    label = QLabel("" if row.model else "no bundled model")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setMinimumSize(THUMBNAIL + 8, THUMBNAIL + 8)
    label.setWordWrap(True)
    return label
