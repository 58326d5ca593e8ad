"""The Upscale model picker: resamplers, bundled upscalers and the user's files, and what
opening a user's file said about it (its architecture and factor, or why it cannot be used)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from PySide6.QtCore import Qt

from engine.api.catalogue import CatalogueEntry, is_resampler
from engine.api.parts import ModelRef
from engine.api.requests import DescribeModelRequest
from gui.upscale.factor import limit_choices

DEFAULT_MODEL = "lite-x4"  # the bundled ×4 upscaler, when it is installed


class ModelPickerMixin:
    """UpscalePanel's model box (a mixin: the panel owns the widgets)."""

    def scan_models(self, folders: list[Path], select: str = "") -> None:
        """Fill the picker: resamplers, bundled upscalers, files in the models folders."""
        current = select or (self.model.id if self.model else "")
        self._entries = self.catalogue.upscaler_models(folders)
        self.model_box.blockSignals(True)
        self.model_box.clear()
        for entry in self._entries:
            self.model_box.addItem(entry.title, entry.ref)
            tip = "Plain resampling, no model" if is_resampler(entry.ref) else str(entry.path)
            if entry.about:  # a bundled model says what it is for (lite-x4-gan: sharper)
                tip = f"{entry.about}\n{tip}"
            self.model_box.setItemData(self.model_box.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        ids = [e.ref.id for e in self._entries]
        models = [e.ref.id for e in self._entries if not is_resampler(e.ref)]
        # By default the bundled ×4 model (×4 is what most upscale to), another, or Lanczos.
        for wanted in (current, DEFAULT_MODEL, *models[:1], ids[0]):
            if wanted in ids:
                self.model_box.setCurrentIndex(ids.index(wanted))
                break
        self.model_box.blockSignals(False)
        self._model_changed()

    @property
    def upscaler_entries(self) -> list[CatalogueEntry]:
        """What the picker lists (Create's hires fix offers the same)."""
        return list(self._entries)

    @property
    def model(self) -> ModelRef | None:
        return self.model_box.currentData()

    def select_model(self, model_id: str) -> bool:
        index = next((i for i, e in enumerate(self._entries) if e.ref.id == model_id), -1)
        if index >= 0:
            self.model_box.setCurrentIndex(index)
        return index >= 0

    def _model_changed(self, *_args: object) -> None:
        model = self.model
        resampler = model is None or is_resampler(model)
        entry = None if model is None else self._entries[self.model_box.currentIndex()]
        if entry is not None and not resampler and not entry.bundled:
            self._describe(entry)
        own = None if resampler else self._own_factor(entry)
        self.own_scale.setText(f"Model's own (×{own})" if own else "Model's own")
        self.own_scale.setEnabled(not resampler)
        self.own_scale.setToolTip(
            "Lanczos and Bicubic have no factor of their own"
            if resampler
            else "The factor the model was trained for, without any resize after it"
        )
        if resampler and self.own_scale.isChecked():
            self.x2.setChecked(True)
        limit_choices(own, {2.0: self.x2, 4.0: self.x4}, self.own_scale, self.factor)
        problem = self._described.get(model.id) if model is not None else None
        self.model_note.setText(problem if isinstance(problem, str) else "")
        self.model_note.setVisible(isinstance(problem, str))

    def own_factor(self) -> int | None:
        """The chosen model's own factor, when known (None for a resampler)."""
        model = self.model
        if model is None or is_resampler(model):
            return None
        return self._own_factor(self._entries[self.model_box.currentIndex()])

    def _own_factor(self, entry: CatalogueEntry | None) -> int | None:
        described = self._described.get(entry.ref.id) if entry is not None else None
        if isinstance(described, tuple):
            return described[1]
        return _own_factor(entry) if entry is not None else None

    def _describe(self, entry: CatalogueEntry) -> None:
        """Ask the engine what a user's file is (spandrel reads its tensors); the answer
        names the picker's item "4x-UltraSharp · ×4 ESRGAN"."""
        if entry.ref.id not in self._described:
            self.submit_requested.emit(DescribeModelRequest(model=entry.ref))

    def _described_as(self, model_id: str, answer: tuple[str, int] | str) -> None:
        self._described[model_id] = answer
        index = next((i for i, e in enumerate(self._entries) if e.ref.id == model_id), -1)
        if index < 0:
            return
        entry = self._entries[index]
        if isinstance(answer, tuple):
            architecture, factor = answer
            title = f"{entry.title} · ×{factor} {architecture}"
            tip = f"{architecture}, ×{factor}\n{entry.path}"
        else:
            title, tip = f"{entry.title} · cannot be used", f"{answer}\n{entry.path}"
        self.model_box.setItemText(index, title)
        self.model_box.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
        if index == self.model_box.currentIndex():
            self._model_changed()
            if isinstance(answer, str):
                self.notice.emit(answer)


def _own_factor(entry: CatalogueEntry) -> int | None:
    """A bundled upscaler's factor, from the record beside it (None when unknown)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        record = json.loads(entry.path.with_suffix(".json").read_text(encoding="utf-8"))
        scale = record.get("config", {}).get("scale")
        return int(scale) if isinstance(scale, int | float) else None
    return None
