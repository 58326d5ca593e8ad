"""Opening an upscaler file: its tensors read safely, its architecture found by spandrel.

`.safetensors` files hold only tensors. `.pth`/`.pt`/`.ckpt` files are pickles, and a pickle
can run any code when opened; they are read with torch's weights-only unpickler, which
refuses everything but tensors and plain containers, so a file that needs more is refused
and never executed. TorchScript files are not opened at all (loading one runs its code).
"""

from __future__ import annotations

import pickle
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from engine.api.errors import BadInput, BadModelFile
from engine.models.upscale import spandrel_loader

PICKLE_SUFFIXES = (".pth", ".pt", ".ckpt")
SUFFIXES = (".safetensors", *PICKLE_SUFFIXES)


@dataclass(frozen=True)
class Upscaler:
    """A loaded model and what the user is told about it."""

    model: object  # spandrel's ImageModelDescriptor
    architecture: str  # "RealESRGAN Compact", "ESRGAN", "SwinIR"…
    scale: int
    supports_half: bool
    tiling_discouraged: bool


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of an upscaler file; any problem is a BadModelFile sentence."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise BadModelFile(
            f"{path.name} is not an upscaler file: upscalers are .pth or .safetensors files."
        )
    if path.is_dir():
        raise BadModelFile(f"{path} is a folder; choose an upscaler .pth or .safetensors file.")
    if not path.is_file():
        raise BadModelFile(f"The upscaler file {path} does not exist. Check the path.")
    if path.stat().st_size == 0:
        raise BadModelFile(f"{path.name} is empty (0 bytes). Download or copy it again.")
    try:
        if suffix == ".safetensors":
            return load_file(str(path), device="cpu")
        return _read_pickle(path)
    except PermissionError:
        raise BadModelFile(
            f"{path.name} cannot be opened: permission denied. Give your user read access to it."
        ) from None
    except (SafetensorError, OSError, EOFError, RuntimeError, ValueError, struct.error) as exc:
        raise BadModelFile(_damaged(path, exc)) from None


def _read_pickle(path: Path) -> dict[str, torch.Tensor]:
    try:
        data = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        called = _refused_global(exc)
        if called is None:  # not code it refused: bytes it cannot read
            raise BadModelFile(_damaged(path, exc)) from None
        raise BadModelFile(
            f"{path.name} was refused: opening it would run code it contains (it calls "
            f"{called}). Upscaler files hold only weights; this one may be unsafe. "
            "Use a .safetensors version of the model, or one from a source you trust that "
            "loads as weights only."
        ) from None
    if not isinstance(data, dict):
        raise BadModelFile(f"{path.name} holds no weights (a {type(data).__name__}).")
    return data


def load_upscaler(path: Path, device: str, half: bool) -> Upscaler:
    """The model in `path` on `device`, in fp16 when asked and the architecture allows it."""
    state = read_state_dict(path)
    descriptor = spandrel_loader.describe(state, Path(path).name)
    descriptor.to(device).eval()
    supports_half = bool(descriptor.supports_half)
    if half and supports_half:
        descriptor.half()
    return Upscaler(
        descriptor,
        descriptor.architecture.name,
        int(descriptor.scale),
        supports_half,
        spandrel_loader.tiling_discouraged(descriptor),
    )


def check_scale(upscaler: Upscaler, wanted: float, name: str) -> None:
    """A model's pass is its own factor; a smaller one than the model's is refused with
    the factor it has (a Lanczos reduction of an x4 pass wastes three quarters of it)."""
    if wanted and wanted < upscaler.scale:
        raise BadInput(
            f"{name} enlarges ×{upscaler.scale}, more than the ×{wanted:g} asked for. "
            f"Choose ×{upscaler.scale}, or a model made for ×{wanted:g} (or Lanczos)."
        )


def _damaged(path: Path, exc: BaseException) -> str:
    return (
        f"{path.name} is damaged or not a model file ({_first_line(exc)}). "
        "Download or copy it again."
    )


def _first_line(exc: BaseException) -> str:
    """The part of an exception's message a user can read: for torch's weights-only
    refusal, its reason line (not the paragraph about PyTorch 2.6 before it); terminal
    colour codes removed; a long line cut at a word, never mid-sentence without a mark."""
    text = _ANSI.sub("", str(exc))
    reason = _WEIGHTS_ONLY_REASON.search(text)
    lines = [line.strip() for line in (reason.group(1) if reason else text).splitlines()]
    line = next((line for line in lines if line), type(exc).__name__).rstrip(".")
    return line if len(line) <= 160 else line[:159].rsplit(" ", 1)[0] + "…"


def _refused_global(exc: BaseException) -> str | None:
    """What a refused pickle wanted to call ("posix.system"), or None if it refused no call."""
    found = _GLOBAL.search(_ANSI.sub("", str(exc)))
    return found.group(1) if found else None


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# torch: "Weights only load failed. <a paragraph about PyTorch 2.6>…trusted source.
# [Please file an issue… WeightsUnpickler error:] <the reason>\n\nCheck the documentation…"
_WEIGHTS_ONLY_REASON = re.compile(
    r"Weights only load failed\..*?(?:WeightsUnpickler error:|trusted source\.(?!.*"
    r"WeightsUnpickler error:))(.*?)(?:Check the documentation|$)",
    re.DOTALL,
)
_GLOBAL = re.compile(r"GLOBAL\s+([\w.]+)", re.IGNORECASE)
