"""PNG Info without side effects (issue 24), on the real window: a picture dropped from
anywhere is shown with its parameters, Create unchanged; *Use these parameters* is a
separate step, all or in part, and names what it could not use.

The pictures are built here as A1111 and ComfyUI write them (tests/foreign_pictures.py);
the expected values are the literal ones written into them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication

from engine.store import metadata_from_text
from tests.foreign_pictures import A1111_TEXT, comfy_graph, png

RECIPES = Path(__file__).parent / "data" / "recipes"


def drop(widget, path: Path) -> QDropEvent:
    """A file dragged over `widget` and dropped, as a file manager does."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    where = QPointF(widget.rect().center())
    none, copy = Qt.KeyboardModifier.NoModifier, Qt.DropAction.CopyAction
    enter = QDragEnterEvent(where.toPoint(), copy, mime, Qt.MouseButton.NoButton, none)
    QGuiApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    event = QDropEvent(where, copy, mime, Qt.MouseButton.NoButton, none)
    QGuiApplication.sendEvent(widget, event)
    return event


def dropped(qtbot, window, widget, path: Path) -> dict[str, str]:
    """Drop `path` on `widget`; the details' rows once the pool thread has read it."""
    assert drop(widget, path).isAccepted()
    qtbot.waitUntil(lambda: window.shown_file == str(path), timeout=10_000)
    return dict(window.details.rows())


def use(window, title: str) -> None:
    """Choose a part from the split button's menu, as a click on it does."""
    menu = window.details.use_button.menu()
    next(a for a in menu.actions() if a.text() == title).trigger()


@pytest.fixture
def create(window):
    """Create with values of its own, which a drop must leave as they are."""
    panel = window.create_panel
    panel.prompt.setPlainText("my own prompt")
    panel.negative.setPlainText("my own negative")
    panel.steps.setValue(11)
    panel.seed.set_seed(42)
    return panel


def test_a_dropped_comfyui_picture_is_shown_and_create_is_unchanged(
    qtbot, window, create, tmp_path
):
    path = png(tmp_path / "comfy.png", {"prompt": json.dumps(comfy_graph())})
    window.set_mode(1)  # the Lab: the drop shows the picture, it does not switch to Create
    rows = dropped(qtbot, window, window.canvas, path)
    assert rows["Made by"] == "ComfyUI"
    assert rows["Prompt"] == "a lighthouse" and rows["Negative prompt"] == "fog"
    assert rows["Seed"] == "987654321012" and rows["Steps"] == "30"
    assert rows["CFG scale"] == "4.5" and rows["Sampler"] == "DPM++ 2M SDE Karras"
    assert rows["Scheduler"] == "karras" and rows["Model"] == "sdxl.safetensors"
    assert rows["Size"] == "832×1216 (the picture is 16×8)"
    assert rows["LoRAs"] == "first.safetensors (weight 0.8), second.safetensors (weight 0.35)"
    assert window.canvas.image.size().toTuple() == (16, 8)
    assert window.mode == "Latent Lab"
    assert create.prompt.toPlainText() == "my own prompt"
    assert create.negative.toPlainText() == "my own negative"
    assert (create.steps.value(), create.seed.edit.text()) == (11, "42")
    assert create.vm.source.path.value in ("", None)  # not made Create's source either


def test_prompt_only_changes_only_the_prompt(qtbot, window, create, tmp_path):
    path = png(tmp_path / "comfy.png", {"prompt": json.dumps(comfy_graph())})
    dropped(qtbot, window, window, path)  # anywhere on the window
    use(window, "Prompt only (prompt and negative)")
    assert window.mode == "Create"
    # ComfyUI keeps LoRAs in loader nodes: Create writes them as tags in the prompt.
    assert create.prompt.toPlainText() == "a lighthouse <lora:first:0.8> <lora:second:0.35>"
    assert create.negative.toPlainText() == "fog"
    assert (create.steps.value(), create.seed.edit.text()) == (11, "42")
    assert "No LoRA named first, second in the model folders" in window.statusBar().currentMessage()


def test_seed_only_changes_only_the_seed(qtbot, window, create, tmp_path):
    path = png(tmp_path / "a1111.png", {"parameters": A1111_TEXT})
    rows = dropped(qtbot, window, window.canvas, path)
    assert rows["Made by"] == "AUTOMATIC1111" and rows["Seed"] == "1234"
    assert rows["Clip skip"] == "2"  # every key of A1111's text, as before
    assert create.prompt.toPlainText() == "my own prompt"
    use(window, "Seed only")
    assert create.seed.edit.text() == "1234"
    assert create.prompt.toPlainText() == "my own prompt" and create.steps.value() == 11
    assert window.statusBar().currentMessage().startswith("Seed filled in")


