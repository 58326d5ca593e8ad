"""Test support: tiny SD 1.x / 2.x / SDXL pipelines, and their original-layout single files.

The converter writes a diffusers pipeline's tensors under the names of the original
(CompVis / Stability "LDM") checkpoints, from the key layout diffusers' single-file
loader documents (diffusers.loaders.single_file_utils: DIFFUSERS_TO_LDM_MAPPING, the
input_blocks/output_blocks numbering of convert_ldm_unet_checkpoint, the VAE's
down/up/mid naming of convert_ldm_vae_checkpoint, the OpenCLIP in_proj packing of
convert_open_clip_checkpoint). It is written independently of the app's loader, which
must give every tensor back unchanged.

The tiny components keep each family's conventions that shapes cannot show (heads of
64 channels, or 8 per block in SD 1.x; 32 norm groups) and take everything else from
the family's bundled config (activations, scheduler, scaling factor).
"""

from __future__ import annotations

import json
import shutil
import struct
import tempfile
from pathlib import Path

import diffusers
import numpy as np
import torch
from diffusers import (
    AutoencoderKL,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from safetensors.torch import save_file
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
)

from engine.resources import CLIP_TOKENIZER_DIR, SD_CONFIG_DIR

# ---------------------------------------------------------------- tiny pipelines

TEMPLATE = {"sd1": "sd15", "sd2": "sd21", "sdxl": "sdxl"}
TINY_UNET = {
    "sd1": dict(
        block_out_channels=[32, 64],
        down_block_types=["CrossAttnDownBlock2D", "DownBlock2D"],
        up_block_types=["UpBlock2D", "CrossAttnUpBlock2D"],
        cross_attention_dim=32,
        attention_head_dim=8,
    ),
    "sd2": dict(
        block_out_channels=[64, 128],
        down_block_types=["CrossAttnDownBlock2D", "DownBlock2D"],
        up_block_types=["UpBlock2D", "CrossAttnUpBlock2D"],
        cross_attention_dim=32,
        attention_head_dim=[1, 2],
    ),
    "sdxl": dict(
        block_out_channels=[32, 64],
        down_block_types=["DownBlock2D", "CrossAttnDownBlock2D"],
        up_block_types=["CrossAttnUpBlock2D", "UpBlock2D"],
        transformer_layers_per_block=[1, 2],
        cross_attention_dim=96,  # text encoder 1 (32) + text encoder 2 (64)
        attention_head_dim=[1, 1],
        projection_class_embeddings_input_dim=16 + 6 * 8,
        addition_time_embed_dim=8,
    ),
}
TINY_TEXT = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=1)


def _template(family: str, component: str, name: str = "config.json") -> dict:
    path = SD_CONFIG_DIR / TEMPLATE[family] / component / name
    config = json.loads(path.read_text(encoding="utf-8"))
    config.pop("torch_dtype", None)  # the official files say float16; tests run float32
    return config


def tiny_pipeline(family: str, seed: int = 0, unet: dict | None = None, text: dict | None = None):
    """A random tiny pipeline of the family, built from its bundled configs; `unet` and
    `text` override the tiny UNet's and text encoder's sizes."""
    torch.manual_seed(seed)
    unet_config = (
        _template(family, "unet")
        | TINY_UNET[family]
        | (unet or {})
        | {
            "layers_per_block": 1,
            "sample_size": 8,
        }
    )
    unet = UNet2DConditionModel.from_config(unet_config)
    vae = AutoencoderKL.from_config(
        _template(family, "vae")
        | {"block_out_channels": [32, 32, 32, 32], "layers_per_block": 1, "sample_size": 64}
    )
    tokenizer = _tokenizer(family, "tokenizer")
    text_config = _template(family, "text_encoder") | TINY_TEXT | (text or {})
    text_encoder = CLIPTextModel(CLIPTextConfig(**text_config))
    scheduler_class = getattr(diffusers, _template(family, ".", "model_index.json")["scheduler"][1])
    scheduler = scheduler_class.from_config(_template(family, "scheduler", "scheduler_config.json"))
    if family == "sdxl":
        text_encoder_2 = CLIPTextModelWithProjection(
            # Unlike text encoder 1's width: diffusers tells the two apart by it, as in
            # SDXL (768 and 1280).
            CLIPTextConfig(
                **_template(family, "text_encoder_2")
                | TINY_TEXT
                | {"hidden_size": 64, "projection_dim": 16}
            )
        )
        pipe = StableDiffusionXLPipeline(
            vae,
            text_encoder,
            text_encoder_2,
            tokenizer,
            _tokenizer(family, "tokenizer_2"),
            unet,
            scheduler,
        )
    else:
        pipe = StableDiffusionPipeline(
            vae, text_encoder, tokenizer, unet, scheduler, None, None, requires_safety_checker=False
        )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _tokenizer(family: str, component: str) -> CLIPTokenizer:
    """The family's own tokenizer settings (SD 2.x pads with "!") on the bundled vocabulary."""
    with tempfile.TemporaryDirectory() as folder:
        shutil.copytree(SD_CONFIG_DIR / TEMPLATE[family] / component, folder, dirs_exist_ok=True)
        for name in ("vocab.json", "merges.txt"):
            shutil.copyfile(CLIP_TOKENIZER_DIR / name, Path(folder) / name)
        return CLIPTokenizer.from_pretrained(folder)


