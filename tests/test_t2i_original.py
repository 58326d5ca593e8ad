"""TencentARC's own T2I-Adapter files (t2iadapter_*_sd14v1.pth): detection from the
header, loading as diffusers' T2IAdapter, refusals, and the library listing.

The oracle of loading is diffusers' T2IAdapter itself: a tiny one with random weights is
written in the original layout through the literal name tables of
tests/t2i_original_layout.py (from diffusers' convert_original_t2iadapter.py), and the
adapter the app loads from that file gives the same features for the same map. The
official files' shapes are the conversion script's own asserts.
"""

from __future__ import annotations

import pytest
import torch
from diffusers import T2IAdapter
from safetensors.torch import save_file

from engine.api.errors import BadInput, BadModelFile
from engine.library.control import ORIGINAL, T2I_ADAPTER, detect_control
from engine.library.detect import ModelKind, SdFamily
from engine.library.header import read_header
from engine.library.scan import scan_library
from engine.models.sd.control.files import load_control_model
from engine.models.sd.control.t2i_original import original_adapter_config
from tests.sd_original_layout import write_header_only
from tests.t2i_original_layout import TINY, to_original


def tiny_adapter(adapter_type: str, in_channels: int = 3, seed: int = 0) -> T2IAdapter:
    torch.manual_seed(seed)
    model = T2IAdapter(in_channels=in_channels, adapter_type=adapter_type, **TINY)
    with torch.no_grad():  # default inits are small; make every weight count
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.1)
    return model.eval()


def write(state: dict, path):
    if path.suffix == ".pth":
        torch.save(state, path)
    else:
        save_file(state, str(path))
    return path


