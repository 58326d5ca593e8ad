"""Create's control section state (issue 22): up to three ControlNet / T2I-Adapter units
and one IP-Adapter, as fields the widgets bind to (gui/control_section.py).

The request's `control` and `ip_adapters` parts come from here. Files are touched only
when a request is built (a click on Generate): each image's sha256 is read then (and
kept per path, size and time, so a second Generate does not read it again).
"""

from __future__ import annotations

from pathlib import Path

from engine.api.control_settings import full_settings, settings_of
from engine.api.errors import BadInput
from engine.api.image_parts import ControlUnit, IpAdapter
from engine.api.kinds import Family
from engine.api.parts import ImageRef, ModelRef
from engine.api.requests import Txt2ImgRequest
from engine.hashing import file_sha256
from gui.viewmodels.fields import FormModel, text

UNITS_SHOWN = 3  # units Create shows at most (the request takes limits.CONTROL_UNITS)
_REMEMBERED = ("weight", "start", "end", "preprocessor", "mode", "resize_mode")


class Hashes:
    """sha256 of image files, read on Generate, kept while the file is unchanged."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, int, int], str] = {}

    def ref(self, path: str, what: str) -> ImageRef:
        try:
            stat = Path(path).stat()
        except OSError as exc:
            raise BadInput(f"{what} {path} cannot be read: {exc.strerror}.") from exc
        key = (path, stat.st_size, stat.st_mtime_ns)
        if key not in self._known:
            self._known[key] = file_sha256(Path(path))
        return ImageRef(path, self._known[key])


class ControlUnitViewModel(FormModel):
    """One unit: its model (a file or folder path), control image (a file path) and
    options. `values` keeps every preprocessor setting typed, by name, so switching
    preprocessors and back shows the same numbers."""

    def __init__(self, number: int, annotators: dict[str, str] | None = None) -> None:
        super().__init__()
        self.number = number  # 1, 2, 3: as the section titles it
        # The library's annotator file per preprocessor (shared by the units); a
        # recipe's own file, when it names one, wins while its preprocessor stays.
        self.annotators = annotators if annotators is not None else {}
        self.annotator = self.field("", text)
        self.enabled = self.field(False, bool)
        self.model = self.field("", text)
        self.image = self.field("", text)
        self.preprocessor = self.field("none", text)
        self.weight = self.field(1.0, float)
        self.start = self.field(0.0, float)
        self.end = self.field(1.0, float)
        self.mode = self.field("balanced", text)
        self.resize_mode = self.field("crop-and-resize", text)
        self.values: dict[str, float] = {}
        self.settings_changed = self.field(0, int)  # a tick: the settings' widgets follow
        self.image.changed.connect(lambda path: path and self.enabled.set(True))
        self.preprocessor.changed.connect(lambda _name: self.annotator.set(""))

    def annotator_ref(self) -> ModelRef | None:
        """The annotator file the unit's preprocessor runs (None: it needs none, or the
        library has none, and the engine's sentence says which file to get)."""
        path = self.annotator.value or self.annotators.get(self.preprocessor.value)
        return ModelRef(Family.SD, path) if path else None

    def setting(self, name: str) -> float:
        for setting in settings_of(self.preprocessor.value):
            if setting.name == name:
                return self.values.get(name, setting.default)
        return self.values.get(name, 0.0)

    def set_setting(self, name: str, value: float) -> None:
        if self.values.get(name) != value:
            self.values[name] = float(value)
            self.settings_changed.set(self.settings_changed.value + 1)

    def unit(self, hashes: Hashes) -> ControlUnit:
        title = f"Control unit {self.number}"
        if not self.model.value:
            raise BadInput(f"{title} has no model: choose one, or turn the unit off.")
        if not self.image.value:
            raise BadInput(f"{title} has no control image: open one, or turn the unit off.")
        return ControlUnit(
            model=ModelRef(Family.SD, self.model.value),
            image=hashes.ref(self.image.value, f"{title}'s image"),
            weight=round(self.weight.value, 2),
            start=round(self.start.value, 2),
            end=round(self.end.value, 2),
            preprocessor=self.preprocessor.value,
            settings=full_settings(self.preprocessor.value, self.values),
            mode=self.mode.value,
            resize_mode=self.resize_mode.value,
            annotator=self.annotator_ref(),
        )

    def map_unit(self) -> ControlUnit:
        """The unit as far as its map goes (image, preprocessor, settings, resize mode),
        for the map preview: no file is read here (the engine reads it), and the model
        may still be unchosen."""
        return ControlUnit(
            model=ModelRef(Family.SD, self.model.value),
            image=ImageRef(self.image.value, ""),
            preprocessor=self.preprocessor.value,
            settings=full_settings(self.preprocessor.value, self.values),
            resize_mode=self.resize_mode.value,
            annotator=self.annotator_ref(),
        )

    def apply(self, unit: ControlUnit | None) -> None:
        """A recipe's unit (None: this unit was not in it, so it is off)."""
        self.enabled.set(unit is not None)
        if unit is None:
            return
        self.model.set(unit.model.id)
        self.image.set(unit.image.path)
        self.enabled.set(True)
        for name in _REMEMBERED:
            getattr(self, name).set(getattr(unit, name))
        for name, value in unit.settings:
            self.set_setting(name, value)
        self.annotator.set(unit.annotator.id if unit.annotator else "")


