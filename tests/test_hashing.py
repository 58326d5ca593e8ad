"""Model hashes: computed off the job path, once per file version, and cancellable."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from engine.api.errors import JobCancelled
from engine.hashing import HashCache, HashService


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"weights" * 1000)
    return path


def test_a_file_hash_is_its_sha256_and_a1111_takes_ten_digits(tmp_path, model):
    service = HashService(HashCache(tmp_path / "h.db"))
    result = service.request(model).result(10)
    assert result.sha256 == sha(model.read_bytes()) and result.kind == "file"
    assert result.a1111_short == result.sha256[:10]


def test_the_hash_is_remembered_across_runs_until_the_file_changes(tmp_path, model):
    db = tmp_path / "h.db"
    first = HashService(HashCache(db))
    first.request(model).result(10)
    second = HashService(HashCache(db))  # a new process, say
    assert second.request(model).result(10).sha256 == sha(model.read_bytes())
    assert second.hashed == []  # read from the cache, not from the file
    model.write_bytes(b"retrained" * 1000)
    os.utime(model, ns=(0, model.stat().st_mtime_ns + 10**9))
    third = HashService(HashCache(db))
    assert third.request(model).result(10).sha256 == sha(model.read_bytes())
    assert third.hashed == [model]


def test_a_folder_gets_our_composite_hash_and_no_a1111_hash(tmp_path):
    folder = tmp_path / "pipe"
    (folder / "unet").mkdir(parents=True)
    (folder / "vae").mkdir()
    (folder / "unet" / "w.safetensors").write_bytes(b"u")
    (folder / "vae" / "w.safetensors").write_bytes(b"v")
    files = [folder / "vae" / "w.safetensors", folder / "unet" / "w.safetensors"]
    result = HashService(HashCache(tmp_path / "h.db")).request(folder, files).result(10)
    expected = hashlib.sha256(
        b"unet/w.safetensors\0"
        + sha(b"u").encode()
        + b"\n"
        + b"vae/w.safetensors\0"
        + sha(b"v").encode()
        + b"\n"
    ).hexdigest()
    assert (result.sha256, result.kind, result.a1111_short) == (expected, "folder", None)


def test_an_unusable_cache_folder_only_means_hashing_again(tmp_path, model):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    service = HashService(HashCache(blocker / "h.db"))
    assert service.request(model).result(10).sha256 == sha(model.read_bytes())


def test_waiting_for_a_hash_honours_the_jobs_cancel(tmp_path, model):
    service = HashService(HashCache(tmp_path / "h.db"))
    gate = threading.Event()
    service._pool.submit(gate.wait)  # keep the hashing thread busy
    future = service.request(model)
    with pytest.raises(JobCancelled):
        service.wait(future, cancelled=lambda: True)
    gate.set()
    assert service.wait(future).sha256 == sha(model.read_bytes())


def test_closing_stops_a_file_being_hashed(tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(1 << 20) * 64)  # 64 MiB
    service = HashService(HashCache(tmp_path / "h.db"))
    future = service.request(big)
    service.close()
    with pytest.raises(Exception):  # noqa: B017 - cancelled, or stopped within a chunk
        future.result(10)
