"""One model cache for every family: least recently used out first, under a memory budget.

Keys are (family, file identity = path + size + mtime, device, dtype, part): a file
replaced on disk is a new key, so it is loaded again. The budget is VRAM on CUDA and
RAM on the CPU (the runtime decides). Out of memory: the runtime evicts every entry the
current job does not use and retries once (`keep_only`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from engine.api.kinds import Family

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class FileIdentity:
    """What makes a model file "the same file": where it is, how big, when last written.

    For a folder (a diffusers model): its total size and newest mtime, over every file.
    """

    path: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path | str) -> FileIdentity:
        path = Path(path).expanduser().resolve()
        if path.is_dir():
            size, mtime = 0, 0
            for folder, _dirs, files in os.walk(path):
                for name in files:
                    stat = (Path(folder) / name).stat()
                    size += stat.st_size
                    mtime = max(mtime, stat.st_mtime_ns)
            return cls(str(path), size, mtime)
        stat = path.stat()
        return cls(str(path), stat.st_size, stat.st_mtime_ns)


@dataclass(frozen=True)
class CacheKey:
    family: Family
    identity: FileIdentity
    device: str
    dtype: str
    part: str = ""  # when one file gives several cached objects (a pipeline, a VAE…)


@dataclass
class _Entry:
    value: Any
    size: int


def model_bytes(value: Any) -> int:
    """Bytes held by the parameters and buffers of a torch module or a diffusers pipeline
    (duck-typed: this module does not import torch)."""
    modules = []
    components = getattr(value, "components", None)
    if isinstance(components, dict):
        modules = [m for m in components.values() if hasattr(m, "parameters")]
    elif hasattr(value, "parameters"):
        modules = [value]
    elif hasattr(value, "model") and hasattr(value.model, "parameters"):
        modules = [value.model]
    total = 0
    for module in modules:
        for tensor in [*module.parameters(), *module.buffers()]:
            total += tensor.numel() * tensor.element_size()
    return total


class ModelCache:
    """Thread-safe: the lanes share it. Loading happens outside the table lock."""

    def __init__(
        self,
        budget_bytes: int,
        release_memory: Callable[[], None] = lambda: None,
        size_of: Callable[[Any], int] = model_bytes,
    ) -> None:
        self.budget_bytes = budget_bytes
        self._release_memory = release_memory
        self._size_of = size_of
        self._entries: OrderedDict[CacheKey, _Entry] = OrderedDict()
        self._lock = threading.RLock()
        self._loading: dict[CacheKey, threading.Lock] = {}
        self._job = threading.local()

    # ------------------------------------------------------------ use

    def get(self, key: CacheKey, load: Callable[[], T]) -> T:
        """The cached value for `key`, loading it (once, even if two lanes ask) if needed."""
        self._note_used(key)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry.value
            loading = self._loading.setdefault(key, threading.Lock())
        try:
            with loading:
                with self._lock:
                    if (entry := self._entries.get(key)) is not None:
                        return entry.value
                value = load()
                self._put(key, value)
                return value
        finally:
            with self._lock:
                self._loading.pop(key, None)

    def peek(self, key: CacheKey) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            return entry.value if entry else None

    @contextlib.contextmanager
    def job(self) -> Iterator[set[CacheKey]]:
        """Record the keys the current thread's job uses (for keep_only on out-of-memory)."""
        self._job.keys = used = set()
        try:
            yield used
        finally:
            self._job.keys = None

    # ------------------------------------------------------------ eviction

    def evict(self, key: CacheKey) -> bool:
        with self._lock:
            removed = self._entries.pop(key, None) is not None
        if removed:
            self._release_memory()
        return removed

    def keep_only(self, keys: set[CacheKey]) -> int:
        """Evict everything but `keys`; returns how many entries went."""
        with self._lock:
            gone = [k for k in self._entries if k not in keys]
            for key in gone:
                del self._entries[key]
        if gone:
            self._release_memory()
        return len(gone)

    def evict_where(self, predicate: Callable[[CacheKey], bool]) -> int:
        with self._lock:
            gone = [k for k in self._entries if predicate(k)]
        return self.keep_only({k for k in self.lru_keys() if k not in gone}) if gone else 0

    def clear(self) -> None:
        self.keep_only(set())

    # ------------------------------------------------------------ inspection

    def lru_keys(self) -> list[CacheKey]:
        """Least recently used first."""
        with self._lock:
            return list(self._entries)

    @property
    def used_bytes(self) -> int:
        with self._lock:
            return sum(e.size for e in self._entries.values())

    # ------------------------------------------------------------ internals

    def _note_used(self, key: CacheKey) -> None:
        used = getattr(self._job, "keys", None)
        if used is not None:
            used.add(key)

    def _put(self, key: CacheKey, value: Any) -> None:
        size = self._size_of(value)
        with self._lock:
            self._entries[key] = _Entry(value, size)
            self._entries.move_to_end(key)
            evicted = self._shrink_to_budget(keep=key)
        if evicted:
            log.info("model cache: evicted %d model(s) to stay under budget", evicted)
            self._release_memory()

    def _shrink_to_budget(self, keep: CacheKey) -> int:
        evicted = 0
        while sum(e.size for e in self._entries.values()) > self.budget_bytes:
            oldest = next((k for k in self._entries if k != keep), None)
            if oldest is None:
                break  # the newest alone is over budget: keep it, it is in use
            del self._entries[oldest]
            evicted += 1
        return evicted
