"""One set of runners for every family whose model has a latent space it decodes: sample,
decode, interpolate, a seed's code, slider axes and arithmetic.

A family's loaded model keeps `LatentModel` (a seed's code, decoding, its dimensions);
one that also keeps `Encodes` (an encoder's means and posterior) gets axes ordered by KL
and arithmetic on the encoder's means; one without gets GANSpace axes (over its
`Featured` features, else its pictures) and arithmetic on the codes themselves. The
family's runners module calls

    register_latent_runners(Family.VAE, vae_models, sample_chunk=16)

and has sliders, walks and arithmetic with nothing else written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import torch

from engine.api.errors import BadInput
from engine.api.kinds import Family, Task
from engine.api.outcomes import (
    AxesOutcome,
    FramesOutcome,
    ImagesOutcome,
    ResultImage,
    Sheet,
    VectorsOutcome,
)
from engine.api.parts import ImageRef
from engine.api.requests import (
    ArithmeticRequest,
    DecodeRequest,
    InterpolateRequest,
    LatentAxesRequest,
    ModelRequest,
    SampleRequest,
    SeedLatentRequest,
)
from engine.context import JobContext
from engine.hashing import default_cache_dir
from engine.models.common.cached import CachedModels
from engine.models.common.images import to_rgb_uint8
from engine.models.common.latent_arithmetic import arithmetic_outcome
from engine.models.common.latent_axes import (
    FACTOR_BASE,
    cached_axes,
    gan_axes,
    vae_axes,
    with_shape_factors,
)
from engine.models.common.latent_paths import (
    exact_or_seeded,
    interpolation_frames,
    interpolation_outcome,
    path_between,
)
from engine.models.common.model_data import model_data
from engine.models.common.source_image import fitted_to_model, read_source
from engine.registry import RunnerEnv, runner

OWN_SAMPLES = 2000  # the model's own samples that stand in for a data set that is gone


@runtime_checkable
class LatentModel(Protocol):
    """A loaded model with a latent space: what every latent runner needs."""

    meta: dict[str, Any]

    @property
    def latent_dim(self) -> int: ...

    @property
    def channels(self) -> int: ...

    @property
    def image_size(self) -> int: ...

    def latent(self, seed: int) -> torch.Tensor:
        """The 1 x d code seed `seed` draws (as sampling draws it)."""

    def decode(self, z: torch.Tensor) -> np.ndarray:
        """Codes N x d -> uint8 N x H x W x 3; row i bitwise as if decoded alone."""

    def pixels(self, z: torch.Tensor) -> torch.Tensor:
        """Codes N x d -> float images N x C x H x W in [0, 1] (what readers take)."""


@runtime_checkable
class Encodes(Protocol):
    """A model with an encoder (a VAE): images N x C x H x W in [0, 1] to codes."""

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """The means: the code each image is read as."""

    def posterior(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The means and log-variances (what KL-ordered axes need)."""


@runtime_checkable
class Featured(Protocol):
    """A decoder whose inner features GANSpace reads (its first layer, for a GAN)."""

    def features(self, z: torch.Tensor) -> torch.Tensor: ...


Models = Callable[[RunnerEnv], CachedModels]  # a family's loader of LatentModels


class _LatentRunner:
    models_of: ClassVar[Models]

    def __init__(self, env: RunnerEnv) -> None:
        self.models = type(self).models_of(env)

    def _load(self, request: ModelRequest, ctx: JobContext) -> tuple[LatentModel, Path]:
        ctx.check_cancelled()
        return self.models.load(request.model, ctx)

    def unload(self) -> None:
        pass


