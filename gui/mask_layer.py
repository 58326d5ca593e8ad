"""The inpainting mask the user paints: one grey byte a pixel, with undo per stroke.

255 means "repaint this pixel", 0 "keep it", grey "partly" (a soft edge). A stroke is
painted into a stroke buffer first, each dab max-combined with the ones before it, and
the buffer is then laid over the mask as it was when the stroke began: overlapping dabs
of one stroke never build up past the brush's own strength, as artists expect (Krita,
Photoshop). Painting lays the buffer on like white "over" the mask (Screen); erasing
multiplies the mask by the buffer's inverse.

Undo keeps, per step, only the changed rectangle's bytes before and after, compressed
(a mask is mostly flat, so a 2048² clear costs kilobytes), and the history is capped in
steps and bytes, so memory stays bounded whatever the user does.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QIODevice,
    QObject,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QRadialGradient

from engine.api.limits import Limit

BRUSH_SIZE = Limit("Brush size", 1, 1024)  # diameter in image pixels
BRUSH_HARDNESS = Limit("Hardness", 0.0, 1.0)
HISTORY_STEPS = 100
HISTORY_BYTES = 64 * 1024 * 1024  # compressed before+after of every kept step
SPACING = 0.25  # dab distance as a fraction of the radius: continuous even when fast
MIN_RADIUS = 0.5  # a pressure near 0 still leaves a pixel
FALLOFF_STOPS = 6  # gradient stops between the hard core and the edge
_FORMAT = QImage.Format.Format_Grayscale8
_MODE = QPainter.CompositionMode


@dataclass
class Brush:
    size: int = 48  # diameter in image pixels at full pressure
    hardness: float = 0.8  # 0..1: the share of the radius painted at full strength
    erase: bool = False


@dataclass
class _Step:
    """One undo step: the bytes of `rect` before and after, compressed."""

    rect: QRect
    before: bytes
    after: bytes

    @property
    def nbytes(self) -> int:
        return len(self.before) + len(self.after)


def _pack(image: QImage) -> bytes:
    return zlib.compress(bytes(image.constBits()), 1)


def _unpack(data: bytes, rect: QRect) -> QImage:
    raw = zlib.decompress(data)
    stride = len(raw) // rect.height()
    return QImage(raw, rect.width(), rect.height(), stride, _FORMAT).copy()


def _blank(size: QSize, value: int = 0) -> QImage:
    image = QImage(size, _FORMAT)
    image.fill(QColor(value, value, value))
    return image


def _paste(target: QImage, at: QRect, source: QImage, mode=_MODE.CompositionMode_Source) -> None:
    painter = QPainter(target)
    painter.setCompositionMode(mode)
    painter.drawImage(at.topLeft(), source)
    painter.end()


class MaskLayer(QObject):
    changed = Signal(QRect)  # image-space rectangle whose pixels changed
    history_changed = Signal()  # can_undo / can_redo may have changed

    def __init__(self, width: int, height: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.brush = Brush()
        self._mask = _blank(QSize(width, height))
        self._history: list[_Step] = []
        self._done = 0  # steps in _history that are applied (the rest can be redone)
        # The stroke in progress (None between strokes).
        self._before: QImage | None = None  # the mask as it was when the stroke began
        self._stroke = QImage()  # the stroke's coverage, max of its dabs
        self._stroke_rect = QRect()
        self._erase = False
        self._last: tuple[QPointF, float] | None = None  # the last dab and its pressure
        self._since = 0.0  # distance from the last dab to the last event

    # ------------------------------------------------------------ reading

    def size(self) -> QSize:
        return self._mask.size()

    def image(self) -> QImage:
        """A copy (shared until either side changes)."""
        return QImage(self._mask)

    def region(self, rect: QRect) -> QImage:
        """The pixels of `rect` only (the canvas's overlay reads just what changed)."""
        return self._mask.copy(rect)

    def is_empty(self) -> bool:
        width = self._mask.width()
        data, stride = bytes(self._mask.constBits()), self._mask.bytesPerLine()
        if stride == width:
            return not data.strip(b"\0")
        return not any(
            data[y * stride : y * stride + width].strip(b"\0") for y in range(self._mask.height())
        )

    def png_bytes(self) -> bytes:
        """The mask as an 8-bit grey PNG (saved beside a result with its recipe)."""
        array = QByteArray()
        buffer = QBuffer(array)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        self._mask.save(buffer, "PNG")
        buffer.close()
        return bytes(array.data())

    def history_bytes(self) -> int:
        """What the undo history holds (tests check that it stays bounded)."""
        return sum(step.nbytes for step in self._history)

    # ------------------------------------------------------------ whole-mask edits

    def set_image(self, image: QImage) -> None:
        """A mask from a file (its grey levels), scaled to fit; one undo step.

        An Alpha8 image gives its alpha: `set_image(source.convertToFormat(Format_Alpha8))`
        takes the source's transparency as the mask (opaque = 255 = repaint; invert() for
        A1111's "repaint the transparent part").
        """
        if image.format() == QImage.Format.Format_Alpha8:
            grey = image.copy()
            grey.reinterpretAsFormat(_FORMAT)  # the same bytes, read as grey
        else:
            grey = image.convertToFormat(_FORMAT)
        if grey.size() != self.size():
            grey = grey.scaled(
                self.size(),
                Qt.AspectRatioMode.IgnoreAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        self._replace(lambda mask: _paste(mask, mask.rect(), grey))

    def start_from(self, image: QImage) -> None:
        """Begin with `image` (a drawing to go on with): Undo stops there, not before."""
        self.set_image(image)
        self._history.clear()
        self._done = 0
        self.history_changed.emit()

    def clear(self) -> None:
        self._replace(lambda mask: mask.fill(QColor(0, 0, 0)))

    def fill(self) -> None:
        self._replace(lambda mask: mask.fill(QColor(255, 255, 255)))

    def invert(self) -> None:
        self._replace(lambda mask: mask.invertPixels())

    def _replace(self, edit) -> None:
        """Apply `edit` to the whole mask as one undo step."""
        self.end_stroke()
        rect = self._mask.rect()
        before = _pack(self._mask)
        edit(self._mask)
        self._push(_Step(rect, before, _pack(self._mask)))
        self.changed.emit(rect)

    # ------------------------------------------------------------ strokes

    def begin_stroke(self, at: QPointF, pressure: float = 1.0, erase: bool | None = None) -> None:
        """Start a stroke at `at` (image coordinates); erase=None follows the brush."""
        self.end_stroke()
        self._before = self._mask.copy()
        if self._stroke.size() != self.size():
            self._stroke = _blank(self.size())
        else:
            self._stroke.fill(QColor(0, 0, 0))
        self._stroke_rect = QRect()
        self._erase = self.brush.erase if erase is None else erase
        self._last, self._since = (at, pressure), 0.0
        self._apply(self._dab(at, pressure))

    def stroke_to(self, at: QPointF, pressure: float = 1.0) -> None:
        """Continue the stroke: dabs every quarter radius from the last one to `at`."""
        if self._last is None:
            self.begin_stroke(at, pressure)
            return
        start, start_pressure = self._last
        length = math.hypot(at.x() - start.x(), at.y() - start.y())
        dirty, done = QRect(), -self._since  # where the last dab was along this segment
        while length > 0:
            t = max(0.0, done / length)
            here = start_pressure + (pressure - start_pressure) * t
            spacing = max(MIN_RADIUS, self._radius(here) * SPACING)
            if done + spacing > length:
                break
            done += spacing
            t = done / length
            dab_pressure = start_pressure + (pressure - start_pressure) * t
            dirty |= self._dab(start + (at - start) * t, dab_pressure)
        self._since = length - done
        self._last = (at, pressure)
        self._apply(dirty)

    def end_stroke(self) -> None:
        """The stroke becomes one undo step (its rectangle's bytes before and after)."""
        if self._before is None:
            return
        rect = self._stroke_rect
        if rect.isValid():
            before = _pack(self._before.copy(rect))
            self._push(_Step(rect, before, _pack(self._mask.copy(rect))))
        self._before, self._last = None, None

    def _radius(self, pressure: float) -> float:
        return max(MIN_RADIUS, self.brush.size / 2 * max(0.0, min(1.0, pressure)))

    def _dab(self, centre: QPointF, pressure: float) -> QRect:
        """Max-combine one round dab into the stroke buffer; the rectangle it touched."""
        radius = self._radius(pressure)
        box = QRectF(centre.x() - radius, centre.y() - radius, 2 * radius, 2 * radius)
        rect = box.toAlignedRect() & self._stroke.rect()
        if rect.isEmpty():
            return QRect()
        painter = QPainter(self._stroke)
        painter.setCompositionMode(_MODE.CompositionMode_Lighten)  # max with what is there
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(self._gradient(centre, radius)))
        painter.drawRect(box)
        painter.end()
        return rect

    def _gradient(self, centre: QPointF, radius: float) -> QRadialGradient:
        """Full strength to hardness × radius, then a smooth fall to 0 at the radius.

        At least one pixel of fall is kept so that even a fully hard dab is antialiased;
        the gradient pads black outside, which Lighten leaves alone.
        """
        core = min(BRUSH_HARDNESS.high, max(0.0, self.brush.hardness), 1 - 1 / max(radius, 1.0))
        gradient = QRadialGradient(centre, radius)
        gradient.setColorAt(0.0, QColor(255, 255, 255))
        for i in range(FALLOFF_STOPS + 1):
            t = i / FALLOFF_STOPS
            level = round(255 * (1 - t * t * (3 - 2 * t)))  # smoothstep: no visible ring
            gradient.setColorAt(core + (1 - core) * t, QColor(level, level, level))
        return gradient

    def _apply(self, rect: QRect) -> None:
        """Recompose `rect` of the mask from its state before the stroke and the buffer."""
        if not rect.isValid() or self._before is None:
            return
        self._stroke_rect |= rect
        coverage = self._stroke.copy(rect)
        if self._erase:
            coverage.invertPixels()  # mask × (1 − coverage)
        _paste(self._mask, rect, self._before.copy(rect))
        mode = _MODE.CompositionMode_Multiply if self._erase else _MODE.CompositionMode_Screen
        _paste(self._mask, rect, coverage, mode)
        self.changed.emit(rect)

    # ------------------------------------------------------------ history

    def can_undo(self) -> bool:
        return self._done > 0

    def can_redo(self) -> bool:
        return self._done < len(self._history)

    def undo(self) -> None:
        self.end_stroke()
        if self.can_undo():
            self._done -= 1
            step = self._history[self._done]
            self._restore(step.rect, step.before)

    def redo(self) -> None:
        self.end_stroke()
        if self.can_redo():
            step = self._history[self._done]
            self._done += 1
            self._restore(step.rect, step.after)

    def _restore(self, rect: QRect, data: bytes) -> None:
        _paste(self._mask, rect, _unpack(data, rect))
        self.changed.emit(rect)
        self.history_changed.emit()

    def _push(self, step: _Step) -> None:
        del self._history[self._done :]  # a new edit drops what could be redone
        self._history.append(step)
        total = self.history_bytes()
        while len(self._history) > 1 and (
            len(self._history) > HISTORY_STEPS or total > HISTORY_BYTES
        ):
            total -= self._history.pop(0).nbytes
        self._done = len(self._history)
        self.history_changed.emit()
