"""The gallery store against hostile paths, foreign and damaged indexes, full disks,
killed saves, files copied in by hand and recipes with nonsense in them."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from engine.api.kinds import Family
from engine.api.outcomes import ResultImage
from engine.api.parts import ModelRef, Prompt, Sampling
from engine.api.requests import Txt2ImgRequest
from engine.store import GalleryStore, StoreError, index_file, read_metadata
from engine.store.index import OpenState
from engine.store.metadata import RECIPE_KEY, png_text
from engine.store.png import encode_png

INDEX = ".latentstudio-index.sqlite3"


def request(seed: int = 1) -> Txt2ImgRequest:
    return Txt2ImgRequest(
        model=ModelRef(Family.SD, "models/sd15"), prompt=Prompt("fox"), sampling=Sampling(seed=seed)
    )


def image(seed: int) -> ResultImage:
    rgb = np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    return ResultImage(rgb, seed, 0, {"model": "sd15"})


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*") if not p.name.startswith(INDEX))


@pytest.fixture
def gallery(tmp_path: Path):
    with GalleryStore.opened(tmp_path / "gallery") as store:
        yield store


# ---------------------------------------------------------------- nothing outside the gallery


def test_delete_refuses_paths_that_lead_outside(gallery, tmp_path, trash):
    outside = tmp_path / "precious.png"
    outside.write_bytes(b"mine")
    gallery.save(image(1), request())
    for attempt in ("../precious.png", str(outside), "2026-01-01/../../precious.png"):
        with pytest.raises(StoreError, match="not an image in the gallery"):
            gallery.delete(Path(attempt))
    assert outside.read_bytes() == b"mine" and not trash.exists()


def test_a_link_inside_the_gallery_does_not_lead_out(gallery, tmp_path, trash):
    outside = tmp_path / "precious.png"
    outside.write_bytes(b"mine")
    gallery.root.mkdir(parents=True, exist_ok=True)
    (gallery.root / "link.png").symlink_to(outside)
    with pytest.raises(StoreError):
        gallery.delete(gallery.root / "link.png")
    assert outside.read_bytes() == b"mine"
    gallery.sync()
    assert [i.path.name for i in gallery.items()] == []  # links are not listed either


def test_a_crafted_index_row_is_never_followed(tmp_path, trash):
    root = tmp_path / "gallery"
    outside = tmp_path / "precious.png"
    Image.new("RGB", (4, 4)).save(outside)
    with GalleryStore.opened(root) as store:
        store.save(image(1), request())
    with sqlite3.connect(root / INDEX) as conn:  # what a shared folder's index could hold
        conn.execute(
            "INSERT INTO images (path, created, kind, width, height) VALUES (?, 9e9, 'x', 4, 4)",
            ("../precious.png",),
        )
    with GalleryStore(root) as store:
        assert all(item.path.resolve().is_relative_to(root.resolve()) for item in store.items())
        with pytest.raises(StoreError):
            store.delete(Path("../precious.png"))
        store.sync()
        assert "../precious.png" not in [str(p) for p in store._open_index().paths()]
    assert outside.exists()


# ---------------------------------------------------------------- the index file itself


def test_another_programs_database_is_set_aside_never_deleted(tmp_path):
    root = tmp_path / "gallery"
    root.mkdir()
    with sqlite3.connect(root / INDEX) as conn:
        conn.execute("CREATE TABLE accounts (name TEXT, balance REAL)")
        conn.execute("INSERT INTO accounts VALUES ('alice', 10.5)")
    with GalleryStore(root) as store:
        assert store.state is OpenState.FOREIGN
        assert "belonged to another program" in store.notice
    kept = root / f"{INDEX}.foreign"
    with sqlite3.connect(kept) as conn:
        assert conn.execute("SELECT * FROM accounts").fetchall() == [("alice", 10.5)]


def test_the_skeletons_index_is_recognised_as_ours(tmp_path):
    root = tmp_path / "gallery"
    root.mkdir()
    with sqlite3.connect(root / INDEX) as conn:  # the schema version 1 wrote, no app id
        conn.executescript(
            "CREATE TABLE images (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, "
            "created REAL NOT NULL, kind TEXT NOT NULL, prompt TEXT NOT NULL DEFAULT '', "
            "negative_prompt TEXT NOT NULL DEFAULT '', model TEXT NOT NULL DEFAULT '', "
            "seed INTEGER, width INTEGER NOT NULL, height INTEGER NOT NULL, recipe TEXT);"
            "PRAGMA user_version = 1;"
        )
    with GalleryStore(root) as store:
        assert store.state is OpenState.OUTDATED and store.notice is None
    assert not list(root.glob(f"{INDEX}.*"))


@pytest.mark.parametrize(
    ("sqlite_says", "user_reads"),
    [
        ("database or disk is full", "the disk is full: free some space"),
        ("disk I/O error", "input/output error"),
        ("attempt to write a readonly database", "read-only"),
    ],
)
def test_disk_trouble_is_not_damage_and_keeps_the_index(
    tmp_path, monkeypatch, sqlite_says, user_reads
):
    root = tmp_path / "gallery"
    with GalleryStore.opened(root) as store:
        store.save(image(1), request())
    before = (root / INDEX).read_bytes()

    def trouble(conn):
        raise sqlite3.OperationalError(sqlite_says)

    monkeypatch.setattr(index_file, "identify", trouble)
    with GalleryStore(root) as store:
        assert user_reads in store.error and "kept as it is" in store.error
        assert store.items() == []
    monkeypatch.undo()
    assert (root / INDEX).read_bytes() == before and not list(root.glob(f"{INDEX}.damaged*"))
    with GalleryStore(root) as store:
        assert store.count() == 1


# ---------------------------------------------------------------- any PNG, any recipe


def png_with(path: Path, **chunks: str) -> Path:
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (5, 4), "red").save(path, pnginfo=info)
    return path


@pytest.mark.timeout(20)
def test_pngs_without_a_seed_or_with_odd_recipes_never_hang_or_crash(tmp_path):
    root = tmp_path / "gallery"
    png_with(root / "plain.png")
    png_with(root / "no-seed.png", **{RECIPE_KEY: json.dumps({"version": 2, "request": {}})})
    png_with(
        root / "far-future.png",
        **{RECIPE_KEY: json.dumps({"created": "9999-12-31T23:59:59-14:00", "seed": 3})},
    )
    png_with(root / "huge-seed.png", **{RECIPE_KEY: json.dumps({"seed": 2**80, "index": "x"})})
    png_with(root / "junk.png", **{RECIPE_KEY: "[1, 2", "parameters": "Seed: banana"})
    with GalleryStore.opened(root) as store:
        items = store.items()
        assert len(items) == 5
        assert {i.path.name: i.seed for i in items}["huge-seed.png"] is None
        far = next(i for i in items if i.path.name == "far-future.png")
        assert far.created.year < 9999  # an impossible date is unknown, the file's time used
    assert read_metadata(root / "far-future.png").created is None


def test_files_copied_in_or_deleted_by_hand_are_seen_at_the_next_open(tmp_path):
    root = tmp_path / "gallery"
    with GalleryStore.opened(root) as store:
        kept, gone = store.save(image(1), request(1)), store.save(image(2), request(2))
    gone.unlink()
    copied = root / "from-elsewhere" / "shot.png"
    png_with(copied, parameters="a cat\nSteps: 20, Seed: 7, Size: 5x4")
    with GalleryStore(root) as store:
        assert store.difference().missing == ["from-elsewhere/shot.png"]
        assert store.difference().extra == [gone.relative_to(root).as_posix()]
        store.sync()
        assert {i.path for i in store.items()} == {kept, copied}
        assert store.difference().consistent


# ---------------------------------------------------------------- killed saves


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_what_a_killed_save_left_is_recovered_or_removed(tmp_path):
    root = tmp_path / "gallery"
    with GalleryStore.opened(root) as store:
        first = store.save(image(1), request(1))
    day = first.parent
    whole = encode_png(image(2).rgb, png_text(image(2), request(2), datetime.now().astimezone()))
    (day / ".00002-2-fox.png.0123abcd.tmp").write_bytes(whole)  # killed before the rename
    (day / ".00002.reserved").write_text(f"{dead_pid()}\n")
    (day / ".00003-3-fox.png.89abcdef.tmp").write_bytes(whole[: len(whole) // 2])  # mid-write
    (day / ".00003.reserved").write_text(f"{dead_pid()}\n")
    (day / ".00004.reserved").write_text("")  # killed between creating and writing it
    os.utime(day / ".00004.reserved", (1, 1))
    (day / ".00009-9-fox.png.00000000.tmp").write_bytes(whole[:100])  # a save running now
    (day / ".00009.reserved").write_text(f"{os.getpid()}\n")

    with GalleryStore.opened(root) as store:
        names = sorted(i.path.name for i in store.items())
        assert names == ["00001-1-fox.png", "00002-2-fox.png"]
        assert "Recovered 1 image" in (store.notice or "")
    assert read_metadata(day / "00002-2-fox.png").seed == 2
    assert hidden(day) == [".00009-9-fox.png.00000000.tmp", ".00009.reserved"]


# ---------------------------------------------------------------- output folders


@pytest.mark.parametrize(
    ("folder", "words"),
    [
        ("", "cannot be empty"),
        ("/proc/latent-studio", "system folder"),
    ],
)
def test_unusable_output_folders_are_refused_before_any_work(folder, words):
    from engine.store import check_output_folder

    with pytest.raises(StoreError, match=words):
        check_output_folder(Path(folder))


def test_an_output_folder_that_is_a_file_is_refused_and_nothing_is_created(tmp_path):
    from engine.store import check_output_folder

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="is a file, not a folder"):
        check_output_folder(blocker / "out")
    check_output_folder(tmp_path / "new" / "deeper")  # may not exist yet: fine
    assert not (tmp_path / "new").exists()
