"""Watched source folders (issue 24): other tools' pictures are listed and searched, and
the folder is never written: every file's sha256 and every mtime are the same after a
session of syncing, searching, starring, boarding, exporting, rebuilding and trying to
delete."""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from pathlib import Path

import pytest
from PIL import Image

import main
from engine.store import GalleryStore, StoreError
from engine.store.contact_sheet import contact_sheet
from engine.store.export import ExportOptions, export
from engine.store.foreign import read_picture
from tests.foreign_pictures import (
    A1111_TEXT,
    chunk,
    comfy_graph,
    piexif_user_comment,
    png,
    png_with_chunks,
    with_exif,
)


def build_source(folder: Path) -> Path:
    """An A1111 PNG, a ComfyUI PNG (in a subfolder), an A1111 JPEG (EXIF UserComment), a
    PNG with a zlib bomb beside plain A1111 text, a non-picture named .png, a text file,
    a hidden picture, and a link to a picture outside the folder."""
    (folder / "txt2img" / "2026-01-02").mkdir(parents=True)
    (folder / "comfy").mkdir()
    png(folder / "txt2img" / "2026-01-02" / "00001-1234.png", {"parameters": A1111_TEXT})
    png(folder / "comfy" / "ComfyUI_00001_.png", {"prompt": json.dumps(comfy_graph())})
    with_exif(
        folder / "photo.jpg",
        piexif_user_comment("a cat on a sofa\nSteps: 20, Sampler: Euler, Seed: 77"),
        "JPEG",
    )
    bomb = zlib.compress(b"A" * (32 * 1024 * 1024), 9)
    png_with_chunks(
        folder / "bomb.png",
        chunk(b"zTXt", b"workflow\0\0" + bomb),
        texts={"parameters": "a bombed harbour\nSteps: 20, Sampler: Euler, Seed: 5"},
    )
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (folder / "notes.txt").write_text("not a picture")
    png(folder / ".hidden.png", {"parameters": "hidden\nSeed: 1"})
    outside = png(folder.parent / "outside.png", {"parameters": "outside\nSeed: 2"})
    os.symlink(outside, folder / "link.png")
    return folder


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry's kind, sha256 (files) and mtime: what 'never written' means."""
    seen = {}
    for entry in [folder, *sorted(folder.rglob("*"))]:
        info = entry.lstat()
        digest = hashlib.sha256(entry.read_bytes()).hexdigest() if entry.is_file() else None
        seen[str(entry)] = (entry.is_symlink(), entry.is_dir(), digest, info.st_mtime_ns)
    return seen


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return build_source(tmp_path / "a1111-outputs")


@pytest.fixture
def store(tmp_path: Path, source: Path):
    with GalleryStore(tmp_path / "out", sources=(source,)) as store:
        store.sync()
        yield store


def _names(items) -> set[str]:
    return {item.path.name for item in items}


def test_the_pictures_of_a_source_folder_are_listed_and_the_bad_ones_noted(store, source):
    assert _names(store.items()) == {
        "00001-1234.png",
        "ComfyUI_00001_.png",
        "photo.jpg",
        "bomb.png",
    }
    by_name = {item.path.name: item for item in store.items()}
    assert by_name["00001-1234.png"].seed == 1234 and by_name["photo.jpg"].seed == 77
    assert by_name["ComfyUI_00001_.png"].prompt == "a lighthouse"
    assert by_name["bomb.png"].prompt == "a bombed harbour"  # the bomb is refused, not this
    assert all(item.kind == "external" for item in store.items())
    assert by_name["photo.jpg"].path == source / "photo.jpg"
    assert "broken.png" in (store.notice or "")  # said once, in a sentence
    # The bomb's notes are what the details dock shows beside its A1111 text.
    assert any("inflates to over" in note for note in read_picture(source / "bomb.png").notes)
    assert store.metadata(source / "bomb.png").width == 16


def test_search_finds_source_pictures_by_tool_and_words(store):
    assert _names(store.search("tool:comfyui")) == {"ComfyUI_00001_.png"}
    assert _names(store.search("tool:a1111")) == {"00001-1234.png", "photo.jpg", "bomb.png"}
    assert _names(store.search("tool:other")) == _names(store.items())
    assert _names(store.search("lighthouse")) == {"ComfyUI_00001_.png"}
    assert _names(store.search("seed:1234")) == {"00001-1234.png"}


