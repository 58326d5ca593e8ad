"""Depth Anything V2's original checkpoint (the DepthAnything/Depth-Anything-V2 repository's
`depth_anything_v2_vit{s,b,l}.pth`) read into transformers' DepthAnythingForDepthEstimation.

The original layout: `pretrained.*` is a DINOv2 ViT, `depth_head.*` a DPT head. The key
names follow transformers' own conversion script (models/depth_anything/
convert_depth_anything_to_hf.py); the network's size comes from the tensors' shapes, never
from the file's name (people rename files).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from transformers import DepthAnythingConfig, Dinov2Config

PATCH = 14
HEAD_WIDTH = 64  # DINOv2 keeps 64 channels per attention head at every size
# Which blocks feed the DPT head, by depth (V2's intermediate_layer_idx: vits/vitb, vitl).
OUT_INDICES = {12: [3, 6, 9, 12], 24: [5, 12, 18, 24]}
# The DPT head's refinenet4 reads the deepest features; transformers numbers them first.
REFINENET_TO_FUSION = {1: 3, 2: 2, 3: 1, 4: 0}
REQUIRED = (
    "pretrained.cls_token",
    "pretrained.pos_embed",
    "pretrained.patch_embed.proj.weight",
    "pretrained.blocks.0.mlp.fc1.weight",
    "depth_head.scratch.layer1_rn.weight",
    "depth_head.scratch.output_conv2.0.weight",
)
# The attention's names in transformers' Dinov2Layer: newer releases name them q/k/v/o_proj.
ATTENTION_NAMES = (
    ("attention.q_proj", "attention.k_proj", "attention.v_proj", "attention.o_proj"),
    (
        "attention.attention.query",
        "attention.attention.key",
        "attention.attention.value",
        "attention.output.dense",
    ),
)


class NotDepthAnything(ValueError):
    """The tensors are not Depth Anything V2's; the message says what differs."""


def config_of(state: Mapping[str, torch.Tensor]) -> DepthAnythingConfig:
    """The relative-depth configuration the tensors were trained in, read from their shapes."""
    missing = [key for key in REQUIRED if key not in state]
    if missing:
        raise NotDepthAnything(f"it has no {missing[0]}")
    try:
        return _config(state)
    except IndexError:  # a tensor with fewer dimensions than the layout's
        raise NotDepthAnything("its tensors have other shapes than the layout's") from None


def _config(state: Mapping[str, torch.Tensor]) -> DepthAnythingConfig:
    hidden = int(state["pretrained.cls_token"].shape[-1])
    layers = _count("pretrained.blocks.", state)
    if layers not in OUT_INDICES or hidden < HEAD_WIDTH or hidden % HEAD_WIDTH:
        raise NotDepthAnything(
            f"its ViT has {layers} blocks {hidden} wide (V2 small and base have 12, large 24)"
        )
    tokens = int(state["pretrained.pos_embed"].shape[1]) - 1  # one is the class token
    grid = round(max(tokens, 0) ** 0.5)
    if grid < 1 or grid * grid != tokens:
        raise NotDepthAnything(f"its position embedding has {tokens} patches, not a square")
    backbone = Dinov2Config(
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=hidden // HEAD_WIDTH,
        mlp_ratio=int(state["pretrained.blocks.0.mlp.fc1.weight"].shape[0]) // hidden,
        image_size=grid * PATCH,
        patch_size=PATCH,
        out_indices=OUT_INDICES[layers],
        apply_layernorm=True,
        reshape_hidden_states=False,
    )
    return DepthAnythingConfig(
        backbone_config=backbone,
        reassemble_hidden_size=hidden,
        patch_size=PATCH,
        fusion_hidden_size=int(state["depth_head.scratch.layer1_rn.weight"].shape[0]),
        neck_hidden_sizes=[_width(f"depth_head.projects.{i}.weight", state) for i in range(4)],
        head_hidden_size=int(state["depth_head.scratch.output_conv2.0.weight"].shape[0]),
        depth_estimation_type="relative",
    )


def to_transformers(
    state: Mapping[str, torch.Tensor], wanted: Mapping[str, torch.Size]
) -> dict[str, torch.Tensor]:
    """The tensors under transformers' names. `wanted` is the model's own state dict's
    shapes: every one must be filled, with its shape, and nothing of the file left over."""
    attention = next((n for n in ATTENTION_NAMES if _has(wanted, n[0])), ATTENTION_NAMES[0])
    renamed: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        for name, value in _renamed(key, tensor, attention):
            renamed[name] = value
    _check(renamed, wanted)
    return renamed


def _renamed(
    key: str, tensor: torch.Tensor, attention: tuple[str, ...]
) -> list[tuple[str, torch.Tensor]]:
    """The transformers name(s) of one original tensor: the fused qkv splits in three."""
    if key.startswith("pretrained.blocks."):
        return _block(key.removeprefix("pretrained.blocks."), tensor, attention)
    name = _FIXED.get(key) or _head(key)
    if name is None:
        raise NotDepthAnything(f"it has a tensor {key} that Depth Anything V2 has not")
    return [(name, tensor)]


