"""Control model files — ControlNet and T2I-Adapter — checked and loaded, offline.

`inspect_control_file` says what a file or folder is from its header or config.json
(engine.library.control) and refuses a damaged one with a sentence; `load_control_model`
also refuses one made for another family than the checkpoint's, then loads it with
diffusers: `from_pretrained` for a folder; a TencentARC T2I-Adapter file through
t2i_original.py; for a single ControlNet
file, diffusers' own key converter on the file's tensors, into a model whose config is
read from the file's own tensor shapes (as architecture.py does for checkpoints) — nothing
is looked up online — loaded strictly: a tensor missing from the file is an error.
"""

from __future__ import annotations

from engine.models.common import hf_env  # isort: skip  (must run before any hugging-face import)

import pickle
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open

from engine.api.errors import BadInput, BadModelFile, is_out_of_memory
from engine.library.control import (
    CONTROLNET,
    DIFFUSERS_LAYOUT,
    KIND_TITLES,
    T2I_ADAPTER,
    ControlInfo,
    detect_control,
    detect_control_folder,
)
from engine.library.detect import UNET, SdFamily, detect
from engine.library.header import CheckpointHeader, read_header, would_run_code
from engine.models.common.construction import building_models
from engine.models.sd import architecture
from engine.models.sd.control.t2i_original import load_original_adapter

HEAD_CHANNELS = architecture.HEAD_CHANNELS
# SDXL embeds each of its 6 size numbers in 256 channels; shapes show only the sum with
# the pooled text width (2816 = 1280 + 6 * 256).
SDXL_TIME_WIDTH = 256


@dataclass(frozen=True)
class ControlFile:
    """A checked control model on disk and what it is."""

    path: Path
    info: ControlInfo
    header: CheckpointHeader | None = None  # a single file's; None for a folder

    @property
    def kind(self) -> str:
        return self.info.kind

    @property
    def family(self) -> SdFamily | None:
        return SdFamily(self.info.family) if self.info.family else None


@dataclass(frozen=True)
class ControlModel:
    """A loaded ControlNet or T2I-Adapter."""

    kind: str  # "controlnet" or "t2i-adapter"
    family: SdFamily  # the family of the base model it fits
    model: Any  # diffusers ControlNetModel or T2IAdapter
    path: Path


def inspect_control_file(path: str | Path) -> ControlFile:
    """What the ControlNet/T2I-Adapter at `path` is; BadModelFile/BadInput with a
    sentence when it is missing, damaged or something else."""
    path = Path(path).expanduser()
    if not path.exists():
        raise BadModelFile(
            f"The control model {path} does not exist. Check its name, or the models folder "
            "in Settings."
        )
    if path.is_dir():
        return _inspect_folder(path)
    header = read_header(path)  # BadModelFile for a truncated or unreadable file
    _check_whole(path)
    info = detect_control(header)
    if info is None or info.kind not in (CONTROLNET, T2I_ADAPTER):
        raise BadInput(_not_control(path, info, header))
    if info.unsupported:
        raise BadInput(f"{path.name} {info.unsupported}")
    if info.kind == T2I_ADAPTER and info.layout == DIFFUSERS_LAYOUT:
        raise BadInput(
            f"{path.name} is a T2I-Adapter in a single file; this version loads T2I-Adapters "
            "as diffusers folders (config.json with diffusion_pytorch_model.safetensors). "
            "Put the file in a folder with the adapter's config.json."
        )
    return ControlFile(path, info, header)


def check_fits(control: ControlFile, base_family: SdFamily) -> None:
    """BadInput unless the control model was made for `base_family`."""
    family = control.family
    fits = family is base_family or (
        # T2I-Adapters' configs do not tell SD 1.x from 2.x; both use the same adapter.
        control.kind == T2I_ADAPTER
        and family in (SdFamily.SD1, SdFamily.SD2)
        and base_family in (SdFamily.SD1, SdFamily.SD2)
    )
    if not fits:
        made_for = family.title if family else "an unknown family"
        raise BadInput(
            f"{control.path.name} is a {KIND_TITLES[control.kind]} for {made_for}, and the "
            f"checkpoint is {base_family.title}. Choose a {KIND_TITLES[control.kind]} made "
            f"for {base_family.title}, or a {made_for} checkpoint."
        )


def load_control_model(
    path: str | Path,
    base_family: SdFamily,
    device: str,
    dtype: torch.dtype,
    base_unet_config: Mapping[str, Any] | None = None,
) -> ControlModel:
    """The ControlNet or T2I-Adapter at `path` (folder or single file) on `device`.

    `base_unet_config` (the checkpoint's pipe.unet.config) gives a single-file SDXL
    ControlNet what no tensor shape shows, the width of its size-conditioning numbers'
    embedding; without it the official 256 is taken.

    BadInput when it is of another family than `base_family` or not a control model;
    BadModelFile when it is damaged. Out-of-memory errors pass through unchanged.
    """
    control = inspect_control_file(path)
    check_fits(control, base_family)
    hf_env.silence_progress_bars()
    try:
        with building_models:
            model = _load(control, dtype, base_unet_config or {})
        model = model.to(device).eval()
    except pickle.UnpicklingError as exc:
        raise BadModelFile(would_run_code(control.path)) from exc
    except (BadModelFile, BadInput):
        raise
    except Exception as exc:
        if not is_out_of_memory(exc) and isinstance(
            exc, OSError | ValueError | RuntimeError | KeyError | TypeError
        ):
            raise BadModelFile(
                f"The control model {control.path} could not be loaded ({exc}). Download or "
                "copy it again."
            ) from exc
        raise
    assert control.family is not None
    return ControlModel(control.kind, control.family, model, control.path)


