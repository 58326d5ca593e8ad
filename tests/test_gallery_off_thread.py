"""Opening the Gallery tab, delete and Undo list again off the GUI thread, and a picture
whose row is not loaded is found by asking the index (issue 24's leftovers).

The oracle for a picture's row is the order the rows were made in (newest first); the
store's reads are wrapped to record which thread made each one.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import gui.gallery_model
import gui.gallery_pages
import gui.gallery_panel
from engine.store import GalleryStore
from gui.gallery_model import PathRole
from gui.gallery_panel import GalleryPanel
from tests.test_gallery_virtual import big_store, record_reading_threads, write_png

SMALL_PAGE = 20
ROWS = 400  # twenty pages of twenty


@pytest.fixture
def small_pages(monkeypatch):
    """Pages of SMALL_PAGE rows, so a few hundred rows stand for a big gallery."""
    for module in (gui.gallery_pages, gui.gallery_model, gui.gallery_panel):
        monkeypatch.setattr(module, "PAGE", SMALL_PAGE)


def panel_of(qtbot, store: GalleryStore) -> GalleryPanel:
    panel = GalleryPanel(store)
    qtbot.addWidget(panel)
    panel.resize(600, 400)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def name_of_row(row: int, rows: int = ROWS) -> str:
    return f"{rows - 1 - row:05d}.png"  # big_store: row i made at second i, newest first


def test_opening_the_tab_lists_off_the_gui_thread_and_keeps_the_selection(
    qtbot, tmp_path, small_pages, monkeypatch
):
    store = big_store(tmp_path / "out", ROWS)
    on_gui = record_reading_threads(store, monkeypatch)
    panel = panel_of(qtbot, store)
    panel.activated()  # the Gallery tab opened
    assert panel.model.rowCount() == 0  # not read here: the answer comes
    qtbot.waitUntil(lambda: panel.model.rowCount() == ROWS)
    third = str(store.root / "d" / name_of_row(2))
    assert panel.select_path(third)  # a loaded row: selected at once
    panel.activated()  # opened again: listed again, the selection kept
    qtbot.waitUntil(lambda: panel.searcher.wait(1))
    qtbot.wait(50)  # the answer, delivered on this thread
    assert panel.current_path() == third
    assert on_gui and not any(on_gui), f"{sum(on_gui)} of {len(on_gui)} reads on the GUI thread"
    panel.close_loader()
    store.close()


def test_a_row_not_loaded_is_asked_of_the_index_and_scrolled_to(
    qtbot, tmp_path, small_pages, monkeypatch
):
    store = big_store(tmp_path / "out", ROWS)
    panel = panel_of(qtbot, store)
    panel.relist()
    qtbot.waitUntil(lambda: panel.model.rowCount() == ROWS)
    assert panel.model.loaded_rows() <= 3 * SMALL_PAGE  # the rows far down are not read
    opened: list[str] = []
    panel.current_changed.connect(opened.append)
    on_gui = record_reading_threads(store, monkeypatch)
    row_of_calls: list[bool] = []
    real = store.row_of

    def row_of(*args, **kwargs):
        row_of_calls.append(threading.current_thread() is threading.main_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "row_of", row_of)
    for row in (ROWS - 1, 257, 21):  # the oldest, one in the middle, the second page
        path = str(store.root / "d" / name_of_row(row))
        if panel.model.row_of(path) is None:
            assert not panel.select_path(path)  # asked of the index
        else:
            assert panel.select_path(path)
        qtbot.waitUntil(lambda path=path: panel.current_path() == path)
        assert panel.view.currentIndex().row() == row
        assert (
            panel.view.viewport()
            .rect()
            .intersects(panel.view.visualRect(panel.view.currentIndex()))
        )  # scrolled to
        assert opened[-1] == path  # the canvas follows, as on a click
    assert row_of_calls and not any(row_of_calls) and not any(on_gui)
    panel.close_loader()
    store.close()


def test_a_row_in_a_search_is_its_place_among_the_matches(qtbot, tmp_path, small_pages):
    store = big_store(tmp_path / "out", ROWS)
    owls = [Path(i.path).name for i in store.search("owl")]  # the oracle: the listing itself
    assert len(owls) == ROWS // 2
    assert store.row_of(store.root / "d" / owls[150], "owl") == 150
    assert store.row_of(store.root / "d" / "00000.png", "owl") is None  # a fox: not listed
    assert store.row_of(store.root / "d" / "00000.png") == ROWS - 1
    assert store.row_of(store.root / "d" / "gone.png") is None
    panel = panel_of(qtbot, store)
    panel.set_query("owl")
    qtbot.waitUntil(lambda: panel.model.rowCount() == ROWS // 2)
    missed: list[str] = []
    fox = str(store.root / "d" / "00000.png")
    assert not panel.select_path(fox, otherwise=lambda: missed.append(fox))
    qtbot.waitUntil(lambda: missed == [fox])  # not in this listing: the caller opens it
    owl = str(store.root / "d" / owls[150])
    panel.select_path(owl)
    qtbot.waitUntil(lambda: panel.current_path() == owl)
    assert panel.view.currentIndex().row() == 150
    panel.close_loader()
    store.close()


def test_delete_and_undo_list_again_off_the_gui_thread(qtbot, tmp_path, trash, monkeypatch):
    store = GalleryStore(tmp_path / "out")
    day = store.root / "2026-01-01"
    paths = [str(write_png(day / f"{n}.png")) for n in "abcd"]
    panel = panel_of(qtbot, store)
    panel.sync()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 4 and not panel.syncer.running)
    monkeypatch.setattr(gui.gallery_panel, "can_undo_delete", lambda: True)
    on_gui = record_reading_threads(store, monkeypatch)
    listed = [panel.model.data(panel.model.index(r, 0), PathRole) for r in range(4)]
    assert sorted(listed) == sorted(paths)
    assert panel.select_path(listed[1])
    trashed: list = []
    panel.deleted.connect(trashed.extend)
    panel.delete_selected()
    assert panel.current_path() == listed[2]  # the one that took its place, at once
    qtbot.waitUntil(lambda: panel.searcher.wait(1))
    qtbot.wait(50)  # the new listing, delivered on this thread
    assert panel.model.rowCount() == 3 and panel.current_path() == listed[2]
    restored = str(store.undelete(trashed[0]))  # what Undo does (gui/trash_undo.py)
    panel.refresh()
    assert not panel.select_path(restored)  # not listed yet: found once listed again
    qtbot.waitUntil(lambda: panel.current_path() == restored)
    assert panel.model.rowCount() == 4 and restored == listed[1]
    assert on_gui and not any(on_gui), f"{sum(on_gui)} of {len(on_gui)} reads on the GUI thread"
    panel.close_loader()
    store.close()
