"""Create's control section (issue 22): the real widgets choose units and an IP-Adapter,
and the request the view-model builds says exactly that, with literal values; the
images' sha256 is read on Generate (hashlib is the oracle); a recipe reused restores
every unit; the pickers list the control files, greyed for another family."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QImage

from engine.api.errors import BadInput
from engine.api.image_parts import ControlUnit, IpAdapter
from engine.api.kinds import Family
from engine.api.parts import ImageRef, ModelRef
from engine.library.detect import Detected, ModelKind, SdFamily
from engine.library.scan import SINGLE_FILE, LibraryEntry
from gui.control_models import CONTROLNET, IP_ADAPTER, T2I_ADAPTER, kind_by_name
from gui.library_scanner import LibraryListing


def write_png(path: Path, width: int = 64, height: int = 48, shade: int = 90) -> Path:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor(shade, 120, 200))
    path.parent.mkdir(parents=True, exist_ok=True)
    assert image.save(str(path))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def entry(path: Path, family: SdFamily | None, kind=ModelKind.UNKNOWN) -> LibraryEntry:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return LibraryEntry(path, kind, Detected(kind, family), SINGLE_FILE, 0)


@pytest.fixture
def models(tmp_path) -> dict[str, Path]:
    root = tmp_path / "models"
    return {
        "checkpoint": root / "Stable-diffusion" / "dream.safetensors",
        "canny": root / "ControlNet" / "control_v11p_sd15_canny.safetensors",
        "depth": root / "ControlNet" / "control_v11f1p_sd15_depth.safetensors",
        "xl": root / "ControlNet" / "controlnet-canny-sdxl.safetensors",
        "ip": root / "ipadapter" / "ip-adapter_sd15.safetensors",
        "lora": root / "Lora" / "style.safetensors",
    }


@pytest.fixture
def panel(qtbot, tmp_path, models):
    from gui.create_panel import CreatePanel

    panel = CreatePanel()
    qtbot.addWidget(panel)
    entries = [
        entry(models["checkpoint"], SdFamily.SD1, ModelKind.CHECKPOINT),
        entry(models["canny"], SdFamily.SD1),
        entry(models["depth"], None),
        entry(models["xl"], SdFamily.SDXL),
        entry(models["ip"], SdFamily.SD1),
        entry(models["lora"], SdFamily.SD1, ModelKind.LORA),
    ]
    panel.models.show_listing(LibraryListing(entries, {}))
    panel.vm.model.set(str(models["checkpoint"]))
    return panel


def combo_to(box, text: str) -> None:
    index = box.findText(text)
    assert index >= 0, text
    box.setCurrentIndex(index)


def test_the_section_is_collapsed_and_adds_nothing_by_default(panel):
    assert not panel.control.toggle.isChecked() and not panel.control.body.isVisible()
    request = panel.build_request()
    assert request.control == () and request.ip_adapters == ()


def test_the_pickers_list_control_files_greyed_for_another_family(panel, models):
    box = panel.control.units[0].model_box
    titles = [box.itemText(i) for i in range(box.count())]
    assert titles == [
        "control_v11p_sd15_canny · ControlNet · SD 1.x",
        "control_v11f1p_sd15_depth · ControlNet",
        "controlnet-canny-sdxl · ControlNet · SDXL — made for SDXL; the checkpoint is SD 1.x",
    ]
    assert [box.model().item(i).isEnabled() for i in range(3)] == [True, True, False]
    ip = panel.control.ip.model_box
    assert [ip.itemText(i) for i in range(ip.count())] == ["ip-adapter_sd15 · IP-Adapter · SD 1.x"]


def test_kinds_by_file_and_folder_name():
    assert kind_by_name(Path("/m/ControlNet/foo.safetensors")) == CONTROLNET
    assert kind_by_name(Path("/m/x/t2iadapter_canny_sd15v2.pth")) == T2I_ADAPTER
    assert kind_by_name(Path("/m/models/ipadapter/plus.bin")) == IP_ADAPTER
    assert kind_by_name(Path("/m/Stable-diffusion/dream.safetensors")) is None


def test_two_units_and_an_ip_adapter_become_the_requests_parts(panel, models, tmp_path, qtbot):
    edges, pose, style = (
        write_png(tmp_path / "in" / f"{name}.png", shade=shade)
        for name, shade in (("edges", 10), ("pose", 20), ("style", 30))
    )
    section = panel.control
    first, second = section.units[0], section.units[1]
    first.picker.field.set(str(edges))  # as Open… does
    assert first.isChecked()  # an image turns its unit on
    combo_to(first.model_box, "control_v11p_sd15_canny · ControlNet · SD 1.x")
    combo_to(first.preprocessor, "Canny edges")
    first.settings.boxes["low"].setValue(50)
    first.weight.setValue(0.8)
    first.end.setValue(0.6)
    combo_to(first.mode, "My prompt is more important")
    section.add_button.click()
    assert second.isVisibleTo(section.body) and not section.units[2].isVisibleTo(section.body)
    second.picker.field.set(str(pose))
    combo_to(second.model_box, "control_v11f1p_sd15_depth · ControlNet")
    combo_to(second.resize, "Resize and fill")
    section.ip.setChecked(True)
    combo_to(section.ip.model_box, "ip-adapter_sd15 · IP-Adapter · SD 1.x")
    section.ip.picker.field.set(str(style))
    section.ip.weight.setValue(0.5)

    request = panel.build_request()
    assert request.control == (
        ControlUnit(
            model=ModelRef(Family.SD, str(models["canny"])),
            image=ImageRef(str(edges), sha256(edges)),
            weight=0.8,
            start=0.0,
            end=0.6,
            preprocessor="canny",
            settings=(("low", 50.0), ("high", 200.0)),
            mode="prompt",
            resize_mode="crop-and-resize",
        ),
        ControlUnit(
            model=ModelRef(Family.SD, str(models["depth"])),
            image=ImageRef(str(pose), sha256(pose)),
            resize_mode="resize-and-fill",
        ),
    )
    assert request.ip_adapters == (
        IpAdapter(ModelRef(Family.SD, str(models["ip"])), ImageRef(str(style), sha256(style)), 0.5),
    )
    request.validate()
    second.setChecked(False)  # off: not in the request
    assert len(panel.build_request().control) == 1


def test_the_hash_is_read_on_generate_not_when_the_image_is_chosen(panel, models, tmp_path):
    image = write_png(tmp_path / "map.png")
    unit = panel.vm.control.units[0]
    unit.image.set(str(image))
    unit.model.set(str(models["canny"]))
    write_png(image, shade=200)  # changed after it was chosen: Generate reads it now
    assert panel.build_request().control[0].image == ImageRef(str(image), sha256(image))


def test_a_unit_without_a_model_or_image_is_a_sentence(panel, models):
    unit = panel.vm.control.units[0]
    unit.enabled.set(True)
    with pytest.raises(BadInput, match="Control unit 1 has no model: choose one"):
        panel.build_request()
    unit.model.set(str(models["canny"]))
    with pytest.raises(BadInput, match="Control unit 1 has no control image"):
        panel.build_request()


def test_removing_a_unit_moves_the_next_one_up(panel, models, tmp_path):
    vm = panel.vm.control
    a, b = write_png(tmp_path / "a.png"), write_png(tmp_path / "b.png")
    vm.units[0].image.set(str(a))
    vm.add_unit()
    vm.units[1].image.set(str(b))
    vm.units[1].model.set(str(models["depth"]))
    panel.control.units[0].remove_button.click()
    assert vm.shown.value == 1 and vm.units[0].image.value == str(b)
    assert panel.control.units[0].model_box.currentData() == str(models["depth"])
    assert vm.units[1].image.value == "" and not vm.units[1].enabled.value


def test_reuse_restores_every_unit_and_the_ip_adapter(panel, models, tmp_path, qtbot):
    edges, style = write_png(tmp_path / "edges.png"), write_png(tmp_path / "style.png")
    units = (
        ControlUnit(
            ModelRef(Family.SD, str(models["canny"])),
            ImageRef(str(edges), sha256(edges)),
            weight=1.5,
            start=0.1,
            end=0.9,
            preprocessor="canny",
            settings=(("low", 10.0), ("high", 20.0)),
            mode="control",
            resize_mode="just-resize",
        ),
        ControlUnit(
            ModelRef(Family.SD, str(models["depth"])), ImageRef(str(tmp_path / "gone.png"), "ab")
        ),
    )
    adapter = IpAdapter(ModelRef(Family.SD, str(models["ip"])), ImageRef(str(style), ""), 0.7)
    recipe = panel.build_request()
    recipe = type(recipe)(**{**recipe.__dict__, "control": units, "ip_adapters": (adapter,)})
    with qtbot.waitSignal(panel.notice) as said:
        panel.apply_request(recipe, 5)
    assert "Control unit 2's image" in said.args[0] and "is missing" in said.args[0]
    section = panel.control
    assert section.toggle.isChecked() and section.units[1].isVisibleTo(section)
    assert not section.units[2].isVisibleTo(section)
    first = section.units[0]
    assert first.isChecked() and first.preprocessor.currentText() == "Canny edges"
    assert first.settings.boxes["low"].value() == 10 and first.weight.value() == 1.5
    assert first.mode.currentText() == "ControlNet is more important"
    assert first.picker.name.text().startswith("edges.png")
    assert section.ip.isChecked() and section.ip.weight.value() == 0.7
    write_png(tmp_path / "gone.png")  # the missing image is back: the same request again
    panel.vm.control.units[1].image.set("")
    panel.vm.control.units[1].image.set(str(tmp_path / "gone.png"))
    rebuilt = panel.build_request()
    assert rebuilt.control[0] == units[0]
    assert rebuilt.ip_adapters == (
        IpAdapter(adapter.model, ImageRef(str(style), sha256(style)), 0.7),
    )


def test_an_image_dropped_on_a_unit_is_its_control_image(panel, tmp_path):
    image = write_png(tmp_path / "drop.png")
    picker = panel.control.units[0].picker
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(image))])
    enter = QDragEnterEvent(
        QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.NoModifier
    )
    assert picker.drops.eventFilter(picker, enter)
    drop = QDropEvent(
        QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.NoModifier
    )
    assert picker.drops.eventFilter(picker, drop)
    assert panel.vm.control.units[0].image.value == str(image)
    assert panel.source.picture is None  # not Create's source


def test_send_to_control_image_fills_the_first_free_unit(qtbot, window, tmp_path):
    from gui.send_menu import send_to_menu

    menu = send_to_menu(window, lambda _kind: None)
    assert [a.text() for a in menu.actions()] == ["Image to image", "Inpaint", "Control image"]
    first, second = write_png(tmp_path / "a.png"), write_png(tmp_path / "b.png")
    panel = window.create_panel
    window.gallery_panel.send_to_requested.emit(str(first), "control")
    window.details.send_to_requested.emit(str(second), "control")
    units = panel.vm.control.units
    assert [u.image.value for u in units] == [str(first), str(second), ""]
    assert panel.vm.control.shown.value == 2 and panel.control.toggle.isChecked()
    assert panel.source.picture is None  # Create's source is not touched


def test_another_tools_controlnet_text_fills_the_units_and_names_the_images(panel, models, qtbot):
    params = {
        "prompt": "a fox",
        "controlnet_0": "Module: canny, Model: control_v11p_sd15_canny [d14c016b], Weight: 0.5, "
        "Resize Mode: Just Resize, Threshold A: 90, Threshold B: 180, Guidance Start: 0, "
        "Guidance End: 1, Control Mode: Balanced",
    }
    with qtbot.waitSignal(panel.notice) as said:
        panel.apply_parameters(params)
    assert said.args[0] == (
        "Its text names the control models but not the control image of unit 1: open them "
        "in the Control section."
    )
    unit, box = panel.vm.control.units[0], panel.control.units[0]
    assert unit.model.value == str(models["canny"])  # found by its name in the folders
    assert box.isChecked() and box.weight.value() == 0.5
    assert box.settings.boxes["low"].value() == 90 and box.settings.boxes["high"].value() == 180
    assert panel.control.toggle.isChecked()


def test_an_annotator_preprocessor_takes_the_librarys_file_and_a_recipe_keeps_its_own(
    panel, models, tmp_path
):
    pose = models["checkpoint"].parent.parent / "ControlNetPreprocessor" / "openpose" / "body.pth"
    entry(pose, None)  # writes the file
    found = Detected(ModelKind.ANNOTATOR, None, "openpose")
    listed = LibraryEntry(pose, ModelKind.ANNOTATOR, found, SINGLE_FILE, 0)
    panel.control.set_models([entry(models["canny"], SdFamily.SD1), listed], SdFamily.SD1)
    box = panel.control.units[0].model_box
    titles = [box.itemText(i) for i in range(box.count())]
    assert titles == ["control_v11p_sd15_canny · ControlNet · SD 1.x"]  # the annotator is not
    unit = panel.control.vm.units[0]
    unit.model.set(str(models["canny"]))
    unit.image.set(str(write_png(tmp_path / "in" / "person.png")))
    unit.preprocessor.set("openpose")
    assert unit.unit(panel.control.vm.hashes).annotator == ModelRef(Family.SD, str(pose))
    assert unit.map_unit().annotator == ModelRef(Family.SD, str(pose))
    unit.preprocessor.set("depth")  # the library has no depth annotator: the job says so
    assert unit.unit(panel.control.vm.hashes).annotator is None
    unit.preprocessor.set("canny")
    assert unit.unit(panel.control.vm.hashes).annotator is None
    mine = str(tmp_path / "elsewhere" / "body_pose_model.pth")
    recipe = unit.unit(panel.control.vm.hashes)
    unit.apply(
        ControlUnit(
            recipe.model, recipe.image, preprocessor="openpose", annotator=ModelRef(Family.SD, mine)
        )
    )
    assert unit.unit(panel.control.vm.hashes).annotator == ModelRef(Family.SD, mine)
    unit.preprocessor.set("canny")
    unit.preprocessor.set("openpose")  # chosen again by hand: the library's file
    assert unit.unit(panel.control.vm.hashes).annotator == ModelRef(Family.SD, str(pose))