class ControlViewModel(FormModel):
    def __init__(self) -> None:
        super().__init__()
        self.annotators: dict[str, str] = {}  # preprocessor -> the library's file
        self.units = [ControlUnitViewModel(n + 1, self.annotators) for n in range(UNITS_SHOWN)]
        self.shown = self.field(1, int)  # how many units the section shows (1–3)
        self.ip_enabled = self.field(False, bool)
        self.ip_model = self.field("", text)
        self.ip_image = self.field("", text)
        self.ip_weight = self.field(1.0, float)
        self.ip_image.changed.connect(lambda path: path and self.ip_enabled.set(True))
        self.hashes = Hashes()

    def set_annotators(self, found: dict[str, str]) -> None:
        """The annotator files a library scan found, by the preprocessor each serves."""
        self.annotators.clear()
        self.annotators.update(found)

    def add_unit(self) -> bool:
        return self.shown.value < UNITS_SHOWN and self.shown.set(self.shown.value + 1)

    def remove_unit(self, index: int) -> None:
        """The unit at `index` goes; those after it move up (the last one shown resets)."""
        units = self.units
        for i in range(index, UNITS_SHOWN - 1):
            _copy(units[i + 1], units[i])
        _reset(units[-1])
        if self.shown.value > 1:
            self.shown.set(self.shown.value - 1)

    @property
    def active(self) -> list[ControlUnitViewModel]:
        return [u for u in self.units[: self.shown.value] if u.enabled.value]

    def parts(self) -> dict[str, object]:
        """The request's `control` and `ip_adapters`, only those that are on ({} none)."""
        parts: dict[str, object] = {}
        if units := tuple(u.unit(self.hashes) for u in self.active):
            parts["control"] = units
        if self.ip_enabled.value:
            parts["ip_adapters"] = (self._ip_adapter(),)
        return parts

    def _ip_adapter(self) -> IpAdapter:
        if not self.ip_model.value:
            raise BadInput("The IP-Adapter has no model: choose one, or turn it off.")
        if not self.ip_image.value:
            raise BadInput("The IP-Adapter has no image: open one, or turn it off.")
        return IpAdapter(
            ModelRef(Family.SD, self.ip_model.value),
            self.hashes.ref(self.ip_image.value, "The IP-Adapter's image"),
            round(self.ip_weight.value, 2),
        )

    def apply_request(self, request: Txt2ImgRequest) -> None:
        """Every unit and the IP-Adapter from a recipe (the images by path: the section
        shows them, and names one that is missing or changed)."""
        control = request.control[:UNITS_SHOWN]
        self.shown.set(max(1, len(control)))
        for i, unit in enumerate(self.units):
            unit.apply(control[i] if i < len(control) else None)
        adapter = request.ip_adapters[0] if request.ip_adapters else None
        self.ip_enabled.set(adapter is not None)
        if adapter is not None:
            self.ip_model.set(adapter.model.id)
            self.ip_image.set(adapter.image.path)
            self.ip_weight.set(adapter.weight)
            self.ip_enabled.set(True)

    @property
    def in_use(self) -> bool:
        return bool(self.active) or self.ip_enabled.value


def _copy(source: ControlUnitViewModel, target: ControlUnitViewModel) -> None:
    for name in ("model", "image", *_REMEMBERED, "annotator", "enabled"):  # an image alone enables
        getattr(target, name).set(getattr(source, name).value)
    target.values = dict(source.values)
    target.settings_changed.set(target.settings_changed.value + 1)


def _reset(unit: ControlUnitViewModel) -> None:
    _copy(ControlUnitViewModel(unit.number, unit.annotators), unit)
