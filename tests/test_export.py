"""Export and contact sheets (issue 24), checked against what the files themselves say:
Pillow's own EXIF and chunk readers, a chunk walk written here, sha256 of the sources,
and thumbnails made here with Pillow's resize.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import main
from engine.api.errors import BadInput
from engine.store import GalleryStore
from engine.store import export as export_module
from engine.store.contact_sheet import CAPTION_HEIGHT, GAP, SheetOptions, contact_sheet
from engine.store.export import ExportOptions, export
from engine.store.foreign import read_picture
from tests.foreign_pictures import png
from tests.test_store import sd, txt2img_batch

ROOT = Path(__file__).resolve().parent.parent
EXIF_IFD, USER_COMMENT = 0x8769, 0x9286
A1111 = (
    "a fox, ünïcode ★\nNegative prompt: blurry\n"
    "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 5, Size: 16x8, Version: v1.10.1"
)


@pytest.fixture
def ours(tmp_path: Path) -> list[Path]:
    """Two pictures saved by our store, with their recipes (prompt, seed 11 and 12)."""
    paths = []
    with GalleryStore(tmp_path / "gallery") as store:
        for prompt, seed in (("red fox", 11), ("grey wolf", 12)):
            request = sd(prompt, seed, steps=17)
            paths.append(store.save(txt2img_batch(request)[0], request))
    return paths


def chunk_types(data: bytes) -> list[bytes]:
    """Every chunk type of a PNG, walked by hand."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, kinds = 8, []
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kinds.append(data[at + 4 : at + 8])
        at += 12 + length
    return kinds


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def user_comment(path: Path) -> bytes:
    with Image.open(path) as image:
        return image.getexif().get_ifd(EXIF_IFD)[USER_COMMENT]


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_kept_pictures_are_the_same_bytes(ours, tmp_path):
    jpeg = tmp_path / "src" / "shot.jpeg"
    jpeg.parent.mkdir()
    exif = Image.Exif()
    exif.get_ifd(EXIF_IFD)[USER_COMMENT] = b"ASCII\0\0\0" + A1111.encode()
    Image.new("RGB", (16, 8), "teal").save(jpeg, "JPEG", exif=exif)
    report = export([*ours, jpeg], tmp_path / "out")
    assert [x.why for x in report.items] == ["", "", ""]
    for source, item in zip([*ours, jpeg], report.items, strict=True):
        assert item.target.parent == tmp_path / "out"
        assert item.target.read_bytes() == source.read_bytes()
    assert report.items[2].target.name == "shot.jpeg"  # its own suffix is kept


def test_stripped_png_has_no_text_and_the_same_pixels(ours, tmp_path):
    assert b"tEXt" in chunk_types(ours[0].read_bytes())  # the recipe, before
    report = export(ours, tmp_path / "out", ExportOptions(metadata="strip"))
    for source, target in zip(ours, report.written, strict=True):
        kinds = chunk_types(target.read_bytes())
        assert not {b"tEXt", b"zTXt", b"iTXt", b"eXIf"} & set(kinds)
        with Image.open(target) as image:
            assert image.text == {} and "exif" not in image.info
        assert np.array_equal(pixels(target), pixels(source))
        assert read_picture(target).fields == {}


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_converted_pictures_carry_the_a1111_text_in_exif(ours, tmp_path, fmt):
    report = export(ours, tmp_path / "out", ExportOptions(format=fmt, quality=95))
    for source, target, (prompt, seed) in zip(
        ours, report.written, (("red fox", 11), ("grey wolf", 12)), strict=True
    ):
        assert target.suffix == {"jpeg": ".jpg", "webp": ".webp"}[fmt]
        with Image.open(source) as image:
            text = image.text["parameters"]  # the A1111 text our PNG carries
        # A1111's convention (piexif.helper.UserComment.dump(text, encoding="unicode")):
        assert user_comment(target) == b"UNICODE\0" + text.encode("utf-16-be")
        with Image.open(target) as image:
            assert image.format == {"jpeg": "JPEG", "webp": "WEBP"}[fmt]
        fields = read_picture(target).fields
        assert (fields["prompt"], fields["seed"], fields["steps"]) == (prompt, seed, 17)
        # The test pictures are noise, which lossy coding smears; their colour stays.
        got, was = pixels(target), pixels(source)
        assert got.shape == was.shape
        assert np.abs(got.mean(axis=(0, 1)) - was.mean(axis=(0, 1))).max() < 4


