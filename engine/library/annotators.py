"""The annotator files some control preprocessors need (depth, pose, segmentation): where
the user's other tools keep them, and the sentence that says which file is missing.

Nothing is downloaded. sd-webui-controlnet keeps annotators in
`extensions/sd-webui-controlnet/annotator/downloads/<folder>/`, Forge in
`models/ControlNetPreprocessor/<folder>/`, ComfyUI's comfyui_controlnet_aux in
`custom_nodes/comfyui_controlnet_aux/ckpts/<repository>/`. Each models folder the user
gave is looked in, and so is the folder above it (A1111's and ComfyUI's roots hold their
`models` folder). A few stat calls per place: cheap enough for every library scan.

Torch-free: the library lists what is found (`main.py models`, the GUI's unit picks its
annotator from it); engine.models.sd.control.annotators runs the network.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

A1111_DOWNLOADS = Path("extensions", "sd-webui-controlnet", "annotator", "downloads")
COMFY_CKPTS = Path("custom_nodes", "comfyui_controlnet_aux", "ckpts")
LLLYASVIEL = "lllyasviel/Annotators"
ADE20K_CLASSES = 150  # ControlNet's seg models were trained on ADE20K's colours


@dataclass(frozen=True)
class Candidate:
    """One file an annotator can run from, and where each tool keeps it."""

    file: str  # the name every tool gives it
    folder: str  # sd-webui-controlnet's and Forge's subfolder for it
    comfy: str = LLLYASVIEL  # comfyui_controlnet_aux's subfolder of ckpts/


@dataclass(frozen=True)
class Annotator:
    what: str  # what it makes, for the sentence
    module: str  # its network's module in engine.models.sd.control.annotator_nets
    candidates: tuple[Candidate, ...]  # in order of preference
    # Folders in transformers' format (config.json) also qualify when this says so.
    folder_check: str = ""

    @property
    def first(self) -> Candidate:
        return self.candidates[0]


def _depth_anything(size: str, word: str) -> Candidate:
    return Candidate(
        f"depth_anything_v2_vit{size}.pth",
        "depth_anything_v2",
        f"depth-anything/Depth-Anything-V2-{word}",
    )


ANNOTATORS = {
    "depth": Annotator(
        "depth maps (Depth Anything V2)",
        "depth",
        (
            _depth_anything("l", "Large"),
            _depth_anything("b", "Base"),
            _depth_anything("s", "Small"),
        ),
    ),
    "openpose": Annotator(
        "pose skeletons (OpenPose body)",
        "openpose",
        (Candidate("body_pose_model.pth", "openpose"),),
    ),
    "segmentation": Annotator(
        "ADE20K segmentation maps (a SegFormer or UperNet model in Hugging Face format)",
        "segmentation",
        (Candidate("segformer-b0-finetuned-ade-512-512", "segmentation"),),
        folder_check="segmentation",
    ),
}


def find_annotators(models_folders: Iterable[Path | str]) -> dict[str, Path]:
    """Each annotator whose file one of the folders has: preprocessor name -> file."""
    folders = list(models_folders)
    found = {}
    for name in ANNOTATORS:
        path = annotator_file(name, folders)
        if path is not None:
            found[name] = path
    return found


def annotator_file(name: str, models_folders: Iterable[Path | str]) -> Path | None:
    """The file preprocessor `name` needs, if one of the folders has it."""
    annotator = ANNOTATORS[name]
    bases = _bases(models_folders)
    if annotator.folder_check:  # any folder of the right kind, whatever its name
        for base in bases:
            for folder in _subfolders(base, annotator.first.folder):
                if is_ade20k_segmentation_folder(folder):
                    return folder
        return None
    for candidate in annotator.candidates:
        for base in bases:
            for place in _places(candidate, base):
                if _is_file(place):
                    return place
    return None


def annotator_problem(name: str, models_folders: Iterable[Path | str]) -> str | None:
    """None when preprocessor `name` needs no annotator or its file is in the folders;
    otherwise a sentence naming the file, where it goes, and what to do meanwhile."""
    if name not in ANNOTATORS:
        return None
    folders = list(models_folders)
    if annotator_file(name, folders) is not None:
        return None
    return missing_sentence(name, folders)


def missing_sentence(name: str, folders: list[Path | str] | None = None) -> str:
    annotator = ANNOTATORS[name]
    first = annotator.first
    where = f" ({Path(folders[0]).expanduser()})" if folders else ""
    kind = "folder" if annotator.folder_check else "file"
    return (
        f"The {name} preprocessor makes {annotator.what} with the annotator {kind} "
        f"{first.file}, which is not in your models folders. Put it in "
        f"{(A1111_DOWNLOADS / first.folder).as_posix()}/ of your A1111 folder, "
        f"{(COMFY_CKPTS / first.comfy).as_posix()}/ of your ComfyUI folder, or straight in "
        f'a models folder{where}. Meanwhile, choose the preprocessor "none" with a map made '
        "elsewhere."
    )


def is_ade20k_segmentation_folder(folder: Path) -> bool:
    """A transformers folder of a semantic-segmentation model with ADE20K's 150 classes."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    if not isinstance(config, dict):
        return False
    architectures = config.get("architectures") or []
    semantic = any(str(a).endswith("ForSemanticSegmentation") for a in architectures)
    labels = config.get("id2label") or {}
    count = len(labels) if isinstance(labels, dict) else 0
    return semantic and (count or config.get("num_labels")) == ADE20K_CLASSES


def _bases(models_folders: Iterable[Path | str]) -> list[Path]:
    bases: dict[Path, None] = {}
    for folder in models_folders:
        folder = Path(folder).expanduser()
        bases.setdefault(folder)
        bases.setdefault(folder.parent)
    return list(bases)


def _places(candidate: Candidate, base: Path) -> Iterator[Path]:
    for folder in _folders(candidate, base):
        yield folder / candidate.file


def _folders(candidate: Candidate, base: Path) -> Iterator[Path]:
    yield base
    yield base / A1111_DOWNLOADS / candidate.folder
    yield base / "ControlNetPreprocessor" / candidate.folder
    yield base / "models" / "ControlNetPreprocessor" / candidate.folder
    yield base / COMFY_CKPTS / candidate.comfy


def _subfolders(base: Path, folder: str) -> Iterator[Path]:
    for parent in _folders(Candidate("", folder), base):
        try:
            children = sorted(p for p in parent.iterdir() if p.is_dir())
        except OSError:
            continue
        yield from children


def _is_file(place: Path) -> bool:
    try:
        return place.is_file()
    except (OSError, ValueError):
        return False
