"""What a model file is, from its tensor names and shapes alone (as ComfyUI detects models).

A checkpoint of the Stable Diffusion family is told apart by its text encoders' layout:
SD 1.x carries OpenAI's CLIP-L under `cond_stage_model.transformer.`, SD 2.x OpenCLIP-H
under `cond_stage_model.model.`, SDXL both of its encoders under `conditioner.embedders.`
(the refiner only OpenCLIP-bigG, as embedder 0), and SDXL's UNet has the `label_emb` of
its size conditioning. A file without text encoders falls back on the UNet's
cross-attention width (768 / 1024 / 2048 / 1280). The UNet's first convolution says the
variant: 4 input channels plain, 9 inpainting, 8 InstructPix2Pix. Files of other
families are recognised by a key of theirs so the user learns what the file is. Control
models (ControlNet, T2I-Adapter, IP-Adapter, CLIP vision) are engine.library.control's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from engine.library.control import KIND_TITLES, detect_control
from engine.library.header import CheckpointHeader

UNET = "model.diffusion_model."


class ModelKind(Enum):
    CHECKPOINT = "checkpoint"
    LORA = "lora"
    VAE = "vae"
    EMBEDDING = "embedding"
    UPSCALER = "upscaler"
    # Control models (engine.library.control says which): the values are its kind names.
    CONTROLNET = "controlnet"
    T2I_ADAPTER = "t2i-adapter"
    IP_ADAPTER = "ip-adapter"
    CLIP_VISION = "clip-vision"
    # An annotator network's file (engine.library.annotators); variant: its preprocessor.
    ANNOTATOR = "annotator"
    UNKNOWN = "unknown"


class SdFamily(Enum):
    SD1 = "sd1"
    SD2 = "sd2"
    SDXL = "sdxl"
    SDXL_REFINER = "sdxl-refiner"

    @property
    def title(self) -> str:
        return FAMILY_TITLES[self]


FAMILY_TITLES = {
    SdFamily.SD1: "SD 1.x",
    SdFamily.SD2: "SD 2.x",
    SdFamily.SDXL: "SDXL",
    SdFamily.SDXL_REFINER: "SDXL refiner",
}
# Cross-attention (text embedding) width of each family's UNet.
CONTEXT_WIDTHS = {768: SdFamily.SD1, 1024: SdFamily.SD2, 2048: SdFamily.SDXL}
VARIANTS = {4: "", 9: "inpainting", 8: "InstructPix2Pix"}

# Families we recognise but do not run: (a key or key fragment of theirs, their name).
OTHER_FAMILIES = (
    ("double_blocks.0.img_attn", "a FLUX model"),
    ("joint_blocks.0.context_block", "a Stable Diffusion 3 model"),
    ("clip_txt_mapper.weight", "a Stable Cascade model"),
    ("down_blocks.1.0.channelwise", "a Stable Cascade model"),
    ("double_layers.0.attn.w2q", "an AuraFlow model"),
    ("cap_embedder.0.weight", "a Lumina 2 model"),
    ("patchify_proj.weight", "an LTX-Video model"),
    ("blocks.0.attn.qkv_x.weight", "a Mochi video model"),
    ("txt_in.individual_token_refiner", "a HunyuanVideo model"),
    ("motion_modules.", "an AnimateDiff motion module"),
    ("pos_embed.proj.weight", "a DiT/PixArt-style transformer"),
)
LORA_MARKS = (
    "lora_down",
    "lora_up",
    "lora_A",
    "lora_B",
    "lora.down",
    "lora.up",
    "hada_w1",
    "lokr_w",
)
VAE_MARKS = ("encoder.down.0.block.0.conv1.weight", "encoder.down_blocks.0.resnets.0.conv1.weight")
EMBEDDING_NAMES = ("emb_params", "string_to_param.*", "clip_l", "clip_g")
UPSCALER_MARKS = ("conv_first.weight", "model.0.weight", "params_ema", "body.0.weight")


@dataclass(frozen=True)
class Detected:
    kind: ModelKind
    family: SdFamily | None = None
    variant: str = ""  # "", "inpainting", "InstructPix2Pix"; IP-Adapter "plus"; "ViT-H"
    prediction: str | None = None  # "v" or "epsilon" when the file says; else unknown
    other: str | None = None  # what an unsupported file is: "a FLUX model"

    @property
    def label(self) -> str:
        """What a picker shows: 'SD 1.x inpainting', 'SDXL', 'a FLUX model'."""
        if self.other:
            return self.other
        if self.family is None:
            named = (ModelKind.CHECKPOINT, ModelKind.LORA, ModelKind.EMBEDDING)
            return "unknown family" if self.kind in named else self.variant
        return " ".join(part for part in (self.family.title, self.variant) if part)


def detect(header: CheckpointHeader) -> Detected:
    control = detect_control(header)
    if control is not None:
        family = SdFamily(control.family) if control.family else None
        # One the app cannot run is listed with a problem (scan.py words `other`).
        other = f"a {control.variant} {KIND_TITLES[control.kind]}" if control.unsupported else None
        return Detected(ModelKind(control.kind), family, control.variant, other=other)
    for mark, what in OTHER_FAMILIES:
        if header.contains(mark):
            return Detected(ModelKind.UNKNOWN, other=what)
    if header.has_prefix(UNET):
        return _checkpoint(header)
    if any(header.contains(mark) for mark in LORA_MARKS):
        return Detected(ModelKind.LORA, family=_lora_family(header))
    if _is_embedding(header):
        return Detected(ModelKind.EMBEDDING, family=_embedding_family(header))
    if any(header.contains(mark + "\n") for mark in VAE_MARKS):
        return Detected(ModelKind.VAE)
    if any(header.has_prefix(mark) for mark in UPSCALER_MARKS):
        return Detected(ModelKind.UPSCALER)
    return Detected(ModelKind.UNKNOWN)


def _checkpoint(header: CheckpointHeader) -> Detected:
    family = text_encoder_family(header) or _family_from_unet(header)
    in_channels = (header.shape(UNET + "input_blocks.0.0.weight") or (0, 4))[1]
    variant = VARIANTS.get(in_channels, f"{in_channels}-channel")
    if family is None:
        return Detected(ModelKind.UNKNOWN, variant=variant, other=None)
    return Detected(ModelKind.CHECKPOINT, family, variant, _prediction(header))


def text_encoder_family(header: CheckpointHeader) -> SdFamily | None:
    if header.has_prefix("conditioner.embedders.1.model."):
        return SdFamily.SDXL
    if header.has_prefix("conditioner.embedders.0.model."):
        return SdFamily.SDXL_REFINER
    if header.has_prefix("cond_stage_model.model."):
        return SdFamily.SD2
    if header.has_prefix("cond_stage_model.transformer."):
        return SdFamily.SD1
    return None


def _family_from_unet(header: CheckpointHeader) -> SdFamily | None:
    width = context_width(header)
    if header.shape(UNET + "label_emb.0.0.weight"):
        return SdFamily.SDXL_REFINER if width == 1280 else SdFamily.SDXL
    return CONTEXT_WIDTHS.get(width or 0)


def context_width(header: CheckpointHeader) -> int | None:
    """The UNet's cross-attention width: the input size of any attn2.to_k."""
    name = header.first(re.escape(UNET) + r".*attn2\.to_k\.weight")
    shape = header.shape(name) if name else None
    return shape[1] if shape else None


