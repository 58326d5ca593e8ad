"""Training the RBM by contrastive divergence: presets, and one minibatch update a step.

CD-k (Hinton 2002) starts each negative chain at the minibatch's own images and runs k
Gibbs steps; persistent CD (Tieleman, "Training Restricted Boltzmann Machines using
Approximations to the Likelihood Gradient", ICML 2008) keeps the chains between updates,
so they wander the model's distribution instead of staying near the data. The gradient
of the mean log-likelihood is ⟨v hᵀ⟩_data − ⟨v hᵀ⟩_model (hidden probabilities on both
sides, Hinton's "practical guide" 2010), applied by SGD with momentum; it has the same
form for Gaussian visibles, so one step serves both kinds. A Gaussian machine sees each
minibatch dequantised afresh and standardised (engine.models.rbm.pixels), and wants a
learning rate one or two orders of magnitude smaller (the guide, §13.2): its visibles
are unbounded, and a large step makes it diverge (the training loop then stops with a
sentence). Seeded: the initial weights, the minibatch order (or the shapes drawn), the
dequantisation and every Gibbs draw come from the seed, and all are in the training
state, so a resumed training ends where one never stopped does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from engine.models.common.binary_pixels import binarise, binary_training_images
from engine.models.common.images import to_rgb_uint8
from engine.models.rbm.ais import base_rate_biases, gaussian_base_biases
from engine.models.rbm.files import LoadedRbm, save_rbm
from engine.models.rbm.machine import Rbm, logit
from engine.models.rbm.pixels import PixelScale, RbmConfig, dequantise, finite
from engine.train.datasets import ArrayData, ShapesSource

PREVIEW_SAMPLES = 16
PREVIEW_GIBBS_STEPS = 200
METHODS = ("cd", "pcd")
SCALE_IMAGES = 4000  # shapes drawn once to standardise a Gaussian machine's pixels


@dataclass(frozen=True)
class RbmTrainSettings:
    hidden: int = 100
    method: str = "cd"  # "cd" or "pcd"
    gibbs_steps: int = 1  # the k of CD-k (PCD: steps per update)
    batch_size: int = 64
    learning_rate: float = 0.05
    momentum: float = 0.5
    weight_decay: float = 1e-4
    visible: str = "auto"  # "bernoulli", "gaussian", or "auto": Gaussian for colour


@dataclass(frozen=True)
class RbmPreset:
    settings: RbmTrainSettings = field(default_factory=RbmTrainSettings)
    steps: int = 4000
    seed: int = 0
    threads: int = 2  # torch threads of the reproducible run (python -m engine.train)


RBM_PRESETS: dict[str, RbmPreset] = {
    # Persistent chains give a model whose own samples look like digits; CD-1 learns
    # good features but samples poorly (Tieleman 2008, figure 3).
    "digits": RbmPreset(RbmTrainSettings(100, "pcd", 1, 64, 0.05, 0.5, 1e-4), steps=6000),
    # Gaussian visibles on colour, a small step and more momentum. CD-5: persistent
    # chains of unit-variance Gaussians ran away (reconstruction error 40,000 by step
    # 500), and CD-1's machine let 1,000-step chains collapse onto a few blurs (the
    # meter's recognisable 0.12 at 2,000 steps, against CD-5's 0.38).
    "shapes": RbmPreset(
        RbmTrainSettings(128, "cd", 5, 64, 0.002, 0.9, 1e-4, "gaussian"), steps=2000, threads=1
    ),
}


def rbm_preset(name: str) -> RbmPreset:
    """A bundled data set's preset, or CD-1 for a folder of grey images."""
    return RBM_PRESETS.get(name, RbmPreset())


def training_images(data: ArrayData | ShapesSource) -> torch.Tensor:
    """The bundled digits without the meter's held-out part, or every image of a set."""
    return binary_training_images(data, "RBM")


def gaussian_training_images(data: ArrayData | ShapesSource) -> torch.Tensor | None:
    """As training_images, any colour; None for shapes, drawn afresh for every batch."""
    if isinstance(data, ShapesSource):
        return None
    return finite(binary_training_images(data, "RBM"))


class _Parameters(nn.Module):
    """The machine as parameters (the optimizer's), the persistent chains as a buffer."""

    def __init__(self, rbm: Rbm, chains: torch.Tensor) -> None:
        super().__init__()
        self.weights = nn.Parameter(rbm.weights)
        self.visible_bias = nn.Parameter(rbm.visible_bias)
        self.hidden_bias = nn.Parameter(rbm.hidden_bias)
        self.gaussian = rbm.gaussian
        self.register_buffer("chains", chains)

    def rbm(self) -> Rbm:
        parts = (self.weights, self.visible_bias, self.hidden_bias)
        return Rbm(*(p.detach() for p in parts), self.gaussian)


class _Order:
    """The minibatch order: epoch e is a permutation from (seed, e); the position reached
    is the state a training saves."""

    def __init__(self, count: int, seed: int) -> None:
        self.count, self.seed = count, seed
        self.position = torch.zeros(1, dtype=torch.int64)

    def take(self, size: int) -> torch.Tensor:
        epoch, start = divmod(int(self.position), self.count)
        generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        index = torch.randperm(self.count, generator=generator)[start : start + size]
        self.position += len(index)
        return index

    # RandomState, so TrainingState saves the order as a tensor
    def get_state(self) -> torch.Tensor:
        return self.position.clone().view(torch.uint8)

    def set_state(self, state: torch.Tensor) -> None:
        self.position = state.clone().view(torch.int64)


