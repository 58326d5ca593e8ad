"""The DDPM's runners: sample (DDIM or ancestral, class-conditional), the reverse process
watched, the forward process scrubbed, its noise schedule, train, score."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from engine.api.errors import BadInput
from engine.api.grid import GridLayout, default_gap, filmstrip
from engine.api.kinds import Family, Task
from engine.api.outcomes import (
    FramesOutcome,
    ImagesOutcome,
    ModelOutcome,
    ResultImage,
    Sheet,
    VectorsOutcome,
)
from engine.api.requests import (
    DescribeModelRequest,
    DiffuseRequest,
    ForwardNoiseRequest,
    SampleRequest,
    TrainRequest,
)
from engine.api.sample_options import DiffusionSampleOptions
from engine.cache import FileIdentity
from engine.context import JobContext
from engine.models.common.cached import CachedModels
from engine.models.common.images import to_rgb_uint8
from engine.models.common.model_data import model_data
from engine.models.common.source_image import fitted_to_model, read_source
from engine.models.ddpm.files import RETRAIN_HINT, load_ddpm
from engine.models.ddpm.net import DdpmConfig, UNet
from engine.models.ddpm.sampling import label_for, sample
from engine.models.ddpm.schedule import training_scheduler
from engine.models.ddpm.training import DdpmTrainer, ddpm_preset, training_meta
from engine.quality.runner import ScoreRunner
from engine.registry import RunnerEnv, runner
from engine.train.datasets import open_dataset
from engine.train.job import resolve, run_train_job


@dataclass(frozen=True)
class LoadedDdpm:
    unet: UNet
    config: DdpmConfig
    meta: dict[str, Any]


def ddpm_models(env: RunnerEnv) -> CachedModels:
    return CachedModels(
        env,
        Family.DDPM,
        RETRAIN_HINT,
        lambda path, device, dtype: LoadedDdpm(*load_ddpm(path, device, dtype)),
    )


def default_guidance(meta: dict[str, Any]) -> float:
    """The guidance scale the model's training recommends (1: plain conditional)."""
    value = meta.get("default_guidance", 1.0)
    return float(value) if isinstance(value, int | float) else 1.0


@runner(task=Task.SAMPLE, family=Family.DDPM)
class DdpmSampleRunner:
    """All samples denoise together; sample i starts from seed + i's noise."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = ddpm_models(env)

    def run(self, request: SampleRequest, ctx: JobContext) -> ImagesOutcome:
        ctx.check_cancelled()
        options = request.options
        assert isinstance(options, DiffusionSampleOptions)  # validated: the spec's class
        loaded, path = self.models.load(request.model, ctx)
        config = loaded.config
        seeds = [request.seed + i for i in range(request.count)]
        labels = [label_for(config, seed, options.label) for seed in seeds]
        ctx.restart_clock()
        ctx.phase = "sampling"

        def report(step: int, steps: int, predicted: Any) -> None:
            ctx.report(step, steps, preview=lambda: to_rgb_uint8(predicted[:1])[0])

        guidance = (
            options.guidance if options.guidance is not None else default_guidance(loaded.meta)
        )
        images = sample(
            loaded.unet, config, seeds, labels, options.steps, guidance, options.eta, report=report
        )
        pixels = to_rgb_uint8(images)
        info = self.models.info(request.model, path, ctx)
        images = []
        for i, (seed, label) in enumerate(zip(seeds, labels, strict=True)):
            extra = (
                {
                    "label": label,
                    "class_name": _class_name(loaded.meta, label),
                    "guidance": guidance,
                }
                if config.num_classes
                else {}
            )
            images.append(ResultImage(pixels[i], seed, i, {**info, **extra}))
        return ImagesOutcome(tuple(images), Sheet.GRID if request.grid else Sheet.NONE)

    def unload(self) -> None:
        pass


@runner(task=Task.DIFFUSE, family=Family.DDPM)
class DdpmDiffuseRunner:
    """The reverse process of one sample, kept step by step: a filmstrip of x_t over the
    predicted x̂_0, and the final sample (the same call as sampling it alone)."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = ddpm_models(env)

    def run(self, request: DiffuseRequest, ctx: JobContext) -> ImagesOutcome:
        ctx.check_cancelled()
        loaded, path = self.models.load(request.model, ctx)
        config = loaded.config
        label = label_for(config, request.seed, request.label)
        guidance = (
            request.guidance if request.guidance is not None else default_guidance(loaded.meta)
        )
        states: list[Any] = []
        predictions: list[Any] = []
        ctx.restart_clock()
        ctx.phase = "denoising"

        def report(step: int, steps: int, predicted: Any) -> None:
            ctx.report(step, steps, preview=lambda: to_rgb_uint8(predicted[:1])[0])

        def trace(x: Any, predicted: Any) -> None:
            states.append(x[:1].float().cpu())
            predictions.append(predicted[:1].float().cpu())

        final = sample(
            loaded.unet, config, [request.seed], [label], request.steps, guidance, request.eta,
            ancestral=request.ancestral, report=report, trace=trace,
        )  # fmt: skip
        shown = _evenly(len(states), request.columns)
        rows = [
            [to_rgb_uint8((tensors[i].clamp(-1, 1) + 1) / 2)[0] for i in shown]
            for tensors in (states, predictions)
        ]
        info = self.models.info(request.model, path, ctx)
        extra = {"label": label, "guidance": guidance} if config.num_classes else {}
        height, width = rows[0][0].shape[:2]
        strip_info = {
            **info,
            **extra,
            "filmstrip_steps": [i + 1 for i in shown],
            "rows": ["x_t", "x0"],
            "grid": GridLayout(len(shown), 2, width, height, default_gap(width)).to_dict(),
        }
        return ImagesOutcome(
            (
                ResultImage(filmstrip(rows), request.seed, 0, strip_info),
                ResultImage(to_rgb_uint8(final)[0], request.seed, 1, {**info, **extra}),
            )
        )

    def unload(self) -> None:
        pass


