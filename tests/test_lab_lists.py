"""What the Lab lists: the models trained here at the top of the picker, newest first,
and the Queue naming the mode a job came from (a quality measurement is the Lab's, not
"Generate")."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from engine.api.events import Queued
from engine.api.kinds import Family
from engine.api.parts import DatasetRef, ImageRef, ModelRef
from engine.api.requests import (
    SampleRequest,
    ScoreRequest,
    TrainRequest,
    Txt2ImgRequest,
    UpscaleRequest,
)
from engine.local_engine import LocalCatalogue
from engine.resources import BUNDLED_MODELS_DIR
from gui.lab_panel import LabPanel
from gui.queue_dock import QueueDock
from gui.viewmodels.jobs import JobsModel


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LATENTSTUDIO_DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "data" / "models"
    folder.mkdir(parents=True)
    return folder


def train_a_model(folder: Path, name: str, made_at: float) -> None:
    """A model as the Train tab leaves it (weights and record), made at `made_at`."""
    for suffix in (".safetensors", ".json"):
        target = folder / f"{name}{suffix}"
        shutil.copy(BUNDLED_MODELS_DIR / f"vae-digits{suffix}", target)
        os.utime(target, (made_at, made_at))


def test_trained_models_head_the_picker_newest_first(qtbot, models_dir):
    train_a_model(models_dir, "vae-monday", 1_700_000_000)
    train_a_model(models_dir, "vae-wednesday", 1_700_200_000)
    train_a_model(models_dir, "vae-tuesday", 1_700_100_000)
    lab = LabPanel(catalogue=LocalCatalogue())
    qtbot.addWidget(lab)
    titles = [lab.model_box.itemText(i) for i in range(lab.model_box.count())]
    assert [t.split(" · ")[0] for t in titles[:3]] == ["vae-wednesday", "vae-tuesday", "vae-monday"]
    assert all("(bundled)" in t for t in titles[3:]) and len(titles) > 3


def test_the_queue_names_each_jobs_mode(qtbot, tmp_path):
    jobs = JobsModel()
    dock = QueueDock(jobs)
    qtbot.addWidget(dock)
    vae = ModelRef(Family.VAE, "vae-digits")
    requests = {
        "Lab": (SampleRequest(model=vae, seed=1), ScoreRequest(model=vae)),
        "Train": (
            TrainRequest(
                family=Family.VAE,
                preset="digits",
                dataset=DatasetRef("digits"),
                output=str(tmp_path / "m.safetensors"),
            ),
        ),
        "Create": (Txt2ImgRequest(model=ModelRef(Family.SD, str(tmp_path / "sd"))),),
        "Upscale": (
            UpscaleRequest(
                model=ModelRef(Family.UPSCALE, "lanczos"),
                image=ImageRef(str(tmp_path / "a.png"), ""),
            ),
        ),
    }
    job_id = 0
    for mode, made in requests.items():
        for request in made:
            job_id += 1
            jobs.apply(Queued(job_id, request, request.lane))
            assert dock._items[job_id].text(1) == mode, request.describe()
    assert dock.tree.headerItem().text(1) == "Mode"
