"""Stable Diffusion txt2img through real diffusers pipelines, on a tiny model built here.

The oracle is diffusers itself: a bare pipeline call (bench/baselines.py) with the
scheduler named by diffusers' documented A1111 table, copied below as a literal. Broken
model files, the model cache and previews: test_sd_models.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import diffusers
import numpy as np
import pytest
from diffusers import StableDiffusionPipeline
from transformers import CLIPTokenizer

from engine.api.errors import BadInput, JobCancelled
from engine.api.events import Preview, Progress
from engine.api.kinds import Family
from engine.api.parts import ModelRef, Prompt, Sampling, Size
from engine.api.requests import Txt2ImgRequest
from engine.api.samplers import SAMPLER_NAMES
from engine.context import JobContext
from engine.models.sd import samplers
from engine.models.sd.tiny import build_tiny_pipeline
from tests.bare_txt2img import bare_txt2img

# Upstream noise, not ours: diffusers' k-diffusion schedulers pass torch tensors through
# numpy 2 functions, which warns thousands of times per DPM2 schedule.
pytestmark = [
    pytest.mark.filterwarnings("ignore:__array_wrap__ must accept context:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept:DeprecationWarning"),
]

CAT_IDS = [49406, 320, 1125, 539, 320, 2368, 49407]
UNET_WEIGHTS = Path("unet") / "diffusion_pytorch_model.safetensors"

# diffusers' documentation, docs/source/en/api/schedulers/overview.md, "A1111/k-diffusion
# -> Diffusers" (plus A1111's own DDIM, PLMS and UniPC, which are those algorithms).
# Options the table leaves out are the class defaults: e.g. plain "DPM++ 2M" is
# algorithm_type "dpmsolver++" without Karras sigmas.
A1111_TO_DIFFUSERS = {
    "Euler": ("EulerDiscreteScheduler", {"use_karras_sigmas": False}),
    "Euler a": ("EulerAncestralDiscreteScheduler", {}),
    "DPM++ 2M": (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "dpmsolver++", "use_karras_sigmas": False},
    ),
    "DPM++ 2M Karras": (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "dpmsolver++", "use_karras_sigmas": True},
    ),
    "DDIM": ("DDIMScheduler", {}),
    "UniPC": ("UniPCMultistepScheduler", {}),
    "DPM++ 2M SDE": (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "sde-dpmsolver++", "use_karras_sigmas": False},
    ),
    "DPM++ 2M SDE Karras": (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "sde-dpmsolver++", "use_karras_sigmas": True},
    ),
    "DPM++ SDE": ("DPMSolverSinglestepScheduler", {"use_karras_sigmas": False}),
    "DPM++ SDE Karras": ("DPMSolverSinglestepScheduler", {"use_karras_sigmas": True}),
    "DPM2": ("KDPM2DiscreteScheduler", {"use_karras_sigmas": False}),
    "DPM2 Karras": ("KDPM2DiscreteScheduler", {"use_karras_sigmas": True}),
    "DPM2 a": ("KDPM2AncestralDiscreteScheduler", {"use_karras_sigmas": False}),
    "DPM2 a Karras": ("KDPM2AncestralDiscreteScheduler", {"use_karras_sigmas": True}),
    "Heun": ("HeunDiscreteScheduler", {"use_karras_sigmas": False}),
    "LMS": ("LMSDiscreteScheduler", {"use_karras_sigmas": False}),
    "LMS Karras": ("LMSDiscreteScheduler", {"use_karras_sigmas": True}),
    "PLMS": ("PNDMScheduler", {}),
    "LCM": ("LCMScheduler", {}),
    "TCD": ("TCDScheduler", {}),
}


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    """One runtime for the module, so the tiny models load once."""
    from engine.hashing import HashCache, HashService
    from engine.runtime import Runtime

    folder = tmp_path_factory.mktemp("hashes")
    runtime = Runtime(device_preference="cpu", hashes=HashService(HashCache(folder / "h.db")))
    yield runtime
    runtime.close()


@pytest.fixture
def fresh_runtime(cpu_runtime):
    """A runtime of its own, for tests that change the cache's budget or contents."""
    return cpu_runtime


def request(model: Path, **overrides) -> Txt2ImgRequest:
    sampling = Sampling(
        steps=overrides.pop("steps", 3),
        cfg_scale=overrides.pop("cfg_scale", 7.0),
        sampler=overrides.pop("sampler", None),
        seed=overrides.pop("seed", 1234),
    )
    size = Size(overrides.pop("width", 64), overrides.pop("height", 64))
    return Txt2ImgRequest(
        model=ModelRef(Family.SD, str(model)),
        prompt=Prompt("a photo of a cat", "blurry"),
        size=size,
        sampling=sampling,
        **overrides,
    )


