"""What a Stable Diffusion diffusers folder must hold, checked before diffusers sees it.

diffusers reports a missing or truncated file as a stack trace about hub repositories or
Rust deserialisers. These checks turn each case into a sentence naming the file and what
to do about it, and they cost milliseconds: safetensors headers are read, not the weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from safetensors import SafetensorError, safe_open

from engine.api.errors import BadInput, BadModelFile

SUPPORTED_PIPELINES = (
    "StableDiffusionPipeline",
    "StableDiffusionXLPipeline",
    # Inpainting checkpoints (9 input channels): they draw only with an image and a mask.
    "StableDiffusionInpaintPipeline",
    "StableDiffusionXLInpaintPipeline",
)
# Loaded with safety_checker=None, so its (1.2 GB) weights are neither needed nor checked.
SKIPPED_COMPONENTS = ("safety_checker",)
WEIGHT_NAMES = {
    "diffusers": "diffusion_pytorch_model",
    "transformers": "model",
}
LEGACY_TRANSFORMERS_NAME = "pytorch_model"
SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin")


@dataclass(frozen=True)
class SdFolder:
    path: Path
    pipeline_class: str
    weight_files: tuple[Path, ...]  # every file that from_pretrained will read weights from

    @property
    def inpainting(self) -> bool:
        return "Inpaint" in self.pipeline_class


def inspect_sd_folder(path: str | Path) -> SdFolder:
    """Check that `path` is a complete SD diffusers folder; raise BadModelFile/BadInput."""
    folder = Path(path).expanduser()
    index = _read_model_index(folder)
    pipeline_class = str(index.get("_class_name", ""))
    if not pipeline_class:
        raise BadModelFile(
            f"{folder / 'model_index.json'} names no pipeline (it has no _class_name): the "
            "folder is damaged or is not a diffusers model. Download or copy it again."
        )
    if pipeline_class not in SUPPORTED_PIPELINES:
        raise BadInput(
            f"{folder} holds a {pipeline_class} pipeline; this version runs "
            "Stable Diffusion 1.x, 2.x and SDXL text-to-image folders "
            f"({', '.join(SUPPORTED_PIPELINES)})."
        )
    weights: list[Path] = []
    for name, entry in index.items():
        if name.startswith("_") or name in SKIPPED_COMPONENTS or not _is_component(entry):
            continue
        library, class_name = entry
        weights.extend(_check_component(folder, name, library, class_name))
    return SdFolder(folder, pipeline_class, tuple(weights))


def _read_model_index(folder: Path) -> dict:
    if not folder.exists():
        raise BadModelFile(
            f"The model folder {folder} does not exist. Check Settings → Models folder."
        )
    if folder.is_file():
        raise BadInput(_single_file_message(folder))
    index_file = folder / "model_index.json"
    if not index_file.is_file():
        raise BadModelFile(_not_a_pipeline_message(folder))
    try:
        index = json.loads(index_file.read_text(encoding="utf-8"))
    except PermissionError as exc:
        raise BadModelFile(_permission_message(index_file)) from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadModelFile(
            f"{index_file} cannot be read ({exc}). Download or copy the model again."
        ) from exc
    if not isinstance(index, dict):
        raise BadModelFile(f"{index_file} is not a diffusers model index. Download it again.")
    return index


def _single_file_message(path: Path) -> str:
    return (
        f"{path.name} is not a Stable Diffusion model. Choose a single-file checkpoint "
        "(.safetensors or .ckpt) or a diffusers model folder (one with model_index.json "
        "and unet/, vae/, text_encoder/, tokenizer/ and scheduler/ subfolders)."
    )


def _permission_message(path: Path) -> str:
    return (
        f"{path} cannot be opened: permission denied. Give your user read access to the "
        "model's files, or copy the model somewhere you can read."
    )


def _not_a_pipeline_message(folder: Path) -> str:
    checkpoints = sorted(p.name for p in folder.glob("*") if p.suffix in SINGLE_FILE_SUFFIXES)
    found = (
        f" It contains {', '.join(checkpoints[:3])}: choose one of those files instead."
        if checkpoints
        else ""
    )
    return (
        f"{folder} is not a diffusers pipeline folder: it has no model_index.json.{found} "
        "A diffusers folder holds model_index.json and the subfolders unet/, vae/, "
        "text_encoder/, tokenizer/ and scheduler/."
    )


def _is_component(entry: object) -> bool:
    # model_index.json lists components as [library, class]; [null, null] means "absent".
    return (
        isinstance(entry, list) and len(entry) == 2 and all(isinstance(part, str) for part in entry)
    )


def _check_component(folder: Path, name: str, library: str, class_name: str) -> list[Path]:
    sub = folder / name
    if not sub.is_dir():
        raise BadModelFile(
            f"The {name} folder is missing from {folder} (model_index.json lists it). "
            "Download or copy the model again."
        )
    if class_name.endswith("Scheduler"):
        _require(sub / "scheduler_config.json", f"The {name} configuration is missing")
        return []
    if class_name.endswith(("Tokenizer", "TokenizerFast")):
        _check_tokenizer(sub, name)
        return []
    if class_name.endswith(("ImageProcessor", "FeatureExtractor")):
        return []
    return _model_weights(sub, name, library)


def _require(path: Path, what: str) -> None:
    if not path.is_file():
        raise BadModelFile(f"{what}: no {path.name} in {path.parent}.")


def _check_tokenizer(sub: Path, name: str) -> None:
    # transformers 5 silently builds a 3-token tokenizer when these files are missing,
    # and every prompt turns into garbage; refuse instead.
    has_json = (sub / "tokenizer.json").is_file()
    has_bpe = (sub / "vocab.json").is_file() and (sub / "merges.txt").is_file()
    if not (has_json or has_bpe):
        raise BadModelFile(
            f"The {name} files are missing: no vocab.json and merges.txt (or tokenizer.json) "
            f"in {sub}. Download or copy the model again."
        )


def _model_weights(sub: Path, name: str, library: str) -> list[Path]:
    stem = WEIGHT_NAMES.get(library, "diffusion_pytorch_model")
    stems = [stem] + ([LEGACY_TRANSFORMERS_NAME] if library == "transformers" else [])
    # The order diffusers and transformers prefer: safetensors first, sharded or not.
    candidates = [f"{s}{ext}" for ext in (".safetensors", ".bin") for s in stems]
    for candidate in candidates:
        for file_name in (candidate, f"{candidate}.index.json"):
            path = sub / file_name
            if path.is_file():
                files = _shards(path, name) if file_name.endswith(".index.json") else [path]
                for weight_file in files:
                    _check_safetensors(weight_file, name)
                return files
    raise BadModelFile(f"The {name} weights are missing: no {stem}.safetensors in {sub}.")


def _shards(index_file: Path, name: str) -> list[Path]:
    try:
        weight_map = json.loads(index_file.read_text(encoding="utf-8"))["weight_map"]
        shard_names = sorted(set(weight_map.values()))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadModelFile(
            f"The {name} weight index {index_file} is damaged ({exc}). Download or copy it again."
        ) from exc
    shards = [index_file.parent / shard for shard in shard_names]
    for shard in shards:
        if not shard.is_file():
            raise BadModelFile(
                f"The {name} weights are incomplete: {shard.name} is missing from {shard.parent}."
            )
    return shards


def _check_safetensors(path: Path, name: str) -> None:
    if path.suffix != ".safetensors":
        return  # .bin goes through torch.load(weights_only=True) inside diffusers
    try:
        # Opening parses the header and checks it covers the file exactly, which is what
        # a truncated download or copy breaks.
        with safe_open(str(path), framework="np"):
            pass
    except PermissionError as exc:
        raise BadModelFile(_permission_message(path)) from exc
    except (SafetensorError, OSError) as exc:
        raise BadModelFile(
            f"The {name} weights file {path} is damaged or incomplete ({exc}). "
            "Download or copy it again."
        ) from exc
