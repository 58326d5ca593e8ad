"""How a row of the Upscale list looks: the file's name, then its sizes and where its job
is; a thumbnail centred in a square so every row has the same height."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QListWidgetItem

from gui.viewmodels.upscale import EntryStatus, UpscaleEntry

THUMB = 48
FAILED_COLOUR = QColor("#ff7070")
QUIET = "color: #a8a8a8;"  # a secondary line (sizes, progress)
PathRole = Qt.ItemDataRole.UserRole  # a row's input path


def render_row(item: QListWidgetItem, entry: UpscaleEntry) -> None:
    """A row: the file's name, then its sizes and where its job is."""
    status = entry.status
    sizes = sizes_text(entry)
    line = {
        EntryStatus.WAITING: sizes,
        EntryStatus.QUEUED: f"{sizes} · queued",
        EntryStatus.RUNNING: f"{sizes} · {entry.detail}",
        EntryStatus.DONE: f"✓ {sizes}",
        EntryStatus.FAILED: "✗ failed: " + _first_sentence(entry.detail),
        EntryStatus.CANCELLED: f"{sizes} · cancelled",
    }[status]
    item.setText(f"{entry.name}\n{line.strip(' ·')}")
    item.setToolTip(f"{entry.path}\n{entry.detail}" if entry.detail else entry.path)
    failed = status is EntryStatus.FAILED
    item.setForeground(FAILED_COLOUR if failed else QColor("#e6e6e6"))


def sizes_text(entry: UpscaleEntry) -> str:
    def size(wh: tuple[int, int] | None) -> str:
        return f"{wh[0]}×{wh[1]}" if wh else ""

    if entry.result_size and entry.status is EntryStatus.DONE:
        return f"{size(entry.source_size)} → {size(entry.result_size)}".strip()
    return size(entry.source_size)


def _first_sentence(text: str) -> str:
    head = text.split(". ", 1)[0].rstrip(".")
    return head if len(head) <= 80 else head[:79] + "…"


def placeholder_icon() -> QIcon:
    pixmap = QPixmap(THUMB, THUMB)
    pixmap.fill(QColor("#303030"))
    return QIcon(pixmap)


def square_icon(image: QImage) -> QIcon:
    """The thumbnail centred in a square, so every row has the same height and indent."""
    pixmap = QPixmap(THUMB, THUMB)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.drawImage((THUMB - image.width()) // 2, (THUMB - image.height()) // 2, image)
    painter.end()
    return QIcon(pixmap)
