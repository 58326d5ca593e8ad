"""What the image canvas and the before/after view share: fit or zoom, and pan.

Fit is the rule: the whole picture shows, whatever the widget's size. Zooming on purpose
(wheel, Actual Size) keeps a zoom level until Fit gives the rule back. The picture's
centre sits at the widget's centre plus a pan offset in screen pixels; the wheel zooms
about the cursor, keeping the picture point under it where it is.
"""

from __future__ import annotations

from typing import ClassVar

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

WHEEL_STEP = 1.25  # zoom factor per wheel notch


class ZoomableView(QWidget):
    """A widget that shows a picture of `scene_size()` pixels, fitted or zoomed."""

    zoom_changed = Signal(float)
    min_zoom: ClassVar[float] = 0.05
    max_zoom: ClassVar[float] = 64.0

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 200)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self._fit = True
        self._zoom = 1.0
        self._offset = QPointF(0, 0)  # picture centre relative to widget centre, in pixels

    def scene_size(self) -> QSize:
        """The picture's size in its own pixels (empty: nothing to show)."""
        raise NotImplementedError

    # ------------------------------------------------------------ state

    @property
    def fitted(self) -> bool:
        return self._fit

    def reset_view(self) -> None:
        """Back to fitting the whole picture, centred (a new picture)."""
        self._fit, self._offset = True, QPointF(0, 0)

    def fit(self) -> None:
        self.reset_view()
        self.zoom_changed.emit(self.scale())
        self.update()

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def set_zoom(self, zoom: float) -> None:
        self._fit = False
        self._zoom = min(self.max_zoom, max(self.min_zoom, zoom))
        self.zoom_changed.emit(self._zoom)
        self.update()

    def scale(self) -> float:
        """Screen pixels per picture pixel."""
        size = self.scene_size()
        if size.isEmpty():
            return 1.0
        if not self._fit:
            return self._zoom
        return min(self.width() / size.width(), self.height() / size.height())

    def zoom_text(self) -> str:
        percent = f"{self.scale() * 100:.0f}%"
        return f"Fit · {percent}" if self._fit else percent

    def scene_rect(self) -> QRectF:
        """Where the picture is drawn, in widget pixels."""
        size, s = self.scene_size(), self.scale()
        w, h = size.width() * s, size.height() * s
        centre = QPointF(self.width() / 2, self.height() / 2) + self._offset
        return QRectF(centre.x() - w / 2, centre.y() - h / 2, w, h)

    # ------------------------------------------------------------ zoom and pan

    def zoom_about(self, position: QPointF, notches: int) -> None:
        """The wheel: zoom in or out, keeping the picture point under `position` fixed."""
        before = self.scale()
        cursor = position - QPointF(self.width() / 2, self.height() / 2)
        self.set_zoom(before * (WHEEL_STEP if notches > 0 else 1 / WHEEL_STEP))
        self._offset = cursor - (cursor - self._offset) * (self.scale() / before)
        self.update()

    def start_pan(self) -> None:
        """A drag begins: from here on the zoom is the user's, not the fit's."""
        if self._fit:
            self._zoom, self._fit = self.scale(), False

    def pan_by(self, moved: QPointF) -> None:
        self._offset += moved
        self.update()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self._fit:
            self.zoom_changed.emit(self.scale())

    # ------------------------------------------------------------ painting

    def draw_zoom_level(self, painter: QPainter) -> None:
        """The zoom level in the bottom-right corner."""
        text = self.zoom_text()
        metrics = painter.fontMetrics()
        box = QRectF(0, 0, metrics.horizontalAdvance(text) + 12, metrics.height() + 6)
        box.moveBottomRight(QPointF(self.width() - 6, self.height() - 6))
        painter.fillRect(box, QColor(0, 0, 0, 150))
        painter.setPen(QColor("#d0d0d0"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
