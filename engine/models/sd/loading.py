"""Loading a Stable Diffusion model — a diffusers folder or a single-file checkpoint —
into a pipeline, offline, with clear errors.

`locate_sd_model` checks what is on disk first (headers and folder layout only), so a
broken or mistyped model is refused before anything is loaded or evicted.
"""

from __future__ import annotations

from engine.models.common import hf_env  # isort: skip  (must run before any hugging-face import)

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import diffusers
import torch

from engine.api.errors import BadInput, BadModelFile, is_out_of_memory
from engine.library.detect import SdFamily
from engine.library.header import would_run_code
from engine.library.scan import folder_family
from engine.models.common.construction import building_models
from engine.models.sd.files import SINGLE_FILE_SUFFIXES, SdFolder, inspect_sd_folder
from engine.models.sd.single_file import (
    SingleFileModel,
    config_folder,
    inspect_single_file,
    load_single_file,
    refuse_variant,
)

# A real CLIP vocabulary has 49,408 tokens; transformers 5 builds a 3-token one, without
# any error, when a tokenizer folder lacks its vocabulary files.
MIN_VOCAB_SIZE = 1000
SINGLE_FILE = "single file"
DIFFUSERS = "diffusers"


@dataclass(frozen=True)
class SdModel:
    """A Stable Diffusion model on disk, checked, with what it is."""

    path: Path
    family: SdFamily
    format: str  # SINGLE_FILE or DIFFUSERS
    hash_files: tuple[Path, ...] | None  # a folder's weight files; None: hash the file
    single: SingleFileModel | None = None
    folder: SdFolder | None = None

    @property
    def config_dir(self) -> Path:
        """Where this model's component configs are: its folder, or the folder made for
        a single file's architecture."""
        return config_folder(self.single) if self.single is not None else self.path

    @property
    def inpainting(self) -> bool:
        """A 9-input-channel model: loaded as an inpaint pipeline, refused without a mask."""
        part = self.single if self.single is not None else self.folder
        return bool(part is not None and part.inpainting)

    @property
    def preview_family(self) -> str:
        return "sdxl" if self.family is SdFamily.SDXL else "sd"


def locate_sd_model(path: str | Path, with_mask: bool = False) -> SdModel:
    """The model at `path`, checked; an inpainting model is refused unless the job
    has a mask (`with_mask`)."""
    path = Path(path).expanduser()
    if path.is_file() and path.suffix.lower() in SINGLE_FILE_SUFFIXES:
        single = inspect_single_file(path, with_mask)
        return SdModel(path, single.family, SINGLE_FILE, None, single=single)
    folder = inspect_sd_folder(path)
    if folder.inpainting and not with_mask:
        raise BadInput(refuse_variant(path.name, "inpainting", "inpainting"))
    return SdModel(
        folder.path,
        folder_family(folder.path) or SdFamily.SD1,
        DIFFUSERS,
        folder.weight_files,
        folder=folder,
    )


def load_sd_pipeline(
    model: SdModel | str | Path, device: str, dtype: torch.dtype, prediction: str | None = None
) -> Any:
    """Load a checked model onto `device`; raise BadModelFile for a broken one.

    Out-of-memory errors pass through unchanged: the runtime frees memory and retries.
    """
    if not isinstance(model, SdModel):
        model = locate_sd_model(model)
    hf_env.silence_progress_bars()
    try:
        with building_models:
            if model.single is not None:
                pipe = load_single_file(model.single, dtype, prediction)
            else:
                pipe = _from_folder(model, dtype)
        pipe = pipe.to(device)
    except pickle.UnpicklingError as exc:
        raise BadModelFile(would_run_code(model.path)) from exc
    except BadModelFile:
        raise
    except Exception as exc:
        if not is_out_of_memory(exc) and isinstance(
            exc, OSError | ValueError | RuntimeError | KeyError
        ):
            raise BadModelFile(
                f"The model {model.path} could not be loaded ({exc}). Download or copy it again."
            ) from exc
        raise
    _check_tokenizer(pipe, model.path)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _from_folder(model: SdModel, dtype: torch.dtype) -> Any:
    assert model.folder is not None
    pipeline_class = getattr(diffusers, model.folder.pipeline_class)
    extra: dict[str, Any] = {}
    if model.family is not SdFamily.SDXL:  # SDXL pipelines have no safety checker
        extra = {"safety_checker": None, "requires_safety_checker": False}
    return pipeline_class.from_pretrained(
        str(model.path),
        dtype=dtype,  # diffusers 0.42 deprecates torch_dtype
        local_files_only=True,
        **extra,
    )


def _check_tokenizer(pipe: Any, where: Path) -> None:
    if len(pipe.tokenizer) < MIN_VOCAB_SIZE:
        raise BadModelFile(
            f"The tokenizer of {where} has only {len(pipe.tokenizer)} tokens: its "
            "vocab.json/merges.txt are missing or damaged. Download or copy it again."
        )