def _load(control: ControlFile, dtype: torch.dtype, base: Mapping[str, Any]) -> Any:
    from diffusers import ControlNetModel, T2IAdapter

    model_class = ControlNetModel if control.kind == CONTROLNET else T2IAdapter
    if control.header is None:
        return model_class.from_pretrained(str(control.path), dtype=dtype, local_files_only=True)
    if control.kind == T2I_ADAPTER:  # a TencentARC file (inspect refuses the others)
        return load_original_adapter(control.path, control.header, dtype)
    config = controlnet_config(control)
    if "addition_time_embed_dim" in config and base.get("addition_time_embed_dim"):
        config["addition_time_embed_dim"] = base["addition_time_embed_dim"]
    state = diffusers_state_dict(control, config)
    model = ControlNetModel.from_config(config)
    # Strict: a tensor missing from the file (or one diffusers' converter skipped) is an
    # error, never a silently random layer.
    problems = model.load_state_dict(state, strict=False)
    if problems.missing_keys or problems.unexpected_keys:
        raise BadModelFile(
            f"{control.path.name} does not hold a complete ControlNet (missing "
            f"{len(problems.missing_keys)} tensors such as {problems.missing_keys[:2]}, "
            f"{len(problems.unexpected_keys)} unexpected). Download or copy it again."
        )
    return model.to(dtype)


