"""A single-file checkpoint's architecture, inferred from its tensor shapes.

Diffusers converts an original-layout checkpoint only given the diffusers config of every
component. The official configs (resources/sd-configs) describe the official sizes; a
fine-tune keeps them, but a pruned, distilled or test model does not. So the numbers
that shapes determine are read from the file, as ComfyUI's model detection does: block
widths, resnets per block, which blocks attend, transformer depth per block,
cross-attention width, linear or 1x1-conv projections, input channels (inpainting),
SDXL's size-conditioning widths, the VAE's widths and latent channels, and each text
encoder's width, depth, MLP width, vocabulary and positions.

What shapes cannot tell follows the family's convention, as in every official model:
attention heads (SD 1.x: 8 per block; SD 2.x and SDXL: 64 channels per head; CLIP: 64
channels per head) and 32 groups per GroupNorm. Plain Python over the header: no weights.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from engine.api.errors import BadModelFile
from engine.library.detect import UNET, SdFamily, context_width
from engine.library.header import CheckpointHeader

VAE_PREFIXES = ("first_stage_model.", "vae.")
HEAD_CHANNELS = 64
SD1_HEADS = 8
# OpenCLIP-H has 24 blocks; SD 2.x conditions on the penultimate one, so diffusers' text
# encoder keeps 23 and its converter skips block 23 of the file.
SD2_OPENCLIP_BLOCKS = 24
# SDXL conditions on (height, width), crop (top, left) and target (height, width): 6
# numbers; the refiner on 5 (an aesthetic score instead of the target size).
SDXL_SIZE_NUMBERS = {SdFamily.SDXL: 6, SdFamily.SDXL_REFINER: 5}

# Where each family's text encoders sit in a checkpoint: (component, prefix, layout).
TEXT_ENCODERS = {
    SdFamily.SD1: (("text_encoder", "cond_stage_model.transformer.text_model.", "clip"),),
    SdFamily.SD2: (("text_encoder", "cond_stage_model.model.", "openclip"),),
    SdFamily.SDXL: (
        ("text_encoder", "conditioner.embedders.0.transformer.text_model.", "clip"),
        ("text_encoder_2", "conditioner.embedders.1.model.", "openclip"),
    ),
    SdFamily.SDXL_REFINER: (("text_encoder_2", "conditioner.embedders.0.model.", "openclip"),),
}


@dataclass(frozen=True)
class Level:
    """One resolution of the UNet's down path."""

    channels: int
    resnets: int
    attention_depth: int  # transformer blocks in each of its attentions; 0: no attention


def unet_config(header: CheckpointHeader, family: SdFamily) -> dict[str, Any]:
    """The config values of the checkpoint's UNet that its shapes determine."""
    levels = _levels(header)
    attends = [level.attention_depth > 0 for level in levels]
    config: dict[str, Any] = {
        "in_channels": _shape(header, UNET + "input_blocks.0.0.weight")[1],
        "out_channels": _shape(header, UNET + "out.2.weight")[0],
        "block_out_channels": [level.channels for level in levels],
        "layers_per_block": _uniform([level.resnets for level in levels]),
        "down_block_types": ["CrossAttnDownBlock2D" if a else "DownBlock2D" for a in attends],
        "up_block_types": ["CrossAttnUpBlock2D" if a else "UpBlock2D" for a in reversed(attends)],
        "transformer_layers_per_block": [max(1, level.attention_depth) for level in levels],
        "cross_attention_dim": _cross_attention_width(header),
        "use_linear_projection": _linear_projection(header),
        "attention_head_dim": _heads(family, levels),
        "mid_block_type": (
            "UNetMidBlock2DCrossAttn"
            if UNET + "middle_block.1.proj_in.weight" in header
            else "UNetMidBlock2D"
        ),
    }
    time_width = _shape(header, UNET + "time_embed.0.weight")[0]
    if time_width != levels[0].channels * 4:
        config["time_embedding_dim"] = time_width
    if family in SDXL_SIZE_NUMBERS:
        config.update(_size_conditioning(header, family))
    return config


def vae_config(header: CheckpointHeader) -> dict[str, Any]:
    prefix = vae_prefix(header)
    blocks = _count(header, rf"{re.escape(prefix)}encoder\.down\.(\d+)\.block\.0\.conv1\.weight")
    if not blocks:
        raise BadModelFile(
            f"{header.path.name} holds no VAE. Choose a VAE for it in the model's settings."
        )
    channels = [
        _shape(header, f"{prefix}encoder.down.{i}.block.0.conv2.weight")[0] for i in range(blocks)
    ]
    return {
        "in_channels": _shape(header, prefix + "encoder.conv_in.weight")[1],
        "out_channels": _shape(header, prefix + "decoder.conv_out.weight")[0],
        "block_out_channels": channels,
        "down_block_types": ["DownEncoderBlock2D"] * blocks,
        "up_block_types": ["UpDecoderBlock2D"] * blocks,
        "layers_per_block": _count(
            header, rf"{re.escape(prefix)}encoder\.down\.0\.block\.(\d+)\.conv1\.weight"
        ),
        "latent_channels": _shape(header, prefix + "encoder.conv_out.weight")[0] // 2,
    }


def vae_prefix(header: CheckpointHeader) -> str:
    for prefix in VAE_PREFIXES:
        if header.has_prefix(prefix + "encoder."):
            return prefix
    return ""  # a VAE file on its own


