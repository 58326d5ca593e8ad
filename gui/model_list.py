"""Finding Stable Diffusion models on disk (a filesystem scan; no model is opened)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelEntry:
    name: str
    path: Path


def is_diffusers_folder(path: Path) -> bool:
    return (path / "model_index.json").is_file()


def find_sd_models(folders: list[Path]) -> list[ModelEntry]:
    """Diffusers pipelines in the given folders (the folder itself, or its direct children)."""
    found: dict[Path, ModelEntry] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        candidates = [folder] + sorted(p for p in folder.iterdir() if p.is_dir())
        for candidate in candidates:
            if is_diffusers_folder(candidate):
                found.setdefault(candidate.resolve(), ModelEntry(candidate.name, candidate))
    return sorted(found.values(), key=lambda m: m.name.lower())