def bare_pipeline(folder: Path) -> StableDiffusionPipeline:
    """diffusers' own SD 1.x/2.x pipeline from a folder, nothing of the app's."""
    pipe = StableDiffusionPipeline.from_pretrained(
        str(folder), local_files_only=True, safety_checker=None, requires_safety_checker=False
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def bare_image(pipe, prompt: str, seed: int, negative: str | None = None, **call) -> np.ndarray:
    """A bare diffusers call at the tests' usual settings (64², 3 steps, CFG 6), as uint8
    rounded the way diffusers' numpy_to_pil rounds: the oracle the app's images meet."""
    settings = {"width": 64, "height": 64, "num_inference_steps": 3, "guidance_scale": 6.0}
    image = pipe(
        prompt=prompt,
        negative_prompt=negative,
        generator=[torch.Generator("cpu").manual_seed(seed)],
        output_type="np",
        **(settings | call),
    ).images[0]
    return (image * 255).round().astype(np.uint8)


def save_folder(pipe, folder: Path) -> Path:
    pipe.save_pretrained(str(folder), safe_serialization=True)
    for tokenizer in folder.glob("tokenizer*"):
        for name in ("vocab.json", "merges.txt"):
            shutil.copyfile(CLIP_TOKENIZER_DIR / name, tokenizer / name)
    return folder


# ---------------------------------------------------------------- diffusers -> original


def original_state_dict(pipe) -> dict[str, torch.Tensor]:
    """Every tensor of the pipeline under its original-checkpoint name."""
    out: dict[str, torch.Tensor] = {}
    unet = pipe.unet
    for name, tensor in unet_to_original(unet.state_dict(), unet.config).items():
        out["model.diffusion_model." + name] = tensor
    for name, tensor in vae_to_original(pipe.vae.state_dict(), pipe.vae.config).items():
        out["first_stage_model." + name] = tensor
    if isinstance(pipe, StableDiffusionXLPipeline):
        out |= clip_to_original(pipe.text_encoder, "conditioner.embedders.0.transformer.")
        out |= openclip_to_original(pipe.text_encoder_2, "conditioner.embedders.1.model.")
    elif pipe.text_encoder.config.hidden_act == "quick_gelu":  # OpenAI CLIP: SD 1.x
        out |= clip_to_original(pipe.text_encoder, "cond_stage_model.transformer.")
    else:  # OpenCLIP: SD 2.x
        out |= openclip_to_original(pipe.text_encoder, "cond_stage_model.model.")
    return {name: t.detach().contiguous().clone() for name, t in out.items()}


def save_single_file(pipe, path: Path, metadata: dict[str, str] | None = None) -> Path:
    save_file(original_state_dict(pipe), str(path), metadata=metadata)
    return path


RESNET = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "time_emb_proj": "emb_layers.1",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "conv_shortcut": "skip_connection",
}
TOP = {
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "conv_in": "input_blocks.0.0",
    "conv_norm_out": "out.0",
    "conv_out": "out.2",
    "add_embedding.linear_1": "label_emb.0.0",
    "add_embedding.linear_2": "label_emb.0.2",
}


