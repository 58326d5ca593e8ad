"""Tiny classic models built inside a test, as diffusers' `get_dummy_components` builds
its pipelines: each family's own network at a tiny size, untrained (weights from a fixed
seed), saved with the family's own files module. They load and run as the bundled models
do, in milliseconds, and a test never depends on what the bundled files happen to be.

They read as digits models (8 x 8 grey, the "digits" data set in their meta), so jobs
that measure against the data (the VAE's slider order, the DDPM's forward process, the
quality meter) have it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from engine.api.kinds import Family
from engine.api.parts import ModelRef
from engine.models.common.gmm import Gmm
from engine.models.common.modelfile import METADATA_KEY
from engine.models.ddpm.files import save_ddpm
from engine.models.ddpm.net import DdpmConfig, UNet
from engine.models.gan.files import save_gan
from engine.models.gan.net import Discriminator, GanConfig, Generator
from engine.models.gmm.files import save_gmm
from engine.models.gmm.pixels import GmmConfig
from engine.models.nade.files import save_nade
from engine.models.nade.network import Nade
from engine.models.nade.pixels import NadeConfig
from engine.models.pixelcnn.files import save_pixelcnn
from engine.models.pixelcnn.net import PixelCnn
from engine.models.pixelcnn.pixels import PixelcnnConfig
from engine.models.rbm.files import save_rbm
from engine.models.rbm.machine import Rbm
from engine.models.rbm.pixels import RbmConfig
from engine.models.realnvp.files import save_realnvp
from engine.models.realnvp.flow import RealNvp
from engine.models.realnvp.pixels import RealnvpConfig
from engine.models.vae.files import save_vae
from engine.models.vae.net import Vae, VaeConfig

TINY_VAE = VaeConfig(image_size=8, channels=1, hidden=(16,), latent_dim=4)
TINY_GAN = GanConfig(image_size=8, channels=1, z_dim=8, width=16)
TINY_GMM = GmmConfig(image_size=8, channels=1, components=3, covariance="full", levels=17)
TINY_RBM = RbmConfig(image_size=8, channels=1, hidden=6)
TINY_NADE = NadeConfig(image_size=8, channels=1, hidden=5)
TINY_REALNVP = RealnvpConfig(image_size=8, channels=1, levels=17, scales=1, width=4, blocks=0)
TINY_PIXELCNN = PixelcnnConfig(8, 1, 17, width=4, layers=2, kernel=3, head=4)
TINY_DDPM = DdpmConfig(image_size=8, channels=1, widths=(8, 16), num_classes=10)
LATENT_DIMS = {
    Family.VAE: TINY_VAE.latent_dim,
    Family.GAN: TINY_GAN.z_dim,
    Family("realnvp"): TINY_REALNVP.dims,
}

DIGITS_META = {
    "dataset": "digits",
    "source": "digits",
    "image_size": 8,
    "preset": "digits",
    "seed": 0,
    "note": "a tiny untrained model built by the tests",
}
DDPM_META = {**DIGITS_META, "classes": [str(i) for i in range(10)], "default_guidance": 1.25}


def tiny_vae(path: Path, seed: int = 0) -> Path:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        save_vae(path, Vae(TINY_VAE).eval(), TINY_VAE, DIGITS_META)
    return path


def tiny_gan(path: Path, seed: int = 0) -> Path:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator, discriminator = Generator(TINY_GAN).eval(), Discriminator(TINY_GAN).eval()
        save_gan(path, generator, discriminator, TINY_GAN, DIGITS_META)
    return path


def tiny_ddpm(path: Path, seed: int = 0) -> Path:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        save_ddpm(path, UNet(TINY_DDPM).eval(), TINY_DDPM, DDPM_META)
    return path


def tiny_gmm(path: Path, seed: int = 0) -> Path:
    """Three full-covariance components over 8 x 8 grey: random means in [0, 1], each
    covariance 0.01 I plus a random lower-triangular part."""
    g = torch.Generator().manual_seed(seed)
    k, d = TINY_GMM.components, TINY_GMM.dims
    weights = torch.softmax(torch.randn(k, generator=g), 0)
    means = torch.rand(k, d, generator=g)
    tril = torch.eye(d).expand(k, d, d) * 0.1 + torch.randn(k, d, d, generator=g).tril(-1) * 0.01
    save_gmm(path, Gmm(weights, means, tril), TINY_GMM, DIGITS_META)
    return path


def tiny_rbm(path: Path, seed: int = 0) -> Path:
    """Six hidden units over 8 x 8 binary pixels: random weights and biases, a base rate
    of one pixel in four."""
    g = torch.Generator().manual_seed(seed)
    h, d = TINY_RBM.hidden, TINY_RBM.dims
    rbm = Rbm(torch.randn(h, d, generator=g) * 0.5, torch.randn(d, generator=g), torch.zeros(h))
    save_rbm(path, rbm, torch.full((d,), -1.1), TINY_RBM, DIGITS_META)
    return path


def tiny_nade(path: Path, seed: int = 0) -> Path:
    """Five hidden units over 8 x 8 binary pixels: random weights and biases."""
    g = torch.Generator().manual_seed(seed)
    h, d = TINY_NADE.hidden, TINY_NADE.dims
    tensors = {
        "weights_in": torch.randn(h, d, generator=g) * 0.5,
        "hidden_bias": torch.randn(h, generator=g) * 0.5,
        "weights_out": torch.randn(d, h, generator=g),
        "visible_bias": torch.randn(d, generator=g) - 1.0,
    }
    save_nade(path, Nade.from_tensors(tensors), TINY_NADE, DIGITS_META)


def tiny_realnvp(path: Path, seed: int = 0) -> Path:
    """A one-scale flow over 8 x 8 grey with 4 feature maps a coupling: its fresh weights
    (whose last layers are zero: the identity) moved by small random amounts."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        flow = RealNvp(TINY_REALNVP)
        with torch.no_grad():
            for parameter in flow.parameters():
                parameter.add_(torch.randn_like(parameter) * 0.05)
    save_realnvp(path, flow, TINY_REALNVP, DIGITS_META)


def tiny_pixelcnn(path: Path, seed: int = 0) -> Path:
    """Two gated layers of four features over 8 x 8 digits' 17 levels, weights from the
    seed."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        save_pixelcnn(path, PixelCnn(TINY_PIXELCNN), TINY_PIXELCNN, DIGITS_META)
    return path


BUILDERS = {
    Family.VAE: tiny_vae,
    Family.GAN: tiny_gan,
    Family.DDPM: tiny_ddpm,
    Family("gmm"): tiny_gmm,
    Family("rbm"): tiny_rbm,
    Family("nade"): tiny_nade,
    Family("realnvp"): tiny_realnvp,
    Family("pixelcnn"): tiny_pixelcnn,
}


def tiny_model(family: Family, folder: Path) -> ModelRef:
    """A tiny model of `family` written into `folder` (once; the file is reused)."""
    path = folder / f"tiny-{family.value}.safetensors"
    if not path.exists():
        BUILDERS[family](path)
    return ModelRef(family, str(path))


def rewrite_config(source: Path, out: Path, **changes: Any) -> Path:
    """A copy of the model file `source` at `out` whose recorded config has `changes`
    (the weights as they are): a file whose settings disagree with its tensors."""
    with safe_open(str(source), framework="pt") as fh:
        record = json.loads(fh.metadata()[METADATA_KEY])
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
    record["config"].update(changes)
    save_file(tensors, str(out), metadata={METADATA_KEY: json.dumps(record)})
    return out
