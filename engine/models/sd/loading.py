"""Loading a Stable Diffusion diffusers folder into a pipeline, offline, with clear errors."""

from __future__ import annotations

from engine.models.common import hf_env  # isort: skip  (must run before any hugging-face import)

import pickle
from pathlib import Path

import torch
from diffusers import StableDiffusionPipeline

from engine.api.errors import BadModelFile, is_out_of_memory
from engine.models.common.construction import building_models
from engine.models.sd.files import SdFolder, inspect_sd_folder

# A real CLIP vocabulary has 49,408 tokens; transformers 5 builds a 3-token one, without
# any error, when a tokenizer folder lacks its vocabulary files.
MIN_VOCAB_SIZE = 1000


def load_sd_pipeline(
    folder: SdFolder | str | Path, device: str, dtype: torch.dtype
) -> StableDiffusionPipeline:
    """Load a checked SD folder onto `device`; raise BadModelFile for a broken one.

    Out-of-memory errors pass through unchanged: the runtime frees memory and retries.
    """
    if not isinstance(folder, SdFolder):
        folder = inspect_sd_folder(folder)
    hf_env.silence_progress_bars()
    try:
        with building_models:
            pipe = StableDiffusionPipeline.from_pretrained(
                str(folder.path),
                dtype=dtype,  # diffusers 0.42 deprecates torch_dtype
                local_files_only=True,
                safety_checker=None,
                requires_safety_checker=False,
            )
        pipe = pipe.to(device)
    except pickle.UnpicklingError as exc:
        raise BadModelFile(
            f"A weights file in {folder.path} is a pickle that needs to run code to load; "
            "Latent Studio never runs code from model files. Use the model's .safetensors "
            "files, or convert it with a tool you trust."
        ) from exc
    except Exception as exc:
        if not is_out_of_memory(exc) and isinstance(
            exc, OSError | ValueError | RuntimeError | KeyError
        ):
            raise BadModelFile(
                f"The model in {folder.path} could not be loaded ({exc}). "
                "Download or copy it again."
            ) from exc
        raise
    _check_tokenizer(pipe, folder.path)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _check_tokenizer(pipe: StableDiffusionPipeline, folder: Path) -> None:
    if len(pipe.tokenizer) < MIN_VOCAB_SIZE:
        raise BadModelFile(
            f"The tokenizer in {folder / 'tokenizer'} has only {len(pipe.tokenizer)} tokens: "
            "its vocab.json/merges.txt are missing or damaged. Download or copy it again."
        )