class RbmTrainer:
    def __init__(
        self,
        config: RbmConfig,
        data: ArrayData | ShapesSource,
        settings: RbmTrainSettings,
        seed: int,
    ) -> None:
        from engine.train.state import TrainingState

        config.check()
        if settings.method not in METHODS:
            raise ValueError(f"unknown RBM training method {settings.method!r}")
        self.config, self.settings, self.seed, self.data = config, settings, seed, data
        self.batch_size = settings.batch_size
        self.scale: PixelScale | None = None
        if config.gaussian:
            self._standardise(data, seed)
        else:
            self.points = binarise(training_images(data)).float()
            self.count = len(self.points)
            self.base_biases = base_rate_biases(self.points)
        self.noise = torch.Generator().manual_seed(seed)
        self.order = _Order(self.count, seed + 1)
        start = self._start()
        uniform = torch.rand(self.batch_size, config.dims, generator=self.noise)
        self.machine = _Parameters(start, start.random_visibles(uniform))
        self.optimizer = torch.optim.SGD(
            self.machine.parameters(),
            lr=settings.learning_rate,
            momentum=settings.momentum,
            weight_decay=settings.weight_decay,
        )
        self.preview_seeds = range(seed, seed + PREVIEW_SAMPLES)
        self.state = TrainingState()
        self.state.modules["rbm"] = self.machine
        self.state.optimizers["sgd"] = self.optimizer
        self.state.generators["gibbs"] = self.noise
        self.state.generators["order"] = self.order
        if config.gaussian:
            self.state.generators["dequantisation"] = self.dequantisation
            if self.images is None:
                self.state.generators["data"] = data.generator  # the shapes drawn

    def _standardise(self, data: ArrayData | ShapesSource, seed: int) -> None:
        """A Gaussian machine's pixel scale, from the training images (or a fixed draw of
        shapes), dequantised once with noise of their own."""
        self.images = gaussian_training_images(data)
        self.dequantisation = torch.Generator().manual_seed(seed + 2)
        stats = self.images
        if stats is None:
            stats = ShapesSource(data.info.size, seed + 3).batch(SCALE_IMAGES)[0]
        once = dequantise(stats, self.config.levels, torch.Generator().manual_seed(seed + 4))
        self.scale = PixelScale.of(once)
        self.base_biases = gaussian_base_biases(self.scale.to_visible(once))
        self.count = len(stats) if self.images is not None else SCALE_IMAGES

    def _batch(self) -> torch.Tensor:
        """A minibatch of visibles: binary pixels, or standardised dequantised ones."""
        if self.scale is None:
            return self.points[self.order.take(self.batch_size)]
        if self.images is None:
            images = self.data.batch(self.batch_size)[0]
        else:
            images = self.images[self.order.take(self.batch_size)]
        points = dequantise(images, self.config.levels, self.dequantisation)
        return self.scale.to_visible(points).float()

    def _start(self) -> Rbm:
        """Small random weights, no hidden bias, visible biases at the pixels' log-odds
        (Hinton's practical guide, section 8), or a Gaussian's at the visibles' means."""
        h, d = self.settings.hidden, self.config.dims
        weights = 0.01 * torch.randn(h, d, generator=self.noise)
        if self.scale is not None:
            return Rbm(weights, self.base_biases.float(), torch.zeros(h), gaussian=True)
        visible = logit(self.points.mean(0).double(), 1e-2).float()
        return Rbm(weights, visible, torch.zeros(h))

    def step(self) -> dict[str, float]:
        v0 = self._batch()
        rbm = self.machine.rbm()
        h0 = rbm.hidden_probs(v0)
        start = self.machine.chains if self.settings.method == "pcd" else v0
        start = start[: len(v0)]
        k = self.settings.gibbs_steps
        noise = torch.rand(len(v0), k, rbm.hidden + rbm.visible, generator=self.noise)
        _mean, vk = rbm.chains(start, noise)
        if self.settings.method == "pcd":
            self.machine.chains[: len(v0)] = vk
        hk = rbm.hidden_probs(vk)
        self._apply(v0, h0, vk, hk)
        self.state.steps_done += 1
        reconstruction = rbm.visible_probs(h0)
        error = ((v0 - reconstruction) ** 2).sum(1).mean().item()
        gap = (rbm.free_energy(v0).mean() - rbm.free_energy(vk).mean()).item()
        return {"reconstruction_error": error, "free_energy_gap": gap}

    def _apply(self, v0, h0, vk, hk) -> None:
        """Gradients of −log-likelihood (optimizers minimise): model minus data."""
        n = len(v0)
        m = self.machine
        m.weights.grad = (hk.T @ vk - h0.T @ v0) / n
        m.visible_bias.grad = (vk - v0).mean(0)
        m.hidden_bias.grad = (hk - h0).mean(0)
        self.optimizer.step()

    def rbm(self) -> Rbm:
        return self.machine.rbm()

    def samples(self) -> list[np.ndarray]:
        from engine.models.rbm.sampling import gibbs_draws

        means = gibbs_draws(self.rbm(), self.preview_seeds, PREVIEW_GIBBS_STEPS)
        loaded = LoadedRbm(self.rbm(), self.base_biases, self.config, {}, self.scale)
        return list(to_rgb_uint8(loaded.pictures(means)))

    def save_model(self, path: Path, meta: dict[str, Any]) -> None:
        save_rbm(path, self.rbm(), self.base_biases, self.config, meta, self.scale)


def training_meta(data_info: Any, settings: RbmTrainSettings, seed: int, count: int) -> dict:
    train = asdict(settings)
    if train["visible"] == "auto":  # the settings' `visible` says what it chose
        del train["visible"]
    return {
        "dataset": data_info.name,
        "dataset_sha256": data_info.fingerprint,
        "train": train,
        "training_images": count,
        "seed": seed,
        "torch": torch.__version__,
    }