def unet_to_original(state: dict, config) -> dict[str, torch.Tensor]:
    per = config.layers_per_block
    levels = len(config.block_out_channels)
    prefixes: dict[str, str] = {}  # diffusers prefix -> original prefix (resnets flagged)
    for i in range(levels):
        for j in range(per):
            block = 1 + i * (per + 1) + j
            prefixes[f"down_blocks.{i}.resnets.{j}."] = f"input_blocks.{block}.0.#"
            prefixes[f"down_blocks.{i}.attentions.{j}."] = f"input_blocks.{block}.1."
        if i < levels - 1:
            prefixes[f"down_blocks.{i}.downsamplers.0.conv."] = (
                f"input_blocks.{1 + i * (per + 1) + per}.0.op."
            )
    for i in range(levels):
        attends = config.up_block_types[i].startswith("CrossAttn")
        for j in range(per + 1):
            block = i * (per + 1) + j
            prefixes[f"up_blocks.{i}.resnets.{j}."] = f"output_blocks.{block}.0.#"
            prefixes[f"up_blocks.{i}.attentions.{j}."] = f"output_blocks.{block}.1."
        if i < levels - 1:
            index = 2 if attends else 1
            prefixes[f"up_blocks.{i}.upsamplers.0."] = (
                f"output_blocks.{i * (per + 1) + per}.{index}."
            )
    prefixes["mid_block.attentions.0."] = "middle_block.1."
    prefixes["mid_block.resnets.0."] = "middle_block.0.#"
    prefixes["mid_block.resnets.1."] = "middle_block.2.#"
    out = {}
    for name, tensor in state.items():
        out[_rename_unet(name, prefixes)] = tensor
    return out


def _rename_unet(name: str, prefixes: dict[str, str]) -> str:
    for layer, original in TOP.items():
        if name.startswith(layer + "."):
            return original + name[len(layer) :]
    for prefix, original in prefixes.items():
        if name.startswith(prefix):
            rest = name[len(prefix) :]
            if original.endswith("#"):  # a resnet: its layers are renamed too
                layer, _, leaf = rest.partition(".")
                return original[:-1] + RESNET[layer] + "." + leaf
            return original + rest
    raise KeyError(f"no original name for {name}")


VAE_ATTENTION = {
    "group_norm": "norm",
    "to_q": "q",
    "to_k": "k",
    "to_v": "v",
    "to_out.0": "proj_out",
}


def vae_to_original(state: dict, config) -> dict[str, torch.Tensor]:
    levels = len(config.block_out_channels)
    out = {}
    for name, tensor in state.items():
        new = name.replace("conv_norm_out", "norm_out").replace("conv_shortcut", "nin_shortcut")
        parts = new.split(".")
        if parts[1] == "down_blocks":
            kind = "block" if parts[3] == "resnets" else "downsample"
            tail = parts[4:] if kind == "block" else parts[5:]
            new = ".".join([parts[0], "down", parts[2], kind] + tail)
        elif parts[1] == "up_blocks":
            level = str(levels - 1 - int(parts[2]))
            kind = "block" if parts[3] == "resnets" else "upsample"
            tail = parts[4:] if kind == "block" else parts[5:]
            new = ".".join([parts[0], "up", level, kind] + tail)
        elif parts[1] == "mid_block" and parts[2] == "resnets":
            new = ".".join([parts[0], "mid", f"block_{int(parts[3]) + 1}"] + parts[4:])
        elif parts[1] == "mid_block" and parts[2] == "attentions":
            rest = ".".join(parts[4:])
            for layer, original in VAE_ATTENTION.items():
                if rest.startswith(layer + "."):
                    rest = original + rest[len(layer) :]
            new = f"{parts[0]}.mid.attn_1.{rest}"
            if tensor.ndim == 2:  # the original attention uses 1x1 convolutions
                tensor = tensor[:, :, None, None]
        out[new] = tensor
    return out


def clip_to_original(model, prefix: str) -> dict[str, torch.Tensor]:
    return {
        prefix + "text_model." + name.removeprefix("text_model."): t
        for name, t in model.state_dict().items()
    }