def test_a_session_never_writes_the_source_folder(tmp_path, source):
    before = snapshot(source)
    with GalleryStore(tmp_path / "out", sources=(source,)) as store:
        store.sync()
        pictures = [item.path for item in store.items()]
        store.search("fox stars:>=1")
        store.set_stars(pictures, 4)
        store.add_to_board(pictures[:2], "Inspiration")
        store.remove_from_board(pictures[:1], "Inspiration")
        for picture in pictures:
            store.metadata(picture)
            with pytest.raises(StoreError, match="source folder, which Latent Studio never"):
                store.delete(picture)
        for how in (ExportOptions(), ExportOptions("strip"), ExportOptions(format="jpeg")):
            export(pictures, tmp_path / "shared" / f"{how.metadata}-{how.format}", how)
        contact_sheet(pictures, tmp_path / "sheet.png")
        store.sync()
        store.rebuild()
        assert len(store.items()) == len(pictures)  # nothing deleted
    assert snapshot(source) == before
    assert not any(p.name.startswith(".latentstudio") for p in source.rglob("*"))


def test_stars_and_boards_of_source_pictures_survive_sync_rebuild_and_a_reopen(tmp_path, source):
    picture = source / "photo.jpg"
    with GalleryStore(tmp_path / "out", sources=(source,)) as store:
        store.sync()
        store.set_stars([picture], 5)
        store.add_to_board([picture], "Cats")
        store.sync()
        assert store.marks(picture).stars == 5
        assert store.rebuild() == 4
        assert (store.marks(picture).stars, store.marks(picture).boards) == (5, ("Cats",))
        assert _names(store.search("stars:5 board:Cats")) == {"photo.jpg"}
    with GalleryStore.opened(tmp_path / "out") as again:
        again.set_source_folders([source])
        again.sync()
        assert again.marks(picture).stars == 5


def test_removing_a_source_folder_drops_its_rows_not_its_files(store, source):
    store.set_stars([source / "photo.jpg"], 3)
    store.set_source_folders([])
    store.sync()
    assert store.items() == [] and store.count() == 0
    assert (source / "photo.jpg").is_file()
    store.set_source_folders([source])  # back again: so are its stars
    store.sync()
    assert len(store.items()) == 4 and store.marks(source / "photo.jpg").stars == 3


def test_a_picture_deleted_in_its_own_folder_leaves_the_listing(store, source):
    gone = source / "comfy" / "ComfyUI_00001_.png"
    store.set_stars([gone], 2)
    gone.unlink()
    store.sync()
    assert "ComfyUI_00001_.png" not in _names(store.items())
    assert store.marks(gone).stars == 0  # a file gone from a present folder: forgotten


def test_folders_that_cannot_be_sources_are_refused_with_a_sentence(tmp_path, source):
    out = tmp_path / "out"
    (out / "day").mkdir(parents=True)
    with GalleryStore(out) as store:
        cases = {
            "is not a folder": tmp_path / "nowhere",
            "inside the output folder": out / "day",
            "holds the output folder": tmp_path,
        }
        for words, folder in cases.items():
            problems = store.set_source_folders([folder])
            assert len(problems) == 1 and words in problems[0], (words, problems)
        problems = store.set_source_folders([source, source / "comfy"])
        assert store.source_folders == (source.resolve(),)
        assert len(problems) == 1 and "overlaps" in problems[0]
    file = tmp_path / "file.png"
    Image.new("RGB", (4, 4)).save(file)
    with GalleryStore(out, sources=(file,)) as store:
        assert store.source_folders == () and "not a folder" in (store.notice or "")


def test_our_own_pictures_and_source_pictures_list_together(tmp_path, source):
    out = tmp_path / "out"
    png(out.mkdir() or out / "ours.png", {"parameters": "ours\nSeed: 9"})
    with GalleryStore.opened(out) as store:
        store.set_source_folders([source])
        store.sync()
        assert "ours.png" in _names(store.items()) and len(store.items()) == 5
        assert store.difference().consistent  # source rows are not the output folder's
        store.set_stars([out / "ours.png"], 1)  # ours: written into its PNG
        store.rebuild()
        assert store.marks(out / "ours.png").stars == 1


def test_the_gallery_command_lists_and_searches_source_folders(tmp_path, source, capsys):
    out = tmp_path / "out"
    out.mkdir()
    before = snapshot(source)
    assert main.main(["gallery", "--out", str(out), "--source", str(source)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {Path(line["path"]).name for line in lines} == _names_in(source)
    flags = ["--source", str(source), "--search", "tool:comfyui"]
    assert main.main(["gallery", "--out", str(out), *flags]) == 0
    found = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [Path(line["path"]).name for line in found] == ["ComfyUI_00001_.png"]
    flags = ["--source", str(source), "--star", "2", str(source / "photo.jpg")]
    assert main.main(["gallery", "--out", str(out), *flags]) == 0
    assert json.loads(capsys.readouterr().out)["stars"] == 2
    assert snapshot(source) == before
    code = main.main(["gallery", "--out", str(out), "--source", str(tmp_path / "nowhere")])
    assert code == 2 and "is not a folder" in capsys.readouterr().err


def _names_in(source: Path) -> set[str]:
    return {"00001-1234.png", "ComfyUI_00001_.png", "photo.jpg", "bomb.png"}