class LatentSampleRunner(_LatentRunner):
    """Draws samples; sample i uses seed + i (its own code, drawn alone)."""

    # Samples per progress report and cancel check. The decoder runs 16 rows a pass
    # whatever the count (engine.models.common.fixed_batch), so sample i is bitwise
    # seed + i alone.
    chunk: ClassVar[int] = 16

    def run(self, request: SampleRequest, ctx: JobContext) -> ImagesOutcome:
        loaded, path = self._load(request, ctx)
        ctx.restart_clock()
        ctx.phase = "sampling"
        images: list[ResultImage] = []
        for first in range(0, request.count, self.chunk):
            stop = min(request.count, first + self.chunk)
            seeds = range(request.seed + first, request.seed + stop)
            z = torch.cat([exact_or_seeded(request.latent, s, loaded.latent) for s in seeds])
            for rgb, seed in zip(loaded.decode(z), seeds, strict=True):
                images.append(ResultImage(rgb, seed=seed, index=len(images)))
            ctx.report(len(images), request.count, preview=lambda rgb=rgb: rgb)
        ctx.check_cancelled()  # a cancel during the last chunk still cancels
        info = self.models.info(request.model, path, ctx)
        return ImagesOutcome(
            tuple(replace(image, info=dict(info)) for image in images),
            Sheet.GRID if request.grid else Sheet.NONE,
        )


class LatentDecodeRunner(_LatentRunner):
    """Decodes given latent vectors: the latent sliders' frames."""

    def run(self, request: DecodeRequest, ctx: JobContext) -> FramesOutcome:
        loaded, _path = self._load(request, ctx)
        request.latents.check(loaded.latent_dim)
        z = torch.tensor(request.latents.vectors, dtype=torch.float32)
        ctx.check_cancelled()
        return FramesOutcome(tuple(loaded.decode(z)))


class LatentInterpolateRunner(_LatentRunner):
    """Frames between two seeds' codes; each decoded alone, so the ends are the samples."""

    def run(self, request: InterpolateRequest, ctx: JobContext) -> ImagesOutcome:
        loaded, path = self._load(request, ctx)
        info = self.models.info(request.model, path, ctx)
        ends = []
        for end, image, code, seed in (
            ("from", request.from_image, request.from_latent, request.from_seed),
            ("to", request.to_image, request.to_latent, request.to_seed),
        ):
            if image is None:
                ends.append(exact_or_seeded(code, seed, loaded.latent))
                continue
            ctx.phase = f"finding the code of {Path(image.path).name}"
            z, source, notes = image_code(loaded, image)
            ends.append(z)
            info[f"{end}_image"] = {"path": image.path, "sha256": source}
            if notes:
                info["note"] = "; ".join(filter(None, (info.get("note", ""), *notes)))
        codes = path_between(*ends, request.frames, request.mode)
        frames = interpolation_frames(codes, lambda z: loaded.decode(z)[0], ctx)
        return interpolation_outcome(frames, request, info)


def image_code(loaded: Any, image: ImageRef) -> tuple[torch.Tensor, str, tuple[str, ...]]:
    """An image file's code (1 x d) by the model's encoder, its sha256, and what was
    changed to fit it to the model (resized, made grey)."""
    name = Path(image.path).name
    source = read_source(Path(image.path).expanduser())
    if image.sha256 and image.sha256 != source.sha256:
        raise BadInput(
            f"{name} has changed since this recipe was made (its contents differ), so "
            "the walk would not be the same."
        )
    array, notes = fitted_to_model(source, loaded.channels, loaded.image_size)
    with torch.inference_mode():
        code = loaded.encode(torch.from_numpy(array)[None]).float()
    if not bool(torch.isfinite(code).all()):
        raise BadInput(f"{name} has no finite code in this model: choose another picture.")
    return code, source.sha256, tuple(f"{name}: {note}" for note in notes)


class LatentSeedRunner(_LatentRunner):
    """The code a seed draws (the sliders' starting point)."""

    def run(self, request: SeedLatentRequest, ctx: JobContext) -> VectorsOutcome:
        loaded, _path = self._load(request, ctx)
        return VectorsOutcome((tuple(loaded.latent(request.seed)[0].tolist()),))


class LatentAxesRunner(_LatentRunner):
    """The sliders' axes, with the shapes factors each moves; cached per model file."""

    def run(self, request: LatentAxesRequest, ctx: JobContext) -> AxesOutcome:
        loaded, path = self._load(request, ctx)
        sha256 = self.models.info(request.model, path, ctx)["model_sha256"]
        ctx.phase = "finding the latent directions"
        return cached_axes(default_cache_dir(), sha256, lambda: latent_axes(loaded))


