"""What the GUI may ask of an engine, whichever runs: `Engine`, its `Gallery`, its `Catalogue`.

The GUI is typed against these protocols alone; gui.app is the one place that picks an
implementation (today engine.local_engine.LocalEngine, threads in this process). A
remote engine is one more class with these members, sending events as engine.api.wire
writes them. Each protocol lists exactly what the GUI calls today, nothing more:
tests/test_engine_interface.py checks LocalEngine against them member by member.
Torch-free; the only Qt types are the engine's signal and its job handles.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import SignalInstance

from engine.api.catalogue import CatalogueEntry
from engine.api.kinds import Lane
from engine.api.parts import ImageRef
from engine.api.requests import Request
from engine.handle import JobHandle
from engine.store import GalleryItem, ImageMetadata, Trashed


class Gallery(Protocol):
    """The saved images: what the gallery grid, the details and Undo read and write."""

    root: Path  # the output folder
    notice: str | None  # something the user should hear about the gallery, once

    def items(self, limit: int | None = None, offset: int = 0) -> list[GalleryItem]: ...
    def count(self) -> int: ...
    def metadata(self, path: Path) -> ImageMetadata: ...
    def delete(self, path: Path) -> Trashed: ...
    def undelete(self, trashed: Trashed) -> Path: ...
    def keep_input(self, data: bytes) -> ImageRef: ...
    def sync(
        self,
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> object: ...


class Catalogue(Protocol):
    """The models an engine can run, as the Lab and Upscale lists show them."""

    def lab_models(self) -> list[CatalogueEntry]: ...
    def upscaler_models(self, folders: list[Path]) -> list[CatalogueEntry]: ...
    def user_models_dir(self) -> Path: ...


class Engine(Protocol):
    """Runs requests as jobs and says how they go: every engine.api.events event (and
    DeviceInfo) arrives on `event`, on the GUI thread."""

    event: SignalInstance
    catalogue: Catalogue

    @property
    def gallery(self) -> Gallery: ...

    def start(self) -> None: ...
    def shutdown(self, timeout_ms: int = 10_000) -> bool: ...

    def submit(self, request: Request, replace_key: str | None = None) -> JobHandle: ...
    def cancel(self, job_id: int) -> None: ...
    def stop(self, job_id: int) -> None: ...
    def pause(self, job_id: int) -> None: ...
    def resume(self, job_id: int) -> None: ...
    def cancel_running(
        self, lanes: tuple[Lane, ...] = (Lane.GENERATE, Lane.INTERACTIVE)
    ) -> list[int]: ...

    def set_output_dir(self, output_dir: Path) -> None: ...
    def set_device_preference(self, preference: str) -> None: ...
