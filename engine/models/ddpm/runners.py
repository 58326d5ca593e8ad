"""The DDPM's runners: sample (DDIM or ancestral, class-conditional), train."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.api.grid import filmstrip
from engine.api.kinds import Family, Task
from engine.api.outcomes import ImagesOutcome, ModelOutcome, ResultImage
from engine.api.requests import DiffuseRequest, SampleRequest, TrainRequest
from engine.context import JobContext
from engine.models.common.cached import CachedModels
from engine.models.common.images import to_rgb_uint8
from engine.models.ddpm.files import RETRAIN_HINT, load_ddpm
from engine.models.ddpm.net import DdpmConfig, UNet
from engine.models.ddpm.sampling import label_for, sample
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
        loaded, path = self.models.load(request.model, ctx)
        config = loaded.config
        seeds = [request.seed + i for i in range(request.count)]
        labels = [label_for(config, seed, request.label) for seed in seeds]
        ctx.restart_clock()
        ctx.phase = "sampling"

        def report(step: int, steps: int, predicted: Any) -> None:
            ctx.report(step, steps, preview=lambda: to_rgb_uint8(predicted[:1])[0])

        guidance = (
            request.guidance if request.guidance is not None else default_guidance(loaded.meta)
        )
        images = sample(
            loaded.unet, config, seeds, labels, request.steps, guidance, request.eta, report=report
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
        return ImagesOutcome(tuple(images))

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
        strip_info = {
            **info,
            **extra,
            "filmstrip_steps": [i + 1 for i in shown],
            "rows": ["x_t", "x0"],
        }
        return ImagesOutcome(
            (
                ResultImage(filmstrip(rows), request.seed, 0, strip_info),
                ResultImage(to_rgb_uint8(final)[0], request.seed, 1, {**info, **extra}),
            )
        )

    def unload(self) -> None:
        pass


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
    """The quality meter on this family's samples."""