def text_encoder_configs(header: CheckpointHeader, family: SdFamily) -> dict[str, dict[str, Any]]:
    """{component folder: config values} for the family's text encoders in the file."""
    configs = {}
    for component, prefix, layout in TEXT_ENCODERS[family]:
        read = _clip_config if layout == "clip" else _openclip_config
        configs[component] = read(header, prefix, family)
    return configs


def _clip_config(header: CheckpointHeader, prefix: str, family: SdFamily) -> dict[str, Any]:
    vocab, hidden = _shape(header, prefix + "embeddings.token_embedding.weight")
    return {
        "hidden_size": hidden,
        "vocab_size": vocab,
        "max_position_embeddings": _shape(header, prefix + "embeddings.position_embedding.weight")[
            0
        ],
        "num_hidden_layers": _count(
            header, rf"{re.escape(prefix)}encoder\.layers\.(\d+)\.self_attn\.q_proj\.weight"
        ),
        "intermediate_size": _shape(header, prefix + "encoder.layers.0.mlp.fc1.weight")[0],
        "num_attention_heads": max(1, hidden // HEAD_CHANNELS),
    }


def _openclip_config(header: CheckpointHeader, prefix: str, family: SdFamily) -> dict[str, Any]:
    vocab, hidden = _shape(header, prefix + "token_embedding.weight")
    blocks = _count(
        header, rf"{re.escape(prefix)}transformer\.resblocks\.(\d+)\.attn\.in_proj_weight"
    )
    if family is SdFamily.SD2 and blocks == SD2_OPENCLIP_BLOCKS:
        blocks -= 1
    config = {
        "hidden_size": hidden,
        "vocab_size": vocab,
        "max_position_embeddings": _shape(header, prefix + "positional_embedding")[0],
        "num_hidden_layers": blocks,
        "intermediate_size": _shape(header, prefix + "transformer.resblocks.0.mlp.c_fc.weight")[0],
        "num_attention_heads": max(1, hidden // HEAD_CHANNELS),
    }
    projection = header.shape(prefix + "text_projection")
    if projection:
        config["projection_dim"] = projection[1]
    return config


# ---------------------------------------------------------------- the UNet's shape


def _levels(header: CheckpointHeader) -> list[Level]:
    """Walk input_blocks 1, 2, ...: resnets and attentions, until each downsampler."""
    levels: list[Level] = []
    resnets, depth, channels = 0, 0, 0
    block = 1
    while header.has_prefix(f"{UNET}input_blocks.{block}."):
        base = f"{UNET}input_blocks.{block}."
        if base + "0.op.weight" in header:  # a downsampler closes the level
            levels.append(Level(channels, resnets, depth))
            resnets, depth = 0, 0
        else:
            resnets += 1
            channels = _shape(header, base + "0.out_layers.3.weight")[0]
            depth = max(
                depth,
                _count(
                    header, rf"{re.escape(base)}1\.transformer_blocks\.(\d+)\.attn1\.to_q\.weight"
                ),
            )
        block += 1
    levels.append(Level(channels, resnets, depth))
    if not levels[0].resnets:
        raise BadModelFile(f"{header.path.name}: its UNet has no blocks this app recognises.")
    return levels


def _heads(family: SdFamily, levels: list[Level]) -> int | list[int]:
    # diffusers' "attention_head_dim" of SD-era UNets is the number of heads.
    if family is SdFamily.SD1:
        return SD1_HEADS
    return [max(1, level.channels // HEAD_CHANNELS) for level in levels]


def _cross_attention_width(header: CheckpointHeader) -> int:
    width = context_width(header)
    if width is None:
        raise BadModelFile(f"{header.path.name}: its UNet has no cross-attention; not an SD model.")
    return width


def _linear_projection(header: CheckpointHeader) -> bool:
    name = header.first(re.escape(UNET) + r".*proj_in\.weight")
    return bool(name) and len(_shape(header, name)) == 2


def _size_conditioning(header: CheckpointHeader, family: SdFamily) -> dict[str, Any]:
    width = _shape(header, UNET + "label_emb.0.0.weight")[1]
    pooled = _pooled_width(header, family)
    return {
        "addition_embed_type": "text_time",
        "projection_class_embeddings_input_dim": width,
        "addition_time_embed_dim": (width - pooled) // SDXL_SIZE_NUMBERS[family],
    }


def _pooled_width(header: CheckpointHeader, family: SdFamily) -> int:
    prefix = dict((c, p) for c, p, _ in TEXT_ENCODERS[family])["text_encoder_2"]
    projection = header.shape(prefix + "text_projection")
    if projection:
        return projection[1]
    return 1280  # SDXL's bigG; a UNet-only file keeps the official width


# ---------------------------------------------------------------- helpers


def _shape(header: CheckpointHeader, name: str) -> tuple[int, ...]:
    shape = header.shape(name)
    if shape is None:
        raise BadModelFile(
            f"{header.path.name} lacks the tensor {name}: it is incomplete, or an "
            "architecture of the Stable Diffusion family this app does not know."
        )
    return shape


def _count(header: CheckpointHeader, pattern: str) -> int:
    """1 + the largest index the pattern's group takes among the tensor names."""
    regex = re.compile(f"^{pattern}$", re.MULTILINE)
    indices = [int(m.group(1)) for m in regex.finditer(header.joined)]
    return max(indices) + 1 if indices else 0


def _uniform(values: list[int]) -> int:
    # diffusers' converter numbers the blocks with one resnet count for every level.
    if len(set(values)) != 1:
        raise BadModelFile(
            f"This UNet has a different number of resnets per level ({values}); "
            "no Stable Diffusion model does, and diffusers cannot convert it."
        )
    return values[0]
