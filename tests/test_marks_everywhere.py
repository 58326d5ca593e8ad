"""Stars (keys 0-5) and boards (B) from the grid, the canvas and the details dock
(issue 24), on the real window.

What was written is read back from the PNG's own chunk with Pillow and json, not from
the widgets or the store; the store is only monkeypatched to record which thread calls it.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QItemSelectionModel, Qt

from engine.store import GalleryStore
from gui.details_marks import BoardsRow, StarsRow
from tests.test_store import sd, txt2img_batch

PROMPTS = {"red fox in snow": 10, "blue fox at night": 20, "grey wolf": 30}


def png_marks(path: str | Path) -> dict:
    """The stars and boards the PNG itself holds ({} when it holds none)."""
    with Image.open(path) as image:
        text = image.text.get("latentstudio-library")
    return json.loads(text) if text else {}


def stars_in_png(path: str | Path) -> int:
    return png_marks(path).get("stars", 0)


@pytest.fixture
def saved(settings) -> dict[str, str]:
    paths = {}
    with GalleryStore(settings.output_dir) as store:
        for prompt, seed in PROMPTS.items():
            request = sd(prompt, seed)
            paths[prompt] = str(store.save(txt2img_batch(request)[0], request))
    return paths


@pytest.fixture
def panel(qtbot, saved, window):
    window.set_mode(window.modes.index(window.gallery_panel))
    panel = window.gallery_panel
    qtbot.waitUntil(lambda: not panel.syncer.running and panel.model.total == len(PROMPTS))
    return panel


def shown_with_marks(qtbot, window, panel, path: str) -> None:
    """Select `path` in the grid; wait until the canvas and the dock show it with its stars."""
    assert panel.select_path(path)
    qtbot.waitUntil(lambda: window.view.shown_file == path)
    qtbot.waitUntil(lambda: any(label == "Stars" for label, _v in window.details.rows()))


def control(qtbot, window, kind):
    """The dock's StarsRow or BoardsRow now shown (rows are replaced as marks arrive)."""
    found = []

    def visible() -> bool:
        found[:] = [c for c in window.details.findChildren(kind) if c.isVisible()]
        return len(found) == 1

    qtbot.waitUntil(visible)
    return found[0]


def test_keys_on_the_canvas_star_the_picture_shown(qtbot, saved, panel, window):
    wolf = saved["grey wolf"]
    shown_with_marks(qtbot, window, panel, wolf)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_4)
    qtbot.waitUntil(lambda: stars_in_png(wolf) == 4)
    qtbot.waitUntil(lambda: ("Stars", "★★★★☆") in window.details.rows())  # the dock follows
    assert all(stars_in_png(p) == 0 for p in saved.values() if p != wolf)


def test_keys_in_the_details_dock_star_the_picture_it_shows(qtbot, saved, panel, window):
    fox = saved["red fox in snow"]
    shown_with_marks(qtbot, window, panel, fox)
    window.details.setFocus()
    qtbot.keyClick(window.details, Qt.Key.Key_2)
    qtbot.waitUntil(lambda: stars_in_png(fox) == 2)
    qtbot.waitUntil(lambda: ("Stars", "★★☆☆☆") in window.details.rows())
    window.details.setFocus()
    qtbot.keyClick(window.details, Qt.Key.Key_0)
    qtbot.waitUntil(lambda: png_marks(fox).get("stars") == 0)


def test_clicking_a_star_in_the_dock_sets_it_and_the_lit_one_clears(qtbot, saved, panel, window):
    owl = saved["blue fox at night"]
    shown_with_marks(qtbot, window, panel, owl)
    qtbot.mouseClick(control(qtbot, window, StarsRow).buttons[4], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: stars_in_png(owl) == 5)
    qtbot.waitUntil(lambda: ("Stars", "★★★★★") in window.details.rows())
    lit = control(qtbot, window, StarsRow).buttons[4]
    qtbot.mouseClick(lit, Qt.MouseButton.LeftButton)  # the lit star again: none
    qtbot.waitUntil(lambda: png_marks(owl).get("stars") == 0)


