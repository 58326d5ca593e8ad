"""The latent sliders' axes, and what each one moves.

- VAE: one axis per latent dimension, ordered by its mean KL over the data (a dimension
  the encoder leaves at the prior carries no information; the most informative first).
- GAN: GANSpace's principal directions (Härkönen et al. 2020): PCA of the generator's
  first-layer features over many sampled z, carried back to z by linear regression of z
  on the principal coordinates.
- On the shapes models, the bundled shapes reader measures which known factor (kind, x,
  y, scale, hue) each axis moves: samples pushed two spreads either way are read, and the
  change is put against how much two random real shapes differ in that factor.

Computing them takes seconds, so the result is cached on disk per model file (by hash).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import torch

from engine.api.outcomes import AxesOutcome, LatentAxis
from engine.api.serialize import from_data, to_data
from engine.atomic import write_bytes_atomic
from engine.data.shapes import ShapesData
from engine.quality.meters import SHAPES_METER, ShapesReader, load_meter

log = logging.getLogger(__name__)

CACHE_VERSION = 2  # bump when the way axes are found changes (2: GANSpace's PCA seeded)
GAN_SAMPLES = 4096  # GANSpace uses 10^4–10^6 on large GANs; 4096 settles our small ones
GAN_COMPONENTS = 16
PCA_SEED = 0  # the randomized PCA's own seed
FACTOR_BASE = 64  # samples each axis is measured on
FACTOR_PUSH = 2.0  # how far (in spreads) a measured sample is pushed either way
FACTOR_SHOWN = 0.35  # effects below this share of two real shapes' difference go unnamed
FACTORS = ("kind", "x", "y", "scale", "hue")

Decode = Callable[[torch.Tensor], torch.Tensor]  # z (N x d) -> images N x C x H x W in [0, 1]


# ---------------------------------------------------------------- finding the axes


@torch.no_grad()
def vae_axes(
    encode: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]], images: torch.Tensor
) -> list[LatentAxis]:
    """One axis per dimension, by mean KL(q(z_j | x) || N(0, 1)) over `images`."""
    mus, logvars = zip(*(encode(chunk) for chunk in images.split(256)), strict=True)
    mu, logvar = torch.cat(mus).double(), torch.cat(logvars).double()
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).mean(0)
    spread = mu.std(0)
    dim = mu.shape[1]
    axes = []
    for j in torch.argsort(kl, descending=True).tolist():
        direction = tuple(1.0 if i == j else 0.0 for i in range(dim))
        label = f"z{j} · {kl[j].item():.2f} nats"
        axes.append(LatentAxis(direction, max(float(spread[j]), 1e-3), label))
    return axes


@torch.no_grad()
def gan_axes(features: Callable[[torch.Tensor], torch.Tensor], z_dim: int) -> list[LatentAxis]:
    """GANSpace: PCA over first-layer features, then z regressed on the PCA coordinates."""
    z = torch.randn((GAN_SAMPLES, z_dim), generator=torch.Generator().manual_seed(0))
    feats = torch.cat([features(chunk).flatten(1).double() for chunk in z.split(512)])
    centred = feats - feats.mean(0)
    k = min(GAN_COMPONENTS, z_dim, *centred.shape)
    # pca_lowrank draws its random projection from the global RNG: seeded here (and the
    # caller's RNG left as it was) so the same model always gets the same axes.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(PCA_SEED)
        _u, s, v = torch.pca_lowrank(centred, q=k, center=False, niter=4)
    coords = centred @ v  # GAN_SAMPLES x k
    # The latent direction u_k whose movement best explains moving along component k.
    basis = torch.linalg.lstsq(coords, z.double()).solution  # k x z_dim
    total = centred.pow(2).sum()
    axes = []
    for i in range(k):
        direction = basis[i] / basis[i].norm()
        spread = float((z.double() @ direction).std())
        share = float(s[i] ** 2 / total)
        label = f"PC {i + 1} · {share:.0%} of the variance"
        axes.append(LatentAxis(tuple(direction.float().tolist()), spread, label))
    return axes


# ---------------------------------------------------------------- naming what they move


@torch.no_grad()
def with_shape_factors(
    axes: list[LatentAxis], base: torch.Tensor, decode: Decode
) -> list[LatentAxis]:
    """The axes with `moves` filled in by the shapes reader (32 x 32 RGB models)."""
    reader = load_meter(SHAPES_METER, ShapesReader()).net
    real = torch.from_numpy(ShapesData(seed=4242).batch(256)[0].transpose(0, 3, 1, 2).copy())
    real_read = _read(reader, real)
    typical = _differences(real_read, _read_rolled(real_read))  # two random real shapes
    measured = []
    for axis in axes:
        step = FACTOR_PUSH * axis.spread * torch.tensor(axis.direction, dtype=base.dtype)
        plus, minus = _read(reader, decode(base + step)), _read(reader, decode(base - step))
        change = _differences(plus, minus) / typical.clamp(min=1e-6)
        moves = sorted(
            ((name, round(float(v), 2)) for name, v in zip(FACTORS, change, strict=True)),
            key=lambda item: -item[1],
        )
        named = tuple(m for m in moves if m[1] >= FACTOR_SHOWN)
        measured.append(LatentAxis(axis.direction, axis.spread, axis.label, named))
    return measured


def _read(reader: torch.nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    logits, factors = reader(images.float())
    return logits.softmax(1), factors


def _read_rolled(read: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    return read[0].roll(1, 0), read[1].roll(1, 0)


def _differences(
    a: tuple[torch.Tensor, torch.Tensor], b: tuple[torch.Tensor, torch.Tensor]
) -> torch.Tensor:
    """Mean change per factor: kind as total variation of the class probabilities, x,
    y and scale as absolute change, hue as the angle between the two hues."""
    kind = 0.5 * (a[0] - b[0]).abs().sum(1).mean()
    xys = (a[1][:, :3] - b[1][:, :3]).abs().mean(0)
    hue_a = torch.atan2(a[1][:, 4], a[1][:, 3])
    hue_b = torch.atan2(b[1][:, 4], b[1][:, 3])
    hue = torch.atan2(torch.sin(hue_a - hue_b), torch.cos(hue_a - hue_b)).abs().mean()
    return torch.cat([kind.view(1), xys, hue.view(1)])


# ---------------------------------------------------------------- the disk cache


def cached_axes(
    cache_dir: Path, model_sha256: str, compute: Callable[[], AxesOutcome]
) -> AxesOutcome:
    """The model's axes from the cache, or computed and written there (atomically)."""
    path = cache_dir / "latent-axes" / f"{model_sha256}-v{CACHE_VERSION}.json"
    try:
        return from_data(AxesOutcome, json.loads(path.read_text("utf-8")), "cached axes")
    except FileNotFoundError:
        pass
    except Exception as exc:  # a damaged cache file is computed again, never trusted
        log.warning("latent axes cache %s unreadable (%s): computing again", path, exc)
    outcome = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, json.dumps(to_data(outcome)).encode("utf-8"))
    except OSError as exc:  # a full or read-only cache costs time next time, nothing else
        log.warning("latent axes not cached at %s: %s", path, exc)
    return outcome
