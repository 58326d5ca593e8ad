"""IP-Adapter on SDXL end to end, against bare diffusers' StableDiffusionXLPipeline.

The tiny SDXL pipeline of tests/sd_original_layout.py, a tiny IP-Adapter built to its
UNet (tests/test_ip_adapter.py's `tiny_ip_adapter`: `ip_adapter.N.to_k_ip/to_v_ip` for
each cross-attention, N = 1, 3, 5..., the numbering diffusers'
`_convert_ip_adapter_attn_to_diffusers` reads for every UNet) and a tiny CLIP vision
encoder, in ComfyUI's folders. The oracle: the same checkpoint folder loaded by diffusers
alone, `register_modules(image_encoder=...)`, `load_ip_adapter` of the same file,
`set_ip_adapter_scale`, the same picture and generator.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionXLPipeline
from safetensors.torch import save_file

from engine.api.errors import BadInput
from engine.api.image_parts import IpAdapter
from engine.api.kinds import Family
from engine.api.parts import ImageRef, ModelRef
from engine.context import JobContext
from engine.library.control import detect_control
from engine.library.header import read_header
from tests.test_ip_adapter import VISION, bare, comfy_files, request

pytestmark = [
    pytest.mark.filterwarnings("ignore:__array_wrap__ must accept context:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return comfy_files(tmp_path_factory, "sdxl", "tiny_sdxl")


def test_an_sdxl_job_with_an_ip_adapter_equals_bare_diffusers(sd_runtime, files):
    assert detect_control(read_header(files["adapter"])).kind == "ip-adapter"
    mine = sd_runtime.run(request(files, weight=0.7), JobContext(1)).images[0].rgb
    theirs = bare(files, 0.7, 11, cls=StableDiffusionXLPipeline)[0]
    assert np.array_equal(mine, theirs)
    plain = bare(files, 0.7, 11, with_adapter=False, cls=StableDiffusionXLPipeline)[0]
    assert not np.array_equal(mine, plain)  # the adapter did something
    # Unloaded after the job: the next job without it is the plain pipeline's picture.
    after = sd_runtime.run(request(files, adapters=()), JobContext(2)).images[0].rgb
    assert np.array_equal(after, plain)


def test_an_ip_adapter_of_another_width_is_a_sentence(sd_runtime, files):
    """A width of no official family says no family; the UNet's own width refuses it."""
    narrow = files["adapter"].parent / "ip-adapter_narrow.safetensors"
    width = 32  # the tiny SD 1.x UNet's; the tiny SDXL one reads 96
    save_file(
        {
            "image_proj.proj.weight": torch.zeros(4 * width, VISION["projection_dim"]),
            "image_proj.norm.weight": torch.zeros(width),
            "ip_adapter.1.to_k_ip.weight": torch.zeros(64, width),
        },
        str(narrow),
    )
    assert detect_control(read_header(narrow)).family is None
    adapter = IpAdapter(ModelRef(Family.SD, str(narrow)), ImageRef(str(files["picture"]), ""))
    with pytest.raises(BadInput, match="text embeddings 32 wide, and this checkpoint's are 96"):
        sd_runtime.run(request(files, adapters=(adapter,)), JobContext(1))
