"""Training of the classic models, bitwise reproducible on the CPU.

    python -m engine.train vae --preset digits [--epochs N] [--seed S] [--out PATH]

The bundled weights in resources/models are produced by this command; rerunning it with
the same torch version on the same kind of CPU gives the same bytes.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.data.digits import DIGITS_PATH, dataset_fingerprint, load_digits
from engine.errors import JobCancelled
from engine.models.vae import Vae, VaeConfig, elbo_loss, save_vae
from engine.resources import BUNDLED_MODELS_DIR

# progress(epoch_done, epochs, losses of that epoch); may raise JobCancelled itself.
TrainProgress = Callable[[int, int, dict[str, float]], None]
CancelCheck = Callable[[], bool]


@dataclass(frozen=True)
class Dataset:
    """A bundled data set: how to load it and which file to fingerprint."""

    load: Callable[[Path], tuple[np.ndarray, np.ndarray]]
    path: Path


DATASETS: dict[str, Dataset] = {"digits": Dataset(load_digits, DIGITS_PATH)}


@dataclass(frozen=True)
class VaeTrainSettings:
    dataset: str = "digits"
    batch_size: int = 64
    learning_rate: float = 1e-3
    # Ramp beta from 0 to 1 over these epochs: the decoder learns to use z before the KL
    # term can push the posterior onto the prior (avoids posterior collapse).
    kl_warmup_epochs: int = 0
    # Anneal the learning rate to zero along a cosine: the last epochs settle into a minimum
    # instead of bouncing around it, which sharpens the samples.
    cosine_lr: bool = True


@dataclass(frozen=True)
class VaePreset:
    config: VaeConfig
    epochs: int
    settings: VaeTrainSettings = field(default_factory=VaeTrainSettings)
    seed: int = 0
    out_name: str = "vae-digits.safetensors"


VAE_PRESETS: dict[str, VaePreset] = {
    # Chosen by looking at sample grids: a wider net or latent_dim 12..16 gave no better
    # digits, while batch 32 and 400 epochs gave visibly sharper ones (~1 min on one core).
    "digits": VaePreset(
        config=VaeConfig(image_size=8, channels=1, hidden=(256, 128), latent_dim=8),
        epochs=400,
        settings=VaeTrainSettings(batch_size=32, kl_warmup_epochs=40),
    ),
}


@contextmanager
def deterministic_cpu(seed: int) -> Iterator[None]:
    """Seed torch and force single-threaded deterministic kernels, then restore the caller's
    settings (the worker thread shares torch's global state with everything else)."""
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    was_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    threads = torch.get_num_threads()
    torch.use_deterministic_algorithms(True)
    # One thread: the order of floating-point sums then does not depend on the core count.
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(was_deterministic, warn_only=was_warn_only)


def train_vae(
    config: VaeConfig,
    epochs: int,
    seed: int,
    settings: VaeTrainSettings | None = None,
    progress: TrainProgress | None = None,
    should_cancel: CancelCheck | None = None,
) -> tuple[Vae, dict[str, Any]]:
    """Train on the CPU; return the model and the record that save_vae writes beside it.

    Raises JobCancelled as soon as `should_cancel()` is true (checked every batch).
    """
    settings = settings or VaeTrainSettings()
    dataset = DATASETS[settings.dataset]
    images, _labels = dataset.load(dataset.path)
    data = torch.from_numpy(images)
    with deterministic_cpu(seed):
        model = Vae(config)
        optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_factor(epochs, settings))
        generator = torch.Generator("cpu").manual_seed(seed)  # shuffling and eps
        losses: dict[str, float] = {}
        for epoch in range(epochs):
            beta = _kl_beta(epoch, settings.kl_warmup_epochs)
            losses = _train_epoch(
                model, optimizer, data, settings.batch_size, beta, generator, should_cancel
            )
            schedule.step()
            if progress is not None:
                progress(epoch + 1, epochs, losses)
    model.eval()
    meta = {
        "dataset": settings.dataset,
        "dataset_sha256": dataset_fingerprint(dataset.path),
        "train": asdict(settings),
        "seed": seed,
        "epochs": epochs,
        "final_losses": losses,
        "torch": torch.__version__,
    }
    return model, meta


def _lr_factor(epochs: int, settings: VaeTrainSettings) -> Callable[[int], float]:
    if not settings.cosine_lr:
        return lambda epoch: 1.0
    return lambda epoch: 0.5 * (1.0 + math.cos(math.pi * epoch / max(1, epochs)))


def _kl_beta(epoch: int, warmup_epochs: int) -> float:
    return 1.0 if warmup_epochs <= 0 else min(1.0, (epoch + 1) / warmup_epochs)


def _train_epoch(
    model: Vae,
    optimizer: torch.optim.Optimizer,
    data: torch.Tensor,
    batch_size: int,
    beta: float,
    generator: torch.Generator,
    should_cancel: CancelCheck | None,
) -> dict[str, float]:
    """One pass in a seeded random order; returns per-image mean losses over the epoch."""
    model.train()
    totals = {"loss": 0.0, "recon": 0.0, "kl": 0.0}
    order = torch.randperm(len(data), generator=generator)
    for start in range(0, len(data), batch_size):
        if should_cancel is not None and should_cancel():
            raise JobCancelled()
        batch = data[order[start : start + batch_size]]
        logits, mu, logvar = model(batch, generator)
        loss = elbo_loss(logits, batch, mu, logvar, beta)
        optimizer.zero_grad(set_to_none=True)
        loss.total.backward()
        optimizer.step()
        for name, value in (("loss", loss.total), ("recon", loss.recon), ("kl", loss.kl)):
            totals[name] += value.item() * len(batch)
    return {name: value / len(data) for name, value in totals.items()}


# ---------------------------------------------------------------- command line


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m engine.train", description=__doc__.split("\n")[0]
    )
    families = parser.add_subparsers(dest="family", required=True)
    vae = families.add_parser("vae", help="train a variational autoencoder")
    vae.add_argument("--preset", choices=sorted(VAE_PRESETS), default="digits")
    vae.add_argument("--epochs", type=int, help="default: the preset's")
    vae.add_argument("--seed", type=int, help="default: the preset's")
    vae.add_argument("--out", type=Path, help="a .safetensors path (default: resources/models/)")
    return parser.parse_args(argv)


def _print_progress(epoch: int, epochs: int, losses: dict[str, float]) -> None:
    if epoch == 1 or epoch % 25 == 0 or epoch == epochs:
        parts = " ".join(f"{k}={v:.3f}" for k, v in losses.items())
        print(f"epoch {epoch:4d}/{epochs}  {parts}", flush=True)


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    preset = VAE_PRESETS[args.preset]
    epochs = preset.epochs if args.epochs is None else args.epochs
    seed = preset.seed if args.seed is None else args.seed
    out = args.out or BUNDLED_MODELS_DIR / preset.out_name
    started = time.perf_counter()
    model, meta = train_vae(preset.config, epochs, seed, preset.settings, _print_progress)
    save_vae(out, model, preset.config, {"preset": args.preset, **meta})
    elapsed = time.perf_counter() - started
    size_kib = out.stat().st_size / 1024
    print(f"wrote {out} ({size_kib:.0f} KiB) in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
