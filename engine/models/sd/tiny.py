"""A tiny but real Stable Diffusion pipeline, built from scratch in about a second.

Tests, `main.py --selftest` and the benchmarks need a diffusers folder that goes through
exactly the code path a downloaded SD 1.5 model does, without shipping or downloading
gigabytes. Diffusers' own fast tests do the same with 32-64 channel components.

The components keep SD 1.5's shapes where they matter to the app: 4 latent channels, a
VAE that downsamples by 8 (so image and latent sizes relate as for real models), the real
CLIP vocabulary (so prompts tokenize as they would), and SD 1.5's PNDM scheduler config.
Weights are random but a pure function of `seed`.

The bare-diffusers baseline that tests and benchmarks compare the app with is in
bench/baselines.py, outside the shipped engine.
"""

from __future__ import annotations

from engine.models.common import hf_env  # isort: skip  (must run before any hugging-face import)

import json
import shutil
from pathlib import Path

import torch
from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from engine.models.common.construction import building_models
from engine.resources import CLIP_TOKENIZER_DIR, SD_CONFIG_DIR

# SD 1.x reads 77 tokens; without this transformers 5 reports an "infinite" maximum
# length and the pipeline would pad every prompt to it.
CLIP_MAX_TOKENS = 77
TOKENIZER_FILES = ("vocab.json", "merges.txt")
TINY_VAE_SCALE = 8  # 2 ** (number of VAE blocks - 1), as in SD 1.x
DEFAULT_SAMPLE_SIZE = 8  # latent side; images default to 8 * 8 = 64 px


def load_clip_tokenizer(max_length: int = CLIP_MAX_TOKENS) -> CLIPTokenizer:
    return CLIPTokenizer.from_pretrained(str(CLIP_TOKENIZER_DIR), model_max_length=max_length)


def _tiny_unet(sample_size: int) -> UNet2DConditionModel:
    return UNet2DConditionModel(
        sample_size=sample_size,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=(2, 4),
        norm_num_groups=8,
    )


def _tiny_vae(sample_size: int) -> AutoencoderKL:
    blocks = 4  # three downsamplings: the same 8x latent scale as SD 1.x
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * blocks,
        up_block_types=("UpDecoderBlock2D",) * blocks,
        block_out_channels=(8, 16, 16, 16),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=4,
        sample_size=sample_size * TINY_VAE_SCALE,
    )


def _tiny_text_encoder() -> CLIPTextModel:
    config = CLIPTextConfig(
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        vocab_size=49408,
        max_position_embeddings=CLIP_MAX_TOKENS,
        bos_token_id=49406,
        eos_token_id=49407,
        pad_token_id=49407,
        layer_norm_eps=1e-5,
    )
    return CLIPTextModel(config)


def _sd15_scheduler() -> PNDMScheduler:
    config = json.loads(
        (SD_CONFIG_DIR / "sd15" / "scheduler" / "scheduler_config.json").read_text()
    )
    return PNDMScheduler.from_config(config)


def build_tiny_pipeline(
    out_dir: Path, seed: int = 0, sample_size: int = DEFAULT_SAMPLE_SIZE
) -> Path:
    """Build, save (safetensors) and return `out_dir`: a loadable SD 1.x diffusers folder.

    `sample_size` is the UNet's latent side, as in diffusers; the default image side is
    `sample_size * 8` pixels.
    """
    out_dir = Path(out_dir)
    hf_env.silence_progress_bars()
    # fork_rng: building a test model must not disturb the caller's global torch RNG.
    with building_models, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = _tiny_unet(sample_size)
        torch.manual_seed(seed + 1)
        vae = _tiny_vae(sample_size)
        torch.manual_seed(seed + 2)
        text_encoder = _tiny_text_encoder()
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=load_clip_tokenizer(),
        unet=unet,
        scheduler=_sd15_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        image_encoder=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(out_dir, safe_serialization=True)
    _add_tokenizer_vocab(out_dir / "tokenizer")
    return out_dir


def _add_tokenizer_vocab(tokenizer_dir: Path) -> None:
    # transformers 5 saves only tokenizer.json; other tools (and older transformers) look
    # for the BPE files, and a folder without them loads a 3-token tokenizer silently.
    for name in TOKENIZER_FILES:
        shutil.copyfile(CLIP_TOKENIZER_DIR / name, tokenizer_dir / name)
