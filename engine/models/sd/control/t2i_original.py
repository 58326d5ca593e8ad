"""TencentARC's own T2I-Adapter files (`t2iadapter_canny_sd14v1.pth`...) as diffusers'
T2IAdapter, offline.

The names follow diffusers' scripts/convert_original_t2iadapter.py, written here for any
widths (that script fixes the official ones):

- the full Adapter's body is one flat list of resnet blocks, `num_res_blocks` a level:
  `body.{level * n + r}.block1/block2` is `adapter.body.{level}.resnets.{r}.*`, the
  level's first block's `in_conv` (where the width grows) is `adapter.body.{level}.in_conv`;
  `conv_in` keeps its name under `adapter.`.
- the light Adapter (colour) keeps its levels: `body.N.body.M.*` is
  `adapter.body.N.resnets.M.*`, `body.N.in_conv/out_conv` keep their names.

The config comes from the tensor shapes: the input is the map pixel-unshuffled by 8, so
the first convolution reads 64 channels per map channel (3 for most maps, 1 for canny
and sketch). Loading is strict: a missing, extra or misshapen tensor is a sentence.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from engine.api.errors import BadInput
from engine.library.header import CheckpointHeader

DOWNSCALE = 8  # the adapters' pixel unshuffle
UNSHUFFLED = DOWNSCALE**2
AUTHORS_RES_BLOCKS = 2  # TencentARC's nums_rb, when the file cannot show it

_FULL = re.compile(r"body\.(\d+)\.(block1|block2|in_conv)\.(weight|bias)")
_LIGHT = re.compile(
    r"body\.(\d+)\.(?:(in_conv|out_conv)|body\.(\d+)\.(block1|block2))\.(weight|bias)"
)


def is_light(header: CheckpointHeader) -> bool:
    return header.has_prefix("body.0.out_conv.")


def original_adapter_config(header: CheckpointHeader) -> dict[str, Any]:
    """The T2IAdapter config of a TencentARC file, from its tensor shapes."""
    return _light_config(header) if is_light(header) else _full_config(header)


def load_original_adapter(path: Path, header: CheckpointHeader, dtype: torch.dtype) -> Any:
    """The TencentARC file at `path` as a diffusers T2IAdapter; BadInput when its tensors
    are not the complete adapter its shapes describe."""
    from diffusers import T2IAdapter
    from diffusers.models.model_loading_utils import load_state_dict

    config = original_adapter_config(header)
    model = T2IAdapter(**config)
    renamed, unknown = diffusers_names(load_state_dict(str(path)), config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(renamed))
    unknown += sorted(set(renamed) - set(expected))
    misshapen = [k for k in renamed if k in expected and renamed[k].shape != expected[k].shape]
    if missing or unknown or misshapen:
        raise BadInput(
            f"{path.name} does not hold a complete T2I-Adapter ({len(missing)} tensors "
            f"missing such as {missing[:2]}, {len(unknown)} unexpected such as {unknown[:2]}, "
            f"{len(misshapen)} of the wrong shape). Download or copy it again."
        )
    model.load_state_dict(renamed, strict=True)
    return model.to(dtype)


def diffusers_names(
    state: dict[str, torch.Tensor], config: dict[str, Any]
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """The tensors under diffusers' names, and the names that map to none."""
    light = config["adapter_type"] == "light_adapter"
    renamed: dict[str, torch.Tensor] = {}
    unknown: list[str] = []
    for name, tensor in state.items():
        new = _light_name(name) if light else _full_name(name, config["num_res_blocks"])
        if new is None:
            unknown.append(name)
        else:
            renamed[new] = tensor
    return renamed, unknown


def _full_name(name: str, per_level: int) -> str | None:
    if name.startswith("conv_in."):
        return "adapter." + name
    found = _FULL.fullmatch(name)
    if found is None:
        return None
    index, part, kind = int(found[1]), found[2], found[3]
    level, block = divmod(index, per_level)
    if part == "in_conv":
        # Only a level's first block changes the width; elsewhere it has no place.
        return f"adapter.body.{level}.in_conv.{kind}" if block == 0 else None
    return f"adapter.body.{level}.resnets.{block}.{part}.{kind}"


def _light_name(name: str) -> str | None:
    found = _LIGHT.fullmatch(name)
    if found is None:
        return None
    level, conv, block, part, kind = found.groups()
    if conv:
        return f"adapter.body.{level}.{conv}.{kind}"
    return f"adapter.body.{level}.resnets.{block}.{part}.{kind}"


def _full_config(header: CheckpointHeader) -> dict[str, Any]:
    blocks = _indices(header, r"body\.(\d+)\.block1\.weight")
    grows = _indices(header, r"body\.(\d+)\.in_conv\.weight")
    # The first block with an in_conv opens the second level; a file of one width
    # throughout does not show its level length: the authors' is taken.
    per_level = grows[0] if grows else AUTHORS_RES_BLOCKS
    if not blocks or blocks != list(range(len(blocks))) or len(blocks) % per_level:
        raise BadInput(_unknown_arrangement(header))
    return {
        "in_channels": _shape(header, "conv_in.weight")[1] // UNSHUFFLED,
        "channels": [_shape(header, f"body.{i}.block1.weight")[0] for i in blocks[::per_level]],
        "num_res_blocks": per_level,
        "downscale_factor": DOWNSCALE,
        "adapter_type": "full_adapter",
    }


def _light_config(header: CheckpointHeader) -> dict[str, Any]:
    levels = _indices(header, r"body\.(\d+)\.out_conv\.weight")
    if len(levels) < 2 or levels != list(range(len(levels))):
        raise BadInput(_unknown_arrangement(header))
    # diffusers' LightAdapter adds a last level of the last width to `channels`' levels.
    return {
        "in_channels": _shape(header, "body.0.in_conv.weight")[1] // UNSHUFFLED,
        "channels": [_shape(header, f"body.{i}.out_conv.weight")[0] for i in levels[:-1]],
        "num_res_blocks": len(_indices(header, r"body\.0\.body\.(\d+)\.block1\.weight")),
        "downscale_factor": DOWNSCALE,
        "adapter_type": "light_adapter",
    }


def _unknown_arrangement(header: CheckpointHeader) -> str:
    return (
        f"{header.path.name} has T2I-Adapter tensors in an arrangement this app does not "
        "know. Download the adapter again, or use its diffusers folder."
    )


def _indices(header: CheckpointHeader, pattern: str) -> list[int]:
    return sorted(int(i) for i in re.findall(f"^{pattern}$", header.joined, re.MULTILINE))


def _shape(header: CheckpointHeader, name: str) -> tuple[int, ...]:
    shape = header.shape(name)
    if shape is None:
        raise BadInput(
            f"{header.path.name} lacks {name}, which a T2I-Adapter has. Download or copy it again."
        )
    return shape