def diffusers_state_dict(control: ControlFile, config: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The single file's tensors under diffusers' names: diffusers' own converter
    (convert_controlnet_checkpoint), plus SDXL's size conditioning, which it leaves out."""
    from diffusers.loaders.single_file_utils import (
        DIFFUSERS_TO_LDM_MAPPING,
        convert_controlnet_checkpoint,
    )
    from diffusers.models.model_loading_utils import load_state_dict

    state = load_state_dict(str(control.path))
    if control.info.layout == DIFFUSERS_LAYOUT:
        return state
    prefix = control.info.prefix
    bare = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    converted = convert_controlnet_checkpoint(bare, config)
    if config.get("addition_embed_type") == "text_time":
        for name, original in DIFFUSERS_TO_LDM_MAPPING["controlnet"]["addition_embed_type"].items():
            if original in bare:
                converted[name] = bare[original]
    return {k: v for k, v in converted.items() if v is not None}


# ---------------------------------------------------------------- checks


def _inspect_folder(folder: Path) -> ControlFile:
    info = detect_control_folder(folder)
    if info is None or info.kind not in (CONTROLNET, T2I_ADAPTER):
        raise BadInput(
            f"{folder} is not a ControlNet or T2I-Adapter folder: it needs a config.json "
            "naming ControlNetModel or T2IAdapter, beside diffusion_pytorch_model.safetensors."
        )
    weights = [folder / f"diffusion_pytorch_model{suffix}" for suffix in (".safetensors", ".bin")]
    found = [w for w in weights if w.is_file()]
    if not found:
        raise BadModelFile(
            f"The weights of {folder.name} are missing: no diffusion_pytorch_model.safetensors "
            f"in {folder}. Download or copy the model again."
        )
    _check_whole(found[0])
    return ControlFile(folder, info)


def _check_whole(path: Path) -> None:
    if path.suffix != ".safetensors":
        return
    try:
        with safe_open(str(path), framework="np"):
            pass
    except (SafetensorError, OSError) as exc:
        raise BadModelFile(
            f"The control model {path} is damaged or incomplete ({exc}). Download or copy it again."
        ) from exc


def _not_control(path: Path, info: ControlInfo | None, header: CheckpointHeader) -> str:
    if info is not None:
        what = f"an {info.title}" if info.title[0] in "AEIOU" else f"a {info.title}"
    else:
        found = detect(header)
        what = found.other or (
            f"a {found.kind.value}" if found.kind.value != "unknown" else "not a model we know"
        )
    return (
        f"{path.name} is {what}, not a ControlNet or T2I-Adapter. Choose a ControlNet file "
        "(models/ControlNet) or folder for the control unit."
    )


# ---------------------------------------------------------------- single-file configs


def controlnet_config(control: ControlFile) -> dict[str, Any]:
    """The diffusers config of a single-file ControlNet, from its tensor shapes."""
    assert control.header is not None and control.family is not None
    if control.info.layout == DIFFUSERS_LAYOUT:
        config = _diffusers_layout_config(control.header, control.family)
    else:
        config = _original_config(control.header, control.info.prefix, control.family)
    return {"_class_name": "ControlNetModel", **config}


def _original_config(header: CheckpointHeader, prefix: str, family: SdFamily) -> dict[str, Any]:
    """architecture.py reads a checkpoint's UNet under `model.diffusion_model.`; the
    ControlNet is that UNet's encoder half under `control_model.`, so it is read as one."""
    renamed = CheckpointHeader(
        header.path,
        header.format,
        tensors={
            UNET + name[len(prefix) :]: info
            for name, info in header.tensors.items()
            if name.startswith(prefix)
        },
    )
    levels = architecture._levels(renamed)
    attends = [level.attention_depth > 0 for level in levels]
    hint = _conv_indices(renamed, UNET + "input_hint_block")
    config: dict[str, Any] = {
        "in_channels": architecture._shape(renamed, UNET + "input_blocks.0.0.weight")[1],
        "conditioning_channels": _shape(renamed, f"{UNET}input_hint_block.{hint[0]}.weight")[1],
        # conv_in, then the second (downsampling) conv of each block; the last is conv_out.
        "conditioning_embedding_out_channels": [
            _shape(renamed, f"{UNET}input_hint_block.{i}.weight")[0]
            for i in [hint[0], *hint[2:-1:2]]
        ],
        "block_out_channels": [level.channels for level in levels],
        "layers_per_block": architecture._uniform([level.resnets for level in levels]),
        "down_block_types": ["CrossAttnDownBlock2D" if a else "DownBlock2D" for a in attends],
        "transformer_layers_per_block": [max(1, level.attention_depth) for level in levels],
        "cross_attention_dim": architecture._cross_attention_width(renamed),
        "use_linear_projection": architecture._linear_projection(renamed),
        "attention_head_dim": architecture._heads(family, levels),
        "mid_block_type": (
            "UNetMidBlock2DCrossAttn"
            if UNET + "middle_block.1.proj_in.weight" in renamed
            else "UNetMidBlock2D"
        ),
    }
    if family is SdFamily.SDXL:
        config.update(architecture._size_conditioning(renamed, family))
        config["addition_time_embed_dim"] = SDXL_TIME_WIDTH
    return config


def _diffusers_layout_config(header: CheckpointHeader, family: SdFamily) -> dict[str, Any]:
    blocks = _count(header, r"down_blocks\.(\d+)\.resnets\.0\.conv2\.weight")
    channels = [_shape(header, f"down_blocks.{i}.resnets.0.conv2.weight")[0] for i in range(blocks)]
    depths = [
        _count(
            header,
            rf"down_blocks\.{i}\.attentions\.0\.transformer_blocks\.(\d+)\.attn2\.to_k\.weight",
        )
        for i in range(blocks)
    ]
    hint = _conv_indices(header, "controlnet_cond_embedding.blocks")
    attn = header.first(r".*attn2\.to_k\.weight")
    proj = header.first(r".*proj_in\.weight")
    config: dict[str, Any] = {
        "in_channels": _shape(header, "conv_in.weight")[1],
        "conditioning_channels": _shape(header, "controlnet_cond_embedding.conv_in.weight")[1],
        "conditioning_embedding_out_channels": [
            _shape(header, "controlnet_cond_embedding.conv_in.weight")[0],
            *(
                _shape(header, f"controlnet_cond_embedding.blocks.{i}.weight")[0]
                for i in hint[1::2]
            ),
        ],
        "block_out_channels": channels,
        "layers_per_block": _count(header, r"down_blocks\.0\.resnets\.(\d+)\.conv1\.weight"),
        "down_block_types": ["CrossAttnDownBlock2D" if d else "DownBlock2D" for d in depths],
        "transformer_layers_per_block": [max(1, d) for d in depths],
        "cross_attention_dim": _shape(header, attn)[1] if attn else 768,
        "use_linear_projection": bool(proj) and len(_shape(header, proj)) == 2,
        "attention_head_dim": (
            architecture.SD1_HEADS
            if family is SdFamily.SD1
            else [max(1, c // HEAD_CHANNELS) for c in channels]
        ),
        "mid_block_type": (
            "UNetMidBlock2DCrossAttn"
            if header.has_prefix("mid_block.attentions.")
            else "UNetMidBlock2D"
        ),
    }
    if header.has_prefix("add_embedding."):
        width = _shape(header, "add_embedding.linear_1.weight")[1]
        config.update(
            addition_embed_type="text_time",
            projection_class_embeddings_input_dim=width,
            addition_time_embed_dim=SDXL_TIME_WIDTH,
        )
    return config


def _conv_indices(header: CheckpointHeader, prefix: str) -> list[int]:
    """The indices of the 4-D convolution weights of a Sequential under `prefix`."""
    found = re.findall(rf"^{re.escape(prefix)}\.(\d+)\.weight$", header.joined, re.MULTILINE)
    return sorted(int(i) for i in found if len(_shape(header, f"{prefix}.{i}.weight")) == 4)


def _count(header: CheckpointHeader, pattern: str) -> int:
    return architecture._count(header, pattern)


def _shape(header: CheckpointHeader, name: str) -> tuple[int, ...]:
    return architecture._shape(header, name)