def test_all_names_the_missing_model_and_the_seed_create_cannot_take(
    qtbot, window, create, tmp_path
):
    path = png(tmp_path / "comfy.png", {"prompt": json.dumps(comfy_graph())})
    dropped(qtbot, window, window.canvas, path)
    model_before = create.vm.model.value
    window.details.use_button.click()  # the button's face: all
    said = window.statusBar().currentMessage()
    assert "The model 'sdxl.safetensors' is not in the model folders" in said
    assert "The seed 987654321012 is beyond Latent Studio's 0–4294967295: not used." in said
    assert create.vm.model.value == model_before  # not guessed
    assert create.seed.edit.text() == "42"  # a seed Create cannot take is not used
    assert (create.steps.value(), create.cfg.value()) == (30, 4.5)
    assert create.sampler.currentText() == "DPM++ 2M SDE Karras"
    assert (create.width_box.value(), create.height_box.value()) == (832, 1216)


def test_an_unknown_sampler_is_named_and_all_but_the_seed_keeps_the_seed(
    qtbot, window, create, tmp_path
):
    text = "a castle\nSteps: 9, Sampler: Warp Drive, CFG scale: 3, Seed: 77, Size: 64x64"
    dropped(qtbot, window, window.canvas, png(tmp_path / "odd.png", {"parameters": text}))
    use(window, "All but the seed")
    said = window.statusBar().currentMessage()
    assert "The sampler 'Warp Drive' is not one Latent Studio has" in said
    assert "This picture does not name its model" in said
    assert create.prompt.toPlainText() == "a castle" and create.steps.value() == 9
    assert create.seed.edit.text() == "42"


def test_what_could_not_be_mapped_is_listed_with_its_raw_values(qtbot, window, tmp_path):
    path = png(tmp_path / "odd.png", {"Software": "PaintTool", "comment": "hello there"})
    rows = dropped(qtbot, window, window.canvas, path)
    assert rows["Made by"] == "another program (no parameters read)"
    assert rows["Not mapped"] == "Software, comment"
    assert "No known tool's parameters are in this picture." in rows["Notes"]
    grid = window.details.grid
    tips = [grid.itemAt(i).widget().toolTip() for i in range(grid.count())]
    assert any("comment: hello there" in t and "Software: PaintTool" in t for t in tips)
    assert not window.details.use_button.isEnabled()  # nothing to use


def test_our_own_picture_can_be_used_in_part(qtbot, window, create):
    chunks = json.loads((RECIPES / "txt2img.json").read_text(encoding="utf-8"))
    meta = metadata_from_text(chunks, 8, 8)
    window.use_parameters(meta, "prompt")
    assert create.prompt.toPlainText() == "a red fox in (snow:1.2), <lora:ink:0.7>"
    assert create.negative.toPlainText() == "blurry"
    assert (create.steps.value(), create.seed.edit.text()) == (11, "42")
    window.use_parameters(meta, "seed")
    assert create.seed.edit.text() == "1234" and create.steps.value() == 11
    create.seed.set_seed(42)
    window.use_parameters(meta, "all_but_seed")
    assert create.steps.value() == 28 and create.seed.edit.text() == "42"


def test_a_comfyui_picture_in_the_gallery_shows_what_its_graph_says(qtbot, window, settings):
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    path = png(settings.output_dir / "ComfyUI_00001_.png", {"prompt": json.dumps(comfy_graph())})
    window.open_image(str(path))  # as the gallery's selection does
    qtbot.waitUntil(lambda: dict(window.details.rows()).get("Made by") == "ComfyUI", timeout=10_000)
    rows = dict(window.details.rows())
    assert rows["Prompt"] == "a lighthouse" and rows["Seed"] == "987654321012"
    assert window.details.use_button.isEnabled()


def test_a_picture_outside_the_gallery_reopened_at_start_keeps_its_details(qtbot, window, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    path = png(tmp_path / "elsewhere" / "a1111.png", {"parameters": A1111_TEXT})
    window.open_image(str(path))  # as window_state.restore does with the last shown file
    qtbot.waitUntil(lambda: dict(window.details.rows()).get("Seed") == "1234", timeout=10_000)
    assert dict(window.details.rows())["Made by"] == "AUTOMATIC1111"


def stars_row(window):
    """The dock's StarsRow now shown (rows are replaced as what is read arrives)."""
    from gui.details_marks import StarsRow

    rows = [w for w in window.details.findChildren(StarsRow) if w.isVisibleTo(window.details)]
    return rows[-1] if rows else None


def test_a_dropped_picture_outside_the_gallery_shows_its_stars_row_disabled_saying_why(
    qtbot, window, tmp_path
):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    path = png(folder / "a1111.png", {"parameters": A1111_TEXT})
    dropped(qtbot, window, window.canvas, path)
    qtbot.waitUntil(lambda: stars_row(window) is not None, timeout=10_000)
    row = stars_row(window)
    assert not row.isEnabled()
    assert row.toolTip().startswith("Add its folder as a source folder to star it")
    assert ("Stars", "☆☆☆☆☆") in window.details.rows()
    assert window.view.marked_paths() == []  # keys 0-5 on the dock do nothing to it

    assert window.client.gallery.set_source_folders([folder]) == []
    dropped(qtbot, window, window.canvas, path)  # inside a source folder now: starrable
    qtbot.waitUntil(lambda: stars_row(window) is not None and stars_row(window).isEnabled())
    assert window.view.marked_paths() == [str(path)]
