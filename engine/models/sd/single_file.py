"""Loading a single-file Stable Diffusion checkpoint, offline, through diffusers' own loader.

diffusers converts an original-layout checkpoint with `from_single_file(path, config=F)`
where F is a diffusers config folder (model_index.json and each component's config);
without F it looks one up on the hub, which is what breaks other tools offline. F is made
here for the file's own architecture: the family's bundled config folder
(resources/sd-configs) with the numbers the file's shapes determine written over it
(architecture.py), the CLIP vocabulary copied into its tokenizer folders, and the
scheduler's prediction type when the file or the user says v-prediction. Folders are
kept in the cache folder under a hash of their content, so each architecture is written
once, atomically.
"""

from __future__ import annotations

from engine.models.common import hf_env  # isort: skip  (must run before any hugging-face import)

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.api.errors import BadInput, BadModelFile, is_out_of_memory
from engine.hashing import default_cache_dir
from engine.library.detect import Detected, ModelKind, SdFamily, detect
from engine.library.header import CheckpointHeader, read_header
from engine.models.sd.architecture import text_encoder_configs, unet_config, vae_config
from engine.resources import CLIP_TOKENIZER_DIR, SD_CONFIG_DIR

TEMPLATES = {SdFamily.SD1: "sd15", SdFamily.SD2: "sd21", SdFamily.SDXL: "sdxl"}
PIPELINES = {
    SdFamily.SD1: "StableDiffusionPipeline",
    SdFamily.SD2: "StableDiffusionPipeline",
    SdFamily.SDXL: "StableDiffusionXLPipeline",
}
INPAINTING = "inpainting"  # detect()'s variant of a 9-input-channel UNet
TOKENIZER_FILES = ("vocab.json", "merges.txt")
CONFIG_FILES = {"scheduler": "scheduler_config.json"}  # every other component: config.json
CONFIGS_VERSION = 1  # bump when the way folders are made changes: old ones are not reused


@dataclass(frozen=True)
class SingleFileModel:
    """A checked single-file checkpoint and what it is."""

    path: Path
    header: CheckpointHeader
    detected: Detected

    @property
    def family(self) -> SdFamily:
        assert self.detected.family is not None
        return self.detected.family

    @property
    def inpainting(self) -> bool:
        return self.detected.variant == INPAINTING

    @property
    def pipeline_class(self) -> str:
        name = PIPELINES[self.family]
        return name.replace("Pipeline", "InpaintPipeline") if self.inpainting else name


def inspect_single_file(path: Path, with_mask: bool = False) -> SingleFileModel:
    """Read the header, say what the file is; refuse what this app cannot run (an
    inpainting checkpoint unless the job has a mask)."""
    header = read_header(path)
    _parse_whole(header)
    found = detect(header)
    if found.other:
        raise BadInput(
            f"{path.name} is {found.other}. Latent Studio runs Stable Diffusion 1.x, 2.x and "
            "SDXL checkpoints; this kind of model is not supported."
        )
    if found.kind is not ModelKind.CHECKPOINT:
        raise BadInput(_not_a_checkpoint(path, found))
    if found.family is SdFamily.SDXL_REFINER:
        raise BadInput(
            f"{path.name} is an SDXL refiner: it only refines an SDXL image and cannot "
            "start one. Choose an SDXL base model."
        )
    if found.variant and not (found.variant == INPAINTING and with_mask):
        raise BadInput(refuse_variant(path.name, found.label, found.variant))
    return SingleFileModel(path, header, found)


def refuse_variant(name: str, label: str, variant: str) -> str:
    """The sentence for a model that cannot draw this job."""
    if variant == INPAINTING:
        return (
            f"{name} is an {label} model: it only repaints a masked part of an image. "
            "Choose a source image and paint a mask, or choose a model that is not an "
            "inpainting one."
        )
    return (
        f"{name} is an {label} model, which this app does not run. Choose an ordinary "
        "or an inpainting checkpoint."
    )