def same_features(ours: T2IAdapter, theirs: T2IAdapter, in_channels: int) -> None:
    x = torch.rand(1, in_channels, 64, 64, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        got, want = ours(x), theirs(x)
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
@pytest.mark.parametrize(
    ("adapter_type", "in_channels"),
    [("full_adapter", 3), ("full_adapter", 1), ("light_adapter", 3)],
)
def test_an_original_file_is_told_and_loads_to_the_same_adapter(
    tmp_path, suffix, adapter_type, in_channels
):
    theirs = tiny_adapter(adapter_type, in_channels)
    path = write(to_original(theirs), tmp_path / f"t2iadapter_tiny_sd14v1{suffix}")
    info = detect_control(read_header(path))
    assert (info.kind, info.family, info.layout) == (T2I_ADAPTER, "sd1", ORIGINAL)
    loaded = load_control_model(path, SdFamily.SD1, "cpu", torch.float32)
    assert (loaded.kind, loaded.family) == (T2I_ADAPTER, SdFamily.SD1)
    assert loaded.model.config.adapter_type == adapter_type
    assert loaded.model.config.in_channels == in_channels
    same_features(loaded.model, theirs, in_channels)


# The official files' shapes, from convert_original_t2iadapter.py's asserts: conv_in
# reads 64 channels a map channel (8x8 pixel unshuffle), levels of 320/640/1280/1280.
OFFICIAL_FULL = {
    "conv_in.weight": (320, 64, 3, 3),  # canny / sketch: one channel
    **{
        f"body.{i}.block1.weight": (w, w, 3, 3)
        for i, w in enumerate([320] * 2 + [640] * 2 + [1280] * 4)
    },
    "body.0.block2.weight": (320, 320, 1, 1),
    "body.2.in_conv.weight": (640, 320, 1, 1),
    "body.4.in_conv.weight": (1280, 640, 1, 1),
}
OFFICIAL_LIGHT = {  # t2iadapter_color_sd14v1: 4 levels of 4 blocks, a quarter the width
    **{
        f"body.{n}.in_conv.weight": (w // 4, c, 1, 1)
        for n, (c, w) in enumerate([(192, 320), (320, 640), (640, 1280), (1280, 1280)])
    },
    **{
        f"body.{n}.out_conv.weight": (w, w // 4, 1, 1) for n, w in enumerate([320, 640, 1280, 1280])
    },
    **{f"body.0.body.{m}.block1.weight": (80, 80, 3, 3) for m in range(4)},
}


@pytest.mark.parametrize(
    ("shapes", "config"),
    [
        (
            OFFICIAL_FULL,
            {
                "in_channels": 1,
                "channels": [320, 640, 1280, 1280],
                "num_res_blocks": 2,
                "adapter_type": "full_adapter",
            },
        ),
        # the script builds the colour adapter as T2IAdapter(in_channels=3,
        # channels=[320, 640, 1280], num_res_blocks=4, adapter_type="light_adapter")
        (
            OFFICIAL_LIGHT,
            {
                "in_channels": 3,
                "channels": [320, 640, 1280],
                "num_res_blocks": 4,
                "adapter_type": "light_adapter",
            },
        ),
    ],
)
def test_the_official_shapes_give_the_conversion_scripts_config(tmp_path, shapes, config):
    header = read_header(write_header_only(tmp_path / "t2iadapter.safetensors", shapes))
    assert detect_control(header).kind == T2I_ADAPTER
    assert original_adapter_config(header) == {**config, "downscale_factor": 8}


STYLE = {  # t2iadapter_style_sd14v1: StyleAdapter(width=1024, context_dim=768, ...)
    "style_embedding": (1, 8, 1024),
    "ln_pre.weight": (1024,),
    "transformer_layes.0.attn.in_proj_weight": (3072, 1024),
    "ln_post.weight": (1024,),
    "proj": (1024, 768),
}


def test_the_style_adapter_is_refused_with_a_sentence(tmp_path):
    path = write_header_only(tmp_path / "t2iadapter_style_sd14v1.safetensors", STYLE)
    info = detect_control(read_header(path))
    assert (info.kind, info.variant) == (T2I_ADAPTER, "style")
    with pytest.raises(BadInput) as err:
        load_control_model(path, SdFamily.SD1, "cpu", torch.float32)
    message = err.value.message
    assert message.startswith("t2iadapter_style_sd14v1.safetensors is TencentARC's style")
    assert "diffusers has no pipeline for it" in message and "IP-Adapter" in message


@pytest.mark.parametrize("change", ["missing", "extra", "misshapen"])
def test_a_file_of_wrong_tensors_is_a_sentence_naming_it(tmp_path, change):
    state = to_original(tiny_adapter("full_adapter"))
    if change == "missing":
        del state["body.3.block2.bias"]
    elif change == "extra":
        state["body.1.in_conv.weight"] = torch.zeros(32, 32, 1, 1)
    else:
        state["body.1.block1.bias"] = torch.zeros(7)
    path = write(state, tmp_path / "t2iadapter_bad_sd14v1.pth")
    with pytest.raises(BadInput, match="t2iadapter_bad_sd14v1.pth does not hold a complete"):
        load_control_model(path, SdFamily.SD1, "cpu", torch.float32)


def test_a_truncated_file_is_a_sentence(tmp_path):
    path = write(to_original(tiny_adapter("full_adapter")), tmp_path / "t2i_cut.safetensors")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadModelFile, match="t2i_cut.safetensors is incomplete"):
        load_control_model(path, SdFamily.SD1, "cpu", torch.float32)


def test_the_library_lists_original_adapters(tmp_path):
    folder = tmp_path / "webui" / "models" / "ControlNet"
    folder.mkdir(parents=True)
    write(to_original(tiny_adapter("full_adapter", 1)), folder / "t2iadapter_canny_sd14v1.pth")
    write(to_original(tiny_adapter("light_adapter")), folder / "t2iadapter_color_sd14v1.pth")
    write_header_only(folder / "t2iadapter_style_sd14v1.safetensors", STYLE)
    entries = scan_library([tmp_path / "webui"])
    seen = {e.name: (e.kind, e.family, e.problem) for e in entries}
    assert seen == {
        "t2iadapter_canny_sd14v1": (ModelKind.T2I_ADAPTER, SdFamily.SD1, ""),
        "t2iadapter_color_sd14v1": (ModelKind.T2I_ADAPTER, SdFamily.SD1, ""),
        "t2iadapter_style_sd14v1": (
            ModelKind.T2I_ADAPTER,
            SdFamily.SD1,
            "a style T2I-Adapter: not supported",
        ),
    }
