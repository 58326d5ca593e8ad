"""The model library: every model file in the user's model folders, and what each is.

A user points Settings at an existing AUTOMATIC1111 or ComfyUI install (or its models
folder, or any folder of files); ControlNets, T2I-Adapters, IP-Adapters and CLIP vision
encoders are listed too. Each file's kind and family come from its header (detect.py,
control.py), never from loading it; a folder's layout only breaks ties (a file in
`models/Lora` whose header could be either is a LoRA). Diffusers folders are listed as
checkpoints too. Short hashes are shown when the persistent hash cache already knows
them; computing one is the hash service's job, in the background.

Headers are remembered per (path, size, mtime) for the life of the process, so the
rescans the window makes when it gets focus cost a stat per file.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from engine.api import untrusted_json
from engine.api.errors import BadModelFile
from engine.library.annotators import find_annotators
from engine.library.control import ControlInfo, detect_control_folder
from engine.library.detect import Detected, ModelKind, SdFamily, detect
from engine.library.header import read_header

MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin")
MAX_DEPTH = 4  # models/Stable-diffusion/<user subfolders>/<file>

# Folder names other tools use for each kind (lower case): A1111, ComfyUI, Forge, InvokeAI.
KIND_FOLDERS = {
    "stable-diffusion": ModelKind.CHECKPOINT,
    "checkpoints": ModelKind.CHECKPOINT,
    "diffusers": ModelKind.CHECKPOINT,
    "lora": ModelKind.LORA,
    "loras": ModelKind.LORA,
    "lycoris": ModelKind.LORA,
    "vae": ModelKind.VAE,
    "embeddings": ModelKind.EMBEDDING,
    "textual_inversion": ModelKind.EMBEDDING,
    "esrgan": ModelKind.UPSCALER,
    "realesrgan": ModelKind.UPSCALER,
    "upscale_models": ModelKind.UPSCALER,
    "swinir": ModelKind.UPSCALER,
    # A1111's models/ControlNet and extensions/sd-webui-controlnet/models are found by
    # their headers; ComfyUI's folders name the kind.
    "controlnet": ModelKind.CONTROLNET,
    "t2i_adapter": ModelKind.T2I_ADAPTER,
    "ipadapter": ModelKind.IP_ADAPTER,
    "clip_vision": ModelKind.CLIP_VISION,
}
SINGLE_FILE = "single file"
DIFFUSERS = "diffusers"


@dataclass(frozen=True)
class LibraryEntry:
    path: Path
    kind: ModelKind
    detected: Detected
    format: str  # SINGLE_FILE or DIFFUSERS
    size: int  # bytes; a folder's total
    problem: str = ""  # why the file cannot be used, when its header says so

    @property
    def family(self) -> SdFamily | None:
        return self.detected.family

    @property
    def name(self) -> str:
        return self.path.stem if self.format == SINGLE_FILE else self.path.name

    def as_json(self, short_hash: str | None = None) -> dict:
        return {
            "path": str(self.path),
            "kind": self.kind.value,
            "family": self.detected.family.value if self.detected.family else None,
            "label": self.detected.label,
            "format": self.format,
            "size": self.size,
            "short_hash": short_hash,
            **({"problem": self.problem} if self.problem else {}),
        }


_memo: dict[tuple[str, int, int], tuple[Detected, str]] = {}
_memo_lock = threading.Lock()


def scan_library(folders: Iterable[Path]) -> list[LibraryEntry]:
    """Every model in the folders (and their subfolders), sorted by kind then name."""
    found: dict[Path, LibraryEntry] = {}
    folders = [Path(folder).expanduser() for folder in folders]
    for folder in folders:
        if _is_dir(folder):
            for entry in _walk(folder, None, 0, folder.resolve()):
                found.setdefault(entry.path.resolve(), entry)
    for name, path in find_annotators(folders).items():
        found[path.resolve()] = _annotator_entry(name, path)
    order = list(ModelKind)
    return sorted(found.values(), key=lambda e: (order.index(e.kind), e.name.lower()))


def count_by_kind(entries: Iterable[LibraryEntry]) -> dict[ModelKind, int]:
    counts: dict[ModelKind, int] = {}
    for entry in entries:
        if not entry.problem:
            counts[entry.kind] = counts.get(entry.kind, 0) + 1
    return counts


def checkpoints(entries: Iterable[LibraryEntry]) -> list[LibraryEntry]:
    return [e for e in entries if e.kind is ModelKind.CHECKPOINT]


def _walk(folder: Path, hint: ModelKind | None, depth: int, root: Path) -> Iterable[LibraryEntry]:
    hint = KIND_FOLDERS.get(folder.name.lower(), hint)
    if _is_file(folder / "model_index.json"):
        yield _diffusers_entry(folder)
        return
    control = detect_control_folder(folder) if _is_file(folder / "config.json") else None
    if control is not None:
        yield _control_folder_entry(folder, control)
        return
    try:
        children = sorted(folder.iterdir())
    except OSError:
        return
    for child in children:
        if child.name.startswith("."):
            continue
        if _is_dir(child):
            if depth < MAX_DEPTH and _stays_inside(child, root):
                yield from _walk(child, hint, depth + 1, root)
        elif child.suffix.lower() in MODEL_SUFFIXES and _is_file(child):
            entry = _file_entry(child, hint)
            if entry is not None:
                yield entry


def _file_entry(path: Path, hint: ModelKind | None) -> LibraryEntry | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _memo_lock:
        known = _memo.get(key)
    if known is None:
        try:
            known = (detect(read_header(path)), "")
        except BadModelFile as exc:
            known = (Detected(ModelKind.UNKNOWN), exc.message)
        with _memo_lock:
            _memo[key] = known
    detected, problem = known
    kind = detected.kind
    if kind is ModelKind.UNKNOWN and hint is not None and not detected.other:
        kind = hint  # e.g. an upscaler architecture detect() has no mark for
    if kind is ModelKind.UNKNOWN and detected.other is None and not problem:
        return None  # not a model: optimizer states, training leftovers...
    if detected.other:
        problem = f"{detected.other}: not supported"
    return LibraryEntry(path, kind, detected, SINGLE_FILE, stat.st_size, problem)


def _is_dir(path: Path) -> bool:
    # Path.is_dir raises on permission errors and names the system refuses: a folder
    # that cannot be looked into holds nothing we can list.
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _stays_inside(folder: Path, root: Path) -> bool:
    """A subfolder, or a link to a folder inside the scanned one. A link that leads out
    (to /, to /proc/self/root, to another disk) is not followed: it could lead anywhere,
    and round in circles; the user can add its target as a folder of its own."""
    if not folder.is_symlink():
        return True
    try:
        return folder.resolve().is_relative_to(root)
    except (OSError, RuntimeError):
        return False


def _diffusers_entry(folder: Path) -> LibraryEntry:
    size = sum(f.stat().st_size for f in folder.rglob("*") if _is_file(f))
    return LibraryEntry(
        folder,
        ModelKind.CHECKPOINT,
        Detected(ModelKind.CHECKPOINT, folder_family(folder)),
        DIFFUSERS,
        size,
    )


def _annotator_entry(name: str, path: Path) -> LibraryEntry:
    """An annotator network's file (or transformers folder), by the preprocessor it serves."""
    is_folder = _is_dir(path)
    files = [f for f in path.rglob("*") if _is_file(f)] if is_folder else [path]
    size = sum(f.stat().st_size for f in files)
    detected = Detected(ModelKind.ANNOTATOR, None, name)
    return LibraryEntry(
        path, ModelKind.ANNOTATOR, detected, DIFFUSERS if is_folder else SINGLE_FILE, size
    )


