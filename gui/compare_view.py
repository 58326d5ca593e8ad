"""Before and after, one on top of the other, split by a divider the user drags.

Both images are drawn into the same rectangle by one transform (the result's pixels are
the scene; the original is stretched over it), so zoom and pan are shared by construction:
a point of the picture sits at the same place on both sides of the divider. Left of the
divider: before; right: after. Each side's label says what it is: "Original" and the
model's name, or two models' names when the panel compares two results.

Mouse: drag the divider's handle to move it; drag anywhere else (or with Space held, or
with the middle button) to pan; the wheel zooms about the cursor; a double-click fits.
The original is drawn with crisp pixels by default, so what the model added is what the
user sees; "Smooth the original" draws it interpolated instead, as a plain resize would.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from engine.api.imagefiles import is_image_name
from gui.zoom_view import ZoomableView

HANDLE_REACH = 8  # pixels either side of the divider that grab it
EMPTY_TEXT = "Drop images or a folder here, or use Add images… in the panel."


def _checkerboard() -> QBrush:
    """What shows through transparent pixels (an upscaled PNG may keep its alpha)."""
    tile = QPixmap(16, 16)
    tile.fill(QColor("#3a3a3a"))
    painter = QPainter(tile)
    painter.fillRect(0, 0, 8, 8, QColor("#4a4a4a"))
    painter.fillRect(8, 8, 8, 8, QColor("#4a4a4a"))
    painter.end()
    return QBrush(tile)


class CompareView(ZoomableView):
    files_dropped = Signal(list)  # list[Path]: image files or folders dropped on the view
    min_zoom = 0.02  # a 4x result of a large photo still fits a small window

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)  # the cursor tells when the divider can be grabbed
        self.setAcceptDrops(True)
        self._before: QImage | None = None
        self._after: QImage | None = None
        self.divider = 0.5  # where the divider is, as a fraction of the widget's width
        self.smooth_before = False
        self._drag: str | None = None  # "divider" or "pan" while a button is down
        self._last = QPointF(0, 0)
        self._space = False
        self._checker = _checkerboard()
        self.placeholder = EMPTY_TEXT
        self.labels = ("Before", "After")
        self._build_actions()

    def _build_actions(self) -> None:
        self.smooth_action = QAction("Smooth the Original", self, checkable=True)
        self.smooth_action.setToolTip(
            "Draw the original interpolated (as a plain resize would) instead of as its pixels"
        )
        self.smooth_action.toggled.connect(self.set_smooth_before)
        fit = QAction("Fit to Window", self)
        fit.triggered.connect(self.fit)
        actual = QAction("Actual Size", self)
        actual.triggered.connect(self.actual_size)
        self.addActions([fit, actual, self.smooth_action])
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    # ------------------------------------------------------------ state

    @property
    def before(self) -> QImage | None:
        return self._before

    @property
    def after(self) -> QImage | None:
        return self._after

    def set_images(self, before: QImage | None, after: QImage | None) -> None:
        """Show an input and its result (None: not there, or not loaded yet).

        The zoom and pan stay when the picture keeps its size, so stepping through a
        batch of same-sized images keeps the detail the user zoomed in on."""
        old = self.scene_size()
        self._before = before if before is not None and not before.isNull() else None
        self._after = after if after is not None and not after.isNull() else None
        if self.scene_size() != old:
            self.reset_view()
        self.placeholder = EMPTY_TEXT if before is None and after is None else ""
        self.zoom_changed.emit(self.scale())
        self.update()

    def set_labels(self, before: str, after: str) -> None:
        """What the two sides are called (their sizes follow the names)."""
        self.labels = (before, after)
        self.update()

    def set_placeholder(self, text: str) -> None:
        """What the empty view says (why an input cannot be shown)."""
        self.placeholder = text
        self.update()

    def set_smooth_before(self, smooth: bool) -> None:
        self.smooth_before = smooth
        if self.smooth_action.isChecked() != smooth:
            self.smooth_action.setChecked(smooth)
        self.update()

    def set_divider(self, fraction: float) -> None:
        self.divider = min(1.0, max(0.0, fraction))
        self.update()

    def scene_size(self) -> QSize:
        """The picture's size in scene pixels: the result's, or the input's alone."""
        shown = self._after or self._before
        return shown.size() if shown is not None else QSize()

    def picture_rect(self) -> QRectF:
        """Where the picture is drawn: the same rectangle for before and after."""
        return self.scene_rect()

    def divider_x(self) -> float:
        return self.divider * self.width()

    # ------------------------------------------------------------ painting

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#1b1b1b"))
        if self.scene_size().isEmpty():
            painter.setPen(QColor("#8a8a8a"))
            flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
            painter.drawText(self.rect().adjusted(12, 12, -12, -12), flags, self.placeholder)
            return
        rect = self.picture_rect()
        painter.fillRect(rect, self._checker)
        if self._after is None:  # an input with no result yet: the input, whole
            self._draw(painter, self._before, rect, self.smooth_before or self.scale() < 1)
            self._draw_label(painter, "Original", Qt.AlignmentFlag.AlignLeft)
        else:
            self._draw_split(painter, rect)
        self.draw_zoom_level(painter)
        painter.end()

    def _draw_split(self, painter: QPainter, rect: QRectF) -> None:
        x = self.divider_x()
        if self._before is not None:
            painter.save()
            painter.setClipRect(QRectF(0, 0, x, self.height()))
            enlarged = rect.width() >= self._before.width()
            self._draw(painter, self._before, rect, self.smooth_before or not enlarged)
            painter.restore()
        painter.save()
        painter.setClipRect(QRectF(x, 0, self.width() - x, self.height()))
        self._draw(painter, self._after, rect, self.scale() < 1)
        painter.restore()
        self._draw_divider(painter, x)
        left, right = Qt.AlignmentFlag.AlignLeft, Qt.AlignmentFlag.AlignRight
        before, after = self.labels
        self._draw_label(painter, f"{before} · {_size_text(self._before)}", left)
        self._draw_label(painter, f"{after} · {_size_text(self._after)}", right)

    @staticmethod
    def _draw(painter: QPainter, image: QImage | None, rect: QRectF, smooth: bool) -> None:
        if image is None:
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        painter.drawImage(rect, image)

    def _draw_divider(self, painter: QPainter, x: float) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(QColor(0, 0, 0, 140), 3))
        painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        painter.setPen(QPen(QColor("#f0f0f0"), 1))
        painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        centre = QPointF(x, self.height() / 2)
        painter.setBrush(QColor(30, 30, 30, 220))
        painter.drawEllipse(centre, 11, 11)
        painter.setBrush(QColor("#f0f0f0"))
        for direction in (-1, 1):  # two small arrows: ◀ ▶
            tip = centre + QPointF(7 * direction, 0)
            base = centre + QPointF(2 * direction, 0)
            painter.drawPolygon([tip, base + QPointF(0, -4), base + QPointF(0, 4)])
        painter.setBrush(Qt.BrushStyle.NoBrush)

    def _draw_label(self, painter: QPainter, text: str, side: Qt.AlignmentFlag) -> None:
        metrics = painter.fontMetrics()
        box = QRectF(0, 0, metrics.horizontalAdvance(text) + 14, metrics.height() + 8)
        if side == Qt.AlignmentFlag.AlignLeft:
            box.moveTopLeft(QPointF(8, 8))
        else:
            box.moveTopRight(QPointF(self.width() - 8, 8))
        painter.fillRect(box, QColor(0, 0, 0, 160))
        painter.setPen(QColor("#e6e6e6"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    # ------------------------------------------------------------ interaction

    def _near_divider(self, where: QPointF) -> bool:
        return self._after is not None and abs(where.x() - self.divider_x()) <= HANDLE_REACH

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if not self.scene_size().isEmpty() and event.angleDelta().y():
            self.zoom_about(event.position(), event.angleDelta().y())

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        where, button = event.position(), event.button()
        if self.scene_size().isEmpty():
            return
        if button == Qt.MouseButton.LeftButton and not self._space and self._near_divider(where):
            self._drag = "divider"
        elif button in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton):
            self._drag = "pan"
            self.start_pan()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        self._last = where

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        where = event.position()
        if self._drag == "divider":
            self.set_divider(where.x() / max(1, self.width()))
        elif self._drag == "pan":
            self.pan_by(where - self._last)
        else:
            self._hover_cursor(where)
        self._last = where

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._drag = None
        self._hover_cursor(event.position())

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._near_divider(event.position()) or self.scene_size().isEmpty():
            return
        if self.fitted:  # as on the canvas: double-click toggles 1:1 and fit
            self.actual_size()
        else:
            self.fit()

    def _hover_cursor(self, where: QPointF) -> None:
        if self._space:
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        elif self._near_divider(where):
            self.setCursor(Qt.CursorShape.SplitHCursor)
        else:
            self.unsetCursor()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.setCursor(Qt.CursorShape.OpenHandCursor)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.unsetCursor()
            return
        super().keyReleaseEvent(event)

    # ------------------------------------------------------------ dropping files

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if dropped_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = dropped_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.files_dropped.emit(paths)


def dropped_paths(mime) -> list[Path]:
    """The local files and folders of a drag (URLs of other kinds are not ours)."""
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


def dropped_images(mime) -> list[Path]:
    """The files of a drag named as images (a folder or another file is not one)."""
    return [p for p in dropped_paths(mime) if is_image_name(p)]


def _size_text(image: QImage | None) -> str:
    return f"{image.width()}×{image.height()}" if image is not None else "loading…"
