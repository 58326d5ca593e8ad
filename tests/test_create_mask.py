"""Create's Inpaint with the mask brush, in the real window (issue 21): the mouse paints
on the canvas over the source, Generate sends what was painted, and the canvas paints
only while it shows the source to inpaint.

The oracles are independent of the app: where a stroke lands on screen is computed here
from the fit rule (the whole picture, centred, as large as the canvas allows), the kept
mask is read back with Pillow, and the requests are the ones the window submitted.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMessageBox

from engine.api.outcomes import ImagesOutcome, ResultImage
from engine.api.requests import Txt2ImgRequest
from gui.viewmodels.source import EMPTY_MASK
from tests.test_create_source import write_png

W, H = 200, 100  # the source's size
ROW = 50  # the stroke's row, in source pixels
BRUSH = 10  # the brush's diameter, in source pixels
Left = Qt.MouseButton.LeftButton


@pytest.fixture
def settings(settings, tmp_path):
    """A model chosen before (an empty file: no job runs), picked when the folders are
    listed at the start."""
    settings.last_model = str(tmp_path / "model.safetensors")
    Path(settings.last_model).write_bytes(b"")
    return settings


@pytest.fixture
def create(qtbot, window, settings, monkeypatch, tmp_path):
    """Create with a source chosen for Inpaint, a hard 10 px brush, and every request the
    window submits recorded in `create.sent` instead of run."""
    panel = window.create_panel
    qtbot.waitUntil(lambda: panel.model_path == settings.last_model, timeout=30_000)
    panel.sent = []
    monkeypatch.setattr(
        window.submissions, "submit", lambda _panel, request: panel.sent.append(request)
    )
    assert panel.source.open_file(str(write_png(tmp_path / "src.png", W, H)))
    kind_button(panel, "Inpaint").click()
    tools = panel.source.inpaint.tools
    tools.size_box.setValue(BRUSH)
    tools.hardness_slider.setValue(100)
    yield panel
    for box in window.findChildren(QMessageBox):  # "Cannot generate" (window-modal)
        box.close()


def kind_button(panel, title: str):
    return next(b for b in panel.source.kind_buttons.buttons() if b.text() == title)


def on_screen(canvas, x: float, y: float) -> QPoint:
    """Source pixel (x, y) on the fitted canvas, from the fit rule alone."""
    scale = min(canvas.width() / W, canvas.height() / H)
    left, top = (canvas.width() - W * scale) / 2, (canvas.height() - H * scale) / 2
    return QPoint(round(left + x * scale), round(top + y * scale))


def drag(qtbot, canvas, points: list[tuple[float, float]]) -> None:
    qtbot.mousePress(canvas, Left, pos=on_screen(canvas, *points[0]))
    for point in points[1:]:
        qtbot.mouseMove(canvas, on_screen(canvas, *point))
    qtbot.mouseRelease(canvas, Left, pos=on_screen(canvas, *points[-1]))


def stroke(qtbot, canvas) -> None:
    """Left to right along ROW, from x = 40 to 160."""
    drag(qtbot, canvas, [(40 + 10 * i, ROW) for i in range(13)])


def sent_mask(window, panel) -> np.ndarray:
    """Generate; the submitted request's mask file, read with Pillow (rows × columns)."""
    window.generate()
    assert panel.sent, window.notices.last_error
    request = panel.sent[-1]
    path = Path(request.mask.image.path)
    assert request.mask.image.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    with Image.open(path) as kept:
        assert kept.mode == "L" and kept.size == (W, H)
        return np.asarray(kept)