def _control_folder_entry(folder: Path, control: ControlInfo) -> LibraryEntry:
    """A diffusers ControlNet / T2I-Adapter folder, or a transformers CLIP vision one."""
    size = sum(f.stat().st_size for f in folder.rglob("*") if _is_file(f))
    family = SdFamily(control.family) if control.family else None
    kind = ModelKind(control.kind)
    return LibraryEntry(folder, kind, Detected(kind, family, control.variant), DIFFUSERS, size)


def folder_family(folder: Path) -> SdFamily | None:
    """A diffusers folder's family, from its pipeline class and text encoder config."""
    try:
        index = untrusted_json.loads((folder / "model_index.json").read_text("utf-8"))
        if index.get("_class_name", "").startswith("StableDiffusionXL"):
            return SdFamily.SDXL
        config_file = folder / "text_encoder" / "config.json"
        config = untrusted_json.loads(config_file.read_text("utf-8"))
        return SdFamily.SD2 if config.get("hidden_act") == "gelu" else SdFamily.SD1
    except (OSError, ValueError, AttributeError):
        return None


def human_size(n: float) -> str:
    if n < 1000:
        return f"{int(n)} bytes"
    for unit in ("KB", "MB", "GB", "TB"):
        n /= 1000
        if n < 1000 or unit == "TB":
            break
    return f"{n:.1f} {unit}"