def run(runtime, req: Txt2ImgRequest, **ctx_args) -> list[np.ndarray]:
    return [image.rgb for image in runtime.run(req, JobContext(1, **ctx_args)).images]


def pipeline_of(runtime) -> StableDiffusionPipeline:
    """The pipeline the model cache holds (the most recently used SD one)."""
    key = [k for k in runtime.cache.lru_keys() if k.family is Family.SD][-1]
    return runtime.cache.peek(key).pipe


@functools.cache
def model_scheduler_config(model: Path) -> dict:
    """The model's own scheduler config, read by diffusers (as a user's script would)."""
    from diffusers import PNDMScheduler

    return dict(PNDMScheduler.from_pretrained(model, subfolder="scheduler").config)


def bare(model: Path, req: Txt2ImgRequest, sampler: str | None = None) -> np.ndarray:
    scheduler = None
    if sampler is not None:
        cls, options = A1111_TO_DIFFUSERS[sampler]
        scheduler = getattr(diffusers, cls).from_config(model_scheduler_config(model), **options)
    eta = 0.3 if sampler == "TCD" else None  # TCD's gamma in its model cards
    return bare_txt2img(model, req, scheduler=scheduler, eta=eta)


# ---------------------------------------------------------------- the tiny model


def test_tiny_model_tokenizer_reads_real_clip_ids(tiny_model):
    folder = tiny_model / "tokenizer"
    assert (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file()
    tokenizer = CLIPTokenizer.from_pretrained(folder)
    assert tokenizer("a photo of a cat").input_ids == CAT_IDS
    assert tokenizer.model_max_length == 77


def test_loaded_pipeline_has_real_tokenizer_and_no_safety_checker(runtime, tiny_model):
    run(runtime, request(tiny_model))
    pipe = pipeline_of(runtime)
    assert pipe.tokenizer("a photo of a cat").input_ids == CAT_IDS
    assert pipe.safety_checker is None
    assert pipe.vae_scale_factor == 8


@pytest.mark.reproducibility
def test_tiny_model_is_deterministic_in_its_seed(tmp_path):
    a = build_tiny_pipeline(tmp_path / "a", seed=3)
    b = build_tiny_pipeline(tmp_path / "b", seed=3)
    assert (a / UNET_WEIGHTS).read_bytes() == (b / UNET_WEIGHTS).read_bytes()


# ---------------------------------------------------------------- same pixels as diffusers


@pytest.mark.reproducibility
@pytest.mark.parametrize("batch_size", [1, 2])
def test_default_scheduler_matches_bare_diffusers(runtime, tiny_model, batch_size):
    req = request(tiny_model, batch_size=batch_size)
    expected = bare(tiny_model, req)
    got = run(runtime, req)
    assert len(got) == batch_size
    for i in range(batch_size):
        np.testing.assert_array_equal(got[i], expected[i])


@pytest.mark.parametrize("name", SAMPLER_NAMES)
def test_every_sampler_is_the_documented_diffusers_scheduler(runtime, tiny_model, name):
    req = request(tiny_model, sampler=name, steps=2, width=32, height=32, seed=7)
    results = runtime.run(req, JobContext(1)).images
    assert results[0].info["sampler"] == name
    scheduler = pipeline_of(runtime).scheduler
    cls, options = A1111_TO_DIFFUSERS[name]
    assert type(scheduler).__name__ == cls
    for option, value in options.items():
        assert scheduler.config[option] == value, option
    np.testing.assert_array_equal(results[0].rgb, bare(tiny_model, req, name)[0])


def test_the_documented_table_covers_every_sampler_the_gui_offers():
    assert set(A1111_TO_DIFFUSERS) == set(SAMPLER_NAMES) == set(samplers.SAMPLERS)


@pytest.mark.reproducibility
def test_batch_image_i_is_the_single_run_with_seed_plus_i(runtime, tiny_model):
    seed = 99
    results = runtime.run(request(tiny_model, seed=seed, batch_size=3), JobContext(1)).images
    assert [(r.seed, r.index) for r in results] == [(99, 0), (100, 1), (101, 2)]
    for i, result in enumerate(results):
        single = run(runtime, request(tiny_model, seed=seed + i))[0]
        # Same noise, same maths, but not always the same bits: on the CPU, the UNet and
        # VAE give results ~1e-6 apart for a batch of 3 and a batch of 1 (oneDNN/BLAS pick
        # different blockings per batch size), CFG amplifies that to ~1e-5 in the latents,
        # and now and then a pixel rounds the other way. A1111 behaves the same.
        diff = np.abs(result.rgb.astype(int) - single.astype(int))
        assert diff.max() <= 1
        assert (diff > 0).mean() < 0.01


def test_different_seeds_give_different_images(runtime, tiny_model):
    a, b = run(runtime, request(tiny_model, seed=1, batch_size=2))
    assert not np.array_equal(a, b)
    assert not np.array_equal(a, run(runtime, request(tiny_model, seed=2))[0])


def test_karras_is_not_inherited_from_the_model_config():
    from diffusers import DPMSolverMultistepScheduler

    base = DPMSolverMultistepScheduler(use_karras_sigmas=True).config
    assert samplers.make_scheduler("DPM++ 2M", base).config.use_karras_sigmas is False
    assert samplers.make_scheduler("DPM++ 2M Karras", base).config.use_karras_sigmas is True


def test_unknown_sampler_is_bad_input_listing_the_choices(runtime, tiny_model):
    with pytest.raises(BadInput) as excinfo:
        runtime.run(request(tiny_model, sampler="Euler b"), JobContext(1))
    assert "Euler b" in excinfo.value.message
    assert all(name in excinfo.value.message for name in ("Euler a", "DPM++ 2M Karras", "UniPC"))


def test_default_scheduler_comes_back_after_a_named_sampler(runtime, tiny_model):
    before = run(runtime, request(tiny_model))[0]
    run(runtime, request(tiny_model, sampler="Euler a"))
    after = runtime.run(request(tiny_model), JobContext(1)).images
    assert type(pipeline_of(runtime).scheduler).__name__ == "PNDMScheduler"
    assert after[0].info["sampler"] == "PNDMScheduler"
    np.testing.assert_array_equal(after[0].rgb, before)


def test_samplers_module_imports_no_torch():
    code = (
        "import sys, engine.models.sd.samplers as s; assert s.SAMPLERS; "
        "assert not {'torch', 'diffusers', 'transformers'} & set(sys.modules), 'heavy import'"
    )
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, env=env)


