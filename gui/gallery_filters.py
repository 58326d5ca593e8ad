"""The row of filter widgets under the gallery's search field: mode, stars, board,
other tools' pictures, and More… (model, seed, size, dates).

They edit the query text (gui/query_edit.py): each adds, replaces or removes its own
token, so the text stays the single truth, is searched as typed and survives a restart
with the saved query. Typing a token moves the widget; a value the widget has no item
for (stars:<3, a board not listed yet) is shown as typed.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMenu,
    QToolButton,
    QWidget,
    QWidgetAction,
)

from engine.store.record_fields import MODE_WORDS
from gui.query_edit import stars_admitted, value_of, with_filter

MODE_TITLES = {
    "text": "Text to image",
    "img2img": "Image to image",
    "inpaint": "Inpaint",
    "upscale": "Upscale",
    "lab": "Lab families",
    "other": "Other",
}
# (title, the stars: value) of the stars combo; None: any.
STAR_CHOICES = (
    ("Any stars", None),
    ("Unstarred", "0"),
    ("★ 1 or more", ">=1"),
    ("★ 2 or more", ">=2"),
    ("★ 3 or more", ">=3"),
    ("★ 4 or more", ">=4"),
    ("★ 5", "5"),
)
OTHER_TOOLS = ("other", "others", "foreign")  # tool: values that mean "not ours"
# (key, label, placeholder) of the More… popup's fields
MORE_FIELDS = (
    ("model", "Model", "name contains…"),
    ("seed", "Seed", "1234"),
    ("size", "Size", "512x768"),
    ("after", "From", "2026-01-31 (that day on)"),
    ("before", "Before", "2026-02-28 (not that day)"),
)


class FilterRow(QWidget):
    def __init__(self, field: QLineEdit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = field
        self.mode = _combo("mode", "Which kind of job made the picture (mode:)")
        self.mode.addItem("Any mode", None)
        for mode, title in MODE_TITLES.items():
            self.mode.addItem(title, mode)
        self.mode.activated.connect(lambda _i: self._put("mode", self.mode.currentData()))
        self.stars = _combo("stars", "Stars (stars:, starred)")
        for title, value in STAR_CHOICES:
            self.stars.addItem(title, value)
        self.stars.activated.connect(self._stars_chosen)
        self.board = _combo("board", "On a board (board:)")
        self.board.addItem("Any board", None)
        self.board.activated.connect(lambda _i: self._put("board", self.board.currentData()))
        self.other_tools = QToolButton()
        self.other_tools.setText("Other tools")
        self.other_tools.setCheckable(True)
        self.other_tools.setToolTip("Only pictures made by another tool (tool:other)")
        self.other_tools.clicked.connect(self._other_tools_clicked)
        self.more, self.more_fields = self._more_button()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.mode, self.stars, self.board, self.other_tools, self.more):
            layout.addWidget(widget)
        layout.addStretch(1)
        field.textChanged.connect(self.read)
        self.read(field.text())

    def _more_button(self) -> tuple[QToolButton, dict[str, QLineEdit]]:
        form = QWidget()
        layout = QFormLayout(form)
        fields = {}
        for key, label, placeholder in MORE_FIELDS:
            edit = QLineEdit()
            edit.setPlaceholderText(placeholder)
            edit.setToolTip(f"{key}:VALUE in the search")
            edit.editingFinished.connect(lambda k=key, e=edit: self._put(k, e.text().strip()))
            layout.addRow(label, edit)
            fields[key] = edit
        menu = QMenu(self)
        action = QWidgetAction(menu)
        action.setDefaultWidget(form)
        menu.addAction(action)
        button = QToolButton()
        button.setText("More…")
        button.setToolTip("Model, seed, size and dates")
        button.setMenu(menu)
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        return button, fields

    # ------------------------------------------------------------ text → widgets

    def read(self, text: str) -> None:
        """The widgets follow the query's tokens (programmatic: no token is written)."""
        mode = value_of(text, "mode")
        _select(self.mode, MODE_WORDS.get(mode.lower(), mode) if mode else None)
        self._read_stars(text)
        board = value_of(text, "board")
        _select(self.board, _matching(self.board, board) if board else None)
        tool = value_of(text, "tool")
        self.other_tools.setChecked(bool(tool) and tool.lower() in OTHER_TOOLS)
        shown = 0
        for key, edit in self.more_fields.items():
            value = value_of(text, key) or ""
            if edit.text().strip() != value:
                edit.setText(value)
            shown += bool(value)
        self.more.setText(f"More ({shown})…" if shown else "More…")

    def _read_stars(self, text: str) -> None:
        value = value_of(text, "stars")
        if value is None and value_of(text, "starred") is not None:
            value = ">=1"
        admitted = stars_admitted(value) if value is not None else None
        for index, (_title, choice) in enumerate(STAR_CHOICES):
            if choice is not None and admitted == stars_admitted(choice):
                self.stars.setCurrentIndex(index)
                return
        _select(self.stars, value)  # none (index 0), or as typed

    def set_boards(self, names: list[str]) -> None:
        """The boards to offer (read off the GUI thread); a typed one stays listed."""
        self.board.clear()
        self.board.addItem("Any board", None)
        for name in names:
            if '"' not in name:  # a quote cannot be typed inside board:"…"
                self.board.addItem(name, name)
        self.board.setProperty("fixed", self.board.count())
        board = value_of(self.field.text(), "board")
        _select(self.board, _matching(self.board, board) if board else None)

    # ------------------------------------------------------------ widgets → text

    def _put(self, key: str, value: str | None, replaces: tuple[str, ...] = ()) -> None:
        text = with_filter(self.field.text(), key, value or None, replaces)
        if text != self.field.text().strip():
            self.field.setText(text)

    def _stars_chosen(self, index: int) -> None:
        self._put("stars", self.stars.itemData(index), replaces=("starred",))

    def _other_tools_clicked(self, checked: bool) -> None:
        if checked:
            self._put("tool", "other")
        elif (value_of(self.field.text(), "tool") or "").lower() in OTHER_TOOLS:
            self._put("tool", None)


def _combo(key: str, tip: str) -> QComboBox:
    combo = QComboBox()
    combo.setProperty("key", key)  # typed values are titled key:value
    combo.setToolTip(tip)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    combo.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # a click keeps the focus where it was
    return combo


def _select(combo: QComboBox, value: str | None) -> None:
    """Select the item whose data is `value`, adding it (titled as typed) if missing;
    the one added for an earlier typed value goes."""
    fixed = combo.property("fixed")
    fixed = fixed if isinstance(fixed, int) else combo.count()
    combo.setProperty("fixed", fixed)
    while combo.count() > fixed:
        combo.removeItem(combo.count() - 1)
    index = combo.findData(value)
    if index < 0:
        combo.addItem(f"{combo.property('key')}:{value}", value)
        index = combo.count() - 1
    combo.setCurrentIndex(index)


def _matching(combo: QComboBox, name: str) -> str:
    """The listed board named `name` (boards compare without case), else `name`."""
    for index in range(combo.count()):
        data = combo.itemData(index)
        if isinstance(data, str) and data.casefold() == name.casefold():
            return data
    return name