def test_a_foreign_picture_keeps_its_own_text_or_has_its_fields_written_as_a1111(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    a1111 = png(src / "a1111.png", {"parameters": A1111})
    invoke = {
        "positive_prompt": "a lighthouse",
        "negative_prompt": "fog",
        "seed": 77,
        "steps": 30,
        "cfg_scale": 6.5,
        "width": 16,
        "height": 8,
        "loras": [{"model": {"name": "ink"}, "weight": 0.5}],
    }
    invokeai = png(src / "invoke.png", {"invokeai_metadata": json.dumps(invoke)})
    report = export([a1111, invokeai], tmp_path / "out", ExportOptions(format="jpeg"))
    assert user_comment(report.written[0]) == b"UNICODE\0" + A1111.encode("utf-16-be")
    text = user_comment(report.written[1])[8:].decode("utf-16-be")
    assert text.startswith("a lighthouse <lora:ink:0.5>\nNegative prompt: fog\n")
    fields = read_picture(report.written[1]).fields
    assert (fields["seed"], fields["steps"], fields["cfg_scale"]) == (77, 30, 6.5)
    assert (fields["width"], fields["height"]) == (16, 8)


def test_a_picture_with_nothing_to_say_gets_no_exif(tmp_path):
    (tmp_path / "src").mkdir()
    plain = png(tmp_path / "src" / "plain.png")
    report = export([plain], tmp_path / "out", ExportOptions(format="webp"))
    with Image.open(report.written[0]) as image:
        assert USER_COMMENT not in image.getexif().get_ifd(EXIF_IFD)


def test_jpeg_flattens_transparency_on_white(tmp_path):
    (tmp_path / "src").mkdir()
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[:, :4] = (200, 0, 0, 255)  # left half opaque red, right half transparent black
    Image.fromarray(rgba).save(tmp_path / "src" / "cut.png")
    report = export([tmp_path / "src" / "cut.png"], tmp_path / "out", ExportOptions(format="jpeg"))
    got = pixels(report.written[0])
    assert np.abs(got[:, 6:] - 255).max() < 12
    assert np.abs(got[:, :2] - (200, 0, 0)).max() < 30


def test_names_already_taken_are_never_overwritten(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "fox.png").write_bytes(b"someone else's file")
    sources = []
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        sources.append(png(tmp_path / folder / "fox.png", {"parameters": A1111}))
    report = export(sources, out)
    assert [p.name for p in report.written] == ["fox (2).png", "fox (3).png"]
    assert (out / "fox.png").read_bytes() == b"someone else's file"


HOSTILE = [
    "new\nline.png",
    "colon:and?star*.png",
    "..hidden.png",
    "CON.png",
    "trailing dot. .png",
    "x" * 250 + ".png",
    "tab\tand\x1bescape.png",
]


def test_hostile_names_become_safe_ones(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    sources = [png(src / name, {"parameters": A1111}) for name in HOSTILE]
    raw = os.fsencode(src) + b"/\xff\xfe not utf8.png"  # a name undecodable as UTF-8
    with open(raw, "wb") as file:
        file.write(sources[0].read_bytes())
    sources.append(Path(os.fsdecode(raw)))
    report = export(sources, tmp_path / "out", ExportOptions(format="webp"))
    assert len(report.written) == len(sources), [x.why for x in report.failed]
    for target in report.written:
        name = target.name
        assert target.parent == tmp_path / "out"
        assert not set(name) & set('<>:"/\\|?*') and name.isprintable(), name
        assert not name.startswith(".") and len(name.encode()) <= 255
        assert name.split(".")[0].upper() != "CON"
        name.encode("utf-8")  # no lone surrogates: writable on any disk
        assert read_picture(target).fields["seed"] == 5
    assert sorted(os.listdir(tmp_path / "out")) == sorted(p.name for p in report.written)


def test_sources_are_never_written(ours, tmp_path):
    gallery = tmp_path / "gallery"
    before = tree_digest(gallery)
    for how in (
        ExportOptions(),
        ExportOptions(metadata="strip"),
        ExportOptions(format="jpeg"),
        ExportOptions(format="webp", metadata="strip"),
    ):
        export(ours, tmp_path / "out", how)
    contact_sheet(ours, tmp_path / "out" / "sheet.png")
    assert tree_digest(gallery) == before


def test_a_source_folder_is_refused_as_the_target(ours):
    with pytest.raises(BadInput, match="never written"):
        export(ours, ours[0].parent)


def test_cancel_between_files_leaves_whole_files_only(ours, tmp_path):
    stop: list[int] = []  # set once the first picture is done
    report = export(
        ours, tmp_path / "out", progress=lambda *_: stop.append(1), cancelled=lambda: bool(stop)
    )
    assert report.cancelled and len(report.written) == 1
    assert os.listdir(tmp_path / "out") == [report.written[0].name]
    assert report.written[0].read_bytes() == ours[0].read_bytes()


def test_cancel_in_the_middle_of_a_copy_leaves_no_part_of_it(tmp_path):
    (tmp_path / "src").mkdir()
    noise = np.random.default_rng(0).integers(0, 256, (800, 800, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "src" / "big.png", compress_level=0)
    assert (tmp_path / "src" / "big.png").stat().st_size > 1024 * 1024  # copied in parts
    calls = []
    report = export(
        [tmp_path / "src" / "big.png"],
        tmp_path / "out",
        cancelled=lambda: bool(calls.append(1)) or len(calls) > 2,  # after the first part
    )
    assert report.cancelled and report.written == []
    assert os.listdir(tmp_path / "out") == []  # not even a temp file


def test_a_full_disk_stops_the_export_with_a_sentence_and_no_part_files(
    ours, tmp_path, monkeypatch
):
    real = export_module.write_new_atomic

    def full(path, write):
        def half(file):
            file.write(b"\x89PNG half")
            raise OSError(errno.ENOSPC, "No space left on device")

        real(path, half)

    monkeypatch.setattr(export_module, "write_new_atomic", full)
    report = export(ours, tmp_path / "out")
    assert report.written == [] and len(report.failed) == 2
    assert all("the disk is full" in x.why for x in report.failed)
    assert os.listdir(tmp_path / "out") == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs file permissions")
def test_a_folder_inside_nothing_writable_is_refused(ours, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(BadInput, match="permission denied"):
            export(ours, locked / "exports")
    finally:
        locked.chmod(0o700)


def test_bad_targets_and_options_are_refused_with_a_sentence(ours, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(BadInput, match="is a file"):
        export(ours, tmp_path / "file")
    with pytest.raises(BadInput, match="part of that path is a file"):
        export(ours, tmp_path / "file" / "exports")  # inside nothing a folder can be made in
    with pytest.raises(BadInput, match="Nothing to export"):
        export([], tmp_path / "out")
    with pytest.raises(BadInput, match="PNG, JPEG or WebP"):
        export(ours, tmp_path / "out", ExportOptions(format="gif"))
    with pytest.raises(BadInput, match="1 to 100"):
        export(ours, tmp_path / "out", ExportOptions(quality=0))


def test_unreadable_sources_are_named_and_the_rest_exported(ours, tmp_path):
    (tmp_path / "junk.png").write_text("not a picture")
    report = export([tmp_path / "junk.png", tmp_path / "gone.png", ours[0]], tmp_path / "out")
    assert [x.target is None for x in report.items] == [True, True, False]
    assert "junk.png" in report.items[0].why and "not a picture" in report.items[0].why
    assert "does not exist" in report.items[1].why


def test_a_prompt_too_long_for_a_jpeg_exif_is_refused_for_that_picture(tmp_path):
    (tmp_path / "src").mkdir()
    long = png(
        tmp_path / "src" / "long.png",
        {"parameters": "fox " * 10_000 + "\nSteps: 2, Seed: 1, Size: 1x1"},
    )
    report = export([long], tmp_path / "out", ExportOptions(format="jpeg"))
    assert report.written == [] and "too long for a JPEG" in report.failed[0].why
    webp = export([long], tmp_path / "out", ExportOptions(format="webp"))  # no 64 KiB limit
    assert read_picture(webp.written[0]).fields["prompt"].startswith("fox fox")


# ---------------------------------------------------------------- contact sheet


def test_contact_sheet_has_a_tile_per_picture_that_looks_like_it(tmp_path):
    (tmp_path / "src").mkdir()
    rng = np.random.default_rng(1)
    sources, images = [], []
    for i, (height, width) in enumerate([(40, 80), (80, 40), (64, 64), (30, 30), (100, 50)]):
        # smooth pictures (a gradient and a colour) so that resampling filters agree
        y, x = np.mgrid[0:height, 0:width]
        rgb = np.stack(
            [x * 255 // width, y * 255 // height, np.full_like(x, rng.integers(256))], -1
        )
        image = Image.fromarray(rgb.astype(np.uint8))
        image.save(tmp_path / "src" / f"p{i}.png")
        sources.append(tmp_path / "src" / f"p{i}.png")
        images.append(image)
    tile, columns = 64, 2
    report = contact_sheet(sources, tmp_path / "sheet.png", SheetOptions(columns, tile))
    rows = 3
    assert report.size == (GAP + columns * (tile + GAP), GAP + rows * (tile + CAPTION_HEIGHT + GAP))
    sheet = np.asarray(Image.open(report.path).convert("RGB"), dtype=np.int16)
    assert sheet.shape[:2] == report.size[::-1]
    for i, image in enumerate(images):
        scale = min(1.0, tile / image.width, tile / image.height)  # fit, never enlarge
        w, h = max(1, round(image.width * scale)), max(1, round(image.height * scale))
        expected = np.asarray(image.resize((w, h), Image.Resampling.BOX), dtype=np.int16)
        row, column = divmod(i, columns)
        x = GAP + column * (tile + GAP) + (tile - w) // 2
        y = GAP + row * (tile + CAPTION_HEIGHT + GAP) + (tile - h) // 2
        got = sheet[y : y + h, x : x + w]
        assert np.abs(got - expected).mean() < 6, i


def test_contact_sheet_never_replaces_a_file_and_names_unreadable_pictures(ours, tmp_path):
    (tmp_path / "sheet.png").write_bytes(b"keep me")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "junk.png").write_text("junk")
    report = contact_sheet(
        [*ours, tmp_path / "src" / "junk.png"], tmp_path / "sheet.png", SheetOptions(4, 32)
    )
    assert report.path.name == "sheet (2).png" and report.pictures == 2
    assert (tmp_path / "sheet.png").read_bytes() == b"keep me"
    assert report.left_out[0][0].name == "junk.png"
    assert report.size == (GAP + 2 * (32 + GAP), GAP + (32 + CAPTION_HEIGHT + GAP))


def test_contact_sheet_too_large_or_cancelled(ours, tmp_path):
    with pytest.raises(BadInput, match="too large"):
        contact_sheet(ours * 2000, tmp_path / "s.png", SheetOptions(1, 2048))
    assert contact_sheet(ours, tmp_path / "s.png", cancelled=lambda: True) is None
    assert not (tmp_path / "s.png").exists()


# ---------------------------------------------------------------- command line


def test_cli_exports_a_search_and_draws_a_sheet(ours, tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1"}
    out = tmp_path / "out"
    args = ["--export", str(out), "--format", "jpeg", "--contact-sheet", str(out / "sheet.png")]
    done = subprocess.run(
        [
            sys.executable,
            "main.py",
            "gallery",
            "--out",
            str(tmp_path / "gallery"),
            "--search",
            "fox",
            *args,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert lines[0] == {"path": str(ours[0]), "exported": str(out / (ours[0].stem + ".jpg"))}
    assert lines[1]["contact_sheet"] == str(out / "sheet.png") and lines[1]["pictures"] == 1
    assert user_comment(out / (ours[0].stem + ".jpg")).startswith(b"UNICODE\0")
    with Image.open(io.BytesIO((out / "sheet.png").read_bytes())) as sheet:
        assert sheet.size == tuple(lines[1]["size"])


def test_on_a_disk_without_hard_links_names_are_still_never_reused(ours, tmp_path, monkeypatch):
    def no_links(*_args):
        raise PermissionError(errno.EPERM, "Operation not permitted")  # as FAT answers

    monkeypatch.setattr(os, "link", no_links)
    first = export(ours[:1], tmp_path / "out")
    second = export(ours[:1], tmp_path / "out")
    assert [first.written[0].name, second.written[0].name] == [
        ours[0].name,
        f"{ours[0].stem} (2).png",
    ]
    assert sorted(os.listdir(tmp_path / "out")) == sorted(
        [first.written[0].name, second.written[0].name]
    )


@pytest.mark.parametrize("fmt", ["", "png", "jpeg", "webp"])
def test_stripping_a_jpeg_drops_its_exif_and_xmp(tmp_path, fmt):
    (tmp_path / "src").mkdir()
    exif = Image.Exif()
    exif.get_ifd(EXIF_IFD)[USER_COMMENT] = b"UNICODE\0" + A1111.encode("utf-16-be")
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>a fox</rdf:RDF></x:xmpmeta>'
    source = tmp_path / "src" / "shot.jpg"
    Image.new("RGB", (16, 8), "teal").save(source, "JPEG", exif=exif, xmp=xmp, comment=b"fox")
    assert read_picture(source).fields["seed"] == 5  # it did say something
    report = export([source], tmp_path / "out", ExportOptions(metadata="strip", format=fmt))
    data = report.written[0].read_bytes()
    assert b"a fox" not in data and b"fox" not in data and b"Exif\0" not in data
    assert "a fox".encode("utf-16-be") not in data
    assert read_picture(report.written[0]).fields == {}


def ifd_entries(tiff: bytes, offset: int) -> dict[int, tuple[int, int, bytes]]:
    """tag -> (type, count, the 4-byte value/offset field) of one TIFF IFD, read by hand."""
    order = "<" if tiff[:2] == b"II" else ">"
    (count,) = struct.unpack(order + "H", tiff[offset : offset + 2])
    entries = {}
    for i in range(count):
        at = offset + 2 + 12 * i
        tag, kind, n = struct.unpack(order + "HHI", tiff[at : at + 8])
        entries[tag] = (kind, n, tiff[at + 8 : at + 12])
    return entries


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_the_user_comment_is_an_undefined_tag_in_the_exif_ifd(ours, tmp_path, fmt):
    """As EXIF 2.3 has it and piexif (A1111's reader) needs it: type 7, UNDEFINED; a
    BYTE tag (what Pillow's Image.Exif writes for bytes) reads back as numbers."""
    report = export(ours[:1], tmp_path / "out", ExportOptions(format=fmt))
    with Image.open(report.written[0]) as image:
        raw = image.info["exif"]
    tiff = raw[6:] if raw.startswith(b"Exif\0\0") else raw
    order = "<" if tiff[:2] == b"II" else ">"
    (first,) = struct.unpack(order + "I", tiff[4:8])
    _kind, _n, pointer = ifd_entries(tiff, first)[EXIF_IFD]
    (exif_ifd,) = struct.unpack(order + "I", pointer)
    kind, count, where = ifd_entries(tiff, exif_ifd)[USER_COMMENT]
    (at,) = struct.unpack(order + "I", where)
    with Image.open(ours[0]) as image:
        text = image.text["parameters"]
    assert kind == 7 and count == 8 + 2 * len(text)
    assert tiff[at : at + count] == b"UNICODE\0" + text.encode("utf-16-be")


def test_keeping_metadata_into_png_writes_the_parameters_chunk(tmp_path):
    (tmp_path / "src").mkdir()
    exif = Image.Exif()
    exif.get_ifd(EXIF_IFD)[USER_COMMENT] = b"UNICODE\0" + A1111.encode("utf-16-be")
    source = tmp_path / "src" / "shot.jpg"
    Image.new("RGB", (16, 8), "teal").save(source, "JPEG", exif=exif)
    report = export([source], tmp_path / "out", ExportOptions(format="png"))
    with Image.open(report.written[0]) as image:
        assert image.format == "PNG" and image.text == {"parameters": A1111}


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--strip"], "--strip"),
        (["--format", "jpeg", "--quality", "80"], "--format, --quality"),
        (["--sheet-columns", "3"], "--sheet-columns"),
    ],
)
def test_cli_refuses_export_options_without_an_export(ours, tmp_path, capsys, flags, named):
    """Options that shape an export or a sheet, given without one, would be silently
    ignored: the command says so instead, and writes nothing."""
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code = main.main(["gallery", "--out", str(tmp_path / "gallery"), *flags, str(ours[0])])
    assert code == 2 and named in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
