"""File → Add/Remove Source Folder: another tool's folder is listed, watched, starred
and never written; Delete on its pictures says why not; the list is kept in the settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QWidget

import gui.gallery_model
import gui.gallery_panel
from engine.store import GalleryStore
from gui.gallery_panel import GalleryPanel
from gui.gallery_sources import SourceFolderActions
from gui.settings import AppSettings
from tests.test_source_folders import build_source, snapshot

LISTED = {"00001-1234.png", "ComfyUI_00001_.png", "photo.jpg", "bomb.png"}


@pytest.fixture
def gallery(qtbot, tmp_path: Path):
    store = GalleryStore(tmp_path / "out")
    window = QWidget()
    qtbot.addWidget(window)
    panel = GalleryPanel(store, window)
    settings = AppSettings(tmp_path / "config")
    actions = SourceFolderActions(settings, panel, window)
    panel.sync()
    qtbot.waitUntil(lambda: not panel.syncer.running)
    yield panel, actions, settings
    panel.close_loader()
    store.close()


def _listed(panel: GalleryPanel) -> set[str]:
    return {Path(item.path).name for item in panel.model.store.items()} & {
        Path(panel.model.index(r, 0).data(gui.gallery_model.PathRole)).name
        for r in range(panel.model.rowCount())
    }


def _add(qtbot, panel, actions, folder: Path) -> None:
    actions.choose_folder = lambda: str(folder)
    actions.add_action.trigger()
    qtbot.waitUntil(lambda: not panel.syncer.running and panel.model.rowCount() == len(LISTED))


def test_a_source_folder_is_added_listed_watched_and_saved(qtbot, gallery, tmp_path):
    panel, actions, settings = gallery
    source = build_source(tmp_path / "comfy-output").resolve()
    assert not actions.remove_action.isEnabled()
    _add(qtbot, panel, actions, source)
    assert _listed(panel) == LISTED
    assert settings.source_folders == [source] and actions.remove_action.isEnabled()
    assert AppSettings(tmp_path / "config").source_folders == [source]  # kept on disk
    watched = set(panel.watcher.directories())
    assert {str(source), str(source / "txt2img" / "2026-01-02")} <= watched
    assert "1 source folder" in panel.status_label.text()


def test_starring_and_deleting_source_pictures_never_write_them(
    qtbot, gallery, tmp_path, monkeypatch
):
    panel, actions, _settings = gallery
    source = build_source(tmp_path / "a1111").resolve()
    _add(qtbot, panel, actions, source)
    before = snapshot(source)
    photo = str(source / "photo.jpg")
    assert panel.select_path(photo)
    panel.set_stars(4)
    qtbot.waitUntil(lambda: panel.model.store.marks(photo).stars == 4)
    monkeypatch.setattr(gui.gallery_panel, "can_undo_delete", lambda: True)
    panel.view.selectionModel().select(
        panel.model.index(panel.model.row_of(photo), 0),
        panel.view.selectionModel().SelectionFlag.ClearAndSelect,
    )
    with qtbot.waitSignal(panel.failed) as said:
        panel.delete_selected()
    assert "source folder, which Latent Studio never changes" in said.args[0]
    panel.sync()
    qtbot.waitUntil(lambda: not panel.syncer.running)
    assert panel.model.row_of(photo) is not None
    assert panel.model.store.marks(photo).stars == 4  # index only, kept by a sync
    assert snapshot(source) == before


def test_a_folder_that_cannot_be_a_source_is_refused_and_not_saved(qtbot, gallery):
    panel, actions, settings = gallery
    inside = panel.store.root / "mine"
    inside.mkdir(parents=True)
    actions.choose_folder = lambda: str(inside)
    with qtbot.waitSignal(actions.refused) as said:
        actions.add_action.trigger()
    assert "inside the output folder" in said.args[0]
    assert settings.source_folders == [] and panel.store.source_folders == ()


def test_removing_a_source_folder_unlists_it_and_keeps_its_files(qtbot, gallery, tmp_path):
    panel, actions, settings = gallery
    source = build_source(tmp_path / "invoke").resolve()
    _add(qtbot, panel, actions, source)
    before = snapshot(source)
    actions.choose_removal = lambda folders: folders[0]
    actions.remove_action.trigger()
    qtbot.waitUntil(lambda: not panel.syncer.running and panel.model.rowCount() == 0)
    assert settings.source_folders == [] and not actions.remove_action.isEnabled()
    assert snapshot(source) == before
