"""The Train tab's data choice: a bundled data set or a folder of the user's images, and
the image size that goes with it.

A bundled set has its own size (shown in the size box, fixed); a folder's size is chosen.
The sets a family cannot model are greyed out, with the family's reason as their tooltip
and under the box. The panel owns the boxes; these functions keep their items right.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel

from engine.api.families import FamilySpec

DATASETS = (
    ("digits", "Handwritten digits (8×8)"),
    ("shapes", "Shapes (32×32)"),
    ("emoji", "Emoji (32×32)"),
)
FOLDER = "folder"  # the item that opens the folder dialog ("A folder of images…")
CHOSEN = "chosen-folder"  # the item of the folder picked, above it
OWN_SIZES = {"digits": 8, "shapes": 32, "emoji": 32}
FIXED = 0  # the size box's item for a bundled data set's own size
FOLDER_SIDES = (16, 32, 64)
DEFAULT_SIDE = 32


def data_box() -> QComboBox:
    """The bundled sets, then the item that opens the folder dialog."""
    box = QComboBox()
    for key, title in DATASETS:
        box.addItem(title, key)
    box.addItem("A folder of images…", FOLDER)
    return box


def size_box() -> QComboBox:
    """The sides a folder's images may be trained at."""
    box = QComboBox()
    for side in FOLDER_SIDES:
        box.addItem(f"{side}×{side}", side)
    box.setCurrentIndex(FOLDER_SIDES.index(DEFAULT_SIDE))
    return box


def show_folder(data: QComboBox, folder: str) -> None:
    """Make `folder` the current item: its own, above "A folder of images…" (which stays,
    to pick another), named by the folder with its whole path as the tooltip."""
    index = data.findData(CHOSEN)
    if index < 0:
        index = data.findData(FOLDER)
        data.insertItem(index, "", CHOSEN)
    data.setItemText(index, f"Folder: {Path(folder).name}")
    data.setItemData(index, folder, Qt.ItemDataRole.ToolTipRole)
    data.setCurrentIndex(index)


def fit_size(size: QComboBox, key: str) -> None:
    """A bundled set's own size, as a fixed item; a folder's sizes without it."""
    fixed = size.findData(FIXED)
    if key in OWN_SIZES:
        if fixed < 0:
            size.addItem("", FIXED)
            fixed = size.count() - 1
        side = OWN_SIZES[key]
        size.setItemText(fixed, f"{side}×{side} (the data set's own)")
        size.setCurrentIndex(fixed)
    elif fixed >= 0:
        size.removeItem(fixed)
        size.setCurrentIndex(size.findData(DEFAULT_SIDE))


def offer_data(data: QComboBox, note: QLabel, spec: FamilySpec) -> None:
    """Grey out the bundled sets `spec` cannot model, its reasons under the box; the
    current one, if refused, gives way to the first set."""
    refused: list[str] = []
    bundled = dict(DATASETS)
    for index in range(data.count()):
        key = data.itemData(index)
        if key not in bundled:
            continue  # a folder is judged when it is read (grey or not)
        why = spec.why_not(key)
        data.model().item(index).setEnabled(not why)
        data.setItemData(index, why or None, Qt.ItemDataRole.ToolTipRole)
        if why and why not in refused:
            refused.append(why)
    note.setText(" ".join(refused))  # the spec's sentences name the sets
    note.setVisible(bool(refused))
    if spec.why_not(data.currentData()):
        data.setCurrentIndex(data.findData(DATASETS[0][0]))


def data_file_part(key: str, folder: str, room: int) -> str:
    """The data's name as part of a model's file name: the set's key, or the folder's name
    in printable characters only, cut to `room` bytes (whole characters), so any folder
    the user picks makes a valid name."""
    name = Path(folder).name if key == CHOSEN else key
    printable = "".join(c for c in name if c.isprintable()).lstrip(".") or "folder"
    return printable.encode("utf-8", "ignore")[:room].decode("utf-8", "ignore")
