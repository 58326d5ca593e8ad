"""An fp32 single file, its diffusers folder and a bare diffusers call give one picture.

fp32 weights on the CPU are not converted on loading: the app computes with views into
the mapped files, which sit at other byte offsets in a single file than in a folder. A
kernel whose path depends on where a weight lies (an AVX-512 one, say) would make the two
differ, as it was seen to on a machine with AVX-512 and AMX. Wider than the other tiny
models, with widths that are not multiples of 16, so matrix kernels take their tails.
Oracle: diffusers' own pipeline loaded from the folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine.api.kinds import Family
from engine.api.parts import ModelRef, Prompt, Sampling, Size
from engine.api.requests import Txt2ImgRequest
from engine.context import JobContext
from engine.library.header import read_header
from engine.models.sd.loading import load_sd_pipeline
from tests.sd_original_layout import (
    bare_image,
    bare_pipeline,
    save_folder,
    save_single_file,
    tiny_pipeline,
)

pytestmark = pytest.mark.reproducibility

# CLIP's 64 channels a head (what the single-file loader assumes); an odd MLP width.
WIDE_TEXT = {"hidden_size": 192, "num_attention_heads": 3, "intermediate_size": 151}
WIDE_UNET = {"block_out_channels": [96, 160], "cross_attention_dim": 192}


@pytest.fixture(scope="module")
def wide(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("wide-sd1")
    pipe = tiny_pipeline("sd1", seed=4, unet=WIDE_UNET, text=WIDE_TEXT)
    return save_folder(pipe, root / "wide-sd1"), save_single_file(pipe, root / "wide.safetensors")


def _request(model: Path) -> Txt2ImgRequest:
    return Txt2ImgRequest(
        model=ModelRef(Family.SD, str(model)),
        prompt=Prompt("a red apple on a table", "blurry"),
        size=Size(64, 64),
        sampling=Sampling(steps=3, cfg_scale=6.0, sampler=None, seed=7),
    )


def test_the_file_is_fp32_and_its_weights_lie_at_other_offsets_than_the_folders(wide):
    """What makes the picture test below mean something: no dtype conversion copies the
    weights, and the two loads put the same weight at different addresses mod 64."""
    folder, single = wide
    assert {info.dtype for info in read_header(single).tensors.values()} == {"F32"}
    loads = [load_sd_pipeline(path, "cpu", torch.float32) for path in (folder, single)]
    offsets = [[p.data_ptr() % 64 for p in pipe.unet.parameters()] for pipe in loads]
    assert offsets[0] != offsets[1]


def test_an_fp32_single_file_its_folder_and_bare_diffusers_give_one_picture(sd_runtime, wide):
    folder, single = wide
    expected = bare_image(bare_pipeline(folder), "a red apple on a table", 7, negative="blurry")
    from_folder = sd_runtime.run(_request(folder), JobContext(1)).images[0].rgb
    from_file = sd_runtime.run(_request(single), JobContext(2)).images[0].rgb
    assert np.array_equal(from_folder, expected)
    assert np.array_equal(from_file, expected)
    assert expected.std() > 0  # a picture, not a flat field
