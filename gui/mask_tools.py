"""The mask brush's controls: brush or eraser, size, hardness, overlay opacity, history.

Ranges come from gui.mask_layer / gui.mask_painting (one source); the Create panel owns
files ("Load mask…"), so this widget only edits the layer it is given. Ctrl+Z and
Ctrl+Shift+Z undo and redo the mask while these controls have focus (the canvas does
the same while it has focus), ahead of the window's own Undo.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.api.limits import Limit
from gui.mask_layer import BRUSH_HARDNESS, BRUSH_SIZE, MaskLayer
from gui.mask_painting import DEFAULT_OPACITY, is_redo, is_undo

OVERLAY_OPACITY = Limit("Overlay opacity", 0.0, 1.0)
PERCENT = 100  # sliders work in whole percent
HINT = "Left-drag paints · right-drag or Alt erases · middle-drag or Space pans"
# Fusion's checked button is barely darker than an unchecked one on the dark theme.
CHECKED_STYLE = "QPushButton:checked { background: palette(highlight); color: white; }"
SIZE_STEP = 4  # px per spin-box step: fine enough, quick enough


def _percent_slider(limit: Limit, value: float, tip: str) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(round(limit.low * PERCENT), round(limit.high * PERCENT))
    slider.setValue(round(value * PERCENT))
    slider.setToolTip(tip)
    return slider


def _button(text: str, tip: str, checkable: bool = False) -> QPushButton:
    button = QPushButton(text)
    button.setToolTip(tip)
    button.setCheckable(checkable)
    return button


class MaskTools(QWidget):
    opacity_changed = Signal(float)  # 0..1, for ImageCanvas.set_mask_opacity

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layer: MaskLayer | None = None
        self._build()
        self._connect()
        self.set_layer(None)

    # ------------------------------------------------------------ building

    def _build(self) -> None:
        self.brush_button = _button("Brush", "Paint what should be repainted (left-drag)", True)
        self.eraser_button = _button(
            "Eraser", "Erase the mask (or right-drag / Alt+drag with the brush)", True
        )
        self._tool_group = QButtonGroup(self)
        for button in (self.brush_button, self.eraser_button):
            self._tool_group.addButton(button)
        self.brush_button.setChecked(True)
        for button in (self.brush_button, self.eraser_button):
            button.setStyleSheet(CHECKED_STYLE)
        self.size_box = QSpinBox()
        self.size_box.setRange(int(BRUSH_SIZE.low), int(BRUSH_SIZE.high))
        self.size_box.setSingleStep(SIZE_STEP)
        self.size_box.setSuffix(" px")
        self.size_box.setToolTip("Brush diameter in image pixels (a pen's pressure scales it)")
        self.hardness_slider = _percent_slider(
            BRUSH_HARDNESS, 0.8, "Hardness: 100% a crisp edge, 0% a soft gradient edge"
        )
        self.opacity_slider = _percent_slider(
            OVERLAY_OPACITY, DEFAULT_OPACITY, "How strongly the mask is tinted over the image"
        )
        self.hardness_label, self.opacity_label = QLabel(), QLabel()
        self.undo_button = _button("Undo", "Undo the last stroke (Ctrl+Z)")
        self.redo_button = _button("Redo", "Redo (Ctrl+Shift+Z)")
        self.clear_button = _button("Clear", "Repaint nothing: empty the mask")
        self.invert_button = _button("Invert", "Repaint what was kept, keep what was painted")
        self.fill_button = _button("Fill", "Repaint everything: fill the mask")
        self.hint = QLabel(HINT)
        self.hint.setWordWrap(True)
        self.hint.setEnabled(False)  # greyed: a note, not a control
        self._lay_out()

    def _lay_out(self) -> None:
        form = QFormLayout()
        form.addRow(self._row(self.brush_button, self.eraser_button))
        form.addRow("Size", self.size_box)
        form.addRow("Hardness", self._row(self.hardness_slider, self.hardness_label))
        self._opacity_row = self._row(self.opacity_slider, self.opacity_label)
        form.addRow("Overlay", self._opacity_row)
        form.addRow(self._row(self.undo_button, self.redo_button))
        form.addRow(self._row(self.clear_button, self.invert_button, self.fill_button))
        form.addRow(self.hint)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(form)
        self._form = form
        self._show_percents()

    @staticmethod
    def _row(*widgets: QWidget) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in widgets:
            layout.addWidget(widget)
        return row

    def _connect(self) -> None:
        self.eraser_button.toggled.connect(self._brush_changed)
        self.size_box.valueChanged.connect(self._brush_changed)
        self.hardness_slider.valueChanged.connect(self._brush_changed)
        self.opacity_slider.valueChanged.connect(self._opacity_moved)
        self.undo_button.clicked.connect(lambda: self._layer and self._layer.undo())
        self.redo_button.clicked.connect(lambda: self._layer and self._layer.redo())
        self.clear_button.clicked.connect(lambda: self._layer and self._layer.clear())
        self.invert_button.clicked.connect(lambda: self._layer and self._layer.invert())
        self.fill_button.clicked.connect(lambda: self._layer and self._layer.fill())

    def hide_opacity(self) -> None:
        """No overlay opacity (a drawing shows the layer itself, not a film over a picture)."""
        self._form.setRowVisible(self._opacity_row, False)

    # ------------------------------------------------------------ state

    @property
    def opacity(self) -> float:
        return self.opacity_slider.value() / PERCENT

    def set_layer(self, layer: MaskLayer | None) -> None:
        """Edit `layer` (its brush shows in the controls); None greys everything out."""
        if self._layer is not None:
            self._layer.history_changed.disconnect(self._history_changed)
        self._layer = layer
        self.setEnabled(layer is not None)
        if layer is not None:
            layer.history_changed.connect(self._history_changed)
            self._show_brush(layer)
        self._history_changed()

    def _show_brush(self, layer: MaskLayer) -> None:
        brush = layer.brush
        widgets = (self.size_box, self.hardness_slider, self.eraser_button)
        for widget in widgets:
            widget.blockSignals(True)
        self.size_box.setValue(brush.size)
        self.hardness_slider.setValue(round(brush.hardness * PERCENT))
        (self.eraser_button if brush.erase else self.brush_button).setChecked(True)
        for widget in widgets:
            widget.blockSignals(False)
        self._show_percents()

    def _brush_changed(self) -> None:
        if self._layer is not None:
            brush = self._layer.brush
            brush.size = self.size_box.value()
            brush.hardness = self.hardness_slider.value() / PERCENT
            brush.erase = self.eraser_button.isChecked()
        self._show_percents()

    def _opacity_moved(self) -> None:
        self._show_percents()
        self.opacity_changed.emit(self.opacity)

    def _show_percents(self) -> None:
        self.hardness_label.setText(f"{self.hardness_slider.value()}%")
        self.opacity_label.setText(f"{self.opacity_slider.value()}%")

    def _history_changed(self) -> None:
        layer = self._layer
        self.undo_button.setEnabled(layer is not None and layer.can_undo())
        self.redo_button.setEnabled(layer is not None and layer.can_redo())

    # ------------------------------------------------------------ keys

    def event(self, event: QEvent) -> bool:
        """Ctrl+Z / Ctrl+Shift+Z reach the mask before the window's Undo shortcut."""
        override = event.type() == QEvent.Type.ShortcutOverride
        if override and self._layer is not None and (is_undo(event) or is_redo(event)):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if self._layer is not None and is_redo(event):
            self._layer.redo()
        elif self._layer is not None and is_undo(event):
            self._layer.undo()
        else:
            super().keyPressEvent(event)
