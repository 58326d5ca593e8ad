"""The model catalogue: which models are on disk, and of which family. No model is opened.

Bundled models are the `<name>.safetensors` files in resources/models, each with a
`<name>.json` record beside it that says its family and training data; user models are
Stable Diffusion diffusers folders found in the models folders from Settings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from engine.api.kinds import Family
from engine.api.parts import ModelRef
from engine.resources import BUNDLED_MODELS_DIR

DATASET_TITLES = {"digits": "handwritten digits", "shapes": "shapes", "emoji": "emoji"}


@dataclass(frozen=True)
class CatalogueEntry:
    ref: ModelRef
    title: str  # what a model picker shows
    path: Path
    bundled: bool = False


# ---------------------------------------------------------------- bundled models


def bundled_models(
    family: Family | None = None, folder: Path = BUNDLED_MODELS_DIR
) -> list[CatalogueEntry]:
    """Bundled models (of one family, or all), sorted by name."""
    entries = []
    for record_path in sorted(Path(folder).glob("*.json")):
        weights = record_path.with_suffix(".safetensors")
        record = _read_record(record_path)
        if record is None or not weights.is_file():
            continue
        try:
            model_family = Family(record.get("family"))
        except ValueError:
            continue
        if family is not None and model_family is not family:
            continue
        name = record_path.stem
        dataset = str(record.get("meta", {}).get("dataset", ""))
        title = f"{model_family.title} · {DATASET_TITLES.get(dataset, dataset or name)} (bundled)"
        entries.append(CatalogueEntry(ModelRef(model_family, name), title, weights, bundled=True))
    return entries


def bundled_path(name: str, folder: Path = BUNDLED_MODELS_DIR) -> Path | None:
    """The weights file of a bundled model, or None when `name` is not one."""
    if not name or "/" in name or "\\" in name:
        return None
    path = Path(folder) / f"{name}.safetensors"
    return path if path.is_file() and path.with_suffix(".json").is_file() else None


def model_path(ref: ModelRef) -> Path:
    """Where a model's weights are: a bundled name resolved, or the id as a path."""
    return bundled_path(ref.id) or Path(ref.id).expanduser()


def _read_record(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return record if isinstance(record, dict) else None


# ---------------------------------------------------------------- Stable Diffusion on disk


def is_diffusers_folder(path: Path) -> bool:
    return (path / "model_index.json").is_file()


CHECKPOINT_SUFFIXES = (".safetensors", ".ckpt")


def find_checkpoint_files(folders: list[Path]) -> list[Path]:
    """Single-file checkpoints in the folders and their direct subfolders (where A1111
    keeps models/Stable-diffusion and ComfyUI models/checkpoints)."""
    found: set[Path] = set()
    for folder in folders:
        if not folder.is_dir():
            continue
        for depth in ("*", "*/*", "*/*/*"):
            for path in folder.glob(depth):
                if path.suffix.lower() in CHECKPOINT_SUFFIXES and path.is_file():
                    found.add(path)
    return sorted(found, key=lambda p: p.name.lower())


def find_sd_models(folders: list[Path]) -> list[CatalogueEntry]:
    """Diffusers pipelines in the given folders (the folder itself, or its direct children)."""
    found: dict[Path, CatalogueEntry] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        candidates = [folder] + sorted(p for p in folder.iterdir() if p.is_dir())
        for candidate in candidates:
            if is_diffusers_folder(candidate):
                ref = ModelRef(Family.SD, str(candidate))
                found.setdefault(
                    candidate.resolve(), CatalogueEntry(ref, candidate.name, candidate)
                )
    return sorted(found.values(), key=lambda m: m.title.lower())


# ---------------------------------------------------------------- which family is a file


def family_of(model: str) -> Family | None:
    """The family a bundled name or one of our model files belongs to, read from its JSON
    record (beside it, or in the safetensors header) without loading any weights."""
    path = model_path(ModelRef(Family.VAE, model))
    record = _read_record(path.with_suffix(".json")) if path.suffix == ".safetensors" else None
    if record is None:
        record = _safetensors_record(path)
    try:
        return Family(record.get("family")) if record else None
    except ValueError:
        return None


def _safetensors_record(path: Path) -> dict | None:
    """Our record from a safetensors header: 8 bytes of length, then JSON."""
    try:
        with open(path, "rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            if not 2 <= size <= 100_000_000:
                return None
            header = json.loads(fh.read(size))
        record = json.loads(header.get("__metadata__", {}).get("latentstudio", "null"))
    except (OSError, ValueError, AttributeError, TypeError):
        return None
    return record if isinstance(record, dict) else None