def _parse_whole(header: CheckpointHeader) -> None:
    """Listing searches the header; loading parses all of it, so a header damaged in
    its middle is refused here, with a sentence, not by the weights reader."""
    try:
        header.tensors  # noqa: B018 - parsing is the check
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadModelFile(
            f"{header.path.name} is damaged (its safetensors header is not valid JSON). "
            "Download or copy it again."
        ) from exc


def _not_a_checkpoint(path: Path, found: Detected) -> str:
    what = {
        ModelKind.LORA: "a LoRA: use it in a prompt as <lora:NAME:1> with a checkpoint",
        ModelKind.VAE: "a VAE: choose it as a model's VAE, with a checkpoint",
        ModelKind.EMBEDDING: "a textual-inversion embedding: use its name in a prompt",
        ModelKind.UPSCALER: "an upscaler: open it in the Upscale mode",
    }.get(found.kind)
    if what:
        return f"{path.name} is {what}."
    return (
        f"{path.name} is not a Stable Diffusion checkpoint this app recognises (no UNet "
        "under model.diffusion_model.). Is it a complete model file?"
    )


def config_folder(model: SingleFileModel, prediction: str | None = None) -> Path:
    """The diffusers config folder for this file's architecture (made once, cached)."""
    family = model.family
    components: dict[str, dict[str, Any]] = {
        "unet": unet_config(model.header, family),
        "vae": vae_config(model.header),
        **text_encoder_configs(model.header, family),
    }
    prediction = prediction or model.detected.prediction
    if prediction == "v":
        components["scheduler"] = {"prediction_type": "v_prediction"}
    identity = json.dumps([CONFIGS_VERSION, family.value, components], sort_keys=True)
    key = hashlib.sha256(identity.encode()).hexdigest()[:16]
    root = default_cache_dir() / "sd-configs"
    folder = root / f"{TEMPLATES[family]}-{key}"
    if not (folder / "model_index.json").is_file():
        _write_folder(folder, SD_CONFIG_DIR / TEMPLATES[family], components)
    return folder


def _write_folder(folder: Path, template: Path, components: dict[str, dict[str, Any]]) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".building-", dir=folder.parent))
    try:
        shutil.copytree(template, building, dirs_exist_ok=True)
        for name, values in components.items():
            config_file = building / name / CONFIG_FILES.get(name, "config.json")
            config = json.loads(config_file.read_text(encoding="utf-8"))
            config.update(values)
            config_file.write_text(json.dumps(config, indent=2), encoding="utf-8")
        for tokenizer in building.glob("tokenizer*"):
            for file_name in TOKENIZER_FILES:
                shutil.copyfile(CLIP_TOKENIZER_DIR / file_name, tokenizer / file_name)
        try:
            building.rename(folder)
        except OSError:
            if not (folder / "model_index.json").is_file():  # not another writer's
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)


def load_single_file(model: SingleFileModel, dtype: Any, prediction: str | None = None) -> Any:
    """The pipeline, on the CPU, with every tensor converted from the file."""
    import diffusers

    from engine.models.sd.single_file_tensors import checkpoint_in

    folder = config_folder(model, prediction)
    pipeline_class = getattr(diffusers, model.pipeline_class)
    hf_env.silence_progress_bars()
    extra = {"safety_checker": None, "requires_safety_checker": False}
    if model.family is SdFamily.SDXL:
        extra = {}
    try:
        with checkpoint_in(dtype):  # one copy, in `dtype`: never the file's beside it
            return pipeline_class.from_single_file(
                str(model.path), config=str(folder), local_files_only=True, dtype=dtype, **extra
            )
    except (KeyError, ValueError, RuntimeError) as exc:
        if is_out_of_memory(exc):
            raise
        raise BadModelFile(
            f"{model.path.name} looks like an {model.detected.label} checkpoint, but its "
            f"weights do not fit that architecture ({type(exc).__name__}: {exc}). The file "
            "may be damaged or of a variant this app does not know."
        ) from exc
