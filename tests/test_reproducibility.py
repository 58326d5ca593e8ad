"""Sample i of a batch is bitwise the sample of seed + i drawn alone, for the VAE and the
GAN, whatever the batch size and whichever CPU kernels MKL and oneDNN pick (issue 19: with
AVX-512 the batch-of-5 kernels summed differently from the batch-of-one ones).

`make test` runs the tests marked `reproducibility` a second time with
MKL_ENABLE_INSTRUCTIONS=AVX2 and ONEDNN_MAX_CPU_ISA=AVX2, the kernels of a CPU without
AVX-512.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from engine.models.gan.files import load_gan
from engine.models.gan.net import generate, sample_z
from engine.models.vae.files import load_vae_with_prior
from engine.models.vae.latent import LoadedVae
from engine.models.vae.net import decode_latents
from engine.resources import BUNDLED_MODELS_DIR

pytestmark = pytest.mark.reproducibility

Latent = Callable[[int], torch.Tensor]
Decode = Callable[[torch.Tensor], np.ndarray]

# The digits models failed with AVX-512 kernels, the emoji ones with AVX2 kernels too.
MODELS = ["vae-digits", "vae-emoji", "gan-digits", "gan-emoji"]
# Within one pass, across passes, and a last pass padded (the Lab sheet of 64 is four passes).
BATCH_SIZES = [2, 5, 16, 17, 40]


def bundled(name: str) -> tuple[Latent, Decode]:
    """A bundled model's seed -> latent code and latent codes -> uint8 images."""
    path = BUNDLED_MODELS_DIR / f"{name}.safetensors"
    if name.startswith("vae"):
        vae = LoadedVae(*load_vae_with_prior(path, "cpu", torch.float32))
        return vae.latent, lambda z: decode_latents(vae.model, z)
    generator, config, _meta = load_gan(path, "cpu", torch.float32)
    return (lambda seed: sample_z(config.z_dim, seed)), lambda z: generate(generator, z)


@pytest.fixture(scope="module", params=MODELS)
def model(request) -> tuple[Latent, Decode]:
    return bundled(request.param)


@pytest.mark.parametrize("first_seed", [0, 100])
def test_image_i_of_any_batch_is_bitwise_seed_plus_i_alone(model, first_seed):
    latent, decode = model
    alone = [decode(latent(first_seed + i))[0] for i in range(max(BATCH_SIZES))]
    for size in BATCH_SIZES:
        batch = decode(torch.cat([latent(first_seed + i) for i in range(size)]))
        assert len(batch) == size
        for i, image in enumerate(batch):
            assert np.array_equal(image, alone[i]), f"batch of {size}, image {i}"


def test_a_sample_is_the_same_in_any_row_beside_any_neighbours(model):
    latent, decode = model
    alone = decode(latent(7))[0]
    for row in (0, 7, 15, 16, 31):
        neighbours = [latent(1000 + row * 40 + j) for j in range(32)]
        neighbours[row] = latent(7)
        assert np.array_equal(decode(torch.cat(neighbours))[row], alone), f"row {row}"
