"""A model sent to a worker arrives in pieces and is written as they come (no Ray
needed: the pieces are plain iterables here, object refs fetched one at a time there).
The properties: only about one piece is in memory, whatever the model's size (measured
with tracemalloc); a damaged, interrupted or hostile copy leaves nothing in the cache;
a full disk on the node gets a sentence saying what to do; and room is kept for a model
still arriving, so the cache never ends above its limit.
The oracle for the bytes is hashlib over the file written."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.api.errors import BadInput, BadModelFile
from engine.cluster.model_shipping import Manifest, ManifestFile
from engine.cluster.model_store import ModelStore

PIECE = 1 << 20


def pieces(count: int, size: int = PIECE, taken: list[int] | None = None) -> Iterator[bytes]:
    """`count` pieces made as they are asked for (never all in memory at once)."""
    for index in range(count):
        if taken is not None:
            taken.append(index)
        yield bytes([index % 251]) * size


def manifest_of_pieces(name: str, count: int, size: int = PIECE) -> Manifest:
    digest = hashlib.sha256()
    for piece in pieces(count, size):
        digest.update(piece)
    sha = digest.hexdigest()
    return Manifest(name, sha, (ManifestFile("", count * size, sha),))


def leftovers(store: ModelStore) -> list[str]:
    root = store.cache_root
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def test_a_model_in_32_pieces_is_written_with_about_one_piece_in_memory(tmp_path: Path):
    manifest = manifest_of_pieces("big.safetensors", 32)
    store = ModelStore(tmp_path)
    tracemalloc.start()
    try:
        path = store.receive_streamed(manifest, [pieces(32)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == manifest.sha256
    assert path.stat().st_size == 32 * PIECE
    assert peak < 4 * PIECE  # the whole model, read at once, is 32 pieces
    assert store.find(manifest) == path and store.received == [manifest.sha256]


def test_a_folder_model_arrives_file_by_file(tmp_path: Path):
    from engine.cluster.model_shipping import manifest_of

    source = tmp_path / "tiny-sd"
    (source / "unet").mkdir(parents=True)
    (source / "unet" / "weights.bin").write_bytes(b"u" * 5000)
    (source / "model_index.json").write_text("{}")
    manifest = manifest_of(source)
    files = [source / f.path for f in manifest.files]
    split = [[p.read_bytes()[i : i + 999] for i in range(0, p.stat().st_size, 999)] for p in files]
    path = ModelStore(tmp_path / "cache").receive_streamed(manifest, split)
    for f in manifest.files:
        assert (path / f.path).read_bytes() == (source / f.path).read_bytes()


def test_a_damaged_piece_leaves_nothing_and_says_so(tmp_path: Path):
    manifest = manifest_of_pieces("big.safetensors", 4)
    damaged = [*pieces(3), b"x" * PIECE]
    store = ModelStore(tmp_path)
    with pytest.raises(BadModelFile, match="big.safetensors that reached this worker is damaged"):
        store.receive_streamed(manifest, [damaged])
    assert leftovers(store) == [] and store.find(manifest) is None
    assert store.receive_streamed(manifest, [pieces(4)]).exists()  # sent again: kept


def test_a_transfer_cut_midway_leaves_nothing_and_the_room_it_kept_is_freed(tmp_path: Path):
    manifest = manifest_of_pieces("big.safetensors", 4, 100)
    store = ModelStore(tmp_path, limit_gb=450e-9)  # 450 bytes

    def cut() -> Iterator[bytes]:
        yield from pieces(2, 100)
        raise KeyboardInterrupt  # Ctrl-C, or the driver's connection lost

    with pytest.raises(KeyboardInterrupt):
        store.receive_streamed(manifest, [cut()])
    assert leftovers(store) == []
    assert store.receive_streamed(manifest, [pieces(4, 100)]).exists()  # 400 of 450 fit


def test_a_hostile_name_is_refused_before_a_piece_is_taken(tmp_path: Path):
    taken: list[int] = []
    good = manifest_of_pieces("ok.safetensors", 2, 10)
    for name in ("../escape.safetensors", "a/../../b", "nul\0name"):
        hostile = Manifest(name, good.sha256, good.files)
        with pytest.raises(BadModelFile, match="not a plain path"):
            ModelStore(tmp_path).receive_streamed(hostile, [pieces(2, 10, taken)])
    assert taken == [] and not (tmp_path.parent / "escape.safetensors").exists()


def test_room_is_kept_for_a_model_still_arriving(tmp_path: Path):
    """While A (100 bytes) arrives, B (100) lands: B must make room for A as well, so
    the cache (250 bytes, C already holding 100) ends under its limit, C evicted."""
    store = ModelStore(tmp_path, limit_gb=250e-9)
    c = manifest_of_pieces("c.bin", 1, 100)
    store.receive_streamed(c, [pieces(1, 100)])
    a = manifest_of_pieces("a.bin", 2, 50)
    b_bytes = b"b" * 100
    b_sha = hashlib.sha256(b_bytes).hexdigest()
    b = Manifest("b.bin", b_sha, (ManifestFile("", 100, b_sha),))

    def a_arriving() -> Iterator[bytes]:
        first, second = pieces(2, 50)
        yield first
        store.receive(b, [b_bytes])  # another job's model lands meanwhile
        yield second

    store.receive_streamed(a, [a_arriving()])
    assert store.evicted == [c.sha256]
    assert sum(entry.size for entry in store.entries()) <= 250
    assert store.find(a) is not None and store.find(b) is not None


def test_a_full_disk_on_the_node_says_what_to_do_and_leaves_nothing(tmp_path, monkeypatch):
    """The disk fills after 1.5 pieces (a file opened for writing there takes that many
    bytes, then fails as a full disk does: ENOSPC)."""
    from engine.cluster import incoming_files

    budget = [PIECE + PIECE // 2]

    class FillingFile(io.FileIO):
        def write(self, data) -> int:
            room = max(0, budget[0])
            super().write(bytes(data[:room]))
            budget[0] -= len(data)
            if budget[0] < 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return len(data)

    monkeypatch.setattr(incoming_files, "open", FillingFile, raising=False)
    manifest = manifest_of_pieces("big.safetensors", 4)
    store = ModelStore(tmp_path)
    with pytest.raises(BadInput) as caught:
        store.receive_streamed(manifest, [pieces(4)])
    assert str(caught.value) == (
        f"big.safetensors could not be written to this worker's model cache "
        f"({store.cache_root}): the disk is full. Free space on that node, or lower "
        "LATENTSTUDIO_CLUSTER_CACHE_GB there so that the cache keeps to the room the disk "
        "has; nothing of it was kept."
    )
    assert leftovers(store) == [] and store.find(manifest) is None


def test_a_model_that_fits_only_without_one_still_arriving_is_refused_in_those_words(tmp_path):
    store = ModelStore(tmp_path, limit_gb=150e-9)  # 150 bytes
    a = manifest_of_pieces("a.bin", 2, 50)
    b_bytes = b"b" * 100
    b_sha = hashlib.sha256(b_bytes).hexdigest()
    b = Manifest("b.bin", b_sha, (ManifestFile("", 100, b_sha),))
    refused: list[str] = []

    def a_arriving() -> Iterator[bytes]:
        first, second = pieces(2, 50)
        yield first
        with pytest.raises(BadInput) as caught:
            store.receive(b, [b_bytes])  # 100 fit in 150, but not beside a's 100
        refused.append(str(caught.value))
        yield second

    store.receive_streamed(a, [a_arriving()])
    assert refused == [
        "b.bin (100 bytes) does not fit in this worker's model cache (150 bytes) beside the "
        "files running jobs use now (100 bytes). Raise LATENTSTUDIO_CLUSTER_CACHE_GB on the "
        "worker's node, or run the job again when they end."
    ]
    assert store.find(a) is not None and store.find(b) is None