def _block(rest: str, tensor: torch.Tensor, attention: tuple[str, ...]) -> list:
    index, _, part = rest.partition(".")
    prefix = f"backbone.encoder.layer.{index}."
    if part.startswith("attn.qkv."):  # one matrix in the original: query, key, value rows
        if tensor.dim() == 0 or tensor.shape[0] % 3:
            raise NotDepthAnything(f"its block {index} has no fused query, key and value")
        suffix = part.removeprefix("attn.qkv.")
        thirds = tensor.chunk(3, dim=0)
        return [
            (f"{prefix}{name}.{suffix}", t) for name, t in zip(attention[:3], thirds, strict=True)
        ]
    if part.startswith("attn.proj."):
        return [(f"{prefix}{attention[3]}.{part.removeprefix('attn.proj.')}", tensor)]
    return [(prefix + _BLOCK_PARTS.get(part, part), tensor)]


_BLOCK_PARTS = {"ls1.gamma": "layer_scale1.lambda1", "ls2.gamma": "layer_scale2.lambda1"}
_FIXED = {
    "pretrained.cls_token": "backbone.embeddings.cls_token",
    "pretrained.mask_token": "backbone.embeddings.mask_token",
    "pretrained.pos_embed": "backbone.embeddings.position_embeddings",
    "pretrained.patch_embed.proj.weight": "backbone.embeddings.patch_embeddings.projection.weight",
    "pretrained.patch_embed.proj.bias": "backbone.embeddings.patch_embeddings.projection.bias",
    "pretrained.norm.weight": "backbone.layernorm.weight",
    "pretrained.norm.bias": "backbone.layernorm.bias",
    "depth_head.scratch.output_conv1.weight": "head.conv1.weight",
    "depth_head.scratch.output_conv1.bias": "head.conv1.bias",
    "depth_head.scratch.output_conv2.0.weight": "head.conv2.weight",
    "depth_head.scratch.output_conv2.0.bias": "head.conv2.bias",
    "depth_head.scratch.output_conv2.2.weight": "head.conv3.weight",
    "depth_head.scratch.output_conv2.2.bias": "head.conv3.bias",
}
_UNITS = {
    "out_conv": "projection",
    "resConfUnit1.conv1": "residual_layer1.convolution1",
    "resConfUnit1.conv2": "residual_layer1.convolution2",
    "resConfUnit2.conv1": "residual_layer2.convolution1",
    "resConfUnit2.conv2": "residual_layer2.convolution2",
}


def _head(key: str) -> str | None:
    """The DPT neck's names: projections and resizes per level, then the fusion blocks."""
    parts = key.split(".")
    if len(parts) == 4 and parts[1] in ("projects", "resize_layers"):
        layer = "projection" if parts[1] == "projects" else "resize"
        return f"neck.reassemble_stage.layers.{parts[2]}.{layer}.{parts[3]}"
    if len(parts) == 4 and parts[2].endswith("_rn") and parts[2].startswith("layer"):
        level = int(parts[2].removeprefix("layer").removesuffix("_rn")) - 1
        return f"neck.convs.{level}.{parts[3]}"
    if len(parts) >= 5 and parts[2].startswith("refinenet"):
        fusion = REFINENET_TO_FUSION.get(int(parts[2].removeprefix("refinenet")))
        unit = _UNITS.get(".".join(parts[3:-1]))
        if fusion is not None and unit is not None:
            return f"neck.fusion_stage.layers.{fusion}.{unit}.{parts[-1]}"
    return None


def _check(renamed: Mapping[str, torch.Tensor], wanted: Mapping[str, torch.Size]) -> None:
    missing = [key for key in wanted if key not in renamed]
    if missing:
        raise NotDepthAnything(f"it lacks the tensor transformers calls {missing[0]}")
    for key, tensor in renamed.items():
        if key not in wanted:
            raise NotDepthAnything(f"it has a tensor ({key}) Depth Anything V2 has not")
        if tuple(tensor.shape) != tuple(wanted[key]):
            raise NotDepthAnything(f"its {key} is {tuple(tensor.shape)}, not {tuple(wanted[key])}")


def _count(prefix: str, state: Mapping[str, torch.Tensor]) -> int:
    numbers = {key[len(prefix) :].split(".", 1)[0] for key in state if key.startswith(prefix)}
    return len(numbers)


def _width(key: str, state: Mapping[str, torch.Tensor]) -> int:
    if key not in state:
        raise NotDepthAnything(f"it has no {key}")
    return int(state[key].shape[0])


def _has(wanted: Mapping[str, torch.Size], name: str) -> bool:
    return f"backbone.encoder.layer.0.{name}.weight" in wanted
