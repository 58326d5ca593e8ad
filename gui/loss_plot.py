"""A live plot of a training's losses, one curve per term, with pyqtgraph.

pyqtgraph is imported when the first plot is made (the Train tab), not at start-up.
Points are buffered and the curves redrawn a few times a second, not at every
measurement: the GUI thread shares the interpreter with the training thread, and every
millisecond spent drawing here is one the training waits for (measured: redrawing at
each measurement cost a busy machine two thirds of its training steps).

The legend is a row of check boxes above the plot, not pyqtgraph's legend: that one
floats over the data area and covered the curves' start (where the losses are highest).
Unchecking a term hides its curve and the axis fits the others (auto-range leaves
hidden items out; the view box is told the curve's bounds changed): a GMM's
log-likelihood in the hundreds otherwise flattens its bits/dim to a line at 0.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QVBoxLayout, QWidget

COLOURS = ("#5aa9e6", "#f0a040", "#7bd389", "#e65a8a", "#b08cf0", "#d0d0d0")
MAX_POINTS = 2000  # older points are thinned so a long training stays cheap to draw
REDRAW_MS = 500


class LossPlot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        # No antialiasing: smooth lines cost the training beside it about 15 % of its speed
        # (window / engine-alone images/s, measured 1.21x with it, 1.05-1.10x without).
        pg.setConfigOptions(antialias=False, background="#1e1e1e", foreground="#c0c0c0")
        self.plot = pg.PlotWidget()
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("bottom", "step")
        self.plot.setMinimumHeight(160)
        self.legend = QHBoxLayout()  # one label per curve, its colour and name
        self.legend.setContentsMargins(4, 0, 4, 0)
        self.legend.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self.legend)
        layout.addWidget(self.plot)
        self._curves: dict[str, object] = {}
        self._points: dict[str, tuple[list[float], list[float]]] = {}
        self._dirty: set[str] = set()
        self._redraw = QTimer(self, interval=REDRAW_MS, singleShot=True)
        self._redraw.timeout.connect(self.redraw)

    def clear(self) -> None:
        self.plot.clear()
        while self.legend.count() > 1:  # the labels; the stretch at the end stays
            self.legend.takeAt(0).widget().deleteLater()
        self._curves.clear()
        self._points.clear()
        self._dirty.clear()

    def add(self, step: int, values: dict[str, float]) -> None:
        """Append one measurement of each loss term (throughput is not a loss: skipped)."""
        for name, value in values.items():
            if name == "images_per_s":
                continue
            xs, ys = self._points.setdefault(name, ([], []))
            xs.append(float(step))
            ys.append(float(value))
            if len(xs) > MAX_POINTS:
                del xs[::2], ys[::2]
            self._dirty.add(name)
        if not self._redraw.isActive():
            self._redraw.start()

    def redraw(self) -> None:
        """Draw the points added since the last redraw (the timer calls this)."""
        for name in sorted(self._dirty, key=list(self._points).index):
            xs, ys = self._points[name]
            curve = self._curves.get(name)
            if curve is None:
                colour = COLOURS[len(self._curves) % len(COLOURS)]
                curve = self._curves[name] = self.plot.plot(
                    name=name, pen={"color": colour, "width": 2}, skipFiniteCheck=True
                )
                self._add_to_legend(name, colour, curve)
            curve.setData(xs, ys)
        self._dirty.clear()

    def _add_to_legend(self, name: str, colour: str, curve) -> None:
        box = QCheckBox(name)
        box.setObjectName(f"legend-{name}")
        box.setIcon(_swatch(colour))
        box.setChecked(True)
        box.setToolTip(f"Show or hide {name}; the axis fits the curves shown")
        box.toggled.connect(lambda shown: self._show_curve(curve, shown))
        self.legend.insertWidget(self.legend.count() - 1, box)

    def _show_curve(self, curve, shown: bool) -> None:
        curve.setVisible(shown)
        curve.informViewBoundsChanged()  # the view box's auto-range refits what is shown

    def series(self, name: str) -> tuple[list[float], list[float]]:
        return self._points.get(name, ([], []))


def _swatch(colour: str) -> QIcon:
    """A short thick line in the curve's colour, the legend's key."""
    pixmap = QPixmap(18, 10)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setPen(QPen(QColor(colour), 3))
    painter.drawLine(1, 5, 17, 5)
    painter.end()
    return QIcon(pixmap)
