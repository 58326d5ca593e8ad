"""The model cache: LRU under a byte budget, keyed by file identity, shared by threads."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from engine.api.kinds import Family
from engine.cache import CacheKey, FileIdentity, ModelCache


class Blob:
    def __init__(self, name: str, size: int) -> None:
        self.name, self.size = name, size


def cache(budget: int, released: list | None = None) -> ModelCache:
    return ModelCache(
        budget, lambda: released.append(1) if released is not None else None, lambda b: b.size
    )


def key(name: str, size: int = 1, mtime: int = 0) -> CacheKey:
    return CacheKey(Family.VAE, FileIdentity(f"/m/{name}", size, mtime), "cpu", "float32")


def test_loads_once_then_hits():
    loads = []
    c = cache(100)
    for _ in range(3):
        c.get(key("a"), lambda: loads.append(1) or Blob("a", 10))
    assert loads == [1]


def test_least_recently_used_goes_first_when_over_budget():
    released: list = []
    c = cache(25, released)
    c.get(key("a"), lambda: Blob("a", 10))
    c.get(key("b"), lambda: Blob("b", 10))
    c.get(key("a"), lambda: Blob("a", 10))  # a is now the most recent
    c.get(key("c"), lambda: Blob("c", 10))
    assert [k.identity.path for k in c.lru_keys()] == ["/m/a", "/m/c"]
    assert c.used_bytes == 20 and released


def test_one_model_larger_than_the_budget_still_loads():
    c = cache(5)
    c.get(key("small"), lambda: Blob("s", 1))
    assert c.get(key("big"), lambda: Blob("b", 50)).name == "b"
    assert [k.identity.path for k in c.lru_keys()] == ["/m/big"]


def test_a_changed_file_is_a_new_key(tmp_path: Path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"one")
    first = FileIdentity.of(path)
    path.write_bytes(b"other")
    os.utime(path, ns=(0, first.mtime_ns + 10**9))
    assert FileIdentity.of(path) != first
    folder = tmp_path / "pipe"
    (folder / "unet").mkdir(parents=True)
    (folder / "unet" / "w.bin").write_bytes(b"x" * 10)
    before = FileIdentity.of(folder)
    (folder / "unet" / "w.bin").write_bytes(b"x" * 11)
    assert FileIdentity.of(folder).size == before.size + 1


def test_keep_only_evicts_everything_else_and_job_records_what_it_used():
    c = cache(1000)
    c.get(key("other"), lambda: Blob("o", 1))
    with c.job() as used:
        c.get(key("mine"), lambda: Blob("m", 1))
    assert used == {key("mine")}
    assert c.keep_only(used) == 1
    assert c.lru_keys() == [key("mine")]


def test_two_threads_asking_for_the_same_model_load_it_once():
    loads = []

    def slow_load():
        loads.append(1)
        time.sleep(0.2)
        return Blob("a", 1)

    c = cache(100)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(c.get(key("a"), slow_load)))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loads == [1] and results[0] is results[1]


def test_a_failed_load_caches_nothing_and_can_be_retried():
    c = cache(100)

    def broken():
        raise OSError("damaged")

    with pytest.raises(OSError):
        c.get(key("a"), broken)
    assert c.lru_keys() == []
    assert c.get(key("a"), lambda: Blob("a", 1)).name == "a"
