"""The gallery store on real files and a real SQLite index, in tmp_path."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.api.kinds import Family
from engine.api.outcomes import ResultImage
from engine.api.parts import ModelRef, Prompt, Sampling
from engine.api.requests import Txt2ImgRequest
from engine.store import (
    GalleryStore,
    StoreError,
    read_metadata,
    save_png_copy,
    slugify,
    write_atomic,
)
from engine.store.layout import image_slug, next_counter, reserve

SHA = "6ce0161689b3853acaa03779ec93eafe75a02f4ced659bee03f50797806fa2fa"

A1111_SAMPLE = (
    "masterpiece, best quality, a red fox\n"
    "sitting in the snow, (cinematic lighting:1.2)\n"
    "Negative prompt: lowres, bad anatomy\n"
    "watermark\n"
    "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.5, "
    "Seed: 1234567890, Size: 512x768, Model hash: 6ce0161689, "
    "Model: v1-5-pruned-emaonly, "
    'Lora hashes: "add_detail: 7c6bad76eb54, more_details: 3b8aa1d351ef", '
    "Version: v1.10.1"
)


def pixels(seed: int, height: int = 16, width: int = 24) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def sd(prompt: str, seed: int, batch_size: int = 1, **sampling) -> Txt2ImgRequest:
    return Txt2ImgRequest(
        model=ModelRef(Family.SD, "models/sd15.safetensors"),
        prompt=Prompt(prompt),
        sampling=Sampling(seed=seed, **sampling),
        batch_size=batch_size,
    )


def txt2img_batch(request: Txt2ImgRequest, hash_kind: str = "file") -> list[ResultImage]:
    info = {
        "model": "models/sd15.safetensors",
        "model_sha256": SHA,
        "model_hash_kind": hash_kind,
        "device": "cpu",
    }
    seed = request.sampling.seed
    return [
        ResultImage(pixels(seed + i, 16, 24), seed + i, i, dict(info))
        for i in range(request.batch_size)
    ]


def stray_files(folder: Path) -> list[str]:
    """Hidden leftovers: temp files and counter reservations."""
    if not folder.exists():
        return []
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob(".*")
        if not p.name.startswith(".latentstudio-index")
    )


@pytest.fixture
def store(tmp_path: Path):
    with GalleryStore(tmp_path / "gallery") as gallery:
        yield gallery


# ---------------------------------------------------------------- atomic writes


def test_write_atomic_writes_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "a.bin"
    write_atomic(target, lambda f: f.write(b"one"))
    write_atomic(target, lambda f: f.write(b"two"))
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_write_atomic_failure_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")

    def half_then_fail(f) -> None:
        f.write(b"half")
        raise RuntimeError("encoder crashed")

    with pytest.raises(RuntimeError):
        write_atomic(target, half_then_fail)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_write_atomic_failed_rename_removes_temp(tmp_path, monkeypatch) -> None:
    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(OSError):
        write_atomic(tmp_path / "a.bin", lambda f: f.write(b"data"))
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- layout


def test_slugs_are_short_safe_ascii() -> None:
    assert slugify("A Red Fox, sitting in the snow!") == "a-red-fox-sitting-in-the-snow"
    assert slugify("Café «crème» / ../etc") == "cafe-creme-etc"
    long = slugify("word " * 30)
    assert len(long) <= 40 and long.endswith("word") and not long.endswith("-")
    assert slugify("x" * 100) == "x" * 40
    assert image_slug("", "/models/Dream Shaper v8.safetensors") == "dream-shaper-v8"
    assert image_slug("   ", "") == "image"
    assert image_slug("日本", "vae-digits") == "vae-digits"


def test_counters_continue_from_the_highest_in_the_day_folder(tmp_path: Path) -> None:
    when = datetime(2024, 5, 1, 12, 0)
    day = tmp_path / "2024-05-01"
    day.mkdir()
    (day / "00007-1-old.png").write_bytes(b"")
    (day / "notes.txt").write_bytes(b"")
    with reserve(tmp_path, when, 42, "fox") as first, reserve(tmp_path, when, 43, "fox") as second:
        assert first.path == day / "00008-42-fox.png"
        assert second.path == day / "00009-43-fox.png"
    assert stray_files(tmp_path) == []
    assert next_counter(day) == 8  # released reservations free their counters


def test_racing_reservations_get_distinct_counters(tmp_path: Path) -> None:
    when = datetime(2024, 5, 1)
    barrier = threading.Barrier(8)
    paths: list[Path] = []

    def save(seed: int) -> None:
        barrier.wait()
        for _ in range(5):
            with reserve(tmp_path, when, seed, "x") as spot:
                spot.path.write_bytes(b"png")
                paths.append(spot.path)

    threads = [threading.Thread(target=save, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counters = sorted(int(p.name[:5]) for p in paths)
    assert counters == list(range(1, 41))
    assert stray_files(tmp_path) == []


# ---------------------------------------------------------------- gallery


def save_some(store: GalleryStore, count: int) -> list[Path]:
    request = sd("fox", 10, count)
    return [store.save(image, request) for image in txt2img_batch(request)]


def test_items_are_newest_first_with_paging(store) -> None:
    paths = save_some(store, 4)
    items = store.items()
    assert [item.path for item in items] == paths[::-1]
    assert [item.seed for item in items] == [13, 12, 11, 10]
    assert items[0].kind == "txt2img" and items[0].prompt == "fox"
    assert items[0].model == "models/sd15.safetensors"
    assert (items[0].width, items[0].height) == (24, 16)
    assert items[0].created.tzinfo is not None
    assert [i.path for i in store.items(limit=2, offset=1)] == [paths[2], paths[1]]
    assert store.count() == 4


def test_delete_moves_to_trash_and_leaves_the_index(store, trash: Path) -> None:
    kept, deleted = save_some(store, 2)
    store.delete(deleted)
    assert not deleted.exists()
    assert (trash / "files" / deleted.name).read_bytes()[:4] == b"\x89PNG"
    assert [item.path for item in store.items()] == [kept]

    kept.unlink()  # gone behind our back: delete only forgets it
    store.delete(kept)
    assert store.items() == []


def test_corrupt_index_is_rebuilt_with_a_notice(tmp_path: Path) -> None:
    root = tmp_path / "gallery"
    with GalleryStore(root) as store:
        save_some(store, 3)
        before = store.items()
        assert store.notice is None
    index = root / ".latentstudio-index.sqlite3"
    index.write_bytes(b"this is not a database" * 100)

    with GalleryStore.opened(root) as store:
        assert store.notice == (
            f"The gallery index was damaged and has been rebuilt from the 3 images in {root}."
        )
        assert store.items() == before
    assert (root / ".latentstudio-index.sqlite3.damaged").exists()


def test_missing_index_is_rebuilt(tmp_path: Path) -> None:
    root = tmp_path / "gallery"
    index = tmp_path / "elsewhere" / "index.sqlite3"
    with GalleryStore(root, index) as store:
        save_some(store, 2)
        before = store.items()
    for leftover in index.parent.iterdir():
        leftover.unlink()

    with GalleryStore.opened(root, index) as store:
        assert store.notice is not None and "missing" in store.notice and "2 images" in store.notice
        assert store.items() == before


def test_index_from_another_schema_is_rebuilt_quietly(tmp_path: Path) -> None:
    root = tmp_path / "gallery"
    with GalleryStore(root) as store:
        save_some(store, 1)
        before = store.items()
    with sqlite3.connect(root / ".latentstudio-index.sqlite3") as conn:
        conn.execute("PRAGMA user_version = 99")
    with GalleryStore.opened(root) as store:
        assert store.notice is None and store.items() == before


def test_first_open_of_an_empty_folder_has_no_notice(tmp_path: Path) -> None:
    with GalleryStore.opened(tmp_path / "new") as store:
        assert store.notice is None and store.items() == []


def test_rebuild_picks_up_new_files_and_drops_gone_ones(store) -> None:
    first, second = save_some(store, 2)
    copy = first.with_name("00099-10-copy.png")
    copy.write_bytes(first.read_bytes())
    second.unlink()
    assert store.rebuild() == 2
    assert {item.path for item in store.items()} == {first, copy}


def test_concurrent_saves_from_two_threads(store) -> None:
    barrier = threading.Barrier(2)
    saved: list[Path] = []
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        request = sd("race", seed, 5)
        try:
            barrier.wait()
            saved.extend(store.save(image, request) for image in txt2img_batch(request))
        except BaseException as exc:  # surfaced below, in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in (100, 200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(saved)) == 10 and all(path.exists() for path in saved)
    assert len({path.name[:5] for path in saved}) == 10
    assert {item.path for item in store.items()} == set(saved)
    assert stray_files(store.root) == []


# ---------------------------------------------------------------- failures


def test_output_folder_under_a_file_opens_empty_and_each_save_says_why(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")
    broken = GalleryStore(blocker / "gallery")  # the app must still start
    assert broken.items() == [] and "Choose another output folder" in (broken.error or "")
    with pytest.raises(StoreError) as caught:
        save_some(broken, 1)
    assert caught.value.kind == "bad_input"
    assert "part of that path is a file" in caught.value.message

    root = tmp_path / "gallery"
    with GalleryStore(root, index_path=tmp_path / "index.sqlite3") as store:
        root.write_bytes(b"")  # a file took the output folder's place after opening
        with pytest.raises(StoreError) as caught:
            save_some(store, 1)
    message = caught.value.message
    assert caught.value.kind == "bad_input"
    assert message.startswith(f"Could not save to {root}: ")
    assert message.endswith(
        "Choose another output folder in Settings; "
        "the image is still open and can be saved elsewhere."
    )
    assert list(tmp_path.rglob("*.png")) == [] and stray_files(tmp_path) == []


def test_disk_full_raises_store_error_and_leaves_nothing(store, monkeypatch) -> None:
    save_some(store, 1)

    def full(fd: int) -> None:  # where a full disk shows up with delayed allocation
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StoreError) as caught:
        save_some(store, 1)
    assert "the disk is full" in caught.value.message
    assert "Free some space" in caught.value.message
    assert stray_files(store.root) == []
    assert len(list(store.root.rglob("*.png"))) == 1 and store.count() == 1


def test_read_only_folder_raises_store_error(tmp_path: Path) -> None:
    root = tmp_path / "gallery"
    with GalleryStore(root, tmp_path / "index.sqlite3") as store:
        save_some(store, 1)
        day = next(root.iterdir())
        day.chmod(0o500)
        try:
            probe = day / "probe"
            try:
                probe.write_bytes(b"")
            except PermissionError:
                pass
            else:
                probe.unlink()
                pytest.skip("chmod does not stop this user (root) from writing")
            with pytest.raises(StoreError) as caught:
                save_some(store, 1)
            assert "permission denied" in caught.value.message
            assert stray_files(root) == [] and store.count() == 1
        finally:
            day.chmod(0o700)


def test_permission_denied_is_explained_even_when_running_as_root(store, monkeypatch) -> None:
    real_open = os.open

    def refuse_temp_files(path, flags, mode=0o777, **kwargs):
        if str(path).endswith(".tmp"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", refuse_temp_files)
    with pytest.raises(StoreError) as caught:
        save_some(store, 1)
    assert caught.value.message == (
        f"Could not save to {store.root}: permission denied. Choose another output folder "
        "in Settings; the image is still open and can be saved elsewhere."
    )
    assert list(store.root.rglob("*.png")) == [] and stray_files(store.root) == []


def test_save_png_copy(tmp_path: Path) -> None:
    rgb = pixels(5)
    path = save_png_copy(rgb, tmp_path / "copy.png", {"parameters": A1111_SAMPLE})
    assert read_metadata(path).parameters["seed"] == 1234567890
    np.testing.assert_array_equal(np.asarray(Image.open(path)), rgb)

    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(StoreError) as caught:
        save_png_copy(rgb, tmp_path / "file" / "copy.png")
    assert "Choose another folder" in caught.value.message


def test_store_does_not_import_torch() -> None:
    code = "import sys, engine.store; assert 'torch' not in sys.modules, 'torch imported'"
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