def _prediction(header: CheckpointHeader) -> str | None:
    # ComfyUI marks v-prediction checkpoints with an empty "v_pred" tensor; the
    # Stability model spec puts it in the metadata.
    if "v_pred" in header:
        return "v"
    spec = header.metadata.get("modelspec.prediction_type", "").lower()
    if spec.startswith("v"):
        return "v"
    if spec.startswith("eps"):
        return "epsilon"
    return None


def _lora_family(header: CheckpointHeader) -> SdFamily | None:
    if header.has_prefix("lora_te1_") or header.has_prefix("lora_te2_"):
        return SdFamily.SDXL
    if header.contains("text_encoder_2"):
        return SdFamily.SDXL
    # A cross-attention key projection's down matrix reads the text embedding's width.
    name = header.first(r".*attn2.to_k.*(?:down|lora_A).*")
    shape = header.shape(name) if name else None
    return CONTEXT_WIDTHS.get(shape[-1]) if shape else None


def _is_embedding(header: CheckpointHeader) -> bool:
    names = set(header.names)
    return bool(names & set(EMBEDDING_NAMES)) and len(names) <= 4


def _embedding_family(header: CheckpointHeader) -> SdFamily | None:
    if "clip_g" in header:
        return SdFamily.SDXL
    for name in EMBEDDING_NAMES:
        if name in header:
            shape = header.shape(name) or (0,)
            return {768: SdFamily.SD1, 1024: SdFamily.SD2}.get(shape[-1])
    return None
