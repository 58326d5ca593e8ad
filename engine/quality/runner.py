"""The quality meter as an engine job: a family's runners module registers a subclass."""

from __future__ import annotations

import contextlib

from engine.api.outcomes import VectorsOutcome
from engine.api.requests import ScoreRequest
from engine.context import JobContext
from engine.registry import RunnerEnv


class ScoreRunner:
    """Scores through a runtime of its own parts: sampling goes through the registry."""

    def __init__(self, env: RunnerEnv) -> None:
        self.env = env

    def run(self, request: ScoreRequest, ctx: JobContext) -> VectorsOutcome:
        from engine.quality.score import score_model

        if not request.meter:
            return self._timeline(request, ctx)
        ctx.phase = "measuring the samples"
        ctx.report(0, 1, message="Drawing samples to measure…")
        score = score_model(_SamplingRuntime(self.env), request.model, request.count, ctx)
        values = {**score.values, **self.family_values(request, score.dataset)}
        _remember(request, values)
        return VectorsOutcome(tuple((float(v),) for v in values.values()), tuple(values))

    def _timeline(self, request: ScoreRequest, ctx: JobContext) -> VectorsOutcome:
        from engine.quality.timeline import timeline_values

        def held_out(dataset: str) -> dict[str, float]:
            return self.held_out_likelihood(request, dataset)

        values = timeline_values(_SamplingRuntime(self.env), request, ctx, held_out)
        return VectorsOutcome(tuple((float(v),) for v in values.values()), tuple(values))

    def family_values(self, request: ScoreRequest, dataset: str) -> dict[str, float]:
        """What only this family can measure (the VAE: its ELBO on held-out data)."""
        return {}

    def held_out_likelihood(self, request: ScoreRequest, dataset: str) -> dict[str, float]:
        """The family's held-out likelihood figure, under its spec's score key, for the
        timeline. By default the family's own figures, for a family whose family_values
        are only that; one whose family_values cost more (a DDPM's per-class meter)
        answers this alone."""
        return self.family_values(request, dataset)

    def unload(self) -> None:
        pass


def sampling_runtime(env: RunnerEnv) -> _SamplingRuntime:
    return _SamplingRuntime(env)


class _SamplingRuntime:
    """Just enough of a runtime for score_model: sample jobs through the registry."""

    def __init__(self, env: RunnerEnv) -> None:
        self.env = env

    def run(self, request, ctx: JobContext):
        from engine import registry

        request.validate()
        return registry.runner_class(request.task, request.family)(self.env).run(request, ctx)


def _remember(request: ScoreRequest, values: dict[str, float]) -> None:
    """Keep the figures beside a model trained in the app (never beside anyone else's file,
    nor inside the app's bundled resources)."""
    from engine.api.catalogue import model_path, user_models_dir
    from engine.quality.record import save_quality

    path = model_path(request.model)
    if path.resolve().parent == user_models_dir().resolve():
        with contextlib.suppress(OSError):  # a full disk costs the note, not the figures
            save_quality(path, values, request.count)
