"""Painting a MaskLayer on the image canvas: input, the coloured overlay, the brush cursor.

While a layer is set, left-drag paints (right-drag or Alt+left-drag erases, as does a
pen's eraser end), middle-drag or Space+left-drag pans, and the wheel still zooms. A
tablet's pressure scales the dab; the mouse paints at full pressure.

Speed: a stroke event repaints only what it changed. The overlay is a coloured ARGB
copy of the mask refreshed rectangle by rectangle from the layer's `changed` signal,
and the canvas is asked to update just that rectangle (mapped to the screen), so a
stroke on a 2048² image costs the dab, not the picture.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPen,
    QPointingDevice,
    QTabletEvent,
)

from gui.mask_layer import MaskLayer
from gui.zoom_view import ZoomableView

OVERLAY_COLOR = QColor(255, 0, 170)  # magenta: stands out on skin, sky and foliage alike
DEFAULT_OPACITY = 0.5
CURSOR_MIN_RADIUS = 2.0  # screen pixels: a tiny brush still shows where it is
REPAINT_MARGIN = 2  # screen pixels around a changed rectangle (smooth scaling bleeds)
_Button = Qt.MouseButton
_MODE = QPainter.CompositionMode


class MaskOverlay:
    """The mask as a coloured film (premultiplied ARGB), kept in step rect by rect."""

    def __init__(self, layer: MaskLayer, color: QColor = OVERLAY_COLOR) -> None:
        self._layer, self._color = layer, color
        self.image = QImage(layer.size(), QImage.Format.Format_ARGB32_Premultiplied)
        self.refresh(self.image.rect())

    def refresh(self, rect: QRect) -> None:
        coverage = self._layer.region(rect)
        coverage.reinterpretAsFormat(QImage.Format.Format_Alpha8)  # grey bytes as alpha
        painter = QPainter(self.image)
        painter.setCompositionMode(_MODE.CompositionMode_Source)
        painter.fillRect(rect, self._color)
        painter.setCompositionMode(_MODE.CompositionMode_DestinationIn)
        painter.drawImage(rect.topLeft(), coverage)
        painter.end()


def is_undo(event: QKeyEvent) -> bool:
    return event.matches(QKeySequence.StandardKey.Undo)


def is_redo(event: QKeyEvent) -> bool:
    ctrl_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    shifted_z = event.key() == Qt.Key.Key_Z and event.modifiers() == ctrl_shift
    return event.matches(QKeySequence.StandardKey.Redo) or shifted_z


class MaskPainting(QObject):
    """The canvas's mask mode; the canvas hands it its input and a painter to draw with."""

    def __init__(
        self, canvas: ZoomableView, layer: MaskLayer, opacity: float, color: QColor = OVERLAY_COLOR
    ) -> None:
        super().__init__(canvas)
        self._canvas = canvas
        self.layer = layer
        self.opacity = opacity
        self._overlay = MaskOverlay(layer, color)
        self._hover: QPointF | None = None  # where the brush cursor is drawn
        self._pan_from: QPointF | None = None
        self._stroke_button: Qt.MouseButton | None = None
        self._space = False
        layer.changed.connect(self._on_changed)

    def detach(self) -> None:
        self.layer.end_stroke()
        self.layer.changed.disconnect(self._on_changed)
        self.setParent(None)

    # ------------------------------------------------------------ coordinates

    def _layer_scale(self) -> float:
        """Layer pixels per image pixel (a layer of another size still lines up)."""
        image = self._canvas.scene_size()
        return self.layer.size().width() / image.width() if image.width() else 1.0

    def to_layer(self, position: QPointF) -> QPointF:
        rect, scale = self._canvas.scene_rect(), self._canvas.scale()
        return (position - rect.topLeft()) / scale * self._layer_scale()

    def to_widget(self, rect: QRect) -> QRect:
        origin, per_pixel = (
            self._canvas.scene_rect().topLeft(),
            self._canvas.scale() / self._layer_scale(),
        )
        box = QRectF(
            rect.x() * per_pixel,
            rect.y() * per_pixel,
            rect.width() * per_pixel,
            rect.height() * per_pixel,
        )
        box.translate(origin)
        return box.toAlignedRect().adjusted(
            -REPAINT_MARGIN, -REPAINT_MARGIN, REPAINT_MARGIN, REPAINT_MARGIN
        )

    def _on_changed(self, rect: QRect) -> None:
        self._overlay.refresh(rect)
        self._canvas.update(self.to_widget(rect))

    # ------------------------------------------------------------ drawing

    def draw(self, painter: QPainter, target: QRectF) -> None:
        """The overlay over the image drawn at `target`, then the brush cursor."""
        painter.save()
        painter.setOpacity(self.opacity)
        painter.drawImage(target, self._overlay.image)
        painter.restore()
        if self._hover is not None:
            self._draw_cursor(painter, self._hover)

    def _cursor_radius(self) -> float:
        per_pixel = self._canvas.scale() / self._layer_scale()
        return max(CURSOR_MIN_RADIUS, self.layer.brush.size / 2 * per_pixel)

    def _cursor_rect(self) -> QRect:
        if self._hover is None:
            return QRect()
        r = self._cursor_radius() + 2
        return QRectF(self._hover.x() - r, self._hover.y() - r, 2 * r, 2 * r).toAlignedRect()

    def _draw_cursor(self, painter: QPainter, at: QPointF) -> None:
        """A white ring inside a black one: visible on any picture."""
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        radius = self._cursor_radius()
        for color, grow in ((QColor(0, 0, 0, 200), 1.0), (QColor(255, 255, 255, 230), 0.0)):
            painter.setPen(QPen(color, 1.0))
            painter.drawEllipse(at, radius + grow, radius + grow)
        painter.restore()

    def set_hover(self, at: QPointF | None) -> None:
        old = self._cursor_rect()
        self._hover = at
        self._canvas.update(old | self._cursor_rect())

    def refresh(self) -> None:
        """Everything again (a new opacity)."""
        self._canvas.update()

    # ------------------------------------------------------------ input

    def press(self, at: QPointF, button: Qt.MouseButton, erase: bool, pressure: float) -> None:
        if self._canvas.scene_size().isEmpty() or self._stroke_button is not None:
            return
        if button == _Button.MiddleButton or (button == _Button.LeftButton and self._space):
            self._pan_from = at
            self._canvas.start_pan()
            self._canvas.setCursor(Qt.CursorShape.ClosedHandCursor)
        elif button in (_Button.LeftButton, _Button.RightButton):
            self._stroke_button = button
            erasing = True if erase or button == _Button.RightButton else None
            self.layer.begin_stroke(self.to_layer(at), pressure, erase=erasing)

    def move(self, at: QPointF, pressure: float) -> None:
        self.set_hover(at)
        if self._pan_from is not None:
            self._canvas.pan_by(at - self._pan_from)
            self._pan_from = at
        elif self._stroke_button is not None:
            self.layer.stroke_to(self.to_layer(at), pressure)

    def release(self, button: Qt.MouseButton) -> None:
        if self._pan_from is not None and button in (_Button.MiddleButton, _Button.LeftButton):
            self._pan_from = None
            self._canvas.setCursor(Qt.CursorShape.CrossCursor)
        elif button == self._stroke_button:
            self._stroke_button = None
            self.layer.end_stroke()

    def mouse(self, event: QMouseEvent) -> None:
        """Press (a double-click is a press too: quick dabs), move and release."""
        kind, at = event.type(), event.position()
        if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick):
            alt = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
            self.press(at, event.button(), alt, 1.0)
        elif kind == QEvent.Type.MouseMove:
            self.move(at, 1.0)
        elif kind == QEvent.Type.MouseButtonRelease:
            self.release(event.button())
        event.accept()

    def tablet(self, event: QTabletEvent) -> None:
        """A pen: its pressure scales the dab; its eraser end erases."""
        kind, at, pressure = event.type(), event.position(), event.pressure()
        eraser = event.pointerType() == QPointingDevice.PointerType.Eraser
        if kind == QEvent.Type.TabletPress:
            self.press(at, event.button(), eraser, pressure)
        elif kind == QEvent.Type.TabletMove:
            self.move(at, pressure)
        elif kind == QEvent.Type.TabletRelease:
            self.release(event.button())
        event.accept()  # no synthesized mouse events on top of the pen's

    def wants_key(self, event: QKeyEvent) -> bool:
        """Keys the canvas takes before any window shortcut (ShortcutOverride)."""
        return is_undo(event) or is_redo(event) or event.key() == Qt.Key.Key_Space

    def key(self, event: QKeyEvent, pressed: bool) -> bool:
        """Undo, redo and Space-to-pan; False for keys that are not the mask's."""
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space = pressed
                cursor = Qt.CursorShape.OpenHandCursor if pressed else Qt.CursorShape.CrossCursor
                self._canvas.setCursor(cursor)
            return True
        if pressed and is_redo(event):
            self.layer.redo()
            return True
        if pressed and is_undo(event):
            self.layer.undo()
            return True
        return False
