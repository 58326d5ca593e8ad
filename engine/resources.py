"""Where bundled data lives, from source and from a PyInstaller bundle alike."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)
    base = Path(bundle) if bundle else Path(__file__).resolve().parent.parent
    return base / "resources"


def resource(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


CLIP_TOKENIZER_DIR = resource("clip-tokenizer")
SD_CONFIG_DIR = resource("sd-configs")
BUNDLED_MODELS_DIR = resource("models")
DATASETS_DIR = resource("datasets")
APP_ICON = resource("icon.png")