class LatentArithmeticRunner(_LatentRunner):
    """A − B + C: on the encoder's means of the three seeds' samples where the model
    encodes, else on the three seeds' codes (the DCGAN paper's way)."""

    def run(self, request: ArithmeticRequest, ctx: JobContext) -> ImagesOutcome:
        loaded, path = self._load(request, ctx)
        ctx.phase = "latent arithmetic"
        seeds = (request.a, request.b, request.c)
        if isinstance(loaded, Encodes):
            images = _arithmetic_on_means(loaded, seeds)
        else:
            a, b, c = (loaded.latent(s) for s in seeds)
            # Each decoded alone, as `sample --seed` decodes it: the same pixels.
            images = [loaded.decode(z)[0] for z in (a, b, c, a - b + c)]
        return arithmetic_outcome(images, request, self.models.info(request.model, path, ctx))


def _arithmetic_on_means(loaded: Any, seeds: tuple[int, int, int]) -> list[np.ndarray]:
    # Each decoded alone, as `sample --seed` decodes it: the same pixels.
    samples = torch.cat([loaded.pixels(loaded.latent(s)) for s in seeds])
    a, b, c = loaded.encode(samples)
    result = loaded.pixels((a - b + c).view(1, -1))
    return list(to_rgb_uint8(torch.cat([samples, result])))


# ---------------------------------------------------------------- the axes


def latent_axes(loaded: LatentModel) -> AxesOutcome:
    """KL-ordered dimensions for a model that encodes, else GANSpace's directions; named
    by the shapes reader where it can judge the model's pictures."""
    axes, how = _kl_axes(loaded) if isinstance(loaded, Encodes) else _pca_axes(loaded)
    if _reads_shapes(loaded):
        axes = with_shape_factors(axes, _seed_codes(loaded, FACTOR_BASE), loaded.pixels)
    return AxesOutcome(tuple(axes), how)


def _kl_axes(loaded: Any) -> tuple[list, str]:
    data = model_data(loaded.meta, loaded.channels, loaded.image_size)
    if data is not None:
        images, over = data.images, f"the {data.source} data set"
    else:  # the data set is gone: the model's own samples stand in for it
        images, over = loaded.pixels(_seed_codes(loaded, OWN_SAMPLES)), "the model's own samples"
    how = (
        f"One slider per latent dimension, ordered by its mean KL divergence over {over} "
        "(how much the encoder uses it): the most informative first."
    )
    return vae_axes(loaded.posterior, images), how


def _pca_axes(loaded: LatentModel) -> tuple[list, str]:
    if isinstance(loaded, Featured):
        features, what = loaded.features, "the generator's first-layer features"
    else:  # no inner features offered: the pictures themselves
        features, what = loaded.pixels, "the decoded pictures"
    how = (
        f"The principal directions of {what} over "
        "4,096 random samples (GANSpace), carried back to its noise vector: the "
        "direction that changes the most first."
    )
    return gan_axes(features, loaded.latent_dim), how


def _seed_codes(loaded: LatentModel, count: int) -> torch.Tensor:
    return torch.cat([loaded.latent(seed) for seed in range(count)])


def _reads_shapes(loaded: LatentModel) -> bool:
    """Whether the shapes reader can judge this model's pictures."""
    size = (loaded.channels, loaded.image_size)
    return loaded.meta.get("source") == "shapes" and size == (3, 32)


# ---------------------------------------------------------------- registration

LATENT_RUNNERS: dict[Task, type[_LatentRunner]] = {
    Task.SAMPLE: LatentSampleRunner,
    Task.DECODE: LatentDecodeRunner,
    Task.INTERPOLATE: LatentInterpolateRunner,
    Task.SEED_LATENT: LatentSeedRunner,
    Task.LATENT_AXES: LatentAxesRunner,
    Task.ARITHMETIC: LatentArithmeticRunner,
}


def register_latent_runners(family: Family, models: Models, *, sample_chunk: int = 16) -> None:
    """Register the latent runners for `family`, whose `models(env)` loads LatentModels.
    `sample_chunk`: samples per progress report (and cancel check) when sampling."""
    prefix = family.value.capitalize()
    for task, base in LATENT_RUNNERS.items():
        name = f"{prefix}{base.__name__.removeprefix('Latent')}"
        attributes: dict[str, Any] = {"models_of": staticmethod(models), "__module__": __name__}
        if base is LatentSampleRunner:
            attributes["chunk"] = sample_chunk
        runner(task=task, family=family)(type(name, (base,), attributes))
