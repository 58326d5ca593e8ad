"""A VAE trained on images that are all the same: the learned prior's k-means++ meets only
zero distances. The training must still end in a model that samples; and a prior that
cannot be fitted at all never costs the finished training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine.api.kinds import Family
from engine.api.parts import DatasetRef, Training
from engine.api.requests import TrainRequest
from engine.context import JobContext
from engine.models.common.gmm import fit_gmm


def identical_folder(folder: Path, count: int = 20) -> Path:
    folder.mkdir()
    pixels = np.full((8, 8, 3), 0, np.uint8)
    for i in range(count):
        Image.fromarray(pixels).save(folder / f"black-{i:03}.png")
    return folder


def train_vae(data: Path, out: Path):
    from engine.runtime import Runtime

    request = TrainRequest(
        family=Family.VAE,
        preset="custom",
        dataset=DatasetRef(str(data)),
        training=Training(steps=3, batch_size=4, seed=0),
        output=str(out),
        image_size=16,
    )
    runtime = Runtime(device_preference="cpu")
    try:
        return runtime.run(request, JobContext(1, previews=False))
    finally:
        runtime.close()


def loads_and_samples(path: Path) -> dict:
    """The model's record, once it has loaded and decoded a finite sample of its prior."""
    from engine.models.vae.files import load_vae_with_prior

    model, config, meta, prior = load_vae_with_prior(path)
    z = prior.sample(torch.Generator().manual_seed(0)) if prior else torch.zeros(1, 2)
    assert torch.isfinite(z).all()
    return meta


def test_a_mixture_fitted_to_identical_points_is_finite():
    points = torch.ones(50, 4)
    gmm = fit_gmm(points, components=20, seed=0)
    draw = gmm.sample(torch.Generator().manual_seed(1))
    assert torch.isfinite(draw).all() and torch.isfinite(gmm.scale_tril).all()
    assert torch.allclose(gmm.means, points[:1].expand_as(gmm.means), atol=1e-4)


def test_a_folder_of_identical_images_trains_to_a_model(tmp_path):
    out = tmp_path / "vae.safetensors"
    outcome = train_vae(identical_folder(tmp_path / "same"), out)
    assert outcome.step == 3
    assert loads_and_samples(out)["steps"] == 3


def test_a_prior_that_cannot_be_fitted_never_loses_the_training(tmp_path, monkeypatch):
    from engine.models.vae import training

    def broken(*args, **kwargs):
        raise torch.linalg.LinAlgError("cholesky: the matrix is not positive-definite")

    monkeypatch.setattr(training, "fit_gmm", broken)
    out = tmp_path / "vae.safetensors"
    train_vae(identical_folder(tmp_path / "same"), out)
    meta = loads_and_samples(out)
    assert meta["steps"] == 3 and "no learned prior" in meta["prior_note"]


@pytest.fixture(autouse=True)
def fewer_prior_points(monkeypatch):
    from engine.models.vae import training

    monkeypatch.setattr(training, "PRIOR_POINTS", 64)
