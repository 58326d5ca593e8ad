"""The gallery's search field and stars on the real window (issue 24).

Pictures with recipes are saved through the store before the window opens; what a
query should find is decided here from the prompts the test wrote, not by the parser.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from engine.store import GalleryStore
from gui.gallery_model import PathRole
from tests.test_store import sd, txt2img_batch

PROMPTS = {"red fox in snow": 10, "blue fox at night": 20, "grey wolf": 30}


@pytest.fixture
def saved(settings) -> dict[str, Path]:
    """Three pictures: the prompt each was made from, and where it was saved."""
    paths = {}
    with GalleryStore(settings.output_dir) as store:
        for prompt, seed in PROMPTS.items():
            request = sd(prompt, seed)
            paths[prompt] = store.save(txt2img_batch(request)[0], request)
    return paths


def shown(panel) -> set[str]:
    model = panel.model
    return {model.index(row, 0).data(PathRole) for row in range(model.rowCount())}


def expected(saved: dict[str, Path], word: str) -> set[str]:
    return {str(path) for prompt, path in saved.items() if word in prompt.split()}


def search(qtbot, panel, text: str) -> None:
    panel.search_bar.field.setText(text)
    qtbot.waitUntil(lambda: panel.model.query == text and not panel.search_bar.problem.isVisible())


@pytest.fixture
def panel(qtbot, saved, window):
    window.set_mode(window.modes.index(window.gallery_panel))
    panel = window.gallery_panel
    qtbot.waitUntil(lambda: not panel.syncer.running and panel.model.total == len(PROMPTS))
    return panel


def test_typing_a_query_filters_the_grid(qtbot, saved, panel):
    search(qtbot, panel, "fox")
    assert shown(panel) == expected(saved, "fox") and len(shown(panel)) == 2
    assert "2 matches" in panel.status_label.text()
    search(qtbot, panel, "wolf")
    assert shown(panel) == expected(saved, "wolf")
    assert "stars:" in panel.search_bar.field.toolTip()


def test_keystrokes_search_off_the_gui_thread_and_stale_answers_are_dropped(
    qtbot, saved, panel, monkeypatch
):
    threads = []
    store = panel.store
    real = type(store).search

    def recorded(self, text, limit=None, offset=0):
        threads.append((text, threading.current_thread() is threading.main_thread()))
        return real(self, text, limit, offset)

    monkeypatch.setattr(type(store), "search", recorded)
    for typed in ("f", "fo", "fox", "fox w", "wolf"):  # as typed, faster than the pause
        panel.search_bar.field.setText(typed)
    panel.searcher.search(store, "fox", 300)  # an answer that is stale before it comes
    search(qtbot, panel, "wolf")
    panel.searcher.wait()
    qtbot.wait(50)  # let a stale answer arrive, if one were to be shown
    assert shown(panel) == expected(saved, "wolf")
    assert threads and not any(on_gui for _text, on_gui in threads)
    assert "fo" not in [text for text, _gui in threads]  # debounced: not searched


def test_a_malformed_query_shows_a_sentence_and_keeps_the_grid(qtbot, saved, panel):
    search(qtbot, panel, "fox")
    panel.search_bar.field.setText("colour:red")
    qtbot.waitUntil(panel.search_bar.problem.isVisible)
    assert "colour:" in panel.search_bar.problem.text()
    assert shown(panel) == expected(saved, "fox")
    search(qtbot, panel, "wolf")  # a good query again: the sentence goes
    assert not panel.search_bar.problem.isVisible()


def test_pressing_3_stars_the_selection(qtbot, saved, panel, window):
    wolf = str(saved["grey wolf"])
    assert panel.select_path(wolf)
    qtbot.waitUntil(lambda: ("Stars", "☆☆☆☆☆") in window.details.rows())  # read off-thread
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_3)
    qtbot.waitUntil(lambda: ("Stars", "★★★☆☆") in window.details.rows())
    assert panel.store.marks(wolf).stars == 3
    assert b"latentstudio-library" in Path(wolf).read_bytes()  # in the PNG too
    search(qtbot, panel, "stars:>=3")
    assert shown(panel) == {wolf}


def test_key_b_adds_the_selection_to_a_board_that_search_finds(qtbot, saved, panel, monkeypatch):
    asked = []

    def answer(boards, count, parent=None):
        asked.append((boards, count))
        return "keepers"

    monkeypatch.setattr("gui.gallery_boards.ask_board", answer)
    foxes = expected(saved, "fox")
    search(qtbot, panel, "fox")
    panel.view.selectAll()
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_B)
    qtbot.waitUntil(lambda: asked == [([], 2)])  # the boards are read off-thread first
    search(qtbot, panel, "board:keepers")
    assert shown(panel) == foxes
    assert panel.store.boards() == ["keepers"]


def test_deleting_while_searching_selects_a_picture_still_there(qtbot, saved, panel):
    search(qtbot, panel, "fox")
    first = panel.model.index(0, 0).data(PathRole)
    panel.view.setCurrentIndex(panel.model.index(0, 0))
    panel.delete_selected()
    assert first not in shown(panel)
    assert panel.current_path() in expected(saved, "fox") - {first}
    qtbot.waitUntil(lambda: panel.model.total == 1)
    assert shown(panel) == expected(saved, "fox") - {first}


def test_the_query_is_back_after_a_restart(qtbot, saved, settings, trash):
    from gui.app import create_main_window

    first = create_main_window(settings)
    qtbot.addWidget(first)
    search(qtbot, first.gallery_panel, "wolf")
    first.close_now()
    second = create_main_window(settings)
    qtbot.addWidget(second)
    panel = second.gallery_panel
    assert panel.query == "wolf"
    qtbot.waitUntil(lambda: panel.model.query == "wolf", timeout=20_000)
    assert shown(panel) == expected(saved, "wolf")
    second.close_now()


def test_the_board_dialog_offers_the_boards_and_takes_a_new_name(qtbot):
    from gui.gallery_boards import BoardDialog

    dialog = BoardDialog(["keepers", "rejects"], 3)
    qtbot.addWidget(dialog)
    names = dialog.names
    assert [names.itemText(i) for i in range(names.count())] == ["keepers", "rejects"]
    assert dialog.name == ""
    names.setCurrentText("  my picks ")
    assert dialog.name == "my picks"