def test_a_key_stars_a_selection_of_three_in_bulk(qtbot, saved, panel):
    panel.view.selectAll()
    assert len(panel.selected_paths()) == 3
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_5)
    qtbot.waitUntil(lambda: all(stars_in_png(p) == 5 for p in saved.values()))


def test_b_on_the_canvas_adds_the_shown_picture_and_the_dock_removes_it(
    qtbot, saved, panel, window, monkeypatch
):
    monkeypatch.setattr("gui.gallery_boards.ask_board", lambda boards, count, parent=None: "keep")
    wolf, fox = saved["grey wolf"], saved["red fox in snow"]
    for path in (wolf, fox):  # both on the board "keep", from the canvas
        shown_with_marks(qtbot, window, panel, path)
        window.canvas.setFocus()
        qtbot.keyClick(window.canvas, Qt.Key.Key_B)
        qtbot.waitUntil(lambda p=path: png_marks(p).get("boards") == ["keep"])
    qtbot.waitUntil(lambda: ("Boards", "keep") in window.details.rows())
    boards = control(qtbot, window, BoardsRow)
    qtbot.mouseClick(boards.buttons["keep"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: png_marks(fox).get("boards") == [])
    qtbot.waitUntil(lambda: not any(label == "Boards" for label, _v in window.details.rows()))
    assert png_marks(wolf)["boards"] == ["keep"]  # only the picture shown left it


def test_remove_from_board_on_a_selection_asks_which_board(qtbot, saved, panel, monkeypatch):
    with GalleryStore(Path(saved["grey wolf"]).parents[1]) as store:
        store.add_to_board(list(saved.values()), "night")
        store.add_to_board(list(saved.values()), "zoo")
    offered = []

    def leave(boards, count, parent=None):
        offered.append((boards, count))
        return "night"

    monkeypatch.setattr("gui.gallery_boards.ask_board_to_leave", leave)
    two = [saved["grey wolf"], saved["blue fox at night"]]
    selection = panel.view.selectionModel()
    for path in two:
        index = panel.model.index(panel.model.row_of(path), 0)
        selection.select(index, QItemSelectionModel.SelectionFlag.Select)
    action = next(a for a in panel.view.actions() if a.text() == "Remove from Board…")
    action.trigger()
    qtbot.waitUntil(lambda: all(png_marks(p)["boards"] == ["zoo"] for p in two))
    assert offered == [(["night", "zoo"], 2)]
    assert png_marks(saved["red fox in snow"])["boards"] == ["night", "zoo"]


def test_showing_a_picture_and_opening_the_board_dialog_never_read_on_the_gui_thread(
    qtbot, saved, panel, window, monkeypatch
):
    calls: list[tuple[str, bool]] = []
    store_type = type(panel.store)
    for name in ("marks", "boards"):
        real = getattr(store_type, name)

        def recorded(self, *args, _real=real, _name=name, **kwargs):
            calls.append((_name, threading.current_thread() is threading.main_thread()))
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(store_type, name, recorded)
    dialogs = []
    monkeypatch.setattr(
        "gui.gallery_boards.ask_board",
        lambda boards, count, parent=None: dialogs.append(boards) and None,
    )
    for path in (saved["red fox in snow"], saved["blue fox at night"]):
        shown_with_marks(qtbot, window, panel, path)
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_B)
    qtbot.waitUntil(lambda: len(dialogs) == 1)
    window.details.setFocus()
    qtbot.keyClick(window.details, Qt.Key.Key_B)
    qtbot.waitUntil(lambda: len(dialogs) == 2)
    assert {name for name, _gui in calls} == {"marks", "boards"}
    assert not [name for name, on_gui in calls if on_gui]
