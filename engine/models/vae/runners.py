"""The VAE's runners: sample (from its learned prior when it has one), decode,
interpolate, latent axes and arithmetic, reconstruction, train, score."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from engine.api.catalogue import model_path
from engine.api.errors import BadInput
from engine.api.grid import filmstrip
from engine.api.kinds import Family, Task
from engine.api.outcomes import (
    AxesOutcome,
    FramesOutcome,
    ImagesOutcome,
    ModelOutcome,
    ResultImage,
    VectorsOutcome,
)
from engine.api.requests import (
    ArithmeticRequest,
    DecodeRequest,
    InterpolateRequest,
    LatentAxesRequest,
    ReconstructRequest,
    SampleRequest,
    ScoreRequest,
    SeedLatentRequest,
    TrainRequest,
)
from engine.cache import FileIdentity
from engine.context import JobContext
from engine.hashing import default_cache_dir
from engine.models.common.cached import CachedModels
from engine.models.common.gmm import Gmm
from engine.models.common.images import to_rgb_uint8
from engine.models.common.latent_arithmetic import arithmetic_outcome
from engine.models.common.latent_axes import (
    FACTOR_BASE,
    cached_axes,
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
from engine.models.vae.files import RETRAIN_HINT, load_vae, load_vae_with_prior
from engine.models.vae.net import Vae, VaeConfig, decode_latents, elbo_loss, sample_latent
from engine.models.vae.reconstruction import LatentMap, error_image, ink_colours
from engine.models.vae.training import VaeTrainer, training_meta, vae_preset
from engine.quality.runner import ScoreRunner
from engine.registry import RunnerEnv, runner
from engine.train.datasets import open_dataset
from engine.train.job import resolve, run_train_job


@dataclass(frozen=True)
class LoadedVae:
    model: Vae
    config: VaeConfig
    meta: dict[str, Any]
    prior: Gmm | None

    def latent(self, seed: int) -> torch.Tensor:
        """The latent code of seed `seed`: from the learned prior, else the standard normal."""
        if self.prior is None:
            return sample_latent(self.config.latent_dim, seed)
        return self.prior.sample(torch.Generator("cpu").manual_seed(seed))

    def pixels(self, z: torch.Tensor) -> torch.Tensor:
        """Decoded images N x C x H x W in [0, 1], as floats (what the encoder takes)."""
        param = next(self.model.parameters())
        with torch.inference_mode():
            logits = self.model.decode_logits(z.to(param.device, param.dtype))
        return torch.sigmoid(logits.float()).cpu()

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's means and log-variances of images N x C x H x W in [0, 1]."""
        param = next(self.model.parameters())
        with torch.inference_mode():
            mu, logvar = self.model.encode(images.to(param.device, param.dtype))
        return mu.float().cpu(), logvar.float().cpu()

    def means(self, images: torch.Tensor) -> torch.Tensor:
        return self.encode(images)[0]


def vae_models(env: RunnerEnv) -> CachedModels:
    return CachedModels(
        env,
        Family.VAE,
        RETRAIN_HINT,
        lambda path, device, dtype: LoadedVae(*load_vae_with_prior(path, device, dtype)),
    )


# Samples per progress report and cancel check. The decoder runs 16 rows a pass whatever
# the count (engine.models.common.fixed_batch), so sample i is bitwise seed + i alone.
CHUNK = 16


@runner(task=Task.SAMPLE, family=Family.VAE)
class VaeSampleRunner:
    """Draws samples; sample i uses seed + i."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = vae_models(env)

    def run(self, request: SampleRequest, ctx: JobContext) -> ImagesOutcome:
        ctx.check_cancelled()
        loaded, path = self.models.load(request.model, ctx)
        ctx.restart_clock()
        ctx.phase = "sampling"
        images: list[ResultImage] = []
        for first in range(0, request.count, CHUNK):
            # One z per seed, drawn alone: sample i of a batch is the run with seed + i.
            seeds = range(request.seed + first, request.seed + min(request.count, first + CHUNK))
            z = torch.cat([exact_or_seeded(request.latent, s, loaded.latent) for s in seeds])
            for rgb, seed in zip(decode_latents(loaded.model, z), seeds, strict=True):
                images.append(ResultImage(rgb, seed=seed, index=len(images)))
            ctx.report(len(images), request.count, preview=lambda rgb=rgb: rgb)
        ctx.check_cancelled()  # a cancel during the last chunk still cancels
        info = self.models.info(request.model, path, ctx)
        return ImagesOutcome(tuple(replace(image, info=dict(info)) for image in images))

    def unload(self) -> None:
        pass


@runner(task=Task.DECODE, family=Family.VAE)
class VaeDecodeRunner:
    """Decodes given latent vectors: the latent sliders' frames."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = vae_models(env)

    def run(self, request: DecodeRequest, ctx: JobContext) -> FramesOutcome:
        ctx.check_cancelled()
        loaded, _path = self.models.load(request.model, ctx)
        request.latents.check(loaded.config.latent_dim)
        z = torch.tensor(request.latents.vectors, dtype=torch.float32)
        ctx.check_cancelled()
        return FramesOutcome(tuple(decode_latents(loaded.model, z)))

    def unload(self) -> None:
        pass


