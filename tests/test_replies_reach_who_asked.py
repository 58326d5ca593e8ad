"""Replies go to whoever asked: each job's events reach the panel (or Explore page) that
submitted it, through the handle `submit` returned, and "Use these parameters" reaches
the panel the recipe names. The engine is the real LocalEngine with its lanes; only the
runtime is a stand-in (no models, no torch), so what is under test is the routing.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMainWindow, QWidget

from engine.api.events import DeviceInfo
from engine.api.kinds import Family
from engine.api.outcomes import AxesOutcome, ImagesOutcome, LatentAxis, ResultImage, VectorsOutcome
from engine.api.parts import Latents, ModelRef
from engine.api.requests import (
    DecodeRequest,
    LatentAxesRequest,
    Request,
    SampleRequest,
    SeedLatentRequest,
)
from engine.api.sample_options import LatentSampleOptions
from engine.handle import JobHandle
from engine.local_engine import LocalEngine
from engine.store.metadata import metadata_from_text
from gui.explore import Tool
from gui.explore.sliders_page import SlidersPage
from gui.main_window import MainWindow
from gui.mode_panel import ModePanel
from gui.notices import Notices
from gui.settings import AppSettings
from gui.submissions import Submissions

RECIPES = Path(__file__).parent / "data" / "recipes"
DIGITS = ModelRef(Family.VAE, "vae-digits")
SHAPES = ModelRef(Family.VAE, "vae-shapes")
CODE_SIZE = 4


def grey(value: float) -> np.ndarray:
    return np.full((4, 4, 3), int(round(value)) % 256, np.uint8)


class FakeRuntime:
    """Answers at once, each answer made from its own request: a sample's pixels are its
    seed, a decoded code's pixels are 10 x the sum of the code. `hold` keeps the first
    sample waiting until released, so that two jobs are in flight at once."""

    def __init__(self) -> None:
        self.hold = threading.Event()
        self.hold.set()

    def device_info(self) -> DeviceInfo:
        return DeviceInfo("cpu", "float32", "CPU · fp32")

    def set_device_preference(self, _preference: str) -> DeviceInfo:
        return self.device_info()

    def close(self) -> None:
        pass

    def run(self, request: Request, _ctx):
        if isinstance(request, LatentAxesRequest):
            axes = tuple(
                LatentAxis(tuple(float(i == j) for j in range(CODE_SIZE)), 1.0, f"z{i}")
                for i in range(CODE_SIZE)
            )
            return AxesOutcome(axes, "by hand")
        if isinstance(request, SeedLatentRequest):
            return VectorsOutcome(((float(request.seed % 7),) * CODE_SIZE,))
        if isinstance(request, DecodeRequest):
            return ImagesOutcome((ResultImage(grey(10 * sum(request.latents.vectors[0])), 0),))
        if getattr(request, "seed", 0) == 1:
            self.hold.wait(10)
        seed = getattr(request, "seed", 0)
        return ImagesOutcome((ResultImage(grey(seed), seed),))


class Recorder(QWidget, ModePanel):
    """A panel that notes the outcomes of the jobs it listens to."""

    def __init__(self) -> None:
        super().__init__()
        self.outcomes: list[object] = []

    def listen(self, request: Request, handle: JobHandle) -> None:
        handle.finished.connect(self.outcomes.append)


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime()


@pytest.fixture
def client(qtbot, tmp_path, runtime):
    client = LocalEngine(tmp_path / "out", make_runtime=lambda _client: runtime)
    client.start()
    yield client
    runtime.hold.set()
    client.shutdown()


@pytest.fixture
def submissions(qtbot, client) -> Submissions:
    window = QMainWindow()
    qtbot.addWidget(window)
    return Submissions(client, Notices(window))


def test_two_panels_each_hear_only_their_own_job(qtbot, client, runtime, submissions):
    first, second = Recorder(), Recorder()
    runtime.hold.clear()  # the first job waits: both are in flight together
    one = submissions.submit(first, SampleRequest(model=DIGITS, seed=1, count=1))
    two = submissions.submit(second, SampleRequest(model=DIGITS, seed=2, count=1))
    assert one is not None and two is not None and one.job_id != two.job_id
    runtime.hold.set()
    qtbot.waitUntil(lambda: bool(first.outcomes and second.outcomes), timeout=10_000)
    qtbot.wait(50)  # nothing more comes
    assert [o.images[0].seed for o in first.outcomes] == [1]
    assert [o.images[0].seed for o in second.outcomes] == [2]


def test_the_sliders_page_receives_its_own_frame(qtbot, client, submissions):
    other, owner = Recorder(), Recorder()
    page = SlidersPage()
    qtbot.addWidget(page)
    page.show()  # a hidden page decodes nothing
    page.set_submit(lambda request: submissions.send(owner, request))
    page.seed = 3  # its code: (3, 3, 3, 3), so its frame is grey 120
    page.set_model(DIGITS)
    # Another panel's decode of another model, in flight beside the page's own.
    theirs = DecodeRequest(model=SHAPES, latents=Latents(((1.0,) * CODE_SIZE,)))
    submissions.submit(other, theirs)
    qtbot.waitUntil(lambda: page.frame is not None and bool(other.outcomes), timeout=10_000)
    assert page.frame[0, 0, 0] == 120
    assert other.outcomes[0].images[0].rgb[0, 0, 0] == 40
    assert owner.outcomes == []  # the page listened, not the panel that lent it `send`


# Where each saved recipe reopens, written out by hand: the mode, and for the Lab's
# Explore tab the tool. Recipes nothing reopens fill Create from their A1111 text.
CREATE, LAB, UPSCALE = "Create", "Latent Lab", "Upscale"
REOPENED_IN = {
    "txt2img": (CREATE, None),
    "latent_walk": (CREATE, None),
    "sample": (LAB, None),
    "interpolate": (LAB, Tool.WALK),
    "arithmetic": (LAB, Tool.ARITHMETIC),
    "reconstruct": (LAB, Tool.RECONSTRUCT),
    "diffuse": (LAB, Tool.REVERSE),
    "upscale": (UPSCALE, None),
    "decode": (CREATE, None),
    "describe": (CREATE, None),
    "forward_noise": (CREATE, None),
    "latent_axes": (CREATE, None),
    "score": (CREATE, None),
    "seed_latent": (CREATE, None),
    "train": (CREATE, None),
}


def test_use_these_parameters_reaches_the_panel_the_recipe_names(qtbot, tmp_path, client):
    settings = AppSettings(tmp_path / "config")
    settings.output_dir = tmp_path / "out"
    window = MainWindow(client, settings)
    qtbot.addWidget(window)
    window.show()
    lab = window.lab_panel
    assert {p.stem for p in RECIPES.glob("*.json")} == set(REOPENED_IN)
    for task, (mode, tool) in REOPENED_IN.items():
        window.set_mode(window.modes.index(window.gallery_panel))  # away from each
        lab.tabs.setCurrentIndex(0)
        chunks = json.loads((RECIPES / f"{task}.json").read_text(encoding="utf-8"))
        window.use_parameters(metadata_from_text(chunks, 8, 8))
        assert window.mode == mode, task
        if tool is not None:
            assert lab.tabs.currentWidget() is lab.explore, task
            assert lab.explore.current_tool == tool, task
    # A code kept from the sliders reopens the sliders, at that exact code.
    kept = SampleRequest(
        model=DIGITS, seed=5, count=1, options=LatentSampleOptions(latent=(0.5, -1.0) * 32)
    )
    meta = metadata_from_text(
        {"latentstudio": json.dumps({"version": 2, "request": kept.to_dict(), "seed": 5})}, 8, 8
    )
    window.use_parameters(meta)
    assert window.mode == LAB and lab.explore.current_tool == Tool.SLIDERS
    assert np.array_equal(lab.explore.sliders.code(), np.asarray(kept.latent, np.float32))
    window.close_now()
