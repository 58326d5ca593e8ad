"""The virtualised gallery grid: every row counted, pages read off the GUI thread.

An index of 5,000 generated rows (no image files: the thumbnails stay placeholders)
stands for a big gallery; the oracle for which picture is on a row is the order the
rows were made in (newest first).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from PIL import Image

from engine.store import INDEX_NAME, GalleryIndex, GalleryStore, IndexRecord
from gui.gallery_model import PAGE, GalleryModel, PathRole
from gui.gallery_panel import GalleryPanel

ROWS = 5_000
READS = ("items", "search", "count", "count_search")


def big_store(root: Path, rows: int = ROWS) -> GalleryStore:
    """An index of `rows` pictures; row i was made at second i, odd ones are owls."""
    root.mkdir(parents=True, exist_ok=True)
    index = GalleryIndex(root / INDEX_NAME)
    records = [
        IndexRecord(
            path=f"d/{i:05d}.png",
            created=1_700_000_000.0 + i,
            kind="txt2img",
            prompt="an owl at dusk" if i % 2 else "a fox in the snow",
            negative_prompt="",
            model="tiny",
            seed=i,
            width=8,
            height=8,
            recipe=None,
        )
        for i in range(rows)
    ]
    for at in range(0, rows, 500):
        index.add_many(records[at : at + 500])
    index.close()
    return GalleryStore(root)


def record_reading_threads(store: GalleryStore, monkeypatch) -> list[bool]:
    """Wrap the store's reads; each call records whether it ran on the GUI thread."""
    on_gui: list[bool] = []
    for name in READS:
        real = getattr(store, name)

        def wrapped(*args, _real=real, **kwargs):
            on_gui.append(threading.current_thread() is threading.main_thread())
            return _real(*args, **kwargs)

        monkeypatch.setattr(store, name, wrapped)
    return on_gui


@pytest.fixture
def store(tmp_path: Path):
    store = big_store(tmp_path / "out")
    yield store
    store.close()


def test_every_row_is_counted_and_the_last_one_arrives(qtbot, store):
    model = GalleryModel(store)
    model.refresh()
    assert model.rowCount() == ROWS
    assert model.loaded_rows() == PAGE  # only the first page was read
    last = model.index(ROWS - 1, 0)
    assert model.data(last, PathRole) is None  # asked for, on its way
    qtbot.waitUntil(lambda: model.data(last, PathRole) is not None)
    assert Path(model.data(last, PathRole)) == store.root / "d" / "00000.png"  # the oldest
    middle = model.index(ROWS // 2, 0)
    model.data(middle, PathRole)
    qtbot.waitUntil(lambda: model.data(middle, PathRole) is not None)
    assert Path(model.data(middle, PathRole)).name == f"{ROWS - 1 - ROWS // 2:05d}.png"
    model.close_loader()


def test_a_page_for_an_older_listing_is_dropped(qtbot, store):
    model = GalleryModel(store)
    model.refresh()
    model.data(model.index(ROWS - 1, 0), PathRole)  # a page of every image is asked for
    owls = store.search("owl", limit=PAGE)
    model.show_found("owl", owls, store.count_search("owl"))
    model.wait_for_pages()
    qtbot.wait(50)  # the old answer, if any, is delivered now
    assert model.rowCount() == ROWS // 2
    assert model.loaded_rows() == PAGE
    last = model.index(ROWS // 2 - 1, 0)
    model.data(last, PathRole)
    qtbot.waitUntil(lambda: model.data(last, PathRole) is not None)
    assert Path(model.data(last, PathRole)).name == "00001.png"  # the oldest owl
    model.close_loader()


def test_scrolling_and_searching_never_read_the_index_on_the_gui_thread(qtbot, store, monkeypatch):
    on_gui = record_reading_threads(store, monkeypatch)
    panel = GalleryPanel(store)
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    qtbot.waitExposed(panel)
    panel.relist()  # what a sync or a change of stars does
    qtbot.waitUntil(lambda: panel.model.rowCount() == ROWS)
    bar = panel.view.verticalScrollBar()
    for value in range(0, bar.maximum() + 1, max(1, bar.maximum() // 25)):
        bar.setValue(value)
        qtbot.wait(5)
    bar.setValue(bar.maximum())
    bottom = panel.model.index(ROWS - 1, 0)
    qtbot.waitUntil(lambda: panel.model.data(bottom, PathRole) is not None)

    panel.search_bar.field.setText("owl")  # typed: searched once typing pauses
    qtbot.waitUntil(lambda: panel.model.rowCount() == ROWS // 2)
    bar.setValue(bar.maximum())
    owl = panel.model.index(ROWS // 2 - 1, 0)
    qtbot.waitUntil(lambda: panel.model.data(owl, PathRole) is not None)
    panel.search_bar.field.setText("")
    qtbot.waitUntil(lambda: panel.model.rowCount() == ROWS)

    assert len(on_gui) >= 6 and not any(on_gui)
    panel.close_loader()


def test_forgetting_rows_keeps_the_rows_after_them_in_place(qtbot, store):
    model = GalleryModel(store)
    model.refresh()
    second_page = model.index(PAGE + 5, 0)
    model.data(second_page, PathRole)
    qtbot.waitUntil(lambda: model.data(second_page, PathRole) is not None)
    before = [model.data(model.index(r, 0), PathRole) for r in range(2 * PAGE)]
    gone = [before[3], before[PAGE + 1]]
    model.forget(gone)
    assert model.rowCount() == ROWS - 2
    after = [model.data(model.index(r, 0), PathRole) for r in range(2 * PAGE - 2)]
    expected = [p for p in before if p not in gone]
    assert after[:PAGE] == expected[:PAGE]
    # The short page after it is read again (a page must start at a multiple of PAGE).
    assert after[PAGE:] == [None] * (PAGE - 2)
    model.close_loader()


def write_png(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), "red").save(path)
    return path


def test_pictures_added_and_removed_outside_appear_and_go_without_a_rebuild(
    qtbot, tmp_path, monkeypatch
):
    store = GalleryStore(tmp_path / "out")
    kept = write_png(store.root / "2026-01-01" / "kept.png")
    panel = GalleryPanel(store)
    qtbot.addWidget(panel)
    panel.sync()
    qtbot.waitUntil(lambda: panel.model.row_of(str(kept)) is not None)
    qtbot.waitUntil(lambda: str(kept.parent) in panel.watcher.directories())
    on_gui = record_reading_threads(store, monkeypatch)

    added = write_png(kept.parent / "added.png")
    panel.watcher.directoryChanged.emit(str(kept.parent))  # as the watcher does
    qtbot.waitUntil(lambda: panel.model.row_of(str(added)) is not None)
    assert panel.model.rowCount() == 2

    os.remove(kept)
    panel.watcher.directoryChanged.emit(str(kept.parent))
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1)
    assert panel.model.row_of(str(kept)) is None and panel.model.row_of(str(added)) == 0
    assert on_gui and not any(on_gui)  # re-listed off the GUI thread
    panel.close_loader()
    store.close()
