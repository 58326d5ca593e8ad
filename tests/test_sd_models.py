"""Stable Diffusion models on a tiny model built here: broken and hostile model files are
explained (never run), the model cache keeps what fits and evicts on out-of-memory, the
image's info names its model, latent previews use SD's factors, and a model built while
another loads gets real weights."""

# ruff: noqa: F811 - the runtime fixtures come from test_sd
from __future__ import annotations

import gc
import hashlib
import os
import shutil
import weakref
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionPipeline

from engine.api.errors import BadInput, BadModelFile, OutOfMemory
from engine.api.events import Progress
from engine.api.kinds import Family
from engine.context import JobContext
from engine.models.sd.latent_preview import SD_FACTORS, latents_to_rgb
from tests.test_sd import (  # noqa: F401 - the runtime fixtures
    UNET_WEIGHTS,
    fresh_runtime,
    pipeline_of,
    progress_of,
    request,
    run,
    runtime,
)

# Upstream noise, not ours: diffusers' k-diffusion schedulers pass torch tensors through
# numpy 2 functions, which warns thousands of times per DPM2 schedule.
pytestmark = [
    pytest.mark.filterwarnings("ignore:__array_wrap__ must accept context:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept:DeprecationWarning"),
]


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
