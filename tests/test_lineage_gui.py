"""The details dock's lineage row (issue 24): parents and children as thumbnails,
fetched off the GUI thread; a deleted parent is a grey tile and the dock still shows;
clicking a tile opens that picture; Show family searches the gallery for it."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QToolButton

from engine.store import GalleryStore
from gui.details_panel import DetailsPanel
from tests.opened import wait_opened
from tests.test_lineage import img2img, text_to_image, upscale


@pytest.fixture
def chain(tmp_path: Path):
    store = GalleryStore.opened(tmp_path / "out")
    first = text_to_image(store)
    middle = upscale(store, first)
    last = img2img(store, middle)
    yield store, first, middle, last
    store.close()


def _shown(panel: DetailsPanel, qtbot, path: Path) -> list[QToolButton]:
    panel.show_metadata(panel_store(panel).metadata(path))
    qtbot.waitUntil(lambda: panel.lineage.lineage is not None, timeout=5_000)
    return panel.lineage.findChildren(QToolButton)


def panel_store(panel: DetailsPanel) -> GalleryStore:
    return panel.store  # set by the fixture below


@pytest.fixture
def panel(qtbot, chain):
    store = chain[0]
    panel = DetailsPanel()
    panel.store = store
    panel.lineage.set_source(store.lineage, lambda: store.root)
    qtbot.addWidget(panel)
    panel.show()
    yield panel
    panel.lineage.close_fetcher()


def test_the_middle_picture_shows_both_ways(panel, qtbot, chain) -> None:
    _store, first, middle, last = chain
    tiles = _shown(panel, qtbot, middle)
    assert [t.objectName() for t in tiles] == ["lineage-present", "lineage-present"]
    assert not tiles[0].icon().isNull() and not tiles[1].icon().isNull()  # thumbnails
    assert panel.lineage.isVisible()
    assert [r.path for r in panel.lineage.lineage.parents] == [first]
    assert [r.path for r in panel.lineage.lineage.children] == [last]
    with qtbot.waitSignal(panel.lineage.open_requested) as opened:
        tiles[0].click()
    assert opened.args == [str(first)]
    with qtbot.waitSignal(panel.lineage.family_requested) as family:
        panel.lineage.family_button.click()
    assert family.args == [f'family:"{middle.relative_to(chain[0].root).as_posix()}"']
    assert {i.path for i in chain[0].search(family.args[0])} == {first, middle, last}


def test_a_deleted_parent_is_a_grey_tile_and_the_dock_still_shows(panel, qtbot, chain, trash):
    store, _first, middle, last = chain
    store.delete(middle)
    tiles = _shown(panel, qtbot, last)
    assert [t.objectName() for t in tiles] == ["lineage-deleted"]
    assert middle.name[:10] in tiles[0].text() and "deleted" in tiles[0].text()
    assert not tiles[0].isEnabled()
    assert ("Prompt", "a fox, oil") in panel.rows()  # the rest of the dock is there


def test_a_changed_parent_says_so(panel, qtbot, chain) -> None:
    _store, first, middle, _last = chain
    first.write_bytes(middle.read_bytes())  # other bytes under the parent's name
    tiles = _shown(panel, qtbot, middle)
    assert tiles[0].objectName() == "lineage-changed"
    assert "changed since" in tiles[0].text() and tiles[0].isEnabled()


def test_a_picture_passed_over_never_shows_its_answer(panel, qtbot, chain) -> None:
    store, first, middle, last = chain
    panel.show_metadata(store.metadata(first))
    panel.show_metadata(store.metadata(last))  # before first's answer came
    qtbot.waitUntil(lambda: panel.lineage.lineage is not None, timeout=5_000)
    panel.lineage.wait()
    qtbot.wait(50)
    assert panel.lineage.lineage.path == last.resolve()
    panel.show_metadata(None)
    assert not panel.lineage.isVisible()


def test_in_the_window_a_tile_selects_its_picture_and_family_filters(window, qtbot) -> None:
    store = window.client.gallery
    first = text_to_image(store)
    middle = upscale(store, first)
    window.gallery_panel.refresh()
    window.open_image(str(middle))
    wait_opened(qtbot, window, middle)
    qtbot.waitUntil(lambda: window.details.lineage.lineage is not None, timeout=5_000)
    window.details.lineage.findChildren(QToolButton)[0].click()
    qtbot.waitUntil(lambda: window.view.shown_file == str(first), timeout=5_000)
    assert window.gallery_panel.current_path() == str(first)
    row = window.details.lineage
    qtbot.waitUntil(lambda: row.lineage is not None and bool(row.lineage.children), timeout=5_000)
    row.family_button.click()
    assert window.gallery_panel.query == f'family:"{first.relative_to(store.root).as_posix()}"'
    qtbot.waitUntil(lambda: window.gallery_panel.model.rowCount() == 2, timeout=5_000)
