"""CUDA model offload: the decision as a literal table, and the apply step on a real tiny
diffusers pipeline.

No GPU here. What these tests prove: the rule picks the mode the table says (figures
worked out by hand from the rule's constants); free memory is read from
torch.cuda.mem_get_info; diffusers' and accelerate's own hooks are installed by the apply
step; and with those hooks in place the pipeline draws the same pixels. What they cannot
prove: that CUDA memory really stays under the free figure, or the speed cost; the
offload "device" here is the CPU itself, so nothing moves between devices.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

from engine.device import DeviceChoice
from engine.models.sd.offload import (
    ACTIVATION_MARGIN,
    FIXED_RESERVE,
    MODEL,
    NONE,
    SEQUENTIAL,
    ModelSizes,
    Offload,
    choose_offload,
    model_sizes,
    offload_for,
    place,
)
from tests.compile_support import draw
from tests.sd_original_layout import bare_pipeline

GB = 2**30
# SD 1.5 in fp16, as its safetensors files weigh: UNet 1.72 GB, text encoder 0.25 GB,
# VAE 0.17 GB; its largest layer (a 1280→5120 feed-forward weight) about 13 MB.
SD15_FP16 = ModelSizes(all=int(2.13 * GB), largest_model=int(1.72 * GB), largest_layer=13 << 20)
# SDXL in fp16: UNet 5.14 GB, both text encoders 1.6 GB, VAE 0.17 GB.
SDXL_FP16 = ModelSizes(all=int(6.91 * GB), largest_model=int(5.14 * GB), largest_layer=26 << 20)
HALF_GB = GB // 2  # a 512² batch-1 job's activations; with the margin: 0.75 + 0.75 = 1.5 GB

# (preference, free GB, model, activations) → mode. Need = activations × 1.5 + 0.75 GB.
TABLE = [
    ("auto", 24.0, SDXL_FP16, HALF_GB, NONE),  # a 4090: everything fits
    ("auto", 8.0, SD15_FP16, HALF_GB, NONE),  # 2.13 + 1.5 = 3.63 ≤ 8
    ("auto", 3.63, SD15_FP16, HALF_GB, NONE),  # exactly fits: fits
    ("auto", 3.5, SD15_FP16, HALF_GB, MODEL),  # 3.63 > 3.5, but 1.72 + 1.5 = 3.22 ≤ 3.5
    ("auto", 8.0, SDXL_FP16, HALF_GB, MODEL),  # 6.91 + 1.5 > 8, 5.14 + 1.5 ≤ 8
    ("auto", 6.0, SDXL_FP16, HALF_GB, SEQUENTIAL),  # 5.14 + 1.5 > 6
    ("auto", 2.0, SD15_FP16, HALF_GB, SEQUENTIAL),  # 1.72 + 1.5 > 2
    ("auto", 0.5, SD15_FP16, HALF_GB, SEQUENTIAL),  # nothing fits: the last resort
    ("auto", 8.0, SD15_FP16, 4 * GB, SEQUENTIAL),  # a big batch: 1.72 + 6.75 > 8
    ("auto", 8.6, SD15_FP16, 4 * GB, MODEL),  # 2.13 + 6.75 > 8.6, 1.72 + 6.75 ≤ 8.6
    ("none", 0.5, SDXL_FP16, HALF_GB, NONE),  # the user's choice wins
    ("model", 80.0, SD15_FP16, HALF_GB, MODEL),
    ("sequential", 80.0, SD15_FP16, HALF_GB, SEQUENTIAL),
]


def test_the_margin_is_what_the_table_was_worked_out_with():
    assert ACTIVATION_MARGIN == 1.5 and FIXED_RESERVE == 768 * 2**20


@pytest.mark.parametrize(("preference", "free", "sizes", "activations", "expected"), TABLE)
def test_the_mode_follows_the_literal_table(preference, free, sizes, activations, expected):
    offload = choose_offload(preference, int(free * GB), sizes, activations)
    assert offload.mode == expected
    assert (offload.note == "") == (expected == NONE)


def test_the_reason_and_note_name_the_figures():
    offload = choose_offload("auto", int(3.5 * GB), SD15_FP16, HALF_GB)
    assert "3.5 GB free" in offload.reason and "2.1 GB" in offload.reason
    assert "the same pixels" in offload.note and "model offload" in offload.note


# ---------------------------------------------------------------- a real tiny pipeline


def file_bytes(folder: Path, part: str) -> int:
    """The oracle: tensor bytes as the safetensors header lists them (dtype × shape)."""
    total = 0
    for file in (folder / part).glob("*.safetensors"):
        with safe_open(str(file), framework="pt") as f:
            for name in f.keys():  # noqa: SIM118  (safe_open has no __iter__)
                meta = f.get_slice(name)
                element = torch.empty(0, dtype=getattr(torch, _DTYPES[meta.get_dtype()]))
                total += int(np.prod(meta.get_shape(), dtype=np.int64)) * element.element_size()
    return total


_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64"}


def test_model_sizes_are_the_files_tensor_bytes(tiny_sd_model):
    sizes = model_sizes(bare_pipeline(tiny_sd_model))
    parts = {p: file_bytes(tiny_sd_model, p) for p in ("unet", "vae", "text_encoder")}
    # The text encoder holds a position-id buffer its file may not: a few hundred bytes.
    assert abs(sizes.all - sum(parts.values())) <= 1024
    assert abs(sizes.largest_model - max(parts.values())) <= 1024
    assert 0 < sizes.largest_layer < sizes.largest_model


def test_free_memory_is_read_from_cuda_mem_get_info(tiny_sd_model, monkeypatch):
    from types import SimpleNamespace

    pipe = bare_pipeline(tiny_sd_model)
    sizes = model_sizes(pipe)
    env = SimpleNamespace(device=DeviceChoice("cuda"), offload="auto")
    for free, expected in ((sizes.all + FIXED_RESERVE, NONE), (FIXED_RESERVE, SEQUENTIAL)):
        monkeypatch.setattr(torch.cuda, "mem_get_info", lambda free=free: (free, 8 * GB))
        assert offload_for(env, pipe, 0).mode == expected


def test_model_offload_installs_diffusers_hooks_and_keeps_the_pixels(tiny_sd_model):
    expected = draw(bare_pipeline(tiny_sd_model))
    pipe = place(bare_pipeline(tiny_sd_model), "cpu", Offload(MODEL, "test"))
    assert pipe._offload_device == torch.device("cpu:0")  # diffusers' own record
    for part in (pipe.unet, pipe.vae, pipe.text_encoder):
        assert type(part._hf_hook).__name__ == "CpuOffload"  # accelerate's, per model
    np.testing.assert_array_equal(draw(pipe), expected)


def test_sequential_offload_hooks_every_layer(tiny_sd_model):
    """Hooks only: drawing with the CPU as the offload device fails inside accelerate
    1.16 (a CLIP embedding's weight comes back as a plain tensor, which its Parameter
    rebuild refuses), likely because a move to the CPU copies nothing there. Whether it
    draws on CUDA, and the same pixels, is for a GPU machine to see."""
    pipe = place(bare_pipeline(tiny_sd_model), "cpu", Offload(SEQUENTIAL, "test"))
    assert pipe._offload_device == torch.device("cpu:0")
    for part in (pipe.unet, pipe.vae, pipe.text_encoder):
        layers = [m for m in part.modules() if list(m.parameters(recurse=False))]
        assert all(type(m._hf_hook).__name__ == "AlignDevicesHook" for m in layers)
        assert all(p.device.type == "meta" for p in part.parameters())  # weights wait off it


def test_no_offload_is_a_plain_move(tiny_sd_model):
    pipe = place(bare_pipeline(tiny_sd_model), "cpu", Offload(NONE, "test"))
    assert not hasattr(pipe.unet, "_hf_hook")


def test_the_cpu_path_never_offloads_nor_records_it(tiny_sd_model):
    from engine.api.kinds import Family
    from engine.api.parts import ModelRef, Prompt, Sampling, Size
    from engine.api.requests import Txt2ImgRequest
    from engine.context import JobContext
    from engine.runtime import Runtime

    req = Txt2ImgRequest(
        model=ModelRef(Family.SD, str(tiny_sd_model)),
        prompt=Prompt("a cat"),
        size=Size(64, 64),
        sampling=Sampling(steps=2, sampler=None, seed=3),
    )
    runtime = Runtime(device_preference="cpu", precision="fp32", offload="sequential")
    try:
        image = runtime.run(req, JobContext(1, previews=False)).images[0]
        [key] = [k for k in runtime.cache.lru_keys() if k.family is Family.SD]
        unet = runtime.cache.peek(key).pipe.unet
    finally:
        runtime.close()
    assert "offload" not in image.info and not hasattr(unet, "_hf_hook")


def test_the_details_name_the_offload_beside_the_device():
    import json

    from engine.store.metadata import metadata_from_text
    from gui.details_describe import _from_recipe

    def device_row(**recorded: str) -> str:
        request = {"type": "txt2img", "model": {"family": "sd", "id": "m"}}
        recipe = {"version": 2, "request": request, "seed": 1, "index": 0, **recorded}
        meta = metadata_from_text({"latentstudio": json.dumps(recipe)}, 64, 64)
        return dict(_from_recipe(meta))["Device"]

    assert device_row(device="cuda", precision="fp16", offload="model") == (
        "cuda · fp16 · model offload"
    )
    assert device_row(device="cuda", precision="fp16", offload="none") == "cuda · fp16"
    assert device_row(device="cpu", precision="bf16") == "cpu · bf16"
