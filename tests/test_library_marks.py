"""Stars and boards (issue 24): kept in the PNG (pixels and IDAT untouched, written
atomically) and the index; other tools' folders are never written."""

from __future__ import annotations

import hashlib
import json
import os
import struct
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import engine.atomic
from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.outcomes import ResultImage
from engine.api.parts import ModelRef, Prompt, Sampling
from engine.api.requests import Txt2ImgRequest
from engine.store import INDEX_NAME, GalleryStore, StoreError
from engine.store.metadata import png_text
from engine.store.png import encode_png


def _picture(path: Path, prompt: str, seed: int, text: dict | None = None) -> Path:
    rgb = np.random.default_rng(seed).integers(0, 256, (12, 20, 3), dtype=np.uint8)
    request = Txt2ImgRequest(
        model=ModelRef(Family.SD, "models/sd15"),
        prompt=Prompt(prompt),
        sampling=Sampling(seed=seed),
    )
    when = datetime(2026, 1, 1, 12, seed % 60).astimezone()
    chunks = png_text(ResultImage(rgb, seed, 0, {"model": "sd15"}), request, when)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_png(rgb, text if text is not None else chunks))
    return path


def _chunks(path: Path) -> list[tuple[bytes, bytes]]:
    """(type, body) of each chunk, read here with struct (independent of engine code)."""
    data, at, found = path.read_bytes(), 8, []
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        found.append((data[at + 4 : at + 8], data[at + 8 : at + 8 + length]))
        at += 12 + length
    return found


def _idat(path: Path) -> bytes:
    return b"".join(body for kind, body in _chunks(path) if kind == b"IDAT")


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).copy()


