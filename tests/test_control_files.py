"""Control model files (issue 22): ControlNet / T2I-Adapter / IP-Adapter / CLIP vision
detection from headers, loading (folders and original-layout single files), refusals,
and the library listing.

The tiny ControlNets are diffusers' own ControlNetModel built from the tiny UNets of
tests/sd_original_layout.py; the original-layout single files are written by the
converter below, from the key layout diffusers' converter documents
(single_file_utils.convert_controlnet_checkpoint: input_hint_block.0/2/.../14,
zero_convs.N.0, middle_block_out.0, the UNet's input/middle blocks, label_emb). The
oracle of loading is the tensors: every one comes back equal.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from diffusers import ControlNetModel, T2IAdapter
from safetensors.torch import save_file

from engine.api.errors import BadInput, BadModelFile
from engine.library.control import (
    CLIP_VISION,
    CONTROLNET,
    IP_ADAPTER,
    T2I_ADAPTER,
    detect_control,
    detect_control_folder,
)
from engine.library.detect import ModelKind, SdFamily
from engine.library.header import read_header
from engine.library.scan import scan_library
from engine.models.sd.control.files import (
    controlnet_config,
    inspect_control_file,
    load_control_model,
)
from tests.sd_original_layout import TINY_UNET, unet_to_original, write_header_only

HINT = (4, 8, 8, 16)  # the conditioning embedding's widths (official: 16, 32, 96, 256)


def tiny_controlnet(family: str, seed: int = 0) -> ControlNetModel:
    torch.manual_seed(seed)
    unet = dict(TINY_UNET[family])
    unet.pop("up_block_types")
    extra = {}
    if family == "sdxl":
        extra = {"addition_embed_type": "text_time"}
    model = ControlNetModel(
        layers_per_block=1, conditioning_embedding_out_channels=HINT, **unet, **extra
    )
    with torch.no_grad():  # zero convolutions start at zero; make them tell apart
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    return model.eval()


def to_original(model: ControlNetModel, prefix: str = "control_model.") -> dict:
    """The ControlNet's tensors under the names of lllyasviel's original files."""
    state = dict(model.state_dict())
    out = {}
    hint = {
        "controlnet_cond_embedding.conv_in.": "input_hint_block.0.",
        "controlnet_cond_embedding.conv_out.": f"input_hint_block.{2 * (len(HINT) * 2 - 1)}.",
    }
    for i in range(2 * (len(HINT) - 1)):
        hint[f"controlnet_cond_embedding.blocks.{i}."] = f"input_hint_block.{2 * (i + 1)}."
    for i in range(len(model.controlnet_down_blocks)):
        hint[f"controlnet_down_blocks.{i}."] = f"zero_convs.{i}.0."
    hint["controlnet_mid_block."] = "middle_block_out.0."
    for name in list(state):
        for diffusers_prefix, original in hint.items():
            if name.startswith(diffusers_prefix):
                out[original + name[len(diffusers_prefix) :]] = state.pop(name)
    levels = len(model.config.block_out_channels)
    config = SimpleNamespace(
        layers_per_block=model.config.layers_per_block,
        block_out_channels=model.config.block_out_channels,
        up_block_types=["UpBlock2D"] * levels,
    )
    out |= unet_to_original(state, config)
    return {prefix + k: v.detach().contiguous().clone() for k, v in out.items()}


def assert_same_tensors(loaded, model) -> None:
    mine, theirs = loaded.state_dict(), model.state_dict()
    assert mine.keys() == theirs.keys()
    for name, tensor in theirs.items():
        assert torch.equal(mine[name], tensor), name


@pytest.fixture(scope="module")
def controlnets():
    return {family: tiny_controlnet(family) for family in ("sd1", "sdxl")}


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_a_controlnet_folder_loads_with_its_weights(tmp_path, controlnets, family):
    model = controlnets[family]
    model.save_pretrained(tmp_path / "cn")
    loaded = load_control_model(tmp_path / "cn", SdFamily(family), "cpu", torch.float32)
    assert (loaded.kind, loaded.family) == (CONTROLNET, SdFamily(family))
    assert isinstance(loaded.model, ControlNetModel)
    assert_same_tensors(loaded.model, model)


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
@pytest.mark.parametrize("prefix", ["control_model.", ""])
def test_an_original_layout_file_loads_with_its_weights(tmp_path, controlnets, family, prefix):
    model = controlnets[family]
    path = tmp_path / "control_tiny.safetensors"
    save_file(to_original(model, prefix), str(path))
    info = detect_control(read_header(path))
    assert (info.kind, info.family, info.prefix) == (CONTROLNET, family, prefix)
    config = controlnet_config(inspect_control_file(path))
    for key in (
        "block_out_channels",
        "layers_per_block",
        "down_block_types",
        "cross_attention_dim",
        "conditioning_embedding_out_channels",
        "transformer_layers_per_block",
        "addition_embed_type",
        "projection_class_embeddings_input_dim",
    ):
        if key in config or model.config.get(key) is not None:
            mine, theirs = _listed(config[key]), _listed(model.config[key])
            if len(theirs) == 1 and len(mine) > 1:  # one number for every level
                theirs = theirs * len(mine)
            assert list(mine) == list(theirs), key
    unet = {"addition_time_embed_dim": model.config.addition_time_embed_dim}  # pipe.unet's
    loaded = load_control_model(path, SdFamily(family), "cpu", torch.float32, unet)
    assert_same_tensors(loaded.model, model)
    assert loaded.model.config.addition_time_embed_dim == model.config.addition_time_embed_dim


def _listed(value):
    return value if isinstance(value, list | tuple) else [value]


def test_a_diffusers_layout_single_file_loads(tmp_path, controlnets):
    model = controlnets["sdxl"]  # as diffusers_xl_canny_full.safetensors
    path = tmp_path / "diffusers_xl_tiny.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    assert detect_control(read_header(path)).family == "sdxl"
    unet = {"addition_time_embed_dim": model.config.addition_time_embed_dim}
    loaded = load_control_model(path, SdFamily.SDXL, "cpu", torch.float32, unet)
    assert_same_tensors(loaded.model, model)


def test_a_pickled_original_file_loads(tmp_path, controlnets):
    path = tmp_path / "control_tiny.pth"
    torch.save(to_original(controlnets["sd1"]), path)
    loaded = load_control_model(path, SdFamily.SD1, "cpu", torch.float32)
    assert_same_tensors(loaded.model, controlnets["sd1"])


def test_a_t2i_adapter_folder_loads(tmp_path):
    torch.manual_seed(0)
    adapter = T2IAdapter(in_channels=3, channels=[32, 64], num_res_blocks=1, downscale_factor=8)
    adapter.save_pretrained(tmp_path / "t2i")
    assert detect_control_folder(tmp_path / "t2i").kind == T2I_ADAPTER
    loaded = load_control_model(tmp_path / "t2i", SdFamily.SD1, "cpu", torch.float32)
    assert (loaded.kind, loaded.family) == (T2I_ADAPTER, SdFamily.SD1)
    assert_same_tensors(loaded.model, adapter)
    xl = T2IAdapter(channels=[32, 64], num_res_blocks=1, adapter_type="full_adapter_xl")
    xl.save_pretrained(tmp_path / "t2i-xl")
    with pytest.raises(BadInput, match="SDXL, and the checkpoint is SD 1.x"):
        load_control_model(tmp_path / "t2i-xl", SdFamily.SD1, "cpu", torch.float32)


# ---------------------------------------------------------------- refusals


def test_a_controlnet_of_another_family_is_a_sentence(tmp_path, controlnets):
    controlnets["sdxl"].save_pretrained(tmp_path / "xl")
    with pytest.raises(BadInput) as err:
        load_control_model(tmp_path / "xl", SdFamily.SD1, "cpu", torch.float32)
    assert str(err.value.message) == (
        "xl is a ControlNet for SDXL, and the checkpoint is SD 1.x. Choose a ControlNet "
        "made for SD 1.x, or a SDXL checkpoint."
    )


def test_a_damaged_control_file_is_a_sentence(tmp_path, controlnets):
    path = tmp_path / "control_cut.safetensors"
    save_file(to_original(controlnets["sd1"]), str(path))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadModelFile, match="Download or copy it again|damaged|incomplete"):
        load_control_model(path, SdFamily.SD1, "cpu", torch.float32)


def test_a_file_missing_tensors_is_a_sentence(tmp_path, controlnets):
    state = to_original(controlnets["sd1"])
    del state["control_model.zero_convs.0.0.weight"]
    path = tmp_path / "control_partial.safetensors"
    save_file(state, str(path))
    with pytest.raises(BadModelFile, match="does not hold a complete ControlNet"):
        load_control_model(path, SdFamily.SD1, "cpu", torch.float32)


def test_a_folder_without_weights_and_a_non_control_file_are_sentences(tmp_path, controlnets):
    controlnets["sd1"].save_pretrained(tmp_path / "cn")
    (tmp_path / "cn" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(BadModelFile, match="no diffusion_pytorch_model.safetensors"):
        load_control_model(tmp_path / "cn", SdFamily.SD1, "cpu", torch.float32)
    lora = write_header_only(
        tmp_path / "lora.safetensors", {"lora_unet_x.lora_down.weight": (4, 8)}
    )
    with pytest.raises(BadInput, match="lora.safetensors is a lora, not a ControlNet"):
        load_control_model(lora, SdFamily.SD1, "cpu", torch.float32)
    ip = write_header_only(tmp_path / "ip.safetensors", IP_SD15)
    with pytest.raises(BadInput, match="is an IP-Adapter, not a ControlNet"):
        load_control_model(ip, SdFamily.SD1, "cpu", torch.float32)


# ---------------------------------------------------------------- detection from headers

IP_SD15 = {  # ip-adapter_sd15.safetensors: a linear projection of ViT-H's 1024 embedding
    "image_proj.proj.weight": (3072, 1024),
    "image_proj.norm.weight": (768,),
    "ip_adapter.1.to_k_ip.weight": (320, 768),
    "ip_adapter.1.to_v_ip.weight": (320, 768),
}
IP_PLUS_SDXL = {  # ip-adapter-plus_sdxl_vit-h: a Resampler over ViT-H's hidden states
    "image_proj.latents": (1, 16, 1280),
    "image_proj.proj_in.weight": (1280, 1280),
    "image_proj.proj_out.weight": (2048, 1280),
    "ip_adapter.1.to_k_ip.weight": (640, 2048),
}
IP_FULL_FACE = {
    "image_proj.proj.0.weight": (1280, 1280),
    "image_proj.proj.2.weight": (3072, 1280),
    "ip_adapter.1.to_k_ip.weight": (320, 768),
}
CLIP_VISION_H = {
    "vision_model.embeddings.patch_embedding.weight": (1280, 3, 14, 14),
    "visual_projection.weight": (1024, 1280),
}


@pytest.mark.parametrize(
    ("shapes", "kind", "family", "variant"),
    [
        (IP_SD15, IP_ADAPTER, "sd1", ""),
        (IP_PLUS_SDXL, IP_ADAPTER, "sdxl", "plus"),
        (IP_FULL_FACE, IP_ADAPTER, "sd1", "full face"),
        (CLIP_VISION_H, CLIP_VISION, None, "ViT-H"),
    ],
)
def test_ip_adapters_and_clip_vision_are_told_by_their_headers(
    tmp_path, shapes, kind, family, variant
):
    info = detect_control(read_header(write_header_only(tmp_path / "f.safetensors", shapes)))
    assert (info.kind, info.family, info.variant) == (kind, family, variant)


def test_an_sd2_controlnet_is_told_by_its_cross_attention_width(tmp_path):
    shapes = {
        "control_model.input_hint_block.0.weight": (16, 3, 3, 3),
        "control_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": (320, 1024),
    }
    path = write_header_only(tmp_path / "control_sd21.safetensors", shapes)
    assert detect_control(read_header(path)).family == "sd2"


# ---------------------------------------------------------------- the library


def test_the_library_lists_control_files_with_family_and_kind(tmp_path, controlnets):
    a1111 = tmp_path / "webui"
    cn_dir = a1111 / "extensions" / "sd-webui-controlnet" / "models"
    cn_dir.mkdir(parents=True)
    save_file(to_original(controlnets["sd1"]), str(cn_dir / "control_tiny.safetensors"))
    comfy = tmp_path / "ComfyUI" / "models"
    (comfy / "controlnet").mkdir(parents=True)
    controlnets["sdxl"].save_pretrained(comfy / "controlnet" / "xl-canny")
    (comfy / "ipadapter").mkdir()
    write_header_only(comfy / "ipadapter" / "ip-adapter-plus_sdxl.safetensors", IP_PLUS_SDXL)
    (comfy / "clip_vision").mkdir()
    write_header_only(comfy / "clip_vision" / "vit-h.safetensors", CLIP_VISION_H)
    entries = {e.name: e for e in scan_library([a1111, tmp_path / "ComfyUI"])}
    seen = {
        name: (e.kind, e.family.value if e.family else None, e.detected.label, e.problem)
        for name, e in entries.items()
    }
    assert seen == {
        "control_tiny": (ModelKind.CONTROLNET, "sd1", "SD 1.x", ""),
        "xl-canny": (ModelKind.CONTROLNET, "sdxl", "SDXL", ""),
        "ip-adapter-plus_sdxl": (ModelKind.IP_ADAPTER, "sdxl", "SDXL plus", ""),
        "vit-h": (ModelKind.CLIP_VISION, None, "ViT-H", ""),
    }


def test_main_models_lists_control_files(tmp_path, capsys, monkeypatch):
    import argparse
    import json

    from engine.cli_library import run_models

    monkeypatch.setenv("LATENTSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "models" / "ipadapter"
    folder.mkdir(parents=True)
    write_header_only(folder / "ip-adapter_sd15.safetensors", IP_SD15)
    assert run_models(argparse.Namespace(dir=[str(tmp_path / "models")])) == 0
    (line,) = capsys.readouterr().out.splitlines()
    listed = json.loads(line)
    assert (listed["kind"], listed["family"], listed["label"]) == ("ip-adapter", "sd1", "SD 1.x")
    assert "problem" not in listed
