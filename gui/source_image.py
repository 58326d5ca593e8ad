"""Create's source and mask images as the GUI reads them: what a file holds, a note on
what the engine will convert, masks from a file or the source's alpha, and keeping a
pasted image or a painted mask in the gallery.

Each read here happens on a click (Open…, a drop, Paste, Send to, Use these parameters),
never on a mouse move; the engine reads the files again itself when it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImage, QImageReader

from engine.api.errors import BadInput
from engine.api.parts import ImageRef
from engine.hashing import file_sha256
from engine.interface import Gallery
from engine.store import StoreError

# Formats the engine converts to RGB, and what the user is told about them.
_CONVERTED = {
    QImage.Format.Format_Grayscale8: "grey",
    QImage.Format.Format_Grayscale16: "16-bit grey",
    QImage.Format.Format_Indexed8: "palette",
    QImage.Format.Format_Mono: "1-bit",
    QImage.Format.Format_RGBA64: "16-bit",
    QImage.Format.Format_RGBX64: "16-bit",
}
if hasattr(QImage.Format, "Format_CMYK8888"):  # Qt 6.8
    _CONVERTED[QImage.Format.Format_CMYK8888] = "CMYK"


@dataclass
class SourcePicture:
    """An opened source: its pixels (upright), and a note when it is not plain RGB."""

    image: QImage
    note: str = ""

    @property
    def size(self) -> tuple[int, int]:
        return self.image.width(), self.image.height()


def open_picture(path: str) -> SourcePicture:
    """The file's first frame, upright as EXIF says; BadInput when it is not an image."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    image = reader.read()
    if image.isNull():
        raise BadInput(f"{path} could not be read as an image ({reader.errorString()}).")
    notes = []
    if reader.imageCount() > 1 or reader.supportsAnimation():
        notes.append("animated: its first frame is used")
    if (kind := _CONVERTED.get(image.format())) is not None:
        notes.append(f"a {kind} image: converted to RGB")
    return SourcePicture(image, "; ".join(notes))


def picture_of(image: QImage) -> SourcePicture:
    """A picture already in memory (the clipboard, the canvas)."""
    if image.isNull():
        raise BadInput("There is no image to start from.")
    return SourcePicture(image)


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def has_alpha(image: QImage) -> bool:
    """Whether some pixel is not fully opaque (an alpha channel that says something)."""
    if not image.hasAlphaChannel():
        return False
    alpha = _grey_bytes(image.convertToFormat(QImage.Format.Format_Alpha8))
    return alpha.count(255) != len(alpha)


def alpha_mask(image: QImage) -> QImage:
    """The source's transparent part as a mask, for MaskLayer.set_image: an Alpha8 image
    (the layer takes its alpha) whose alpha is inverted, so transparent is repainted
    (255), as in Krita and A1111's inpaint upload."""
    alpha = _grey_bytes(image.convertToFormat(QImage.Format.Format_Alpha8))
    width, height = image.width(), image.height()
    inverted = alpha.translate(_INVERT)
    return QImage(inverted, width, height, width, QImage.Format.Format_Alpha8).copy()


def mask_from_file(path: str, size: tuple[int, int]) -> tuple[QImage, str]:
    """A mask file as grey (white repaints), resized to the source with a note."""
    image = open_picture(path).image.convertToFormat(QImage.Format.Format_Grayscale8)
    note = ""
    if (image.width(), image.height()) != size:
        was = f"{image.width()}×{image.height()}"
        note = f"The mask is {was}: resized to the source's {size[0]}×{size[1]}."
        image = image.scaled(*size)
    return image, note


_INVERT = bytes(255 - i for i in range(256))


def _grey_bytes(image: QImage) -> bytes:
    """An 8-bit image's pixels, row after row, without the rows' padding."""
    data, stride, width = bytes(image.constBits()), image.bytesPerLine(), image.width()
    if stride == width:
        return data[: width * image.height()]
    return b"".join(data[y * stride : y * stride + width] for y in range(image.height()))


def keep_input(gallery: Gallery, data: bytes) -> ImageRef:
    """A pasted image or a painted mask, kept in the gallery's inputs folder by content
    (the engine's Gallery.keep_input); a folder that cannot take it is a sentence."""
    try:
        return gallery.keep_input(data)
    except StoreError as exc:
        raise BadInput(exc.message) from exc


def changed_or_missing(ref: ImageRef, what: str) -> str:
    """A sentence when a recipe's image is gone or not the same picture ("" when it is)."""
    path = Path(ref.path)
    if not path.is_file():
        return f"{what} {ref.path} is missing: choose it again."
    try:
        same = not ref.sha256 or file_sha256(path) == ref.sha256
    except OSError as exc:
        return f"{what} {ref.path} cannot be read: {exc.strerror}."
    if not same:
        return (
            f"{what} {ref.path} has changed since (its sha256 differs): check it before Generate."
        )
    return ""
