"""Content fingerprints of files: what recipes and model JSONs record to name their inputs."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK_BYTES = 1 << 20


def file_sha256(path: Path) -> str:
    """sha256 hex digest of a file, read in chunks so multi-GB checkpoints stay cheap on RAM."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
