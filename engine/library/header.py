"""The names and shapes of a checkpoint's tensors, read without loading any weights.

A safetensors file starts with 8 bytes of header length and a JSON header naming every
tensor's dtype, shape and byte range; reading it costs one small read however large the
file is. A `.ckpt`/`.pt` file is a zip whose `data.pkl` describes the tensors; it is read
by an unpickler that builds only inert placeholders from a short list of torch names and
refuses every other global, so no code in the file ever runs (and torch is not needed).

Plain Python, no torch: the model library lists folders with it from the GUI's side.
"""

from __future__ import annotations

import functools
import io
import json
import pickle
import re
import zipfile
from pathlib import Path
from typing import NamedTuple

from engine.api import untrusted_json
from engine.api.errors import BadModelFile

MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit
MAX_PICKLE_BYTES = 64 << 20  # a data.pkl describes tensors; real ones are well under 5 MB


class TensorInfo(NamedTuple):
    shape: tuple[int, ...]
    dtype: str = ""


# A key whose value is an object: every tensor entry (and __metadata__).
_OBJECT_KEY = re.compile(r'"([^"]+)"\s*:\s*\{')
_DATA_END = re.compile(r'"data_offsets"\s*:\s*\[\s*\d+\s*,\s*(\d+)\s*\]')
_SHAPE = re.compile(r'"shape"\s*:\s*\[([^\]]*)\]')
METADATA = "__metadata__"


class CheckpointHeader:
    """A checkpoint's tensor names, shapes and metadata.

    A safetensors header is kept as its JSON text and searched, not parsed, until all of
    it is needed: an SDXL header is ~250 KB of JSON, and a library of 200 of them must
    list in well under a second. Names and the data size come from two regular-
    expression scans; a shape is read from its own entry when asked for.
    """

    def __init__(
        self,
        path: Path,
        format: str,
        raw: str = "",
        tensors: dict[str, TensorInfo] | None = None,
    ) -> None:
        self.path = path
        self.format = format  # "safetensors" or "pickle"
        self._raw = raw
        self._tensors = tensors

    @functools.cached_property
    def names(self) -> tuple[str, ...]:
        if self._tensors is not None:
            return tuple(self._tensors)
        raw = self._raw
        if '":{' in raw:  # compact JSON, as every safetensors writer makes: split, in C
            pieces = raw.split('":{')[:-1]
            found = [piece[piece.rfind('"') + 1 :] for piece in pieces]
        else:
            found = _OBJECT_KEY.findall(raw)
        return tuple(n for n in found if n != METADATA)

    @functools.cached_property
    def joined(self) -> str:
        """Every name on a line of its own, for fast substring and prefix tests."""
        return "\n" + "\n".join(self.names) + "\n"

    @functools.cached_property
    def tensors(self) -> dict[str, TensorInfo]:
        if self._tensors is None:
            entries = untrusted_json.loads(self._raw)
            entries.pop(METADATA, None)
            self._tensors = {
                name: TensorInfo(tuple(entry["shape"]), str(entry["dtype"]))
                for name, entry in entries.items()
            }
        return self._tensors

    @functools.cached_property
    def metadata(self) -> dict[str, str]:
        at = self._raw.find(f'"{METADATA}"')
        if at < 0:
            return {}
        try:
            start = self._raw.index("{", at)
            value, _ = untrusted_json.raw_decode(self._raw, start)
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    def __contains__(self, name: str) -> bool:
        return f"\n{name}\n" in self.joined

    def shape(self, name: str) -> tuple[int, ...] | None:
        if self._tensors is not None:
            info = self._tensors.get(name)
            return info.shape if info else None
        at = self._raw.find(json.dumps(name) + ":")
        if at < 0:
            return None
        found = _SHAPE.search(self._raw, at, self._raw.find("}", at) + 1)
        if found is None:
            return None
        return tuple(int(n) for n in found.group(1).split(",") if n.strip())

    def has_prefix(self, prefix: str) -> bool:
        return "\n" + prefix in self.joined

    def contains(self, fragment: str) -> bool:
        """Whether any tensor name contains `fragment`."""
        return fragment in self.joined

    def first(self, pattern: str) -> str | None:
        """The first tensor name matching the regular expression `pattern` (whole name)."""
        found = re.search(rf"^(?:{pattern})$", self.joined, re.MULTILINE)
        return found.group(0) if found else None