def test_a_stroke_is_the_requests_mask_and_undo_empties_it(qtbot, window, settings, create):
    canvas = window.canvas
    assert canvas.image is create.source.picture.image  # the source, to paint on
    assert canvas.mask_layer is create.source.mask
    stroke(qtbot, canvas)
    mask = sent_mask(window, create)
    assert Path(create.sent[-1].mask.image.path).parent == settings.output_dir / "inputs"
    assert (mask[ROW, 40:161] == 255).all()  # along the stroke
    assert (mask[ROW - 2 : ROW + 3, 100] == 255).all()  # across it, inside the brush
    assert (mask[:30] == 0).all() and (mask[75:] == 0).all()  # far from it
    assert (mask[:, :30] == 0).all() and (mask[:, 171:] == 0).all()
    # Undo from the tools: the mask is empty again, and Generate is a sentence, no job.
    create.source.inpaint.tools.undo_button.click()
    sent = len(create.sent)
    assert window.generate() is None and len(create.sent) == sent
    assert window.notices.last_error == EMPTY_MASK


def test_image_to_image_takes_the_layer_off_and_a_drag_pans(qtbot, window, create):
    canvas, layer = window.canvas, create.source.mask
    stroke(qtbot, canvas)
    painted = layer.png_bytes()
    kind_button(create, "Image to image").click()
    assert canvas.mask_layer is None and canvas.image is create.source.picture.image
    assert create.source.inpaint.isHidden()
    before = canvas.image_rect()
    drag(qtbot, canvas, [(100, 20), (110, 25), (130, 30)])
    assert layer.png_bytes() == painted  # nothing painted
    assert not canvas.fitted and canvas.image_rect().x() > before.x()  # panned
    # Back to Inpaint: the source with its layer, the stroke kept.
    kind_button(create, "Inpaint").click()
    assert canvas.mask_layer is layer and layer.image().pixelColor(100, ROW).red() == 255


def result(panel, pixels: np.ndarray) -> tuple[int, Txt2ImgRequest, ImagesOutcome]:
    """A finished job's parts, as the window's results hear them."""
    return 7, panel.build_request(), ImagesOutcome((ResultImage(pixels, seed=1),))


def test_a_result_is_never_painted_on(qtbot, window, create):
    canvas, layer = window.canvas, create.source.mask
    stroke(qtbot, canvas)
    pixels = np.full((H, W, 3), 90, dtype=np.uint8)
    window.results.add(*result(create, pixels))
    assert canvas.mask_layer is None and canvas.image.size().toTuple() == (W, H)
    painted = layer.png_bytes()
    drag(qtbot, canvas, [(100, 20), (130, 30)])
    assert layer.png_bytes() == painted
    # Another mode of the window takes it off too; Inpaint clicked again paints again.
    kind_button(create, "Inpaint").click()
    assert canvas.image is create.source.picture.image and canvas.mask_layer is layer
    window.set_mode(1)
    assert canvas.mask_layer is None
    window.set_mode(0)
    assert canvas.mask_layer is layer
    assert layer.image().pixelColor(100, ROW).red() == 255  # the strokes were kept


def test_clear_takes_the_source_off_the_canvas(qtbot, window, create, tmp_path):
    canvas = window.canvas
    create.source.clear_button.click()
    assert canvas.image is None and canvas.mask_layer is None  # the placeholder
    assert not create.source.inpaint.tools.isEnabled()
    # With a result made before, Clear shows that result again.
    window.results.add(*result(create, np.zeros((30, 40, 3), dtype=np.uint8)))
    create.source.open_file(str(write_png(tmp_path / "again.png", W, H)))
    assert canvas.image is create.source.picture.image and canvas.mask_layer is not None
    create.source.clear_button.click()
    assert canvas.image.size().toTuple() == (40, 30) and canvas.mask_layer is None


def test_reuse_restores_the_painted_mask(qtbot, window, create):
    stroke(qtbot, window.canvas)
    sent = sent_mask(window, create)
    request = create.sent[-1]
    create.source.clear()
    create.reopen(request, request.sampling.seed)
    layer = create.source.mask
    restored = np.frombuffer(bytes(layer.image().constBits()), np.uint8).reshape(H, -1)[:, :W]
    assert (restored == sent).all()
    assert window.canvas.mask_layer is layer  # Inpaint again, on the canvas
    assert create.build_request() == request
