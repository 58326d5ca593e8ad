"""The central image view: fit or zoom, pan by dragging, crisp pixels when enlarging.

Fit is the rule: a new result, or a resized window, shows the whole image. Only when
the user zooms on purpose (wheel, 1:1, double-click) does the view keep its zoom; Fit
(Ctrl+0, or a double-click at 1:1) gives the rule back. A press without a drag changes
nothing. The zoom level is drawn in a corner, and a banner marks what is not a result
(a cancelled job's last preview). With a mask layer set (inpainting), dragging paints the
mask instead (gui/mask_painting.py), and only what a stroke changed is repainted; a new
image takes the layer off.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QTabletEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from gui.mask_layer import MaskLayer
from gui.mask_painting import DEFAULT_OPACITY, OVERLAY_COLOR, MaskPainting
from gui.zoom_view import ZoomableView

DRAG_THRESHOLD = 3  # pixels a press must move before it counts as a drag


class ImageCanvas(ZoomableView):
    painted = Signal()  # an image was drawn (benchmarks time click -> pixels with it)
    cell_clicked = Signal(int, int)  # column, row of a grid cell clicked (see set_grid)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._press_at: QPointF | None = None
        self._dragging = False
        self._smooth_always = False
        self._grid: tuple[int, int, int, int, int] | None = None  # cols, rows, w, h, gap
        self._mask: MaskPainting | None = None  # set while a mask is being painted
        self.banner = ""  # e.g. "Cancelled: this preview was not saved"
        self.placeholder = "Press Generate (Ctrl+Enter) to make an image."

    # ------------------------------------------------------------ state

    def set_placeholder(self, text: str) -> None:
        """What it says while it shows nothing (each mode its own words)."""
        self.placeholder = text
        self.update()

    @property
    def image(self) -> QImage | None:
        return self._image

    def scene_size(self) -> QSize:
        return self._image.size() if self._image is not None else QSize()

    def set_image(
        self, image: QImage | None, keep_view: bool = False, smooth: bool = False, banner: str = ""
    ) -> None:
        """Show an image; keep_view keeps zoom and pan (live previews of the same job).

        smooth: always interpolate (latent previews are 1/8-size approximations, and
        blocks would suggest detail that is not there).
        """
        if self._mask is not None:  # a mask belongs to the picture it was laid on: a result
            self.set_mask_layer(None)  # is never painted on (its owner lays it on again)
        self._image = image
        self._smooth_always = smooth
        self._grid = None
        self.banner = banner
        if not keep_view:
            self.reset_view()
        self.zoom_changed.emit(self.scale())
        self.update()

    def set_banner(self, text: str) -> None:
        self.banner = text
        self.update()

    def set_grid(self, columns: int, rows: int, cell_w: int, cell_h: int, gap: int) -> None:
        """Say that the image is a grid of cells, so a click can tell which one."""
        self._grid = (columns, rows, cell_w, cell_h, gap)

    @property
    def mask_layer(self) -> MaskLayer | None:
        return self._mask.layer if self._mask is not None else None

    def set_mask_layer(
        self,
        layer: MaskLayer | None,
        opacity: float = DEFAULT_OPACITY,
        color: QColor = OVERLAY_COLOR,
    ) -> None:
        """Paint on `layer` (drawn as a `color` film at `opacity`); None: back to viewing."""
        if self._mask is not None:
            self._mask.detach()
        self._mask = MaskPainting(self, layer, opacity, color) if layer is not None else None
        self.setMouseTracking(layer is not None)  # the brush cursor follows the pointer
        if layer is None:
            self.unsetCursor()
        else:
            self.setCursor(Qt.CursorShape.CrossCursor)
        self.update()

    def set_mask_opacity(self, opacity: float) -> None:
        if self._mask is not None:
            self._mask.opacity = opacity
            self._mask.refresh()

    def image_rect(self) -> QRectF:
        assert self._image is not None
        return self.scene_rect()

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
        if self._mask is not None:
            self._mask.draw(painter, self.image_rect())
        self.draw_zoom_level(painter)
        if self.banner:
            self._draw_banner(painter)
        painter.end()
        self.painted.emit()

    def _draw_banner(self, painter: QPainter) -> None:
        metrics = painter.fontMetrics()
        box = QRectF(0, 0, self.width(), metrics.height() + 12)
        painter.fillRect(box, QColor(120, 40, 40, 210))
        painter.setPen(QColor("#ffffff"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.banner)

    # ------------------------------------------------------------ interaction

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if self._image is not None:
            self.zoom_about(event.position(), event.angleDelta().y())

    def event(self, event: QEvent) -> bool:
        """Undo, redo and Space go to the mask before any window shortcut takes them."""
        override = event.type() == QEvent.Type.ShortcutOverride
        if override and self._mask is not None and self._mask.wants_key(event):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if self._mask is None or not self._mask.key(event, pressed=True):
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if self._mask is None or not self._mask.key(event, pressed=False):
            super().keyReleaseEvent(event)

    def tabletEvent(self, event: QTabletEvent) -> None:  # noqa: N802
        if self._mask is not None:
            self._mask.tablet(event)
        else:
            event.ignore()  # Qt then sends the mouse events it makes of the pen

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802
        if self._mask is not None:
            self._mask.set_hover(None)
        super().leaveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._mask is not None:
            self._mask.mouse(event)
            return
        if event.button() == Qt.MouseButton.LeftButton and self._image is not None:
            self._press_at = event.position()
            self._dragging = False

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._mask is not None:
            self._mask.mouse(event)
            return
        if self._press_at is None:
            return
        moved = event.position() - self._press_at
        if not self._dragging and moved.manhattanLength() < DRAG_THRESHOLD:
            return
        if not self._dragging:  # the press becomes a drag: from here on, pan
            self._dragging = True
            self.start_pan()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        self.pan_by(moved)
        self._press_at = event.position()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._mask is not None:
            self._mask.mouse(event)
            return
        if self._press_at is not None and not self._dragging:
            self._click(event.position())
        self._press_at = None
        self._dragging = False
        self.unsetCursor()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._mask is not None:
            self._mask.mouse(event)
            return
        if self._image is None:
            return
        if self._fit:
            self.actual_size()
        else:
            self.fit()

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
