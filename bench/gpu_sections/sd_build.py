"""SD 1.5 and SDXL diffusers folders with random weights, from the bundled configs
(resources/sd-configs): nothing downloaded.

Full size, the components are the official architectures exactly (their parameter
counts are checked in the configs' README), initialised on the device that will run
them (a 2.6 G-parameter UNet initialises in seconds on a GPU, minutes on a CPU) and
saved in fp16, as downloaded models usually are. Tiny, the same configs with their
widths cut down, so the whole check's logic runs on a CPU in seconds.
"""

from __future__ import annotations

from engine.models.common import hf_env  # isort: skip  (must run before any hugging-face import)

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import diffusers
import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

from engine.resources import CLIP_TOKENIZER_DIR, SD_CONFIG_DIR

TOKENIZER_FILES = ("vocab.json", "merges.txt")
# Tiny widths: multiples of 32 (the configs' GroupNorm has 32 groups). SDXL's UNet reads
# both text encoders' widths together (32 + 64) and its size conditioning is the pooled
# width (16) plus six numbers of 8.
TINY_UNET: dict[str, dict[str, Any]] = {
    "sd15": {"block_out_channels": [32, 64, 128, 128], "cross_attention_dim": 32},
    "sdxl": {
        "block_out_channels": [32, 64, 128],
        "attention_head_dim": [1, 2, 4],
        "transformer_layers_per_block": [1, 1, 2],
        "cross_attention_dim": 96,
        "projection_class_embeddings_input_dim": 16 + 6 * 8,
        "addition_time_embed_dim": 8,
    },
}
TINY_VAE = {"block_out_channels": [32, 32, 32, 32]}
TINY_TEXT = {
    "text_encoder": {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2},
    "text_encoder_2": {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_attention_heads": 2,
        "projection_dim": 16,
    },
}
TINY_DEPTH = {"layers_per_block": 1}
TINY_TEXT_DEPTH = {"num_hidden_layers": 2}


def build_sd_folder(family: str, out: Path, device: str, tiny: bool, seed: int = 0) -> Path:
    """Write a loadable diffusers folder of `family` ("sd15" or "sdxl") to `out`."""
    hf_env.silence_progress_bars()
    torch.manual_seed(seed)
    with torch.device(device):
        parts = _components(family, tiny)
    index = _config(family, "model_index.json")
    scheduler_class = getattr(diffusers, index["scheduler"][1])
    parts["scheduler"] = scheduler_class.from_config(
        _config(family, "scheduler/scheduler_config.json")
    )
    for name in ("tokenizer", "tokenizer_2"):
        if (SD_CONFIG_DIR / family / name).is_dir():
            parts[name] = _tokenizer(family, name)
    if family == "sd15":
        parts |= {"safety_checker": None, "feature_extractor": None}
        parts["requires_safety_checker"] = False
    pipe = getattr(diffusers, index["_class_name"])(**parts)
    quiet = diffusers.utils.logging.get_verbosity()
    diffusers.utils.logging.set_verbosity_error()  # "modules to keep in float32: []"
    try:
        pipe.to(torch.float16).save_pretrained(out, safe_serialization=True)
    finally:
        diffusers.utils.logging.set_verbosity(quiet)
    for name in ("tokenizer", "tokenizer_2"):  # transformers 5 saves tokenizer.json only
        if (out / name).is_dir():
            for file in TOKENIZER_FILES:
                shutil.copyfile(CLIP_TOKENIZER_DIR / file, out / name / file)
    del pipe, parts
    if device == "cuda":
        torch.cuda.empty_cache()
    return out


def _components(family: str, tiny: bool) -> dict[str, Any]:
    unet = _config(family, "unet/config.json") | (TINY_UNET[family] | TINY_DEPTH if tiny else {})
    vae = _config(family, "vae/config.json") | (TINY_VAE | TINY_DEPTH if tiny else {})
    parts: dict[str, Any] = {
        "unet": UNet2DConditionModel.from_config(unet),
        "vae": AutoencoderKL.from_config(vae),
        "text_encoder": CLIPTextModel(CLIPTextConfig(**_text(family, "text_encoder", tiny))),
    }
    if (SD_CONFIG_DIR / family / "text_encoder_2").is_dir():
        config = CLIPTextConfig(**_text(family, "text_encoder_2", tiny))
        parts["text_encoder_2"] = CLIPTextModelWithProjection(config)
    return parts


def _text(family: str, name: str, tiny: bool) -> dict[str, Any]:
    config = _config(family, f"{name}/config.json")
    return config | (TINY_TEXT[name] | TINY_TEXT_DEPTH if tiny else {})


def _config(family: str, name: str) -> dict[str, Any]:
    config = json.loads((SD_CONFIG_DIR / family / name).read_text(encoding="utf-8"))
    config.pop("torch_dtype", None)  # the official files say float16: built in fp32 here
    return config


def _tokenizer(family: str, name: str) -> CLIPTokenizer:
    """The family's tokenizer settings (SDXL's second pads with "!") on the bundled vocabulary."""
    with tempfile.TemporaryDirectory() as folder:
        shutil.copytree(SD_CONFIG_DIR / family / name, folder, dirs_exist_ok=True)
        for file in TOKENIZER_FILES:
            shutil.copyfile(CLIP_TOKENIZER_DIR / file, Path(folder) / file)
        return CLIPTokenizer.from_pretrained(folder)
