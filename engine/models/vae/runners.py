"""The VAE's runners: the latent runners (sample from its learned prior when it has one,
decode, interpolate, a seed's code, axes by KL, arithmetic on the encoder's means: see
engine.models.vae.latent), reconstruction, train, score."""

from __future__ import annotations

from pathlib import Path

import torch

from engine.api.catalogue import model_path
from engine.api.errors import BadInput
from engine.api.grid import filmstrip
from engine.api.kinds import Family, Task
from engine.api.outcomes import ImagesOutcome, ModelOutcome, ResultImage
from engine.api.requests import ReconstructRequest, ScoreRequest, TrainRequest
from engine.cache import FileIdentity
from engine.context import JobContext
from engine.models.common.images import to_rgb_uint8
from engine.models.common.latent_runners import register_latent_runners
from engine.models.common.model_data import model_data
from engine.models.common.source_image import fitted_to_model, read_source
from engine.models.vae.bound import binarised_bound_bits
from engine.models.vae.files import load_vae
from engine.models.vae.latent import LoadedVae, vae_models
from engine.models.vae.net import elbo_loss
from engine.models.vae.reconstruction import LatentMap, error_image, ink_colours
from engine.models.vae.training import VaeTrainer, training_meta, vae_preset
from engine.quality.runner import ScoreRunner
from engine.registry import RunnerEnv, runner
from engine.train.datasets import open_dataset
from engine.train.job import resolve, run_train_job

# Samples per progress report and cancel check (the decoder runs 16 rows a pass whatever
# the count, engine.models.common.fixed_batch).
register_latent_runners(Family.VAE, vae_models, sample_chunk=16)


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
        mu = loaded.encode(x)
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
                    loaded.encode(data.images), data.labels, data.class_names, colours
                )
        return self._maps[key]

    def unload(self) -> None:
        self._maps.clear()


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
        from engine.quality.score import held_out_images_like

        model, config, _meta = load_vae(model_path(request.model))
        images = held_out_images_like(dataset, config.channels, config.image_size)
        if images is None:
            return {}
        with torch.no_grad():
            mu, logvar = model.encode(images)
            logits = model.decode_logits(mu)
            loss = elbo_loss(logits, images, mu, logvar)
            error = (torch.sigmoid(logits) - images).abs().mean()
            bound = binarised_bound_bits(model, images)
        return {
            "held_out_neg_elbo": loss.total.item(),
            "held_out_recon_error": error.item(),
            "held_out_bits_per_dim_bound": bound,
        }
