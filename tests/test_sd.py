"""Stable Diffusion txt2img through real diffusers pipelines, on a tiny model built here.

The oracle is diffusers itself: a bare pipeline call (bench/baselines.py) with the
scheduler named by diffusers' documented A1111 table, copied below as a literal.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import os
import shutil
import subprocess
import sys
import weakref
from pathlib import Path

import diffusers
import numpy as np
import pytest
import torch
from diffusers import StableDiffusionPipeline
from transformers import CLIPTokenizer

from bench.baselines import bare_diffusers_txt2img
from engine.api.errors import BadInput, BadModelFile, JobCancelled, OutOfMemory
from engine.api.events import Preview, Progress
from engine.api.kinds import Family
from engine.api.parts import ModelRef, Prompt, Sampling, Size
from engine.api.requests import Txt2ImgRequest
from engine.api.samplers import SAMPLER_NAMES
from engine.context import JobContext
from engine.models.sd import samplers
from engine.models.sd.latent_preview import SD_FACTORS, latents_to_rgb
from engine.models.sd.tiny import build_tiny_pipeline

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
}


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_pipeline(tmp_path_factory.mktemp("sd") / "tiny-sd", seed=0)


@pytest.fixture(scope="session")
def other_model(tmp_path_factory) -> Path:
    return build_tiny_pipeline(tmp_path_factory.mktemp("sd") / "other-sd", seed=1)


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
    return bare_diffusers_txt2img(
        model,
        prompt=req.prompt.positive,
        negative_prompt=req.prompt.negative,
        width=req.size.width,
        height=req.size.height,
        steps=req.sampling.steps,
        cfg_scale=req.sampling.cfg_scale,
        seed=req.sampling.seed,
        batch_size=req.batch_size,
        scheduler=scheduler,
    )


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


# ---------------------------------------------------------------- bad models


def _copy(model: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(model, tmp_path / model.name))


def _delete_unet_weights(folder: Path) -> None:
    (folder / UNET_WEIGHTS).unlink()


def _truncate_unet_weights(folder: Path) -> None:
    path = folder / UNET_WEIGHTS
    with open(path, "r+b") as fh:
        fh.truncate(path.stat().st_size // 2)


def _drop_model_index(folder: Path) -> None:
    (folder / "model_index.json").unlink()


def _drop_tokenizer_vocab(folder: Path) -> None:
    for name in ("vocab.json", "merges.txt", "tokenizer.json"):
        (folder / "tokenizer" / name).unlink()


@pytest.mark.parametrize(
    ("breaker", "words"),
    [
        (_delete_unet_weights, ["unet weights are missing", "diffusion_pytorch_model.safetensors"]),
        (_truncate_unet_weights, ["damaged or incomplete", str(UNET_WEIGHTS), "again"]),
        (_drop_model_index, ["model_index.json", "unet/, vae/"]),
        (_drop_tokenizer_vocab, ["tokenizer", "vocab.json"]),
    ],
)
def test_broken_model_folders_are_explained(runtime, tiny_model, tmp_path, breaker, words):
    broken = _copy(tiny_model, tmp_path)
    breaker(broken)
    with pytest.raises(BadModelFile) as excinfo:
        runtime.run(request(broken), JobContext(1))
    for word in words:
        assert word in excinfo.value.message
    assert run(runtime, request(tiny_model))[0].shape == (64, 64, 3)


def test_missing_folder_points_at_settings(runtime, tmp_path):
    with pytest.raises(BadModelFile) as excinfo:
        runtime.run(request(tmp_path / "nowhere"), JobContext(1))
    assert "does not exist" in excinfo.value.message
    assert "Settings → Models folder" in excinfo.value.message


def test_a_damaged_single_file_is_refused_as_damaged(runtime, tmp_path):
    checkpoint = tmp_path / "model.safetensors"
    checkpoint.write_bytes(b"\0" * 16)
    with pytest.raises(BadModelFile) as excinfo:
        runtime.run(request(checkpoint), JobContext(1))
    assert "damaged or incomplete" in excinfo.value.message


def test_a_broken_model_does_not_evict_the_loaded_one(runtime, tiny_model, tmp_path):
    run(runtime, request(tiny_model))
    pipe = pipeline_of(runtime)
    with pytest.raises(BadModelFile):
        runtime.run(request(tmp_path / "nowhere"), JobContext(1))
    assert pipeline_of(runtime) is pipe


# ---------------------------------------------------------------- the model cache


def test_two_models_stay_cached_within_the_memory_budget(fresh_runtime, tiny_model, other_model):
    first = fresh_runtime.run(request(tiny_model), JobContext(1)).images[0]
    second = fresh_runtime.run(request(other_model), JobContext(1)).images[0]
    assert len([k for k in fresh_runtime.cache.lru_keys() if k.family is Family.SD]) == 2
    assert first.info["model"] == "tiny-sd" and second.info["model"] == "other-sd"
    assert first.info["model_sha256"] != second.info["model_sha256"]


def test_over_budget_the_least_recently_used_model_is_unloaded(
    fresh_runtime, tiny_model, other_model
):
    run(fresh_runtime, request(tiny_model))
    fresh_runtime.cache.budget_bytes = fresh_runtime.cache.used_bytes + 1  # room for one tiny model
    old_unet = weakref.ref(pipeline_of(fresh_runtime).unet)
    run(fresh_runtime, request(other_model))
    gc.collect()
    assert old_unet() is None
    assert [Path(k.identity.path).name for k in fresh_runtime.cache.lru_keys()] == ["other-sd"]


def test_a_model_changed_on_disk_is_loaded_again(runtime, tiny_model, tmp_path):
    model = _copy(tiny_model, tmp_path)
    run(runtime, request(model))
    pipe = pipeline_of(runtime)
    weights = model / UNET_WEIGHTS
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    run(runtime, request(model))
    assert pipeline_of(runtime) is not pipe


def test_out_of_memory_evicts_the_other_models_and_retries_once(
    fresh_runtime, tiny_model, other_model, monkeypatch
):
    run(fresh_runtime, request(other_model))
    expected = run(fresh_runtime, request(tiny_model))[0]
    real_call = StableDiffusionPipeline.__call__
    calls = []

    def first_call_fails(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return real_call(self, *args, **kwargs)

    monkeypatch.setattr(StableDiffusionPipeline, "__call__", first_call_fails)
    events = []
    got = fresh_runtime.run(request(tiny_model), JobContext(1, emit=events.append)).images[0]
    np.testing.assert_array_equal(got.rgb, expected)
    assert [Path(k.identity.path).name for k in fresh_runtime.cache.lru_keys()] == ["tiny-sd"]
    assert any("retrying" in e.message for e in progress_of(events))


def test_out_of_memory_twice_is_one_sentence_of_advice(runtime, tiny_model, monkeypatch):
    run(runtime, request(tiny_model))

    def exhausted(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(StableDiffusionPipeline, "__call__", exhausted)
    with pytest.raises(OutOfMemory) as excinfo:
        runtime.run(request(tiny_model), JobContext(1))
    message = excinfo.value.message
    assert message.count("out of memory") == 1 and "while generating" in message
    assert "batch size" in message


def test_out_of_memory_while_loading_gives_advice(fresh_runtime, tiny_model, monkeypatch):
    def exhausted(*args, **kwargs):
        raise RuntimeError("MPS backend out of memory (MPS allocated: 9 GB)")

    monkeypatch.setattr(StableDiffusionPipeline, "from_pretrained", exhausted)
    with pytest.raises(OutOfMemory) as excinfo:
        fresh_runtime.run(request(tiny_model), JobContext(1))
    assert "ran out of memory while loading the model" in excinfo.value.message


# ---------------------------------------------------------------- metadata


def composite_hash(folder: Path, files: list[str]) -> str:
    """Our folder hash, computed here from its definition: sha256 over each weight file's
    relative path and sha256, in path order."""
    total = hashlib.sha256()
    for relative in sorted(files):
        sha = hashlib.sha256((folder / relative).read_bytes()).hexdigest()
        total.update(relative.encode() + b"\0" + sha.encode() + b"\n")
    return total.hexdigest()


def test_info_describes_the_image(runtime, tiny_model):
    info = runtime.run(request(tiny_model, sampler="Euler a"), JobContext(1)).images[0].info
    assert info["model"] == "tiny-sd"
    assert Path(info["model_path"]) == tiny_model.resolve()
    weights = [
        "text_encoder/model.safetensors",
        "unet/diffusion_pytorch_model.safetensors",
        "vae/diffusion_pytorch_model.safetensors",
    ]
    assert info["model_sha256"] == composite_hash(tiny_model, weights)
    assert info["model_hash_kind"] == "folder"
    assert info["sampler"] == "Euler a"
    assert (info["device"], info["dtype"], info["family"]) == ("cpu", "float32", "sd")
    assert info["torch"] == torch.__version__ and info["diffusers"]


# ---------------------------------------------------------------- latent previews


def test_latent_preview_uses_the_sd_factors():
    latents = np.zeros((1, 4, 2, 3), dtype=np.float32)
    latents[0, 0] = 1.0
    rgb = latents_to_rgb(latents)
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.uint8
    expected = ((SD_FACTORS.factors[0] + 1.0) * 127.5).round().astype(np.uint8)
    assert (rgb == expected).all()


def test_latent_preview_takes_torch_tensors_and_other_channel_counts():
    torch_rgb = latents_to_rgb(torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0)))
    assert torch_rgb.shape == (8, 8, 3)
    for channels in (1, 3, 16):
        rgb = latents_to_rgb(np.random.default_rng(0).standard_normal((1, channels, 5, 7)))
        assert rgb.shape == (5, 7, 3) and rgb.dtype == np.uint8
    assert latents_to_rgb(np.zeros((1, 4, 2, 2)), family="sdxl").shape == (2, 2, 3)


# ---------------------------------------------------------------- building models on two lanes


def test_a_model_built_while_a_pipeline_loads_gets_real_weights(tiny_model):
    """accelerate patches torch.nn.Module for the whole process while diffusers loads;
    the shared construction lock keeps a VAE built meanwhile on another lane whole."""
    import threading

    from engine.models.sd.loading import load_sd_pipeline
    from engine.models.vae.files import load_vae
    from engine.resources import BUNDLED_MODELS_DIR

    done = threading.Event()
    errors: list[BaseException] = []

    def load_pipelines():
        try:
            for _ in range(3):
                load_sd_pipeline(tiny_model, "cpu", torch.float32)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=load_pipelines)
    thread.start()
    built = 0
    while not done.is_set():
        model, _config, _meta = load_vae(BUNDLED_MODELS_DIR / "vae-digits.safetensors")
        assert not any(p.is_meta for p in model.parameters())
        built += 1
    thread.join()
    assert not errors and built > 0


# ---------------------------------------------------------------- hostile model files


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_a_pickle_that_would_run_code_is_refused_and_never_runs(
    fresh_runtime, tiny_model, tmp_path
):
    import pickle

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    model = _copy(tiny_model, tmp_path)
    (model / "text_encoder" / "model.safetensors").unlink()
    (model / "text_encoder" / "pytorch_model.bin").write_bytes(pickle.dumps({"weight": Payload()}))
    with pytest.raises(BadModelFile) as caught:
        fresh_runtime.run(request(model), JobContext(1))
    assert not marker.exists()
    assert "never runs code from model files" in caught.value.message


def test_nan_weights_are_a_broken_model_not_a_black_image(fresh_runtime, tiny_model, tmp_path):
    from safetensors.torch import load_file, save_file

    model = _copy(tiny_model, tmp_path)
    weights = model / UNET_WEIGHTS
    tensors = load_file(weights)
    tensors = {k: torch.full_like(v, float("nan")) for k, v in tensors.items()}
    save_file(tensors, weights)
    with pytest.raises(BadModelFile, match="produced no picture"):
        fresh_runtime.run(request(model), JobContext(1))


def test_a_job_that_cannot_fit_in_memory_is_refused_before_it_starts(
    fresh_runtime, tiny_model, monkeypatch
):
    import engine.models.sd.runners as sd_runners

    monkeypatch.setattr(sd_runners, "available_bytes", lambda device: 50 * 2**20)  # 50 MB free
    events = []
    with pytest.raises(OutOfMemory) as caught:
        fresh_runtime.run(
            request(tiny_model, width=2048, height=2048, batch_size=4),
            JobContext(1, emit=events.append),
        )
    assert "2048×2048 with a batch of 4 needs about" in caught.value.message
    assert not [e for e in events if isinstance(e, Progress) and e.step > 0]
    run(fresh_runtime, request(tiny_model))  # a job that fits still runs


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (
            lambda d: (d / "notes.txt").write_text("hello") and d / "notes.txt",
            "is not a Stable Diffusion model",
        ),
    ],
)
def test_files_that_are_not_model_folders_are_named_for_what_they_are(
    runtime, tmp_path, make, words
):
    with pytest.raises(BadInput, match=words):
        runtime.run(request(make(tmp_path)), JobContext(1))


def test_a_model_index_without_a_class_name_says_what_is_wrong(runtime, tiny_model, tmp_path):
    import json

    model = _copy(tiny_model, tmp_path)
    index = json.loads((model / "model_index.json").read_text())
    del index["_class_name"]
    (model / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(BadModelFile, match="names no pipeline"):
        runtime.run(request(model), JobContext(1))


def test_an_unreadable_weights_file_says_permission_denied(runtime, tiny_model, monkeypatch):
    import engine.models.sd.files as sd_files

    def refuse(path, framework):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(sd_files, "safe_open", refuse)
    with pytest.raises(BadModelFile) as caught:
        runtime.run(request(tiny_model), JobContext(1))
    assert (
        "permission denied" in caught.value.message and "No such file" not in caught.value.message
    )


def test_every_allocator_out_of_memory_is_recognised():
    from engine.api.errors import is_out_of_memory

    assert is_out_of_memory(
        RuntimeError(
            "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: "
            "you tried to allocate 40000000000 bytes."
        )
    )
    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory."))
    assert is_out_of_memory(MemoryError())
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
