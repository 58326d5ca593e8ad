"""ddpm-shapes and the class it is asked for: the class must be able to act differently at
different noise levels, and the bundled model, guided, draws the kind asked for."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from engine.models.ddpm.files import load_ddpm
from engine.models.ddpm.net import UNet
from engine.models.ddpm.sampling import sample
from engine.models.ddpm.training import DDPM_PRESETS
from engine.quality.meters import SHAPES_METER, ShapesReader, load_meter
from engine.resources import BUNDLED_MODELS_DIR

SHAPES_MODEL = BUNDLED_MODELS_DIR / "ddpm-shapes.safetensors"


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_in_the_shapes_preset_a_class_shifts_the_blocks_differently_at_different_steps():
    """Without a nonlinearity between the embedding and each block's projection, a class
    adds one fixed bias to every block at every t (projection of a sum = sum of
    projections): it cannot steer the outline early and the fill late."""
    torch.manual_seed(0)
    unet = UNet(DDPM_PRESETS["shapes"].config).eval()
    seen = []
    unet.down[0].embed.register_forward_hook(lambda _m, _i, out: seen.append(out.detach()))
    x = torch.zeros(2, 3, 32, 32)
    with torch.no_grad():
        for t in (50, 900):
            unet(x, torch.full((2,), t), torch.tensor([0, 3]))  # square, heart
    shift_early, shift_late = (out[1] - out[0] for out in seen[::-1])
    assert (shift_early - shift_late).abs().max() > 1e-3


def test_the_bundled_shapes_model_is_the_preset():
    _unet, config, meta = load_ddpm(SHAPES_MODEL)
    assert config == DDPM_PRESETS["shapes"].config
    assert meta["classes"] == ["square", "circle", "triangle", "heart"]


def test_asked_for_a_heart_with_guidance_3_the_bundled_model_draws_hearts():
    """The issue's case: Class = heart, guidance 3. The shapes reader is the oracle."""
    unet, config, _meta = load_ddpm(SHAPES_MODEL)
    drawn = sample(unet, config, list(range(100, 116)), [3] * 16, 25, guidance=3.0)
    reader = load_meter(SHAPES_METER, ShapesReader())
    with torch.no_grad():
        kinds = reader.net(drawn.clone())[0].argmax(1)
    assert (kinds == 3).float().mean() >= 0.75, kinds.tolist()


class _DrawsKinds:
    """A stand-in sampler: real rendered shapes, of the kind asked for or always `fixed`."""

    def __init__(self, fixed: int | None = None) -> None:
        self.fixed = fixed

    def run(self, request, _ctx):
        from engine.api.outcomes import ImagesOutcome, ResultImage
        from engine.data.shapes import ShapesData, render

        label = request.options.label
        factors = ShapesData(seed=label).batch(request.count)[1]
        kind = label if self.fixed is None else self.fixed
        factors = replace(factors, kind=np.full(request.count, kind))
        pixels = (render(factors) * 255).round().astype(np.uint8)
        return ImagesOutcome(tuple(ResultImage(p, i, i, {}) for i, p in enumerate(pixels)))


def test_per_class_figures_say_which_class_a_model_fails_to_draw():
    from engine.api.kinds import Family
    from engine.api.parts import ModelRef
    from engine.quality.classes import per_class

    ref, kinds = ModelRef(Family.DDPM, "any"), ["square", "circle", "triangle", "heart"]
    faithful = per_class(_DrawsKinds(), ref, "shapes", kinds)
    assert list(faithful) == [f"class:{k}" for k in kinds]
    assert min(faithful.values()) > 0.8
    circles = per_class(_DrawsKinds(fixed=1), ref, "shapes", kinds)
    assert circles["class:circle"] > 0.8
    assert circles["class:heart"] == circles["class:square"] == circles["class:triangle"] == 0
