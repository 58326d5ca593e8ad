"""Where a user's tiny autoencoders (TAESD) are, found by the names their tools use.

A1111 and Forge keep them in `models/VAE-approx` (taesd_decoder.pt, taesdxl_decoder.pt),
ComfyUI in `models/vae_approx` (taesd_decoder.pth, taesdxl_decoder.pth), and diffusers
users have folders named taesd / taesdxl (madebyollin's Hugging Face repositories) with
an AutoencoderTiny config.json. The model folders the user chose are usually
`models/Stable-diffusion` or `models/checkpoints`, so their parents are looked in too.
Plain Python, no torch: the GUI asks it when the model folders are scanned.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from engine.library.detect import SdFamily

SUBFOLDERS = ("VAE-approx", "vae_approx", "taesd")
SUFFIXES = (".pt", ".pth", ".safetensors")
# The file (or folder) name's start for each family's tiny decoder; longest first.
PREFIXES = {
    SdFamily.SDXL: "taesdxl",
    SdFamily.SDXL_REFINER: "taesdxl",
    SdFamily.SD1: "taesd",
    SdFamily.SD2: "taesd",
}


def tiny_vae_for(folders: Iterable[Path], family: SdFamily | None) -> Path | None:
    """The first tiny decoder for `family` in or beside the folders; None for none."""
    prefix = PREFIXES.get(family or SdFamily.SD1)
    if prefix is None:
        return None
    for place in _places(folders):
        for candidate in sorted(place.iterdir()) if place.is_dir() else ():
            if _fits(candidate, prefix):
                return candidate
    return None


def _places(folders: Iterable[Path]) -> list[Path]:
    places: list[Path] = []
    for folder in folders:
        for base in (folder, folder.parent):
            places.extend(base / sub for sub in SUBFOLDERS)
    return list(dict.fromkeys(places))


def _fits(candidate: Path, prefix: str) -> bool:
    name = candidate.name.lower()
    other = name.startswith("taesdxl") and prefix != "taesdxl"
    if not name.startswith(prefix) or other:
        return False
    if candidate.is_dir():
        return _is_autoencoder_tiny(candidate / "config.json")
    # The decoder is what previews and the fast decode use; an encoder file is not.
    return candidate.suffix.lower() in SUFFIXES and "encoder" not in name


def _is_autoencoder_tiny(config: Path) -> bool:
    try:
        return json.loads(config.read_text("utf-8")).get("_class_name") == "AutoencoderTiny"
    except (OSError, ValueError, AttributeError):
        return False
