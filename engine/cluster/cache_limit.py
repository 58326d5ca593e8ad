"""How large a worker's model cache may grow, and which files leave it to make room.

Before a file lands in the cache, the least recently used files go, until the new one
fits under the limit; a file a running job uses is never taken. A file larger than the
whole limit, or one that cannot fit beside the files in use, is refused with a sentence.
Pure: the cache folder itself is engine.cluster.model_store's.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from engine.api.errors import BadInput

LIMIT_ENV = "LATENTSTUDIO_CLUSTER_CACHE_GB"
DEFAULT_LIMIT_GB = 50.0
GB = 1_000_000_000


def limit_bytes(given_gb: float | None = None) -> int:
    """The limit: given (WorkerOptions), else the node's LATENTSTUDIO_CLUSTER_CACHE_GB,
    else 50 GB. Read on the worker: each node's disk is its own."""
    if given_gb is None:
        text = os.environ.get(LIMIT_ENV, "").strip()
        try:
            given_gb = float(text) if text else DEFAULT_LIMIT_GB
        except ValueError:
            given_gb = DEFAULT_LIMIT_GB  # a typo on a node must not stop its workers
    return max(0, int(given_gb * GB))


@dataclass(frozen=True)
class CacheEntry:
    key: str  # the model's sha256
    size: int  # bytes
    last_used: int  # a time in ns: when a job last found or used it
    in_use: bool  # a running job uses it


def _size(size: int) -> str:
    return f"{size / GB:.2f} GB" if size >= GB // 100 else f"{size:,} bytes"


def check_fits(name: str, size: int, limit: int) -> None:
    """Refuse a file larger than the whole cache may be."""
    if size > limit:
        raise BadInput(
            f"{name} is {_size(size)}, more than this worker's model cache may hold "
            f"({_size(limit)}). Raise {LIMIT_ENV} on the worker's node, or put the file in "
            "that node's own model folders."
        )


def to_evict(
    entries: Iterable[CacheEntry], name: str, incoming: int, limit: int
) -> list[CacheEntry]:
    """The entries to remove, least recently used first, so that `incoming` bytes more
    fit under `limit`."""
    check_fits(name, incoming, limit)
    entries = list(entries)
    excess = sum(e.size for e in entries) + incoming - limit
    chosen: list[CacheEntry] = []
    for entry in sorted((e for e in entries if not e.in_use), key=lambda e: e.last_used):
        if excess <= 0:
            break
        chosen.append(entry)
        excess -= entry.size
    if excess > 0:
        busy = sum(e.size for e in entries if e.in_use)
        raise BadInput(
            f"{name} ({_size(incoming)}) does not fit in this worker's model cache "
            f"({_size(limit)}) beside the files running jobs use now ({_size(busy)}). "
            f"Raise {LIMIT_ENV} on the worker's node, or run the job again when they end."
        )
    return chosen
