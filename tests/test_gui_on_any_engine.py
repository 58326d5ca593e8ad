"""The real main window runs on any Engine, not only on LocalEngine.

ScriptedEngine is a second implementation of engine.interface.Engine, written here with
no torch and no threads: it answers every submitted request with Queued, Started and
Finished events that it reads from plain data through engine.api.wire, as a remote
engine would receive them. A Lab sample submitted from the window reaches it, and the
image it sends back is what the canvas shows, pixel for pixel.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QImage

from engine.api import wire
from engine.api.kinds import Family, Lane
from engine.api.parts import ModelRef
from engine.api.requests import Request, SampleRequest, request_to_dict
from engine.handle import JobHandle
from engine.interface import Catalogue, Engine, Gallery
from engine.local_engine import LocalCatalogue
from engine.store.errors import StoreError
from engine.store.lineage import Lineage
from engine.store.marks import Marks
from gui.main_window import MainWindow
from gui.settings import AppSettings
from tests.test_engine_interface import structural_problems

LAB = 1
SENT = np.random.default_rng(20).integers(0, 256, (12, 10, 3), dtype=np.uint8)


def png_data(pixels: np.ndarray) -> dict[str, str]:
    """An image as the wire carries it, written with Pillow here (not by the wire)."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return {"png": base64.b64encode(buffer.getvalue()).decode("ascii")}