@runner(task=Task.INTERPOLATE, family=Family.VAE)
class VaeInterpolateRunner:
    """Frames between two seeds' latent codes (drawn as sampling draws them)."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = vae_models(env)

    def run(self, request: InterpolateRequest, ctx: JobContext) -> ImagesOutcome:
        ctx.check_cancelled()
        loaded, path = self.models.load(request.model, ctx)
        ends = (
            exact_or_seeded(request.from_latent, request.from_seed, loaded.latent),
            exact_or_seeded(request.to_latent, request.to_seed, loaded.latent),
        )
        codes = path_between(*ends, request.frames, request.mode)
        frames = interpolation_frames(codes, lambda z: decode_latents(loaded.model, z)[0], ctx)
        info = self.models.info(request.model, path, ctx)
        return interpolation_outcome(frames, request, info)

    def unload(self) -> None:
        pass


@runner(task=Task.SEED_LATENT, family=Family.VAE)
class VaeSeedLatentRunner:
    """The latent code a seed's sample decodes (the sliders' starting point)."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = vae_models(env)

    def run(self, request: SeedLatentRequest, ctx: JobContext) -> VectorsOutcome:
        ctx.check_cancelled()
        loaded, _path = self.models.load(request.model, ctx)
        return VectorsOutcome((tuple(loaded.latent(request.seed)[0].tolist()),))

    def unload(self) -> None:
        pass


@runner(task=Task.LATENT_AXES, family=Family.VAE)
class VaeAxesRunner:
    """One slider per latent dimension, the most informative (by mean KL) first."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = vae_models(env)

    def run(self, request: LatentAxesRequest, ctx: JobContext) -> AxesOutcome:
        ctx.check_cancelled()
        loaded, path = self.models.load(request.model, ctx)
        sha256 = self.models.info(request.model, path, ctx)["model_sha256"]
        ctx.phase = "finding the latent directions"
        return cached_axes(default_cache_dir(), sha256, lambda: self._axes(loaded))

    @staticmethod
    def _axes(loaded: LoadedVae) -> AxesOutcome:
        config = loaded.config
        data = model_data(loaded.meta, config.channels, config.image_size)
        if data is not None:
            images, over = data.images, f"the {data.source} data set"
        else:  # the data set is gone: the model's own samples stand in for it
            images, over = loaded.pixels(_prior_codes(loaded, 2000)), "the model's own samples"
        axes = vae_axes(loaded.encode, images)
        if _reads_shapes(loaded.meta, config.channels, config.image_size):
            axes = with_shape_factors(axes, _prior_codes(loaded, FACTOR_BASE), loaded.pixels)
        how = (
            f"One slider per latent dimension, ordered by its mean KL divergence over {over} "
            "(how much the encoder uses it): the most informative first."
        )
        return AxesOutcome(tuple(axes), how)

    def unload(self) -> None:
        pass


@runner(task=Task.ARITHMETIC, family=Family.VAE)
class VaeArithmeticRunner:
    """A − B + C on the encoder's means of the three seeds' samples."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = vae_models(env)

    def run(self, request: ArithmeticRequest, ctx: JobContext) -> ImagesOutcome:
        ctx.check_cancelled()
        loaded, path = self.models.load(request.model, ctx)
        ctx.phase = "latent arithmetic"
        # Each decoded alone, as `sample --seed` decodes it: the same pixels.
        samples = torch.cat(
            [loaded.pixels(loaded.latent(s)) for s in (request.a, request.b, request.c)]
        )
        a, b, c = loaded.means(samples)
        result = loaded.pixels((a - b + c).view(1, -1))
        images = list(to_rgb_uint8(torch.cat([samples, result])))
        return arithmetic_outcome(images, request, self.models.info(request.model, path, ctx))

    def unload(self) -> None:
        pass


