"""Keeping the images a recipe starts from (issue 21): a painted mask or a pasted image
is written into <gallery>/inputs/<sha256[:16]>.png, whole or not at all, and is never
listed as a gallery picture."""

from __future__ import annotations

import errno
import hashlib
import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.outcomes import ResultImage
from engine.api.parts import ModelRef
from engine.api.requests import Txt2ImgRequest
from engine.store import GalleryStore, StoreError


def png_bytes(value: int = 200, size: tuple[int, int] = (16, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, value).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def store(tmp_path):
    with GalleryStore(tmp_path / "gallery") as gallery:
        yield gallery


def test_an_input_is_kept_by_its_content_with_its_sha256(store):
    data = png_bytes()
    ref = store.keep_input(data)
    digest = hashlib.sha256(data).hexdigest()  # the oracle: hashlib on the bytes given
    assert ref.sha256 == digest
    assert Path(ref.path) == store.root / "inputs" / f"{digest[:16]}.png"
    assert Path(ref.path).is_absolute()
    assert Path(ref.path).read_bytes() == data


def test_the_same_bytes_twice_are_one_file_and_other_bytes_another(store):
    first = store.keep_input(png_bytes(200))
    again = store.keep_input(png_bytes(200))
    other = store.keep_input(png_bytes(10))
    assert again == first
    assert other.path != first.path
    assert sorted(p.name for p in (store.root / "inputs").iterdir()) == sorted(
        [Path(first.path).name, Path(other.path).name]
    )


def test_a_damaged_copy_is_written_again(store):
    data = png_bytes()
    ref = store.keep_input(data)
    Path(ref.path).write_bytes(data[:20])  # cut short by something else
    assert store.keep_input(data) == ref
    assert Path(ref.path).read_bytes() == data


def test_inputs_are_not_gallery_pictures(store):
    request = Txt2ImgRequest(model=ModelRef(Family.SD, "/models/sd.safetensors"))
    rgb = np.full((8, 8, 3), 90, np.uint8)
    saved = store.save(ResultImage(rgb, 1, 0, {"model": "sd"}), request)
    store.keep_input(png_bytes())
    store.sync()
    assert [item.path for item in store.items()] == [saved]
    assert store.count() == 1
    assert store.difference().consistent


def test_only_the_top_level_inputs_folder_is_skipped(store):
    # A day folder, or a folder of the user's called inputs deeper down, is still listed.
    deeper = store.root / "holiday" / "inputs"
    deeper.mkdir(parents=True)
    (deeper / "beach.png").write_bytes(png_bytes())
    store.sync()
    assert [item.path for item in store.items()] == [deeper / "beach.png"]


@pytest.mark.parametrize(
    "data",
    [b"", b"GIF89a not a png", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "text"],
    ids=["empty", "gif", "damaged-png", "str"],
)
def test_what_is_not_a_png_is_refused_with_a_sentence(store, data):
    with pytest.raises(BadInput) as refused:
        store.keep_input(data)
    assert "PNG" in refused.value.message and refused.value.message.endswith(".")
    assert not (store.root / "inputs").exists() or not any((store.root / "inputs").iterdir())


def test_a_full_disk_is_a_sentence_and_leaves_no_file_behind(store, monkeypatch):
    import engine.atomic

    def full(fd: int) -> None:  # the bytes went to the temp file; the disk then fills
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(engine.atomic.os, "fsync", full)
    with pytest.raises(StoreError) as refused:
        store.keep_input(png_bytes())
    assert "the disk is full" in refused.value.message
    assert "Free some space" in refused.value.message
    left = list((store.root / "inputs").iterdir())
    assert left == [], left  # neither the input nor its temp file


def test_an_inputs_folder_that_links_out_of_the_gallery_is_refused(store, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    store.root.mkdir(parents=True, exist_ok=True)
    (store.root / "inputs").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(StoreError, match="outside the output folder"):
        store.keep_input(png_bytes())
    assert list(elsewhere.iterdir()) == []
