"""A control unit's map (issue 22): shown beside its image before generating, made by
the engine (ControlMapRequest), and kept with the result in the gallery's inputs/.

Oracles: OpenCV's Canny called here on the resized grey picture; the map PNG read back
with Pillow against the map the preview request gives; hashlib on the kept file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from engine.api.errors import BadInput
from engine.api.image_parts import ControlUnit
from engine.api.kinds import Family, Lane
from engine.api.outcomes import CONTROL_MAPS_KEY, ImagesOutcome, ResultImage
from engine.api.parts import ImageRef, ModelRef, Prompt, Sampling, Size
from engine.api.requests import ControlMapRequest, Txt2ImgRequest
from engine.context import JobContext
from engine.finishing import save_result
from engine.library.annotators import annotator_problem
from engine.store import GalleryStore
from tests.upscalers import photo_like, write_png

pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

NO_MODEL = ModelRef(Family.SD, "")


def map_unit(image: Path, preprocessor: str = "none", **options) -> ControlUnit:
    return ControlUnit(NO_MODEL, ImageRef(str(image), ""), preprocessor=preprocessor, **options)


def the_map(runtime, unit: ControlUnit, width: int = 64, height: int = 64) -> np.ndarray:
    outcome = runtime.run(ControlMapRequest(unit=unit, width=width, height=height), JobContext(1))
    assert isinstance(outcome, ImagesOutcome) and len(outcome.images) == 1
    image = outcome.images[0]
    assert image.path is None and CONTROL_MAPS_KEY not in image.info  # never saved
    return image.rgb


# ---------------------------------------------------------------- the request


def test_the_request_is_a_quiet_interactive_sd_job_checked_without_a_model(tmp_path):
    request = ControlMapRequest(unit=map_unit(tmp_path / "a.png", "canny"), width=64, height=64)
    assert request.lane is Lane.INTERACTIVE and request.family is Family.SD
    assert not request.listed and not request.saves_images and request.shows_own_failures
    request.validate()  # pure: the file is not there, and no model is chosen
    with pytest.raises(BadInput, match="multiple of"):
        ControlMapRequest(unit=request.unit, width=63, height=64).validate()
    with pytest.raises(BadInput, match="Preprocessor"):
        ControlMapRequest(unit=map_unit(tmp_path / "a.png", "sobel")).validate()
    with pytest.raises(BadInput, match="not chosen"):
        ControlMapRequest(unit=ControlUnit(NO_MODEL, ImageRef("", ""))).validate()


def test_canny_map_is_opencvs_canny_of_the_resized_grey_image(cpu_runtime, tmp_path):
    path = write_png(tmp_path / "wide.png", photo_like(96, 48, seed=4))
    unit = map_unit(path, "canny", settings=(("low", 50.0), ("high", 150.0)))
    unit = ControlUnit(**{**unit.__dict__, "resize_mode": "just-resize"})
    ours = the_map(cpu_runtime, unit, 64, 32)
    resized = np.asarray(Image.open(path).convert("RGB").resize((64, 32), Image.LANCZOS))
    edges = cv2.Canny(cv2.cvtColor(resized, cv2.COLOR_RGB2GRAY), 50, 150)
    np.testing.assert_array_equal(ours, np.repeat(edges[:, :, None], 3, axis=2))
    assert ours.any()  # a picture with edges: the test would pass on black otherwise


def test_none_gives_the_image_fitted_by_its_resize_mode(cpu_runtime, tmp_path):
    path = write_png(tmp_path / "wide.png", photo_like(96, 48, seed=4))
    cropped = the_map(cpu_runtime, map_unit(path), 64, 64)
    stretched = the_map(cpu_runtime, map_unit(path, resize_mode="just-resize"), 64, 64)
    assert cropped.shape == stretched.shape == (64, 64, 3)
    assert not np.array_equal(cropped, stretched)


def test_a_missing_annotator_is_the_sentence_that_names_its_file(cpu_runtime, tmp_path):
    path = write_png(tmp_path / "a.png", photo_like(64, 64))
    with pytest.raises(BadInput) as caught:
        the_map(cpu_runtime, map_unit(path, "depth"))
    assert caught.value.message == annotator_problem("depth", [])


# ---------------------------------------------------------------- kept with the result


def test_finishing_keeps_maps_as_inputs_and_drops_them_when_not_saved(tmp_path):
    store = GalleryStore(tmp_path / "out")
    request = Txt2ImgRequest(model=ModelRef(Family.SD, "m"), save=True)
    edges = np.zeros((8, 8, 3), np.uint8)
    edges[2:6, 3] = 255
    image = ResultImage(np.zeros((8, 8, 3), np.uint8), 1, 0, {CONTROL_MAPS_KEY: [edges]})
    saved = save_result(store, image, request)
    (kept,) = saved.info["control_maps"]
    assert CONTROL_MAPS_KEY not in saved.info and Path(kept["path"]).parent.name == "inputs"
    np.testing.assert_array_equal(np.asarray(Image.open(kept["path"]).convert("RGB")), edges)
    unsaved = save_result(None, image, request)
    assert CONTROL_MAPS_KEY not in unsaved.info and "control_maps" not in unsaved.info
    assert "_control" not in json.dumps(unsaved.png_text)


def test_a_job_with_a_control_unit_keeps_its_map_in_inputs(sd_runtime, tmp_path):
    from diffusers import ControlNetModel

    from tests.sd_original_layout import save_folder, tiny_pipeline

    pipe = tiny_pipeline("sd1", seed=3)
    checkpoint = save_folder(pipe, tmp_path / "tiny-sd1")
    ControlNetModel.from_unet(pipe.unet).save_pretrained(str(tmp_path / "cn"))
    picture = write_png(tmp_path / "pose.png", photo_like(64, 64, seed=8))
    unit = ControlUnit(
        ModelRef(Family.SD, str(tmp_path / "cn")),
        ImageRef(str(picture), ""),
        weight=0.7,
        preprocessor="canny",
        settings=(("low", 60.0), ("high", 120.0)),
    )
    request = Txt2ImgRequest(
        model=ModelRef(Family.SD, str(checkpoint)),
        prompt=Prompt("a cat", ""),
        size=Size(64, 64),
        sampling=Sampling(steps=2, seed=5),
        control=(unit,),
        save=True,
    )
    (result,) = sd_runtime.run(request, JobContext(1)).images
    (kept,) = result.info["control_maps"]
    path = Path(kept["path"])
    assert path.parent.name == "inputs" and path.parent.parent == Path(result.path).parents[1]
    assert kept["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    preview = the_map(sd_runtime, unit)
    np.testing.assert_array_equal(np.asarray(Image.open(path).convert("RGB")), preview)
    with Image.open(result.path) as png:
        recipe = json.loads(png.text["latentstudio"])
        assert CONTROL_MAPS_KEY not in " ".join(png.text.values())
    assert recipe["control_maps"] == [{"path": str(path), "sha256": kept["sha256"]}]
    assert recipe["control"][0]["map"]["sha256"] == hashlib.sha256(preview).hexdigest()


def test_the_details_list_each_control_unit(tmp_path):
    from gui.details_image_parts import image_part_rows

    units = (
        ControlUnit(ModelRef(Family.SD, "/m/control_canny.safetensors"), ImageRef("/a.png", "")),
        ControlUnit(
            ModelRef(Family.SD, "/m/depth"), ImageRef("/b.png", ""), 0.55, preprocessor="blur"
        ),
    )
    rows = dict(image_part_rows(Txt2ImgRequest(model=NO_MODEL, control=units), {}))
    assert rows["Control"] == "control_canny · none · weight 1; depth · blur · weight 0.55"
    assert "Control" not in dict(image_part_rows(Txt2ImgRequest(model=NO_MODEL), {}))


# ---------------------------------------------------------------- the thumbnail


@pytest.fixture
def create(window):
    window.create_panel.vm.width.set(64)
    window.create_panel.vm.height.set(64)
    return window.create_panel


def test_the_thumbnail_shows_the_map_and_follows_the_preprocessor(qtbot, create, tmp_path):
    path = write_png(tmp_path / "a.png", photo_like(64, 64, seed=2))
    unit, box = create.vm.control.units[0], create.control.units[0]
    unit.image.set(str(path))
    qtbot.waitUntil(lambda: _has_picture(box.preview.thumb), timeout=20000)
    first = box.preview.thumb.pixmap().toImage()
    unit.preprocessor.set("canny")
    qtbot.waitUntil(lambda: box.preview.thumb.pixmap().toImage() != first, timeout=20000)
    assert "canny" in box.preview.thumb.toolTip()
    assert box.preview.note.isHidden()
    results = create.window().results  # the map is the thumbnail's, not a result
    assert results.shown is None and not results.unsaved


def test_a_missing_annotator_is_the_thumbnails_text_not_a_box(qtbot, create, tmp_path):
    path = write_png(tmp_path / "a.png", photo_like(64, 64, seed=2))
    unit, box = create.vm.control.units[0], create.control.units[0]
    create.control.set_expanded(True)
    unit.preprocessor.set("depth")
    unit.image.set(str(path))
    sentence = annotator_problem("depth", [])
    qtbot.waitUntil(lambda: box.preview.thumb.toolTip() == sentence, timeout=20000)
    assert box.preview.note.text() == sentence and not box.preview.note.isHidden()
    assert not _has_picture(box.preview.thumb)
    assert create.window().notices.last_error is None  # no box


def test_only_the_latest_ask_is_shown(qtbot, create, tmp_path):
    path = write_png(tmp_path / "a.png", photo_like(64, 64, seed=2))
    unit, preview = create.vm.control.units[0], create.control.units[0].preview
    unit.image.set(str(path))
    asked = preview.asked
    unit.preprocessor.set("canny")
    unit.preprocessor.set("blur")  # within the pause: one ask, for blur
    assert preview.asked == asked + 2 and preview.timer.isActive()
    qtbot.waitUntil(lambda: _has_picture(preview.thumb), timeout=20000)
    assert "blur" in preview.thumb.toolTip()
    preview._answered(asked, ImagesOutcome((ResultImage(np.zeros((4, 4, 3), np.uint8), 0),)))
    assert "blur" in preview.thumb.toolTip()  # an older answer is ignored


def _has_picture(label) -> bool:
    pixmap = label.pixmap()
    return pixmap is not None and not pixmap.isNull()
