"""Create's model list: what the model folders hold, in every part of Create that offers
a model.

The folders are listed on a thread (gui/library_scanner.py) and watched for files added
or removed (gui/model_folders_watch.py). Each listing fills the model and VAE pickers,
the X/Y/Z plot's model axis, the embeddings menu, the ControlNet picker and the note on
files that cannot be used; a rescan of the same folders says what changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, SignalInstance
from PySide6.QtWidgets import QComboBox

from engine.library.detect import ModelKind, SdFamily
from gui.bindings import Binding
from gui.control_section import ControlSection
from gui.fast_section import TinyDecoderRow
from gui.library_scanner import LibraryListing, LibraryScanner
from gui.model_choices import SCANNING, fill_models, fill_vaes, first_usable
from gui.model_folders_watch import ModelFoldersWatch, what_changed
from gui.prompt_section import PromptSection
from gui.unusable_models import UnusableNote
from gui.viewmodels.create import CreateViewModel
from gui.xyz_section import XyzSection


class ModelListPanel(Protocol):
    """What the model list uses of the Create panel (CreatePanel has it all; typed here
    so that this module does not import the panel that imports it)."""

    vm: CreateViewModel
    listing: LibraryListing  # the last listing shown; the panel's other parts read it
    model_box: QComboBox
    vae_box: QComboBox
    model_binding: Binding
    vae_binding: Binding
    xyz: XyzSection
    tiny_decoder: TinyDecoderRow
    prompt_section: PromptSection
    control: ControlSection
    unusable_note: UnusableNote
    models_listed: SignalInstance
    models_changed: SignalInstance
    notice: SignalInstance

    @property
    def model_path(self) -> str: ...

    def select_model(self, path: str) -> None: ...

    def chosen_family(self) -> SdFamily | None: ...


class ModelList(QObject):
    """Lists the panel's model folders and shows what they hold; lists them again when
    they change (or the window comes back to the front)."""

    def __init__(self, panel: ModelListPanel, parent: QObject) -> None:
        super().__init__(parent)  # the panel: the scanner's answer never outlives it
        self.panel = panel
        self.scanner = LibraryScanner(self)
        self.scanner.scanned.connect(self.show_listing)
        self.folder_watch = ModelFoldersWatch(self)
        self.folder_watch.rescan.connect(self.rescan)
        self._folders: list[Path] = []
        self._select_after_scan = ""
        self._announce = False  # whether the scan under way should say what changed

    def scan(self, folders: list[Path], select: str = "", announce: bool = False) -> None:
        """List the checkpoints in the folders, on a thread; `select` once they arrive."""
        self._folders, self._announce = list(folders), announce
        self._select_after_scan = select or self.panel.model_path
        if self.panel.model_box.count() == 0:
            self.panel.model_box.setPlaceholderText(SCANNING)
        self.scanner.scan(folders)

    def rescan(self) -> None:
        """The same folders again (they changed, or the window is back in front)."""
        self.scan(self._folders, self.panel.model_path, announce=True)

    def show_listing(self, listing: LibraryListing) -> None:
        """A scan's answer, everywhere Create offers a model."""
        panel, before = self.panel, self.panel.listing
        change = what_changed(before.entries, listing.entries) if self._announce else ""
        same = (
            self._announce and listing.entries == before.entries and listing.hashes == before.hashes
        )
        panel.listing = listing
        panel.vm.set_library(listing.entries)
        panel.xyz.set_library(listing.entries)
        panel.vm.fast.set_folders(self._folders)
        panel.tiny_decoder.refresh()
        self.folder_watch.watch(listing.folders)
        panel.prompt_section.set_embedding_names(_embedding_names(listing))
        if not same:  # a focus rescan that found nothing new leaves the pickers alone
            self._fill_pickers(listing)
        panel.models_listed.emit()
        if change:
            panel.notice.emit(change)
            panel.models_changed.emit()

    def _fill_pickers(self, listing: LibraryListing) -> None:
        panel = self.panel
        fill_vaes(panel.vae_box, listing)
        panel.vae_binding.show()
        panel.control.set_models(listing.entries, panel.chosen_family())
        self._fill_models(listing, self._select_after_scan)
        panel.unusable_note.show_entries(listing.entries)

    def _fill_models(self, listing: LibraryListing, select: str) -> None:
        panel = self.panel
        usable = fill_models(panel.model_box, listing)
        if select:
            panel.select_model(select)
        elif usable:
            panel.model_box.setCurrentIndex(first_usable(panel.model_box))
        else:
            panel.vm.model.set("")


def _embedding_names(listing: LibraryListing) -> list[str]:
    """The textual-inversion embeddings the prompt's menu offers (the usable ones)."""
    return [e.name for e in listing.entries if e.kind is ModelKind.EMBEDDING and not e.problem]
