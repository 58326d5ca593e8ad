"""Folders of a user's images for the data set tests: what to write into them, and how
to check that the app only read them."""

from __future__ import annotations

from pathlib import Path

from PIL import Image


def is_sentence(message: str) -> bool:
    """A sentence a user can read: a full stop last, some words, more than a fragment."""
    return message.endswith(".") and len(message.split()) >= 6 and len(message) > 30


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (hidden ones too), by relative name, with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def add_unreadable_files(folder: Path) -> Path:
    """Four files a training must skip: notes.txt (not an image), fake.png (text under an
    image name), zero.png (empty) and cut.jpg (a truncated JPEG); and the whole JPEG it was
    cut from, whole.jpg, whose path is returned."""
    (folder / "notes.txt").write_text("shopping list")
    (folder / "fake.png").write_text("a text file renamed to .png")
    (folder / "zero.png").write_bytes(b"")
    whole = folder / "whole.jpg"
    Image.new("RGB", (64, 64), (10, 200, 10)).save(whole, quality=95)
    (folder / "cut.jpg").write_bytes(whole.read_bytes()[:200])
    return whole
