"""The central image view: fit or zoom, pan by dragging, crisp pixels when enlarging."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

MIN_ZOOM, MAX_ZOOM = 0.05, 64.0


class ImageCanvas(QWidget):
    zoom_changed = Signal(float)
    painted = Signal()  # an image was drawn (benchmarks time click -> pixels with it)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 200)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self._image: QImage | None = None
        self._fit = True
        self._zoom = 1.0
        self._offset = QPointF(0, 0)  # image centre relative to widget centre, in pixels
        self._drag_from: QPointF | None = None
        self._smooth_always = False
        self.placeholder = "Press Generate (Ctrl+Enter) to make an image."

    # ------------------------------------------------------------ state

    @property
    def image(self) -> QImage | None:
        return self._image

    def set_image(
        self, image: QImage | None, keep_view: bool = False, smooth: bool = False
    ) -> None:
        """Show an image; keep_view keeps zoom and pan (live previews of the same job).

        smooth: always interpolate (latent previews are 1/8-size approximations, and
        blocks would suggest detail that is not there).
        """
        self._image = image
        self._smooth_always = smooth
        if not keep_view:
            self._offset = QPointF(0, 0)
        self.update()

    def fit(self) -> None:
        self._fit, self._offset = True, QPointF(0, 0)
        self.zoom_changed.emit(self.scale())
        self.update()

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def set_zoom(self, zoom: float) -> None:
        self._fit = False
        self._zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        self.zoom_changed.emit(self._zoom)
        self.update()

    def scale(self) -> float:
        if self._image is None or self._image.isNull():
            return 1.0
        if not self._fit:
            return self._zoom
        return min(self.width() / self._image.width(), self.height() / self._image.height())

    def image_rect(self) -> QRectF:
        assert self._image is not None
        s = self.scale()
        w, h = self._image.width() * s, self._image.height() * s
        centre = QPointF(self.width() / 2, self.height() / 2) + self._offset
        return QRectF(centre.x() - w / 2, centre.y() - h / 2, w, h)

    # ------------------------------------------------------------ painting

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#1b1b1b"))
        if self._image is None or self._image.isNull():
            painter.setPen(QColor("#8a8a8a"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            return
        # Enlarged pixels stay crisp (8x8 digits, latent previews); shrinking is smoothed.
        smooth = self._smooth_always or self.scale() < 1.0
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        painter.drawImage(self.image_rect(), self._image)
        painter.end()
        self.painted.emit()

    # ------------------------------------------------------------ interaction

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if self._image is None:
            return
        factor = 1.25 if event.angleDelta().y() > 0 else 0.8
        before = self.scale()
        # Zoom about the cursor: keep the image point under it fixed.
        cursor = event.position() - QPointF(self.width() / 2, self.height() / 2)
        self.set_zoom(before * factor)
        ratio = self.scale() / before
        self._offset = cursor - (cursor - self._offset) * ratio
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self._image is not None:
            self._drag_from = event.position()
            if self._fit:
                self._zoom, self._fit = self.scale(), False
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag_from is not None:
            self._offset += event.position() - self._drag_from
            self._drag_from = event.position()
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._drag_from = None
        self.unsetCursor()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._fit:
            self.actual_size()
        else:
            self.fit()