def _sha(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def gallery(tmp_path) -> Path:
    root = tmp_path / "gallery"
    _picture(root / "2026-01-01" / "fox.png", "a red fox", 1)
    _picture(root / "2026-01-01" / "owl.png", "an owl at night", 2)
    _picture(root / "2026-01-02" / "cat.png", "a cat", 3)
    return root


def test_stars_and_boards_go_into_the_png_without_touching_its_pixels(gallery):
    fox = gallery / "2026-01-01" / "fox.png"
    pixels, idat, others = _pixels(fox), _idat(fox), [c for c in _chunks(fox) if c[0] != b"tEXt"]
    with GalleryStore.opened(gallery) as store:
        store.set_stars([fox], 4)
        store.add_to_board([fox], "Foxes")
        store.add_to_board([fox], "best of")
    assert np.array_equal(_pixels(fox), pixels)
    assert _idat(fox) == idat
    assert [c for c in _chunks(fox) if c[0] != b"tEXt"] == others
    with Image.open(fox) as image:  # a standard tEXt chunk, as any PNG reader sees it
        written = json.loads(image.info["latentstudio-library"])
    assert written == {"stars": 4, "boards": ["best of", "Foxes"]}


def test_stars_and_boards_survive_a_deleted_index_and_a_rebuild(gallery):
    fox, owl = gallery / "2026-01-01" / "fox.png", gallery / "2026-01-01" / "owl.png"
    with GalleryStore.opened(gallery) as store:
        store.set_stars([fox, owl], 3)
        store.set_stars([owl], 5)
        store.add_to_board([fox, owl], "night")
        store.remove_from_board([fox], "NIGHT")
    os.unlink(gallery / INDEX_NAME)
    with GalleryStore.opened(gallery) as store:
        assert (store.marks(fox).stars, store.marks(fox).boards) == (3, ())
        assert (store.marks(owl).stars, store.marks(owl).boards) == (5, ("night",))
        store.rebuild()
        assert (store.marks(owl).stars, store.marks(owl).boards) == (5, ("night",))
        assert [i.path.name for i in store.search("board:night stars:5")] == ["owl.png"]
        assert {i.path.name for i in store.search("starred")} == {"fox.png", "owl.png"}


def test_another_tools_read_only_folder_is_never_written(gallery, tmp_path):
    other = tmp_path / "comfy-output"
    picture = _picture(other / "ComfyUI_00001_.png", "x", 9, {"parameters": "a fox\nSteps: 20"})
    picture.chmod(0o444)
    other.chmod(0o555)
    before = _sha(other)
    try:
        with GalleryStore.opened(gallery) as store:
            store.set_stars([picture], 5)
            store.add_to_board([picture], "found")
            assert (store.marks(picture).stars, store.marks(picture).boards) == (5, ("found",))
            store.rebuild()  # the index is the only home of these marks: a rebuild keeps them
            assert (store.marks(picture).stars, store.marks(picture).boards) == (5, ("found",))
        assert _sha(other) == before
        assert sorted(p.name for p in other.iterdir()) == ["ComfyUI_00001_.png"]
    finally:
        other.chmod(0o755)


@pytest.mark.parametrize("fail_at", ["fsync", "replace"])
def test_a_failure_mid_write_leaves_the_original_picture_whole(gallery, monkeypatch, fail_at):
    fox = gallery / "2026-01-01" / "fox.png"
    with GalleryStore.opened(gallery) as store:
        store.set_stars([fox], 2)
        before = fox.read_bytes()

        def fail(*args):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(engine.atomic.os, fail_at, fail)
        with pytest.raises(StoreError, match="fox.png"):
            store.set_stars([fox], 5)
        monkeypatch.undo()
        assert fox.read_bytes() == before
        assert store.marks(fox).stars == 2  # the index follows the file, not the attempt
    assert sorted(p.name for p in fox.parent.iterdir()) == ["fox.png", "owl.png"]  # no temp


def test_bad_stars_and_board_names_are_refused_in_a_sentence(gallery):
    fox = gallery / "2026-01-01" / "fox.png"
    with GalleryStore.opened(gallery) as store:
        for stars in (6, -1, True, 2.5):
            with pytest.raises(BadInput, match="0 to 5"):
                store.set_stars([fox], stars)
        for name in ("", "   ", "a\nb", "x" * 101):
            with pytest.raises(BadInput, match="board"):
                store.add_to_board([fox], name)
        with pytest.raises(StoreError, match="not a picture"):
            store.set_stars([gallery / "nowhere.png"], 1)


def test_a_damaged_marks_chunk_reads_as_no_marks_and_is_replaced(gallery):
    odd = gallery / "2026-01-02" / "odd.png"
    _picture(odd, "", 4, {"latentstudio-library": '{"stars": 9, "boards": [[[' + "]" * 3})
    with GalleryStore.opened(gallery) as store:
        assert store.marks(odd).stars == 0
        store.set_stars([odd], 1)
        assert store.marks(odd).stars == 1
    with Image.open(odd) as image:
        assert json.loads(image.info["latentstudio-library"]) == {"stars": 1, "boards": []}
    assert sum(kind == b"tEXt" for kind, _ in _chunks(odd)) == 1


def test_the_gallery_command_stars_boards_and_searches(gallery, capsys):
    import main  # in this process: the command path is the same, the start-up cheaper

    errors: list[str] = []

    def gallery_command(*flags: str) -> tuple[int, list[dict]]:
        code = main.main(["gallery", "--out", str(gallery), *flags])
        out, err = capsys.readouterr()
        errors.append(err)
        return code, [json.loads(line) for line in out.splitlines()]

    fox, owl = gallery / "2026-01-01" / "fox.png", gallery / "2026-01-01" / "owl.png"
    code, lines = gallery_command("--star", "4", str(fox), str(owl))
    assert code == 0 and [line["stars"] for line in lines] == [4, 4]
    assert gallery_command("--board", "keep", str(owl))[0] == 0
    code, found = gallery_command("--search", "stars:>=3 board:keep")
    assert code == 0 and len(found) == 1
    line = found[0]
    assert Path(line["path"]).name == "owl.png" and line["prompt"] == "an owl at night"
    assert (line["stars"], line["boards"], line["seed"]) == (4, ["keep"], 2)
    assert line["model"] and line["created"].startswith("2026-01-01")
    code, found = gallery_command("--search", "fox -owl")
    assert code == 0 and [Path(f["path"]).name for f in found] == ["fox.png"]
    assert gallery_command("--search", "seed:abc")[0] == 2
    assert "seed:abc" in errors[-1]
    assert gallery_command("--star", "9", str(fox))[0] == 2
    assert gallery_command("--star", "1")[0] == 2  # no pictures named


def test_a_marks_write_killed_before_its_rename_leaves_the_picture_and_no_duplicate(gallery):
    from engine.store.marks import Marks, with_marks

    fox = gallery / "2026-01-01" / "fox.png"
    before = fox.read_bytes()
    # What a SIGKILL between the temp file's last byte and the rename leaves behind.
    (fox.parent / ".fox.png.0123abcd.tmp").write_bytes(with_marks(before, Marks(5, ("x",))))
    with GalleryStore.opened(gallery) as store:
        assert store.count() == 3 and store.marks(fox).stars == 0
    assert fox.read_bytes() == before
    assert sorted(p.name for p in fox.parent.iterdir()) == ["fox.png", "owl.png"]


def test_an_index_whose_creation_failed_is_not_left_to_look_foreign(tmp_path, monkeypatch):
    import sqlite3

    import engine.store.index as index_module

    db = tmp_path / "index.sqlite3"
    # A failure part-way through the tables, as a full disk gives.
    from engine.store import index_file

    broken = (*index_file.STATEMENTS[:3], "CREATE TABLE images (x)")
    monkeypatch.setattr(index_file, "STATEMENTS", broken)
    with pytest.raises(sqlite3.Error):
        index_module.GalleryIndex(db)
    monkeypatch.undo()
    assert not list(tmp_path.iterdir())
    opened = index_module.GalleryIndex(db)
    assert opened.state is index_module.OpenState.NEW and opened.set_aside is None
    opened.close()
