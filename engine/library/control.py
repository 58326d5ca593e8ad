"""What a control file is — ControlNet, T2I-Adapter, IP-Adapter, CLIP vision encoder —
from its tensor names and shapes, or a diffusers folder's config.json, without weights.

- ControlNet in the original layout (lllyasviel's `control_*.pth` / `.safetensors`):
  `control_model.` (or bare) `input_hint_block.*`, `zero_convs.*`; in diffusers' layout
  (a folder, or a single file such as `diffusers_xl_canny_full.safetensors`):
  `controlnet_cond_embedding.*`. SDXL has the size conditioning (`label_emb` /
  `add_embedding`); SD 1.x and 2.x are told apart by the cross-attention width.
- T2I-Adapter: a diffusers folder (config.json `T2IAdapter`), or a file whose tensors
  are under `adapter.`; SDXL by its config's `adapter_type` (`full_adapter_xl`).
  TencentARC's own files (`t2iadapter_*_sd14v1.pth`), all SD 1.x: the "full" Adapter
  (`conv_in`, a flat `body.N.block1/block2` list, `body.N.in_conv` where the width
  grows; block2 is a 1x1 convolution) or the "light" one of the colour adapter
  (`body.N.in_conv`, `body.N.body.M.block1/block2`, `body.N.out_conv`). The style
  adapter (`style_embedding`, `transformer_layes.*`) is recognised to be refused.
- IP-Adapter (`ip-adapter_sd15.safetensors`, `.bin`): `image_proj.*` and `ip_adapter.*`;
  the family by `to_k_ip`'s input width (the UNet's cross-attention width; None for a
  width of no official family), the variant by
  the image projection: a linear one (plain), a Resampler with `latents` (plus / plus
  face), an MLP (full face).
- CLIP vision encoders (`models/clip_vision`): transformers' `vision_model.*` layout, in a
  folder (CLIPVisionModelWithProjection) or a single file; ViT-H or ViT-bigG by width.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from engine.api import untrusted_json
from engine.library.header import CheckpointHeader

CONTROLNET = "controlnet"
T2I_ADAPTER = "t2i-adapter"
IP_ADAPTER = "ip-adapter"
CLIP_VISION = "clip-vision"
KIND_TITLES = {
    CONTROLNET: "ControlNet",
    T2I_ADAPTER: "T2I-Adapter",
    IP_ADAPTER: "IP-Adapter",
    CLIP_VISION: "CLIP vision encoder",
}

ORIGINAL = "original"  # the layout of the authors' own files
STYLE = "style"  # the variant of TencentARC's CLIP-token style adapter
STYLE_REFUSAL = (
    "is TencentARC's style T2I-Adapter, which steers the picture with CLIP image tokens; "
    "diffusers has no pipeline for it, so Latent Studio cannot run it. For a picture's "
    "style, use an IP-Adapter (models/ipadapter) with its CLIP vision encoder."
)
DIFFUSERS_LAYOUT = "diffusers"

CONTROL_PREFIX = "control_model."
SDXL_WIDTH = 2048
FAMILY_BY_WIDTH = {768: "sd1", 1024: "sd2", 2048: "sdxl"}
# CLIP vision widths: ViT-L/14 1024, ViT-H/14 1280 (IP-Adapter SD 1.5 and most SDXL
# ones), ViT-bigG/14 1664 (the original SDXL IP-Adapter).
VISION_NAMES = {1024: "ViT-L", 1280: "ViT-H", 1664: "ViT-bigG"}
VISION_PREFIX = "vision_model."
FOLDER_CLASSES = {
    "ControlNetModel": CONTROLNET,
    "T2IAdapter": T2I_ADAPTER,
    "CLIPVisionModelWithProjection": CLIP_VISION,
    "CLIPVisionModel": CLIP_VISION,
}


@dataclass(frozen=True)
class ControlInfo:
    """What a control file is. `family` is an SdFamily value ("sd1", "sd2", "sdxl") or
    None when the file does not say (a CLIP vision encoder serves any family)."""

    kind: str
    family: str | None
    layout: str = ORIGINAL  # ORIGINAL or DIFFUSERS_LAYOUT (a folder is DIFFUSERS_LAYOUT)
    variant: str = ""  # IP-Adapter: "", "plus", "full face"; CLIP vision: "ViT-H"...
    prefix: str = ""  # where an original-layout ControlNet's tensors sit in the file
    unsupported: str = ""  # why the app cannot run it (a sentence after the file's name)

    @property
    def title(self) -> str:
        return " ".join(p for p in (KIND_TITLES[self.kind], self.variant) if p)


def detect_control(header: CheckpointHeader) -> ControlInfo | None:
    """The control model in the file, or None when it holds none."""
    if header.contains("input_hint_block."):
        prefix = CONTROL_PREFIX if header.has_prefix(CONTROL_PREFIX) else ""
        return ControlInfo(CONTROLNET, _original_family(header, prefix), ORIGINAL, prefix=prefix)
    if header.has_prefix("controlnet_cond_embedding."):
        return ControlInfo(CONTROLNET, _diffusers_family(header), DIFFUSERS_LAYOUT)
    if header.has_prefix("image_proj.") and header.has_prefix("ip_adapter."):
        return _ip_adapter(header)
    if header.has_prefix("adapter.") and header.contains(".resnets.0.block1.weight"):
        return ControlInfo(T2I_ADAPTER, None, DIFFUSERS_LAYOUT)
    if (original := _original_adapter(header)) is not None:
        return original
    if header.has_prefix(VISION_PREFIX + "embeddings.patch_embedding."):
        shape = header.shape(VISION_PREFIX + "embeddings.patch_embedding.weight") or (0,)
        return ControlInfo(CLIP_VISION, None, DIFFUSERS_LAYOUT, VISION_NAMES.get(shape[0], ""))
    return None


def detect_control_folder(folder: Path) -> ControlInfo | None:
    """A diffusers/transformers control model folder (config.json), or None."""
    try:
        config = untrusted_json.loads((folder / "config.json").read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(config, dict):
        return None
    class_name = str(config.get("_class_name", ""))
    architectures = config.get("architectures") or [""]
    kind = FOLDER_CLASSES.get(class_name) or FOLDER_CLASSES.get(str(architectures[0]))
    if kind is None:
        return None
    if kind == CLIP_VISION:
        width = config.get("hidden_size") or (config.get("vision_config") or {}).get(
            "hidden_size", 0
        )
        return ControlInfo(kind, None, DIFFUSERS_LAYOUT, VISION_NAMES.get(width, ""))
    return ControlInfo(kind, config_family(config, kind), DIFFUSERS_LAYOUT)


def config_family(config: dict, kind: str) -> str:
    """The family a ControlNet or T2I-Adapter config fits."""
    if kind == T2I_ADAPTER:
        return "sdxl" if config.get("adapter_type") == "full_adapter_xl" else "sd1"
    if config.get("addition_embed_type") == "text_time":
        return "sdxl"
    return FAMILY_BY_WIDTH.get(int(config.get("cross_attention_dim") or 768), "sd1")


def _original_family(header: CheckpointHeader, prefix: str) -> str:
    if header.has_prefix(prefix + "label_emb."):
        return "sdxl"
    return _family_by_width(
        header, re.escape(prefix) + r"(?:input|middle)_block.*attn2\.to_k\.weight"
    )


def _diffusers_family(header: CheckpointHeader) -> str:
    if header.has_prefix("add_embedding."):
        return "sdxl"
    return _family_by_width(header, r"(?:down|mid)_block.*attn2\.to_k\.weight")


def _family_by_width(header: CheckpointHeader, pattern: str) -> str:
    name = header.first(pattern)
    shape = header.shape(name) if name else None
    # A width of no official family (a tiny test model) follows SD 1.x, as diffusers does.
    return FAMILY_BY_WIDTH.get(shape[1] if shape else 768, "sd1")


def _ip_adapter(header: CheckpointHeader) -> ControlInfo:
    name = header.first(r"ip_adapter\..*to_k_ip\.weight")
    shape = header.shape(name) if name else None
    # A width of no official family (a tiny test model) does not say the family: the
    # runner then holds the width to the UNet's own (not SD 1.x's, which refused SDXL's).
    family = FAMILY_BY_WIDTH.get(shape[1]) if shape else None
    if header.has_prefix("image_proj.latents"):
        variant = "plus"  # a Resampler: plus and plus-face share the architecture
    elif header.has_prefix("image_proj.proj.0."):
        variant = "full face"  # an MLP projection
    else:
        variant = ""
    return ControlInfo(IP_ADAPTER, family, ORIGINAL, variant)


def _original_adapter(header: CheckpointHeader) -> ControlInfo | None:
    """TencentARC's T2I-Adapter files, all made for SD 1.x (sd14v1, sd15v2)."""
    if header.has_prefix("style_embedding") and header.has_prefix("transformer_layes."):
        return ControlInfo(T2I_ADAPTER, "sd1", ORIGINAL, STYLE, unsupported=STYLE_REFUSAL)
    # The kernels tell the adapters from upscalers that also have `conv_in`/`body.N`:
    # the full adapter's block2 is 1x1, the light one's in_conv and out_conv are.
    conv_in = header.shape("conv_in.weight") or ()
    block2 = header.shape("body.0.block2.weight") or ()
    if len(conv_in) == 4 and conv_in[1] % 64 == 0 and block2[2:] == (1, 1):
        return ControlInfo(T2I_ADAPTER, "sd1", ORIGINAL)
    light_in = header.shape("body.0.in_conv.weight") or ()
    light_out = header.shape("body.0.out_conv.weight") or ()
    if (
        light_in[2:] == (1, 1)
        and light_in[1] % 64 == 0
        and light_out[2:] == (1, 1)
        and header.has_prefix("body.0.body.0.block1.")
    ):
        return ControlInfo(T2I_ADAPTER, "sd1", ORIGINAL)
    return None