# ---------------------------------------------------------------- progress, previews, cancel


def progress_of(events) -> list[Progress]:
    return [e for e in events if isinstance(e, Progress)]


def test_progress_counts_the_steps_asked_for_and_previews_arrive(fresh_runtime, tiny_model):
    events = []
    req = request(tiny_model, sampler="Euler", steps=4)
    fresh_runtime.run(req, JobContext(1, emit=events.append, previews=True))
    progress = progress_of(events)
    assert progress[0].step == 0 and progress[0].message == "Loading model…"
    assert progress[1].step == 0 and progress[1].message == ""  # loaded: step 1 under way
    assert [e.step for e in progress[2:]] == [1, 2, 3, 4]
    assert all(e.total == 4 for e in progress)
    previews = [e for e in events if isinstance(e, Preview)]
    assert previews and all(p.rgb.shape == (8, 8, 3) and p.rgb.dtype == np.uint8 for p in previews)


@pytest.mark.parametrize("sampler", [None, "Heun", "DPM2"])  # None: the model's PLMS
def test_samplers_that_evaluate_more_often_still_show_the_requested_steps(
    runtime, tiny_model, sampler
):
    # PLMS evaluates the UNet steps + 1 times, Heun and DPM2 2 * steps - 1 times.
    events = []
    unet_calls = []
    run(runtime, request(tiny_model))  # load first
    hook = pipeline_of(runtime).unet.register_forward_hook(lambda *a: unet_calls.append(1))
    try:
        runtime.run(
            request(tiny_model, steps=4, sampler=sampler, cfg_scale=1.0),
            JobContext(1, emit=events.append),
        )
    finally:
        hook.remove()
    steps = [e.step for e in progress_of(events)]
    assert len(unet_calls) > 4  # the case this test is about
    assert {e.total for e in progress_of(events)} == {4}
    assert steps == sorted(steps) and steps[-1] == 4 and max(steps) == 4


def test_no_previews_when_disabled(runtime, tiny_model):
    events = []
    runtime.run(request(tiny_model), JobContext(1, emit=events.append, previews=False))
    assert not [e for e in events if isinstance(e, Preview)]


def test_cancel_stops_within_one_step_and_the_runner_recovers(runtime, tiny_model):
    reference = run(runtime, request(tiny_model, steps=6))[0]  # also loads the model
    ctx = JobContext(1)
    seen: list[int] = []

    def emit(event):
        if isinstance(event, Progress):
            seen.append(event.step)
            if event.step == 2:
                ctx.control.cancel()

    ctx.emit = emit
    unet_calls = []
    hook = pipeline_of(runtime).unet.register_forward_hook(lambda *args: unet_calls.append(1))
    try:
        with pytest.raises(JobCancelled):
            runtime.run(request(tiny_model, steps=6), ctx)
    finally:
        hook.remove()
    assert seen[-1] == 2
    assert len(unet_calls) <= 3  # two evaluations, and at most the one in flight
    np.testing.assert_array_equal(run(runtime, request(tiny_model, steps=6))[0], reference)
