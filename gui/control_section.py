"""Create's "Control" section (issue 22): up to three ControlNet / T2I-Adapter units and
an IP-Adapter, each with its model, image and options, in sd-webui-controlnet's words.

Collapsed by default, so text to image looks as it always did; a recipe with control
opens it. The pickers list the ControlNet-like files of the model folders
(gui/control_models.py), greyed with the reason when made for another family than the
checkpoint's. Everything the request is built from is ControlViewModel's.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.api import limits
from engine.api.control_settings import PREPROCESSOR_TITLES, settings_of
from engine.api.parts import ImageRef
from engine.api.requests import Txt2ImgRequest
from engine.library.detect import ModelKind, SdFamily
from engine.library.scan import LibraryEntry
from gui.bindings import bind_check, bind_combo, bind_spin
from gui.control_drawing import DrawingDialog, open_drawing
from gui.control_image import ImagePicker
from gui.control_map import MapPreview, Send
from gui.control_models import (
    CONTROLNET,
    IP_ADAPTER,
    NO_CONTROL_MODEL,
    NO_IP_MODEL,
    T2I_ADAPTER,
    add_path,
    control_choices,
    fill_choices,
)
from gui.source_image import changed_or_missing
from gui.source_options import RESIZE_MODES, choice_box
from gui.viewmodels.control import UNITS_SHOWN, ControlUnitViewModel, ControlViewModel
from gui.viewmodels.fields import Field
from gui.widgets import double_spin_box

CONTROL_MODES = {
    "balanced": "Balanced",
    "prompt": "My prompt is more important",
    "control": "ControlNet is more important",
}
DRAW_SIZE = (512, 512)  # a drawing's size where no output size is given
MODEL_FILES = "Models (*.safetensors *.pth *.pt *.bin *.ckpt)"


def narrow(box: QComboBox, letters: int = 12) -> QComboBox:
    """A combo as wide as the form gives it, not as its longest item (the section stays
    as narrow as the rest of Create; the list still opens wide)."""
    box.setMinimumContentsLength(letters)
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.view().setMinimumWidth(box.view().sizeHintForColumn(0))
    return box


def model_picker(field, empty: str) -> tuple[QComboBox, QHBoxLayout]:
    """A model combo bound to the path field, with a Browse… button for any file."""
    box = narrow(QComboBox())
    box.setPlaceholderText(empty)
    bind_combo(box, field, missing=lambda path: add_path(box, path))
    browse = QToolButton(text="…")
    browse.setToolTip("Choose a model file outside the model folders")

    def ask() -> None:
        path, _ = QFileDialog.getOpenFileName(box, "Choose a model file", "", MODEL_FILES)
        if path:
            field.set(str(Path(path).absolute()))

    browse.clicked.connect(ask)
    row = QHBoxLayout()
    row.addWidget(box, 1)
    row.addWidget(browse)
    return box, row


class SettingsForm(QWidget):
    """The chosen preprocessor's settings (canny's thresholds…), one spin box each."""

    def __init__(self, unit: ControlUnitViewModel) -> None:
        super().__init__()
        self.unit = unit
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.boxes: dict[str, object] = {}
        unit.preprocessor.changed.connect(self.rebuild)
        unit.settings_changed.changed.connect(self.show_values)
        self.rebuild()

    def rebuild(self, *_args: object) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.boxes = {}
        for setting in settings_of(self.unit.preprocessor.value):
            limit = limits.Limit(setting.label, setting.low, setting.high)
            box = double_spin_box(
                limit, self.unit.setting(setting.name), setting.step, setting.decimals
            )
            box.valueChanged.connect(lambda v, n=setting.name: self.unit.set_setting(n, v))
            self.boxes[setting.name] = box
            self.form.addRow(setting.label, box)
        self.setVisible(bool(self.boxes))

    def show_values(self, *_args: object) -> None:
        for name, box in self.boxes.items():
            blocked = box.blockSignals(True)
            box.setValue(self.unit.setting(name))
            box.blockSignals(blocked)


class UnitBox(QGroupBox):
    """One control unit: the box's check is its "Enable"."""

    use_result_requested = Signal()

    def __init__(self, unit: ControlUnitViewModel) -> None:
        super().__init__(f"ControlNet unit {unit.number}")
        self.unit = unit
        self.preview: MapPreview | None = None  # the map beside the image (preview_maps)
        self.setCheckable(True)
        bind_check(self, unit.enabled)
        self.model_box, model_row = model_picker(unit.model, NO_CONTROL_MODEL)
        self.picker = ImagePicker(unit.image, f"Control image of unit {unit.number}", True)
        self.picker.use_result_requested.connect(self.use_result_requested)
        self.picker.draw_requested.connect(self.draw)
        self.drawing: DrawingDialog | None = None  # the open Draw… dialog
        self.draw_size = lambda: QSize(*DRAW_SIZE)  # Create's output size (draw_at)
        self.preprocessor = choice_box(
            PREPROCESSOR_TITLES, unit.preprocessor, "What the image becomes before the model"
        )
        self.settings = SettingsForm(unit)
        self.weight = double_spin_box(limits.CONTROL_WEIGHT, unit.weight.value, 0.05, 2)
        self.start = double_spin_box(limits.CONTROL_SPAN, unit.start.value, 0.05, 2)
        self.end = double_spin_box(limits.CONTROL_SPAN, unit.end.value, 0.05, 2)
        self.start.setToolTip("The fraction of the steps where the unit starts guiding")
        self.end.setToolTip("The fraction of the steps where it stops")
        for box, field in ((self.weight, unit.weight), (self.start, unit.start)):
            bind_spin(box, field)
        bind_spin(self.end, unit.end)
        self.mode = choice_box(CONTROL_MODES, unit.mode, "sd-webui-controlnet's control mode")
        self.resize = choice_box(
            RESIZE_MODES, unit.resize_mode, "How the control image becomes the output size"
        )
        for box in (self.preprocessor, self.mode, self.resize):
            narrow(box)
        self.remove_button = QPushButton("Remove")
        span = QHBoxLayout()
        span.addWidget(self.start, 1)
        span.addWidget(QLabel("to"))
        span.addWidget(self.end, 1)
        form = QFormLayout()
        form.addRow("Model", model_row)
        form.addRow("Preprocessor", self.preprocessor)
        form.addRow(self.settings)
        form.addRow("Weight", self.weight)
        form.addRow("Steps", span)
        form.addRow("Control mode", self.mode)
        form.addRow("Resize mode", self.resize)
        layout = QVBoxLayout(self)
        layout.addWidget(self.picker)
        layout.addLayout(form)
        layout.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignRight)

    def draw(self) -> None:
        self.drawing = open_drawing(self, self.unit.image, self.draw_size())
        self.drawing.finished.connect(self._drawing_closed)

    def _drawing_closed(self) -> None:
        self.drawing = None  # the dialog deletes itself on close


