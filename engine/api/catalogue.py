"""The model catalogue: which models are on disk, and of which family. No model is opened.

Bundled models are the `<name>.safetensors` files in resources/models, each with a
`<name>.json` record beside it that says its family and training data; models trained in
the app sit in the user data folder. The user's Stable Diffusion files (checkpoints,
LoRAs, VAEs...) are the model library's (engine/library/scan.py).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from engine.api import untrusted_json
from engine.api.families import is_known, lab_families, title_of
from engine.api.kinds import Family
from engine.api.parts import ModelRef
from engine.resources import BUNDLED_MODELS_DIR

DATASET_TITLES = {"digits": "handwritten digits", "shapes": "shapes", "emoji": "emoji"}
APP_NAME = "Latent Studio"
DATA_DIR_ENV = "LATENTSTUDIO_DATA_DIR"  # tests and benchmarks point this at a temp dir


@dataclass(frozen=True)
class CatalogueEntry:
    ref: ModelRef
    title: str  # what a model picker shows
    path: Path
    bundled: bool = False
    about: str = ""  # a record's one-line description ("sharper textures…"), if it has one


# ---------------------------------------------------------------- bundled models


def user_data_dir() -> Path:
    """The app's own data folder (LATENTSTUDIO_DATA_DIR overrides it)."""
    override = os.environ.get(DATA_DIR_ENV)
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))


def user_models_dir() -> Path:
    """Where models trained in the app are written."""
    return user_data_dir() / "models"


def trained_models(family: Family | None = None) -> list[CatalogueEntry]:
    """Models trained in the app, newest first."""
    entries = bundled_models(family, user_models_dir(), bundled=False)
    return sorted(entries, key=lambda e: e.path.stat().st_mtime, reverse=True)


def lab_models() -> list[CatalogueEntry]:
    """What the Latent Lab offers: the models trained here, newest first (the one just
    trained is the one wanted, at the top), then the bundled classic models."""
    classic = lab_families()  # the order history met them in (their specs' years)
    datasets = list(DATASET_TITLES)

    def order(entry: CatalogueEntry) -> tuple[int, int]:
        dataset = entry.ref.id.rsplit("-", 1)[-1]
        rank = datasets.index(dataset) if dataset in datasets else len(datasets)
        return classic.index(entry.ref.family), rank

    bundled = sorted((e for e in bundled_models() if e.ref.family in classic), key=order)
    return [e for e in trained_models() if e.ref.family in classic] + bundled


def bundled_models(
    family: Family | None = None, folder: Path = BUNDLED_MODELS_DIR, bundled: bool = True
) -> list[CatalogueEntry]:
    """Models with a record beside them in `folder` (of one family, or all), by name."""
    entries = []
    # By name (stem), so a variant follows its model: lite-x4, then lite-x4-gan.
    for record_path in sorted(Path(folder).glob("*.json"), key=lambda p: p.stem):
        weights = record_path.with_suffix(".safetensors")
        record = _read_record(record_path)
        if record is None or not weights.is_file():
            continue
        try:
            model_family = Family(record.get("family"))
        except ValueError:
            continue
        if not is_known(model_family):  # a family of a newer version: not ours to open
            continue
        if family is not None and model_family is not family:
            continue
        ref = ModelRef(model_family, record_path.stem if bundled else str(weights))
        title = _title(record_path.stem, model_family, record, bundled)
        meta = record.get("meta")
        about = str(meta.get("about", "")) if bundled and isinstance(meta, dict) else ""
        entries.append(CatalogueEntry(ref, title, weights, bundled=bundled, about=about))
    return entries


def _title(name: str, family: Family, record: dict, bundled: bool) -> str:
    """What a picker shows: "GAN · shapes (bundled)", "lite-x4 · ×4 RealESRGAN Compact
    (bundled)", or for a trained file "gan-faces · GAN · faces · 8000 steps"."""
    meta = record.get("meta", {})
    dataset = str(meta.get("dataset", ""))
    what = DATASET_TITLES.get(dataset, dataset or name)
    if family is Family.UPSCALE:
        config = record.get("config", {})
        scale, architecture = config.get("scale", "?"), config.get("architecture", "")
        title = f"{name} · ×{scale} {architecture}".strip()
        return f"{title} (bundled)" if bundled else title
    if bundled:
        return f"{title_of(family)} · {what} (bundled)"
    return f"{name} · {title_of(family)} · {what} · {meta.get('steps', '?')} steps"


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
        record = untrusted_json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return record if isinstance(record, dict) else None


