"""A single-file checkpoint read straight into its target dtype (one copy, never the
file's beside it) gives the very weights diffusers' own from_single_file gives in that
dtype: the oracle is diffusers itself, bitwise, for each family's key conversion."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from engine.models.sd.loading import load_sd_pipeline, locate_sd_model
from engine.models.sd.single_file import config_folder
from engine.models.sd.single_file_tensors import read_in_dtype
from tests.sd_original_layout import save_single_file, tiny_pipeline


def test_floating_tensors_are_converted_and_the_rest_kept(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "t.safetensors"
    tensors = {"w": torch.randn(3, 4), "h": torch.randn(2).half(), "ids": torch.arange(5)}
    save_file(tensors, str(path))
    read = read_in_dtype(path, torch.bfloat16)
    oracle = load_file(str(path))
    assert {k: v.dtype for k, v in read.items()} == {
        "w": torch.bfloat16,
        "h": torch.bfloat16,
        "ids": torch.int64,
    }
    for name in ("w", "h"):
        assert torch.equal(read[name], oracle[name].to(torch.bfloat16))
    assert torch.equal(read["ids"], oracle["ids"])


@pytest.mark.parametrize("family", ["sd1", "sd2", "sdxl"])
def test_the_weights_are_diffusers_own_in_that_dtype(family, tmp_path, monkeypatch):
    import diffusers

    import engine.models.sd.single_file_tensors as tensors

    reads = []
    read = tensors.read_in_dtype
    monkeypatch.setattr(tensors, "read_in_dtype", lambda *a: reads.append(a) or read(*a))
    path = save_single_file(tiny_pipeline(family), tmp_path / f"{family}.safetensors")
    model = locate_sd_model(path)
    app = load_sd_pipeline(model, "cpu", torch.bfloat16)
    assert reads == [(path, torch.bfloat16)]  # the file was read through it, once
    extra = {} if family == "sdxl" else {"safety_checker": None, "requires_safety_checker": False}
    bare = getattr(diffusers, model.single.pipeline_class).from_single_file(
        str(path),
        config=str(config_folder(model.single)),
        local_files_only=True,
        dtype=torch.bfloat16,
        **extra,
    )
    for name in ("unet", "vae", "text_encoder"):
        ours, theirs = getattr(app, name).state_dict(), getattr(bare, name).state_dict()
        assert ours.keys() == theirs.keys()
        for key, value in theirs.items():
            assert ours[key].dtype == value.dtype and torch.equal(ours[key], value), key


def test_a_dtype_it_does_not_read_is_left_to_diffusers(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "f8.safetensors"
    save_file({"w": torch.zeros(4).to(torch.float8_e4m3fn)}, str(path))
    assert read_in_dtype(path, torch.bfloat16) is None