class IpAdapterBox(QGroupBox):
    use_result_requested = Signal()

    def __init__(self, vm: ControlViewModel) -> None:
        super().__init__("IP-Adapter")
        self.setCheckable(True)
        bind_check(self, vm.ip_enabled)
        self.model_box, model_row = model_picker(vm.ip_model, NO_IP_MODEL)
        self.picker = ImagePicker(vm.ip_image, "IP-Adapter image")
        self.picker.use_result_requested.connect(self.use_result_requested)
        self.weight = double_spin_box(limits.IP_ADAPTER_WEIGHT, vm.ip_weight.value, 0.05, 2)
        bind_spin(self.weight, vm.ip_weight)
        form = QFormLayout()
        form.addRow("Model", model_row)
        form.addRow("Weight", self.weight)
        layout = QVBoxLayout(self)
        layout.addWidget(self.picker)
        layout.addLayout(form)


class ControlSection(QWidget):
    notice = Signal(str)
    use_result_requested = Signal(object)  # the image field to fill with the canvas's file

    def __init__(self, vm: ControlViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        self.toggle = QToolButton(text="Control (ControlNet, IP-Adapter)", checkable=True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setStyleSheet("QToolButton { border: none; font-weight: bold; }")
        self.toggle.toggled.connect(self.set_expanded)
        self.units = [UnitBox(unit) for unit in vm.units]
        self.add_button = QPushButton("Add a unit")
        self.add_button.clicked.connect(vm.add_unit)
        self.ip = IpAdapterBox(vm)
        self.ip.use_result_requested.connect(lambda: self.use_result_requested.emit(vm.ip_image))
        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        for index, box in enumerate(self.units):
            box.remove_button.clicked.connect(lambda _=False, i=index: vm.remove_unit(i))
            box.use_result_requested.connect(
                lambda f=box.unit.image: self.use_result_requested.emit(f)
            )
            body.addWidget(box)
        body.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)
        body.addWidget(self.ip)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle)
        layout.addWidget(self.body)
        vm.shown.changed.connect(self._show_units)
        self._show_units()
        self.set_expanded(False)

    def set_expanded(self, expanded: bool) -> None:
        self.toggle.setChecked(expanded)
        arrow = Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow
        self.toggle.setArrowType(arrow)
        self.body.setVisible(expanded)

    def _show_units(self, *_args: object) -> None:
        shown = self.vm.shown.value
        for index, box in enumerate(self.units):
            box.setVisible(index < shown)
            box.remove_button.setVisible(shown > 1)
        self.add_button.setVisible(shown < UNITS_SHOWN)

    def preview_maps(self, width: Field, height: Field, send: Send) -> None:
        """Show each unit's control map beside its image, made by the engine at the
        output size (`width`, `height`) through `send` (gui/control_map.py)."""
        for box in self.units:
            box.preview = MapPreview(box.unit, width, height, send)
            box.picker.add_beside(box.preview.thumb)
            box.layout().insertWidget(1, box.preview.note)

    def draw_at(self, width: Field, height: Field) -> None:
        """Draw… starts a blank drawing of the output size (`width` × `height`)."""
        for box in self.units:
            box.draw_size = lambda: QSize(width.value, height.value)

    def set_models(self, entries: list[LibraryEntry], family: SdFamily | None) -> None:
        """Fill the pickers from a library scan, for the checkpoint's family."""
        self.vm.set_annotators(
            {e.detected.variant: str(e.path) for e in entries if e.kind is ModelKind.ANNOTATOR}
        )
        units = control_choices(entries, (CONTROLNET, T2I_ADAPTER), family)
        for box in self.units:
            fill_choices(box.model_box, units, NO_CONTROL_MODEL)
            _show_field(box.model_box, box.unit.model)
        adapters = control_choices(entries, (IP_ADAPTER,), family)
        fill_choices(self.ip.model_box, adapters, NO_IP_MODEL)
        _show_field(self.ip.model_box, self.vm.ip_model)

    def send_image(self, path: str) -> None:
        """ "Send to → Control image": the first shown unit without an image (or a new
        one, or the first) takes it."""
        vm = self.vm
        empty = [u for u in vm.units[: vm.shown.value] if not u.image.value]
        if not empty and vm.add_unit():
            empty = [vm.units[vm.shown.value - 1]]
        (empty or vm.units)[0].image.set(path)
        self.set_expanded(True)

    def reopen(self, request: Txt2ImgRequest) -> list[str]:
        """After the view-model took a recipe: open the section when it has control, and
        a sentence for each image that is missing or changed."""
        refs: list[tuple[ImageRef, str]] = [
            (unit.image, f"Control unit {i + 1}'s image") for i, unit in enumerate(request.control)
        ]
        refs += [(a.image, "The IP-Adapter's image") for a in request.ip_adapters]
        if refs:
            self.set_expanded(True)
        return [p for ref, what in refs if ref.path and (p := changed_or_missing(ref, what))]


def _show_field(box: QComboBox, field) -> None:
    """After a refill, the combo shows the field's model again (or adds it)."""
    if field.value:
        index = box.findData(field.value)
        if index < 0:
            index = add_path(box, field.value)
        blocked = box.blockSignals(True)
        box.setCurrentIndex(index)
        box.blockSignals(blocked)
        if index >= 0 and box.itemData(index) != field.value:  # a recipe's name, found
            field.set(box.itemData(index))