OPENCLIP = {
    "embeddings.token_embedding.weight": "token_embedding.weight",
    "embeddings.position_embedding.weight": "positional_embedding",
    "final_layer_norm.weight": "ln_final.weight",
    "final_layer_norm.bias": "ln_final.bias",
}
OPENCLIP_LAYER = {
    "self_attn.out_proj": "attn.out_proj",
    "layer_norm1": "ln_1",
    "layer_norm2": "ln_2",
    "mlp.fc1": "mlp.c_fc",
    "mlp.fc2": "mlp.c_proj",
}


def openclip_to_original(model, prefix: str) -> dict[str, torch.Tensor]:
    state = {name.removeprefix("text_model."): t for name, t in model.state_dict().items()}
    out = {}
    for name, original in OPENCLIP.items():
        out[prefix + original] = state.pop(name)
    if "text_projection.weight" in state:
        out[prefix + "text_projection"] = state.pop("text_projection.weight").T
    state.pop("embeddings.position_ids", None)
    layers = model.config.num_hidden_layers
    for i in range(layers):
        src, dst = f"encoder.layers.{i}.", f"{prefix}transformer.resblocks.{i}."
        for kind in ("weight", "bias"):
            qkv = [state.pop(f"{src}self_attn.{p}_proj.{kind}") for p in "qkv"]
            out[f"{dst}attn.in_proj_{kind}"] = torch.cat(qkv)
        for layer, original in OPENCLIP_LAYER.items():
            for kind in ("weight", "bias"):
                out[f"{dst}{original}.{kind}"] = state.pop(f"{src}{layer}.{kind}")
    assert not state, f"unconverted: {sorted(state)}"
    return out


# ---------------------------------------------------------------- full-size headers


def _meta_components(template: str) -> dict:
    """The official components of a family, on the meta device (no memory, no weights)."""
    folder = SD_CONFIG_DIR / template

    def config(name: str) -> dict:
        values = json.loads((folder / name / "config.json").read_text("utf-8"))
        values.pop("torch_dtype", None)
        return values

    with torch.device("meta"):
        parts = {
            "unet": UNet2DConditionModel.from_config(config("unet")),
            "vae": AutoencoderKL.from_config(config("vae")),
            "text_encoder": CLIPTextModel(CLIPTextConfig(**config("text_encoder"))),
        }
        if (folder / "text_encoder_2").is_dir():
            parts["text_encoder_2"] = CLIPTextModelWithProjection(
                CLIPTextConfig(**config("text_encoder_2"))
            )
    return parts


class _Meta:
    """Enough of a pipeline for the converter: its components as attributes."""

    def __init__(self, parts: dict) -> None:
        self.__dict__.update(parts)


def write_header_only(path: Path, shapes: dict[str, tuple[int, ...]], metadata=None) -> Path:
    """A valid safetensors file of the given shapes whose data is a sparse hole: a
    multi-GB checkpoint's header at the cost of a few kilobytes of disk."""
    header: dict = {"__metadata__": metadata or {}}
    offset = 0
    for name, shape in shapes.items():
        size = 2 * int(np.prod(shape))  # float16
        header[name] = {
            "dtype": "F16",
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()  # compact, as real files
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(raw)) + raw)
        fh.truncate(8 + len(raw) + offset)
    return path


def full_size_shapes(template: str) -> dict[str, tuple[int, ...]]:
    meta = _Meta(_meta_components(template))
    return {name: tuple(t.shape) for name, t in _original_names(meta).items()}


def _original_names(meta) -> dict:
    out = {}
    for name, t in unet_to_original(meta.unet.state_dict(), meta.unet.config).items():
        out["model.diffusion_model." + name] = t
    for name, t in vae_to_original(meta.vae.state_dict(), meta.vae.config).items():
        out["first_stage_model." + name] = t
    if hasattr(meta, "text_encoder_2"):
        out |= clip_to_original(meta.text_encoder, "conditioner.embedders.0.transformer.")
        out |= openclip_to_original(meta.text_encoder_2, "conditioner.embedders.1.model.")
    elif meta.text_encoder.config.hidden_act == "quick_gelu":
        out |= clip_to_original(meta.text_encoder, "cond_stage_model.transformer.")
    else:
        out |= openclip_to_original(meta.text_encoder, "cond_stage_model.model.")
    return out