# ---------------------------------------------------------------- upscalers

# Plain resampling, offered beside the models: no weights, exact and instant.
RESAMPLERS = {"lanczos": "Lanczos (no model)", "bicubic": "Bicubic (no model)"}
UPSCALER_SUFFIXES = (".pth", ".pt", ".safetensors", ".ckpt")
# Where other tools keep upscalers inside a models folder: A1111 (ESRGAN, RealESRGAN,
# SwinIR…), ComfyUI (upscale_models), chaiNNer and others (upscalers).
UPSCALER_FOLDERS = {"esrgan", "realesrgan", "swinir", "upscale_models", "upscalers", "dat", "hat"}


def is_resampler(ref: ModelRef) -> bool:
    return ref.family is Family.UPSCALE and ref.id in RESAMPLERS


def upscaler_models(folders: list[Path]) -> list[CatalogueEntry]:
    """Resamplers, the bundled upscalers, then upscaler files in the models folders: in a
    folder named as A1111 or ComfyUI name theirs, or a folder the user added itself."""
    entries = [
        CatalogueEntry(ModelRef(Family.UPSCALE, name), title, Path(name), bundled=True)
        for name, title in RESAMPLERS.items()
    ]
    entries += bundled_models(Family.UPSCALE)
    files = {p.resolve(): p for p in _upscaler_files(folders)}
    stems = Counter(p.stem.lower() for p in files.values())
    found = [
        # Named by the file alone: its folder is always ESRGAN, upscale_models… and says
        # nothing. Two installs with the same file name are told apart by the install.
        CatalogueEntry(
            ModelRef(Family.UPSCALE, str(path)),
            path.stem if stems[path.stem.lower()] == 1 else f"{path.stem} ({_install(path)})",
            path,
        )
        for path in files.values()
    ]
    return entries + sorted(found, key=lambda e: e.title.lower())


def _install(path: Path) -> str:
    """The folder above the upscalers folder: "stable-diffusion-webui/models" -> "models"
    is no help, so the first name up the path that is not a models folder."""
    for folder in path.parents[1:]:
        if folder.name.lower() not in ("models", *UPSCALER_FOLDERS):
            return folder.name
    return str(path.parent)


def _upscaler_files(folders: list[Path]) -> list[Path]:
    files = []
    for folder in folders:
        if not folder.is_dir():
            continue
        candidates = [folder] if folder.name.lower() in UPSCALER_FOLDERS else []
        for depth in ("*", "*/*"):
            candidates += [
                p for p in folder.glob(depth) if p.is_dir() and p.name.lower() in UPSCALER_FOLDERS
            ]
        for candidate in candidates:
            files += [
                p
                for p in candidate.iterdir()
                if p.suffix.lower() in UPSCALER_SUFFIXES and p.is_file()
            ]
    return files


# ---------------------------------------------------------------- which family is a file


def family_of(model: str) -> Family | None:
    """The family a bundled name or one of our model files belongs to, read from its JSON
    record (beside it, or in the safetensors header) without loading any weights."""
    path = model_path(ModelRef(Family.VAE, model))
    record = _read_record(path.with_suffix(".json")) if path.suffix == ".safetensors" else None
    if record is None:
        record = _safetensors_record(path)
    try:
        found = Family(record.get("family")) if record else None
    except ValueError:
        return None
    return found if found is not None and is_known(found) else None


def _safetensors_record(path: Path) -> dict | None:
    """Our record from a safetensors header: 8 bytes of length, then JSON."""
    try:
        with open(path, "rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            if not 2 <= size <= 100_000_000:
                return None
            header = untrusted_json.loads(fh.read(size))
        record = untrusted_json.loads(header.get("__metadata__", {}).get("latentstudio", "null"))
    except (OSError, ValueError, AttributeError, TypeError):
        return None
    return record if isinstance(record, dict) else None