def read_header(path: str | Path) -> CheckpointHeader:
    """The tensors of a .safetensors or pickled checkpoint; BadModelFile if unreadable."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BadModelFile(f"{path} cannot be read ({exc.strerror or exc}).") from exc
    if size == 0:
        raise BadModelFile(
            f"{path.name} is empty (0 bytes): the download or copy did not finish. "
            "Download or copy it again."
        )
    if path.suffix.lower() == ".safetensors":
        return _read_safetensors(path, size)
    return _read_pickle(path)


# ---------------------------------------------------------------- safetensors


def _read_safetensors(path: Path, size: int) -> CheckpointHeader:
    damaged = (
        f"{path.name} is damaged or incomplete (its safetensors header is unreadable). "
        "Download or copy it again."
    )
    try:
        with open(path, "rb") as fh:
            length = int.from_bytes(fh.read(8), "little")
            if not 2 <= length <= min(MAX_HEADER_BYTES, size - 8):
                raise BadModelFile(damaged)
            raw = fh.read(length).decode("utf-8")
    except PermissionError as exc:
        raise BadModelFile(
            f"{path} cannot be opened: permission denied. Give your user read access."
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise BadModelFile(damaged) from exc
    if not raw.lstrip().startswith("{") or not raw.rstrip().endswith("}"):
        raise BadModelFile(damaged)
    # The tensors cover the data exactly, so in a whole file the last one ends where the
    # file does: finding that number is enough, and costs one search.
    data = size - 8 - length
    if f",{data}]" in raw or f", {data}]" in raw:
        return CheckpointHeader(path, "safetensors", raw=raw)
    ends = _DATA_END.findall(raw)
    if not ends:
        raise BadModelFile(damaged)
    end = max(int(n) for n in ends)
    if 8 + length + end > size:
        raise BadModelFile(
            f"{path.name} is incomplete: its header describes {_mb(8 + length + end)} of "
            f"data and the file has {_mb(size)}. The download or copy was cut short; "
            "download or copy it again."
        )
    return CheckpointHeader(path, "safetensors", raw=raw)


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


# ---------------------------------------------------------------- pickled (.ckpt / .pt)


class _Storage:
    """Stands for a tensor storage; never holds data."""


class _Placeholder:
    """What a tensor rebuild returns here: its shape only."""

    def __init__(self, shape: tuple[int, ...], dtype: str) -> None:
        self.shape = shape
        self.dtype = dtype


def _rebuild_tensor(storage, offset, size, *args, **kwargs) -> _Placeholder:
    dtype = getattr(storage, "dtype", "")
    return _Placeholder(tuple(int(n) for n in size), dtype)


def _rebuild_parameter(data, *args, **kwargs):
    return data


class _StorageType:
    def __init__(self, name: str) -> None:
        self.dtype = name.removesuffix("Storage")


# The only globals a plain state dict needs. Anything else (os.system, builtins.eval, a
# Lightning callback class...) is refused before it could be called.
_ALLOWED = {
    ("collections", "OrderedDict"): dict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch", "Size"): tuple,
}
_STORAGE_NAMES = [
    "FloatStorage",
    "HalfStorage",
    "BFloat16Storage",
    "DoubleStorage",
    "LongStorage",
    "IntStorage",
    "ShortStorage",
    "CharStorage",
    "ByteStorage",
    "BoolStorage",
    "UntypedStorage",
]


class _ShapeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and name in _STORAGE_NAMES:
            return _StorageType(name)
        if module == "torch" and name in ("float16", "float32", "bfloat16", "int64", "device"):
            return name
        raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed")

    def persistent_load(self, pid):
        # ("storage", storage_type, key, location, numel): where the bytes are, not read.
        storage = _Storage()
        storage.dtype = getattr(pid[1], "dtype", "") if isinstance(pid, tuple) else ""
        return storage


def _read_pickle(path: Path) -> CheckpointHeader:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith("data.pkl")]
            if not names:
                raise BadModelFile(_not_a_checkpoint(path))
            info = archive.getinfo(names[0])
            if info.file_size > MAX_PICKLE_BYTES:
                raise BadModelFile(_not_a_checkpoint(path))
            data = archive.read(info)
    except zipfile.BadZipFile as exc:
        raise BadModelFile(
            f"{path.name} is damaged or is a legacy (pre-2019) pickle this app cannot read "
            "safely. Download it again, preferably as .safetensors."
        ) from exc
    except OSError as exc:
        raise BadModelFile(f"{path} cannot be read ({exc.strerror or exc}).") from exc
    try:
        loaded = _ShapeUnpickler(io.BytesIO(data)).load()
    except pickle.UnpicklingError as exc:
        raise BadModelFile(would_run_code(path, str(exc))) from exc
    except Exception as exc:  # a malformed pickle raises anything: it is damaged
        raise BadModelFile(
            f"{path.name} is damaged ({type(exc).__name__}). Download or copy it again."
        ) from exc
    while isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict):
        raise BadModelFile(_not_a_checkpoint(path))
    return CheckpointHeader(path, "pickle", tensors=dict(_flatten(loaded)))


def _flatten(tree: dict, prefix: str = ""):
    """(dotted name, TensorInfo) for every tensor, nested dicts included (an A1111
    embedding keeps its vector under string_to_param -> '*')."""
    for key, value in tree.items():
        if isinstance(value, _Placeholder):
            yield prefix + str(key), TensorInfo(value.shape, str(value.dtype))
        elif isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")


def would_run_code(path: Path, detail: str = "") -> str:
    why = f" ({detail})" if detail else ""
    return (
        f"{path.name} is a pickle that would run code when loaded{why}. Latent Studio never "
        "runs code from model files. Use a .safetensors version of the model, or convert "
        "this file with a tool you trust."
    )


def _not_a_checkpoint(path: Path) -> str:
    return f"{path.name} holds no model weights this app can read. Is it a model file?"