@runner(task=Task.FORWARD_NOISE, family=Family.DDPM)
class DdpmForwardNoiseRunner:
    """x_t = √ᾱ_t · x_0 + √(1 − ᾱ_t) · ε, by the training scheduler's own add_noise: the
    noise the model learned to remove, at any t, in one step (no chain to run)."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = ddpm_models(env)
        self._clean: dict[tuple[FileIdentity, int, object], torch.Tensor] = {}

    def run(self, request: ForwardNoiseRequest, ctx: JobContext) -> FramesOutcome:
        ctx.check_cancelled()
        loaded, path = self.models.load(request.model, ctx)
        config = loaded.config
        if request.t > config.timesteps:
            raise BadInput(
                f"This model's forward process has {config.timesteps} steps; t = {request.t} "
                f"is past its end. Choose t from 0 to {config.timesteps}."
            )
        x0 = self._clean_image(path, loaded, request) * 2 - 1
        if request.t == 0:
            noisy, alpha_bar = x0, 1.0
        else:
            scheduler = training_scheduler(config)
            noise = torch.randn(
                x0.shape, generator=torch.Generator().manual_seed(request.noise_seed)
            )
            step = torch.tensor([request.t - 1])  # diffusers counts steps from 0
            noisy = scheduler.add_noise(x0, noise, step)
            alpha_bar = float(scheduler.alphas_cumprod[request.t - 1])
        frame = to_rgb_uint8((noisy.clamp(-1, 1) + 1) / 2)[0]
        return FramesOutcome((frame,), (f"t = {request.t} · ᾱ_t = {alpha_bar:.4f}",))

    def _clean_image(
        self, path: Path, loaded: LoadedDdpm, request: ForwardNoiseRequest
    ) -> torch.Tensor:
        """x_0 in [0, 1], 1 x C x H x W: a data-set image or the file; read once per choice."""
        where = request.image.path if request.image else ""
        key = (FileIdentity.of(path), request.image_index, _version_of(where))
        if key not in self._clean:
            config = loaded.config
            if request.image is not None:
                source = read_source(Path(where).expanduser())
                array, _notes = fitted_to_model(source, config.channels, config.image_size)
                clean = torch.from_numpy(array)[None]
            else:
                data = model_data(loaded.meta, config.channels, config.image_size, count=256)
                if data is None:
                    raise BadInput(
                        f"The data set {request.model.name} learned from is not here any more; "
                        "choose an image file to noise instead."
                    )
                clean = data.images[request.image_index % len(data.images)][None]
            self._clean = {key: clean}  # one image at a time: the one being scrubbed
        return self._clean[key]

    def unload(self) -> None:
        self._clean.clear()


@runner(task=Task.DESCRIBE, family=Family.DDPM)
class DdpmDescribeRunner:
    """The model's noise schedule: ᾱ_t for t = 1..T (the forward view plots it)."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = ddpm_models(env)

    def run(self, request: DescribeModelRequest, ctx: JobContext) -> VectorsOutcome:
        ctx.check_cancelled()
        loaded, _path = self.models.load(request.model, ctx)
        alphas = training_scheduler(loaded.config).alphas_cumprod.tolist()
        return VectorsOutcome((tuple(alphas),), ("alpha_bar",))

    def unload(self) -> None:
        pass