@runner(task=Task.RECONSTRUCT, family=Family.VAE)
class VaeReconstructRunner:
    """Input, reconstruction and error side by side; then the latent map with its place."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = vae_models(env)
        # Per file version: a model trained again at the same path gets a new map.
        self._maps: dict[FileIdentity, LatentMap | None] = {}

    def run(self, request: ReconstructRequest, ctx: JobContext) -> ImagesOutcome:
        ctx.check_cancelled()
        loaded, path = self.models.load(request.model, ctx)
        ctx.phase = "reading the image"
        source = read_source(Path(request.image.path).expanduser())
        if request.image.sha256 and request.image.sha256 != source.sha256:
            raise BadInput(
                f"{Path(request.image.path).name} has changed since this recipe was made "
                "(its contents differ), so the reconstruction would not be the same."
            )
        config = loaded.config
        array, notes = fitted_to_model(source, config.channels, config.image_size)
        x = torch.from_numpy(array)[None]
        ctx.phase = "reconstructing"
        mu = loaded.means(x)
        reconstruction = loaded.pixels(mu)
        row = [
            *to_rgb_uint8(x),
            *to_rgb_uint8(reconstruction),
            error_image(x[0], reconstruction[0]),
        ]
        info = {
            **self.models.info(request.model, path, ctx),
            "parent": {"path": request.image.path, "sha256": source.sha256},
            "note": "; ".join(notes),
            "mean_abs_error": round(float((x - reconstruction).abs().mean()), 5),
            "latent": [round(v, 6) for v in mu[0].tolist()],
            "panels": ["input", "reconstruction", "error |x − x̂|"],
        }
        images = [ResultImage(filmstrip([row]), seed=None, index=0, info=info)]
        latent_map = self._map(path, loaded)
        if latent_map is not None:
            map_info = {**info, "panels": ["latent map"], "explained": latent_map.explained}
            images.append(ResultImage(latent_map.render(mu[0]), seed=None, index=1, info=map_info))
        return ImagesOutcome(tuple(images))

    def _map(self, path: Path, loaded: LoadedVae) -> LatentMap | None:
        key = FileIdentity.of(path)
        if key not in self._maps:
            config = loaded.config
            data = model_data(loaded.meta, config.channels, config.image_size)
            if data is None:
                self._maps[key] = None
            else:
                colours = ink_colours(data.images) if data.source == "shapes" else None
                self._maps[key] = LatentMap.of(
                    loaded.means(data.images), data.labels, data.class_names, colours
                )
        return self._maps[key]

    def unload(self) -> None:
        self._maps.clear()


def _prior_codes(loaded: LoadedVae, count: int) -> torch.Tensor:
    return torch.cat([loaded.latent(seed) for seed in range(count)])


def _reads_shapes(meta: dict[str, Any], channels: int, size: int) -> bool:
    """Whether the shapes reader can judge this model's pictures."""
    return meta.get("source") == "shapes" and (channels, size) == (3, 32)


@runner(task=Task.TRAIN, family=Family.VAE)
class VaeTrainRunner:
    """Trains a VAE on a data set; Stop keeps the step reached."""

    retry_on_oom = False  # it writes checkpoints as it goes

    def __init__(self, env: RunnerEnv) -> None:
        self.env = env

    def run(self, request: TrainRequest, ctx: JobContext) -> ModelOutcome:
        ctx.phase = "loading the training data"
        seed = request.training.seed
        data = open_dataset(request.dataset.name, request.image_size, seed)
        preset = vae_preset(request.preset, data.info.size, data.info.channels)
        steps, settings = resolve(request.training, preset.steps, preset.settings)
        trainer = VaeTrainer(preset.config, data, settings, steps, seed, self.env.device.device)
        meta = {
            "preset": request.preset,
            "source": request.dataset.name,  # a folder's full path: what resuming needs
            "image_size": data.info.size,
            **training_meta(data.info, settings, seed),
            "note": data.info.note,
        }
        return run_train_job(request, ctx, trainer, meta, steps)

    def unload(self) -> None:
        pass


@runner(task=Task.SCORE, family=Family.VAE)
class VaeScoreRunner(ScoreRunner):
    """The quality meter on this family's samples, plus its ELBO on held-out images."""

    def family_values(self, request: ScoreRequest, dataset: str) -> dict[str, float]:
        from engine.quality.score import held_out_images

        model, config, _meta = load_vae(model_path(request.model))
        images = held_out_images(dataset)
        if images is None or images.shape[1:] != (
            config.channels,
            config.image_size,
            config.image_size,
        ):
            return {}
        with torch.no_grad():
            mu, logvar = model.encode(images)
            logits = model.decode_logits(mu)
            loss = elbo_loss(logits, images, mu, logvar)
            error = (torch.sigmoid(logits) - images).abs().mean()
        return {"held_out_neg_elbo": loss.total.item(), "held_out_recon_error": error.item()}
