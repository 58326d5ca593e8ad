"""Create starting from an image (issue 21): the real widgets set a source, its options,
and the request the view-model builds says exactly that. The engine's side (drawing the
parts) is tested with the engine; here the REQUEST is the oracle, with literal values."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtTest import QTest

from engine.api.errors import BadInput
from engine.api.image_parts import Hires, Mask, Outpaint, SourceImage
from engine.api.kinds import Family
from engine.api.parts import ImageRef, ModelRef


def write_png(path: Path, width: int, height: int, alpha: bool = False) -> Path:
    image = QImage(width, height, QImage.Format.Format_ARGB32)
    image.fill(QColor(200, 80, 40, 255))
    if alpha:  # the left half transparent
        for y in range(height):
            for x in range(width // 2):
                image.setPixelColor(x, y, QColor(0, 0, 0, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    assert image.save(str(path))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def panel(qtbot, tmp_path):
    """Create on its own, with a model chosen and pasted images kept under tmp_path."""
    from engine.store.inputs import keep_input
    from gui.create_panel import CreatePanel

    panel = CreatePanel()
    qtbot.addWidget(panel)
    (tmp_path / "model.safetensors").write_bytes(b"")
    panel.vm.model.set(str(tmp_path / "model.safetensors"))
    panel.vm.source.keep = lambda data: keep_input(tmp_path / "gallery", data)
    return panel


def combo_to(box, text: str) -> None:
    index = box.findText(text)
    assert index >= 0, text
    box.setCurrentIndex(index)


def test_an_opened_file_is_the_requests_source_with_its_hash(panel, tmp_path):
    assert panel.build_request().source is None  # text to image, as before
    assert not panel.source.body.isVisible() and not panel.source.toggle.isChecked()
    source = write_png(tmp_path / "in" / "photo.png", 1023, 767)
    assert panel.source.open_file(str(source))
    panel.source.strength.spin.setValue(0.6)
    combo_to(panel.source.resize_mode, "Crop and resize")
    request = panel.build_request()
    ref = ImageRef(str(source), sha256(source))
    assert request.source == SourceImage(ref, 0.6, "crop-and-resize")
    assert request.mask is None and request.outpaint is None and request.hires is None
    request.validate()
    # The size follows the source, rounded to steps of 8, and says so.
    assert (request.size.width, request.size.height) == (1024, 768)
    assert panel.source.size_note.text().startswith("1023×767 → 1024×768")
    assert panel.source.toggle.isChecked()  # a source opens the section
    # The slider moves the same value; A1111's default strength is 0.75.
    panel.source.strength.slider.setValue(30)
    assert panel.build_request().source.strength == 0.3


def test_a_size_the_user_typed_stays(panel, tmp_path):
    panel.source.open_file(str(write_png(tmp_path / "a.png", 500, 300)))
    assert (panel.width_box.value(), panel.height_box.value()) == (504, 304)
    panel.width_box.setValue(768)
    panel.source.outpaint.left.setValue(64)  # the sides would move the source's size
    panel.vm.source.kind.set("outpaint")
    assert panel.width_box.value() == 768
    assert panel.source.size_note.text().startswith("564×300 → 768×304")
    # A new source is a new decision: its size is taken again.
    panel.vm.source.kind.set("img2img")
    panel.source.open_file(str(write_png(tmp_path / "b.png", 640, 480)))
    assert (panel.width_box.value(), panel.height_box.value()) == (640, 480)


def test_inpaint_options_map_to_the_mask_part(panel, tmp_path):
    source = write_png(tmp_path / "src.png", 64, 48)
    panel.source.open_file(str(source))
    panel.source.kind_buttons.buttons()[1].click()  # Inpaint
    assert panel.vm.source.kind.value == "inpaint" and not panel.source.inpaint.isHidden()
    with pytest.raises(BadInput, match="paint the area to repaint"):
        panel.build_request()  # an empty mask is a sentence, not a job
    mask_file = tmp_path / "mask.png"
    mask = QImage(32, 24, QImage.Format.Format_Grayscale8)  # half size: resized, with a note
    mask.fill(0)
    mask.setPixelColor(5, 5, QColor(255, 255, 255))
    mask.save(str(mask_file))
    assert panel.source.load_mask_file(str(mask_file))
    assert "resized to the source's 64×48" in panel.source.inpaint.mask_note.text()
    options = panel.source.inpaint
    options.blur.setValue(8)
    combo_to(options.mode, "Inpaint not masked")
    combo_to(options.content, "Latent noise")
    combo_to(options.area, "Only masked")
    options.padding.setValue(48)
    options.grow.setValue(-6)
    options.colour_match.setChecked(True)
    request = panel.build_request()
    kept = request.mask.image
    assert Path(kept.path).parent == tmp_path / "gallery" / "inputs"
    assert kept.sha256 == sha256(Path(kept.path))
    assert request.mask == Mask(
        kept,
        blur=8,
        mode="unmasked",
        content="latent-noise",
        area="masked",
        padding=48,
        grow=-6,
        colour_match=True,
    )
    assert QImage(kept.path).size().toTuple() == (64, 48)
    request.validate()


def test_a_mask_from_the_sources_transparency(panel, tmp_path):
    panel.source.open_file(str(write_png(tmp_path / "cut.png", 16, 8, alpha=True)))
    panel.vm.source.kind.set("inpaint")
    panel.source.mask_from_alpha()
    mask = QImage(panel.build_request().mask.image.path)
    assert mask.pixelColor(0, 0).value() == 255 and mask.pixelColor(15, 0).value() == 0


def test_outpaint_fields_and_the_aspect_button(panel, tmp_path):
    panel.source.open_file(str(write_png(tmp_path / "src.png", 400, 300)))
    panel.vm.source.kind.set("outpaint")
    out = panel.source.outpaint
    combo_to(out.aspect, "16:9")
    out.extend.click()  # 400×300 → 533×300: 133 px, split 66 + 67
    combo_to(out.fill, "Mirror (blurred)")
    out.feather.setValue(16)
    request = panel.build_request()
    assert request.outpaint == Outpaint(66, 0, 67, 0, "mirror", 16)
    assert (request.size.width, request.size.height) == (536, 304)
    request.validate()


def test_hires_fields_and_hires_disabled_with_a_source(panel, tmp_path):
    from engine.api.catalogue import upscaler_models

    hires = panel.hires
    hires.set_upscalers(upscaler_models([]))
    assert panel.build_request().hires is None
    hires.setChecked(True)
    hires.scale.setValue(1.5)
    combo_to(hires.upscaler, "Lanczos (no model)")
    hires.steps.setValue(12)
    hires.denoise.spin.setValue(0.4)
    request = panel.build_request()
    assert request.hires == Hires(1.5, 12, 0.4, ModelRef(Family.UPSCALE, "lanczos"))
    request.validate()
    panel.source.open_file(str(write_png(tmp_path / "src.png", 64, 64)))
    assert not hires.isEnabled() and "text to image" in hires.toolTip()
    assert panel.build_request().hires is None  # never sent with a source
    panel.source.clear()
    assert hires.isEnabled() and panel.build_request().hires is not None


def drop(widget, path: Path) -> QDropEvent:
    """A file dragged over the widget and dropped (Qt wants the enter first)."""
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


def test_a_file_dropped_on_the_source_section_becomes_the_source(panel, qtbot, tmp_path):
    source = write_png(tmp_path / "dropped.png", 40, 24)
    panel.show()
    assert drop(panel.source, source).isAccepted()
    assert panel.build_request().source.image.path == str(source)


def test_ctrl_v_pastes_the_clipboards_image_kept_at_generate(panel, qtbot, tmp_path):
    image = QImage(30, 20, QImage.Format.Format_RGB32)
    image.fill(QColor(10, 200, 10))
    QGuiApplication.clipboard().setImage(image)
    panel.show()
    panel.activateWindow()
    assert QTest.qWaitForWindowActive(panel)
    panel.generate_button.setFocus()
    qtbot.keyClick(panel.generate_button, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert panel.vm.source.size == (30, 20) and panel.vm.source.pending is not None
    source = panel.build_request().source.image
    assert Path(source.path).parent == tmp_path / "gallery" / "inputs"
    assert source.sha256 == sha256(Path(source.path))
    assert QImage(source.path).pixelColor(QPoint(3, 3)) == QColor(10, 200, 10)
    QGuiApplication.clipboard().setText("just words")
    assert not panel.source.paste()


def test_reuse_restores_the_source_the_mask_and_every_option(panel, tmp_path):
    from gui.create_panel import CreatePanel

    panel.source.open_file(str(write_png(tmp_path / "src.png", 64, 48)))
    panel.vm.source.kind.set("inpaint")
    mask = QImage(64, 48, QImage.Format.Format_Grayscale8)
    mask.fill(255)
    mask.save(str(tmp_path / "m.png"))
    panel.source.load_mask_file(str(tmp_path / "m.png"))
    panel.source.inpaint.blur.setValue(11)
    combo_to(panel.source.inpaint.content, "Fill")
    panel.source.strength.spin.setValue(0.55)
    request = panel.build_request()
    again = CreatePanel()
    notices: list[str] = []
    again.notice.connect(notices.append)
    again.vm.model.set(panel.vm.model.value)
    again.vm.source.keep = panel.vm.source.keep
    again.reopen(request, request.sampling.seed)
    assert not notices
    assert again.vm.source.kind.value == "inpaint" and again.source.inpaint.blur.value() == 11
    assert again.source.inpaint.content.currentText() == "Fill"
    layer = again.source.mask.image()  # the recipe's mask went into the brush's layer
    assert {layer.pixelColor(x, y).red() for x in range(64) for y in range(48)} == {255}
    assert again.build_request() == request


def test_reuse_names_a_missing_or_changed_source(panel, tmp_path):
    source = write_png(tmp_path / "src.png", 64, 48)
    panel.source.open_file(str(source))
    request = panel.build_request()
    notices: list[str] = []
    panel.notice.connect(notices.append)
    write_png(source, 64, 40)  # another picture under the same name
    panel.reopen(request, 1)
    changed = (
        f"The source image {source} has changed since (its sha256 differs): "
        "check it before Generate."
    )
    assert notices[-1] == changed
    source.unlink()
    panel.reopen(request, 1)
    assert notices[-1] == f"The source image {source} is missing: choose it again."
    assert panel.build_request().source is None  # not silently replaced by anything


def test_send_to_inpaint_from_the_gallery_menu(qtbot, window, settings):
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    image = write_png(settings.output_dir / "keeper.png", 24, 16)
    window.set_mode(2)
    gallery = window.gallery_panel
    gallery.sync()
    qtbot.waitUntil(lambda: gallery.model.rowCount() == 1, timeout=30_000)
    gallery.view.setCurrentIndex(gallery.model.index(0, 0))
    send = next(a for a in gallery.view.actions() if a.text() == "Send to")
    next(a for a in send.menu().actions() if a.text() == "Inpaint").trigger()
    create = window.create_panel
    assert window.mode == "Create"
    assert create.vm.source.kind.value == "inpaint" and create.vm.source.path.value == str(image)
    assert window.canvas.image.size().toTuple() == (24, 16)  # the source is on the canvas
    # The details dock's and the canvas's menus say the same.
    assert window.details.send_button.menu().actions()[0].text() == "Image to image"
    assert window.send_to_action in window.canvas.actions()
    # A file dropped on the canvas, from another mode, is only shown with its details
    # (PNG Info, issue 24): Create's source stays as it was.
    window.set_mode(2)
    other = write_png(settings.output_dir.parent / "elsewhere.png", 40, 32)
    assert drop(window.canvas, other).isAccepted()
    qtbot.waitUntil(lambda: window.shown_file == str(other), timeout=10_000)
    assert window.mode == "Gallery" and create.vm.source.path.value == str(image)
    assert window.canvas.image.size().toTuple() == (40, 32)
    # Dropped on Create's source section, it is the source.
    window.set_mode(0)
    assert drop(create.source, other).isAccepted()
    assert create.vm.source.path.value == str(other)
    assert create.vm.source.kind.value == "inpaint"  # the mode chosen stays
