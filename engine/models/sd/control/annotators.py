"""The preprocessors that need an annotator network (depth, pose, segmentation): where the
user's other tools keep its file, and the sentence that says which file is missing.

Nothing is downloaded. sd-webui-controlnet keeps annotators in
`extensions/sd-webui-controlnet/annotator/downloads/<folder>/`, Forge in
`models/ControlNetPreprocessor/<folder>/`, ComfyUI's comfyui_controlnet_aux in
`custom_nodes/comfyui_controlnet_aux/ckpts/lllyasviel/Annotators/`. Each models folder the
user gave is looked in, and so is the folder above it (A1111's and ComfyUI's roots hold
their `models` folder).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Annotator:
    what: str  # what it makes, for the sentence
    file: str  # lllyasviel's annotator file, the name every tool uses
    folder: str  # sd-webui-controlnet's and Forge's subfolder for it


ANNOTATORS = {
    "depth": Annotator("depth maps (MiDaS DPT-Hybrid)", "dpt_hybrid-midas-501f0c75.pt", "midas"),
    "openpose": Annotator("pose skeletons (OpenPose body)", "body_pose_model.pth", "openpose"),
    "segmentation": Annotator(
        "segmentation maps (UniFormer UperNet, ADE20K)", "upernet_global_small.pth", "uniformer"
    ),
}

A1111_DOWNLOADS = Path("extensions", "sd-webui-controlnet", "annotator", "downloads")
COMFY_CKPTS = Path("custom_nodes", "comfyui_controlnet_aux", "ckpts", "lllyasviel", "Annotators")


def _places(annotator: Annotator, base: Path) -> list[Path]:
    return [
        base / annotator.file,
        base / A1111_DOWNLOADS / annotator.folder / annotator.file,
        base / "ControlNetPreprocessor" / annotator.folder / annotator.file,
        base / "models" / "ControlNetPreprocessor" / annotator.folder / annotator.file,
        base / COMFY_CKPTS / annotator.file,
    ]


def annotator_file(name: str, models_folders: Iterable[Path | str]) -> Path | None:
    """The annotator file preprocessor `name` needs, if one of the folders has it."""
    annotator = ANNOTATORS[name]
    for folder in models_folders:
        folder = Path(folder).expanduser()
        for base in dict.fromkeys((folder, folder.parent)):
            for place in _places(annotator, base):
                try:
                    if place.is_file():
                        return place
                except OSError:
                    continue
    return None


def annotator_problem(name: str, models_folders: Iterable[Path | str]) -> str | None:
    """None when preprocessor `name` needs no annotator or its file is in the folders;
    otherwise a sentence naming the file, where it goes, and what to do meanwhile."""
    if name not in ANNOTATORS:
        return None
    folders = list(models_folders)
    if annotator_file(name, folders) is not None:
        return None
    annotator = ANNOTATORS[name]
    first = f" ({Path(folders[0]).expanduser()})" if folders else ""
    return (
        f"The {name} preprocessor makes {annotator.what} with the annotator file "
        f"{annotator.file}, which is not in your models folders. Put it in "
        f"{(A1111_DOWNLOADS / annotator.folder).as_posix()}/ of your A1111 folder, "
        f"{COMFY_CKPTS.as_posix()}/ of your ComfyUI folder, or straight in a models "
        f'folder{first}. Meanwhile, choose the preprocessor "none" with a map made '
        "elsewhere."
    )
