"""The central image view: fit or zoom, pan by dragging, crisp pixels when enlarging.

Fit is the rule: a new result, or a resized window, shows the whole image. Only when
the user zooms on purpose (wheel, 1:1, double-click) does the view keep its zoom; Fit
(Ctrl+0, or a double-click at 1:1) gives the rule back. A press without a drag changes
nothing. The zoom level is drawn in a corner, and a banner marks what is not a result
(a cancelled job's last preview).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

MIN_ZOOM, MAX_ZOOM = 0.05, 64.0
DRAG_THRESHOLD = 3  # pixels a press must move before it counts as a drag


class ImageCanvas(QWidget):
    zoom_changed = Signal(float)
    painted = Signal()  # an image was drawn (benchmarks time click -> pixels with it)
    cell_clicked = Signal(int, int)  # column, row of a grid cell clicked (see set_grid)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 200)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self._image: QImage | None = None
        self._fit = True
        self._zoom = 1.0
        self._offset = QPointF(0, 0)  # image centre relative to widget centre, in pixels
        self._press_at: QPointF | None = None
        self._dragging = False
        self._smooth_always = False
        self._grid: tuple[int, int, int, int, int] | None = None  # cols, rows, w, h, gap
        self.banner = ""  # e.g. "Cancelled: this preview was not saved"
        self.placeholder = "Press Generate (Ctrl+Enter) to make an image."

    # ------------------------------------------------------------ state

    @property
    def image(self) -> QImage | None:
        return self._image

    @property
    def fitted(self) -> bool:
        return self._fit

    def set_image(
        self, image: QImage | None, keep_view: bool = False, smooth: bool = False, banner: str = ""
    ) -> None:
        """Show an image; keep_view keeps zoom and pan (live previews of the same job).

        smooth: always interpolate (latent previews are 1/8-size approximations, and
        blocks would suggest detail that is not there).
        """
        self._image = image
        self._smooth_always = smooth
        self._grid = None
        self.banner = banner
        if not keep_view:
            self._offset = QPointF(0, 0)
            self._fit = True
        self.zoom_changed.emit(self.scale())
        self.update()

    def set_banner(self, text: str) -> None:
        self.banner = text
        self.update()

    def set_grid(self, columns: int, rows: int, cell_w: int, cell_h: int, gap: int) -> None:
        """Say that the image is a grid of cells, so a click can tell which one."""
        self._grid = (columns, rows, cell_w, cell_h, gap)

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

    def zoom_text(self) -> str:
        percent = f"{self.scale() * 100:.0f}%"
        return f"Fit · {percent}" if self._fit else percent

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
            flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
            painter.drawText(self.rect().adjusted(12, 12, -12, -12), flags, self.placeholder)
            return
        # Enlarged pixels stay crisp (8x8 digits, latent previews); shrinking is smoothed.
        smooth = self._smooth_always or self.scale() < 1.0
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        painter.drawImage(self.image_rect(), self._image)
        self._draw_zoom(painter)
        if self.banner:
            self._draw_banner(painter)
        painter.end()
        self.painted.emit()

    def _draw_zoom(self, painter: QPainter) -> None:
        text = self.zoom_text()
        metrics = painter.fontMetrics()
        box = QRectF(0, 0, metrics.horizontalAdvance(text) + 12, metrics.height() + 6)
        box.moveBottomRight(QPointF(self.width() - 6, self.height() - 6))
        painter.fillRect(box, QColor(0, 0, 0, 150))
        painter.setPen(QColor("#d0d0d0"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _draw_banner(self, painter: QPainter) -> None:
        metrics = painter.fontMetrics()
        box = QRectF(0, 0, self.width(), metrics.height() + 12)
        painter.fillRect(box, QColor(120, 40, 40, 210))
        painter.setPen(QColor("#ffffff"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.banner)

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
            self._press_at = event.position()
            self._dragging = False

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._press_at is None:
            return
        moved = event.position() - self._press_at
        if not self._dragging and moved.manhattanLength() < DRAG_THRESHOLD:
            return
        if not self._dragging:  # the press becomes a drag: from here on, pan
            self._dragging = True
            if self._fit:
                self._zoom, self._fit = self.scale(), False
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        self._offset += moved
        self._press_at = event.position()
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._press_at is not None and not self._dragging:
            self._click(event.position())
        self._press_at = None
        self._dragging = False
        self.unsetCursor()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._image is None:
            return
        if self._fit:
            self.actual_size()
        else:
            self.fit()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self._fit:
            self.zoom_changed.emit(self.scale())

    def _click(self, where: QPointF) -> None:
        if self._grid is None or self._image is None:
            return
        columns, rows, cell_w, cell_h, gap = self._grid
        rect = self.image_rect()
        x = (where.x() - rect.x()) / self.scale()
        y = (where.y() - rect.y()) / self.scale()
        column, row = int(x // (cell_w + gap)), int(y // (cell_h + gap))
        inside = 0 <= x < self._image.width() and 0 <= y < self._image.height()
        if inside and column < columns and row < rows:
            self.cell_clicked.emit(column, row)