class EmptyGallery:
    """A gallery that holds nothing: the scripted engine saves no files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.notice: str | None = None

    def items(self, limit: int | None = None, offset: int = 0) -> list:
        return []

    def count(self) -> int:
        return 0

    def search(self, text: str, limit: int | None = None, offset: int = 0) -> list:
        return []

    def count_search(self, text: str) -> int:
        return 0

    def row_of(self, path: Path | str, text: str = "") -> int | None:
        return None

    def set_stars(self, paths: list[Path | str], stars: int) -> None:
        raise StoreError("This engine keeps no pictures to star.")

    def add_to_board(self, paths: list[Path | str], name: str) -> None:
        raise StoreError("This engine keeps no pictures to put on a board.")

    def remove_from_board(self, paths: list[Path | str], name: str) -> None:
        raise StoreError("This engine keeps no pictures to take off a board.")

    def marks(self, path: Path | str) -> Marks:
        return Marks()

    def boards(self) -> list[str]:
        return []

    def lineage(self, path: Path | str) -> Lineage:
        return Lineage(Path(path))

    def metadata(self, path: Path) -> Any:
        raise FileNotFoundError(path)

    def delete(self, path: Path) -> Any:
        raise FileNotFoundError(path)

    def undelete(self, trashed: Any) -> Path:
        raise FileNotFoundError(trashed)

    def sync(
        self,
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        return None

    def keep_input(self, data: bytes) -> Any:
        raise StoreError("This engine keeps no input images.")

    @property
    def source_folders(self) -> tuple[Path, ...]:
        return ()

    def set_source_folders(self, folders: list[Path]) -> list[str]:
        return [f"{f}: this engine lists no other folders." for f in folders]


class ScriptedEngine(QObject):
    """Answers each request with the events a remote engine would send, read from data."""

    event = Signal(object)

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.catalogue: Catalogue = LocalCatalogue()
        self._gallery = EmptyGallery(root)
        self.received: list[Request] = []
        self.controls: list[tuple[str, int]] = []
        self.preferences: list[tuple[str, object]] = []
        self._next_id = 0
        self._handles: dict[int, JobHandle] = {}

    @property
    def gallery(self) -> Gallery:
        return self._gallery

    def start(self) -> None:
        pass

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        return True

    def submit(self, request: Request, replace_key: str | None = None) -> JobHandle:
        request.validate()
        self.received.append(request)
        self._next_id += 1
        handle = self._handles[self._next_id] = JobHandle(self, self._next_id, parent=self)
        for data in self.script(handle.job_id, request):
            # Later, as from a connection: never inside the caller's submit().
            QTimer.singleShot(0, lambda data=data: self._receive(data))
        return handle

    def script(self, job_id: int, request: Request) -> list[dict[str, Any]]:
        recipe = request_to_dict(request)
        image = {"rgb": png_data(SENT), "seed": 7, "index": 0, "info": {"device": "scripted"}}
        return [
            {"type": "Queued", "job_id": job_id, "request": recipe, "lane": request.lane.value},
            {"type": "Started", "job_id": job_id, "request": recipe},
            {
                "type": "Finished",
                "job_id": job_id,
                "outcome": {"type": "ImagesOutcome", "images": [image]},
            },
        ]

    def _receive(self, data: dict[str, Any]) -> None:
        event = wire.event_from_data(data)
        self.event.emit(event)
        handle = self._handles.get(getattr(event, "job_id", -1))
        if handle is not None:
            handle.deliver(event)

    def cancel(self, job_id: int) -> None:
        self.controls.append(("cancel", job_id))

    def stop(self, job_id: int) -> None:
        self.controls.append(("stop", job_id))

    def pause(self, job_id: int) -> None:
        self.controls.append(("pause", job_id))

    def resume(self, job_id: int) -> None:
        self.controls.append(("resume", job_id))

    def cancel_running(
        self, lanes: tuple[Lane, ...] = (Lane.GENERATE, Lane.INTERACTIVE)
    ) -> list[int]:
        return []

    def set_output_dir(self, output_dir: Path) -> None:
        self._gallery = EmptyGallery(Path(output_dir))

    def set_device_preference(self, preference: str) -> None:
        self.preferences.append(("device", preference))

    def set_offload_preference(self, offload: str) -> None:
        self.preferences.append(("offload", offload))

    def set_compile_preference(self, compile_unet: bool) -> None:
        self.preferences.append(("compile", compile_unet))

    def set_precision_preference(self, precision: str) -> None:
        self.preferences.append(("precision", precision))


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppSettings:
    monkeypatch.setenv("LATENTSTUDIO_DATA_DIR", str(tmp_path / "data"))
    settings = AppSettings(tmp_path / "config")
    settings.output_dir = tmp_path / "out"
    return settings


@pytest.fixture
def engine(tmp_path: Path) -> ScriptedEngine:
    return ScriptedEngine(tmp_path / "out")


@pytest.fixture
def window(qtbot, settings, engine):
    client: Engine = engine
    window = MainWindow(client, settings)
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close_now()


def canvas_pixels(window: MainWindow) -> np.ndarray:
    image = window.canvas.image
    assert image is not None, "the canvas shows nothing"
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(height, stride)
    return rows[:, : width * 3].reshape(height, width, 3).copy()


def test_the_scripted_engine_is_an_engine(engine) -> None:
    assert structural_problems(Engine, engine) == []


def test_a_lab_sample_reaches_the_scripted_engine_and_its_image_is_shown(qtbot, window, engine):
    window.set_mode(LAB)
    window.lab_panel.tabs.setCurrentIndex(0)  # Sample
    window.generate_action.trigger()
    assert len(engine.received) == 1, window.last_error
    assert isinstance(engine.received[0], SampleRequest)
    qtbot.waitUntil(lambda: window.canvas.image is not None, timeout=10_000)
    shown = canvas_pixels(window)
    assert shown.shape == SENT.shape
    assert np.array_equal(shown, SENT)
    qtbot.waitUntil(lambda: not window.jobs.running(), timeout=10_000)


def test_settings_reach_the_engine_when_applied(window, engine) -> None:
    """Settings → OK hands every engine choice over at once, compile included (no restart)."""
    window.settings.compile_unet = True
    window.settings.offload = "model"
    engine.preferences.clear()
    window.apply_settings()
    assert ("compile", True) in engine.preferences
    assert ("offload", "model") in engine.preferences


def test_a_job_handle_follows_a_scripted_job(qtbot, engine) -> None:
    finished: list[object] = []
    handle = engine.submit(SampleRequest(model=ModelRef(Family.VAE, "vae-digits"), count=1))
    handle.finished.connect(finished.append)
    qtbot.waitUntil(lambda: bool(finished), timeout=10_000)
    assert handle.ended
    handle.pause()
    assert engine.controls == [("pause", handle.job_id)]