def _version_of(where: str) -> object:
    """An image file's version (an edited file is read again); "" for none. A file that
    cannot be looked at keeps its name: reading it then says what is wrong."""
    if not where:
        return ""
    try:
        return FileIdentity.of(where)
    except OSError:
        return where


def _evenly(count: int, columns: int) -> list[int]:
    """Up to `columns` step indices spread over 0..count-1, the first and last included."""
    if count <= columns:
        return list(range(count))
    return sorted({round(i * (count - 1) / (columns - 1)) for i in range(columns)})


def _class_name(meta: dict[str, Any], label: int) -> str:
    """The class's name from the model's record ("heart", "7"), or its number."""
    names = meta.get("classes")
    return str(names[label]) if isinstance(names, list) and label < len(names) else str(label)


@runner(task=Task.TRAIN, family=Family.DDPM)
class DdpmTrainRunner:
    retry_on_oom = False  # it writes checkpoints as it goes

    def __init__(self, env: RunnerEnv) -> None:
        self.env = env

    def run(self, request: TrainRequest, ctx: JobContext) -> ModelOutcome:
        ctx.phase = "loading the training data"
        seed = request.training.seed
        data = open_dataset(request.dataset.name, request.image_size, seed)
        preset = ddpm_preset(request.preset, data.info.size, data.info.channels)
        steps, settings = resolve(request.training, preset.steps, preset.settings)
        trainer = DdpmTrainer(preset.config, data, settings, steps, seed, self.env.device.device)
        guidance = preset.guidance if preset.config.num_classes else 1.0
        meta = {
            "preset": request.preset,
            "source": request.dataset.name,  # a folder's full path: what resuming needs
            "image_size": data.info.size,
            **training_meta(data.info, settings, seed, guidance),
            "note": data.info.note,
        }
        return run_train_job(request, ctx, trainer, meta, steps)

    def unload(self) -> None:
        pass


@runner(task=Task.SCORE, family=Family.DDPM)
class DdpmScoreRunner(ScoreRunner):
    """The quality meter on this family's samples; a class-conditional model's figures
    per class too (at the model's default guidance)."""

    def family_values(self, request, dataset: str) -> dict[str, float]:
        from engine.quality.classes import per_class
        from engine.quality.runner import sampling_runtime

        values = self.held_out_likelihood(request, dataset)
        loaded, _path = ddpm_models(self.env).load(request.model, JobContext(0))
        if not loaded.config.num_classes:
            return values
        names = [_class_name(loaded.meta, i) for i in range(loaded.config.num_classes)]
        runtime = sampling_runtime(self.env)
        return {**values, **per_class(runtime, request.model, dataset, names, request.count)}

    def held_out_likelihood(self, request, dataset: str) -> dict[str, float]:
        """The variational bound on the held-out images, without a class (bound.py)."""
        from engine.data import pixel_levels
        from engine.models.ddpm.bound import variational_bound_bits
        from engine.quality.score import held_out_images_like

        loaded, _path = ddpm_models(self.env).load(request.model, JobContext(0))
        config = loaded.config
        images = held_out_images_like(dataset, config.channels, config.image_size)
        if images is None:
            return {}
        bits = variational_bound_bits(loaded.unet, config, images, pixel_levels(dataset))
        return {"held_out_bits_per_dim_bound": bits}
