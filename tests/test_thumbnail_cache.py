"""The thumbnail cache on disk (engine.store.thumbnails): what it hands back is Pillow's
own thumbnail of the picture, a changed picture or a spoilt cache file is made again,
and the folder stays within its bound."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.store.thumbnails import ThumbnailCache


def picture(path: Path, seed: int, size: tuple[int, int] = (300, 200)) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), np.uint8)).save(path)
    return path


def pillow_thumbnail(path: Path, size: int = 128) -> np.ndarray:
    """The oracle: Pillow's thumbnail of the file, made here without the cache."""
    with Image.open(path) as image:
        image.thumbnail((size, size))
        return np.asarray(image.convert("RGB"))


def cached_files(cache: ThumbnailCache) -> list[Path]:
    return sorted(cache.folder.glob("*/*.png"))


@pytest.fixture
def cache(tmp_path: Path) -> ThumbnailCache:
    return ThumbnailCache(tmp_path / "thumbs")


def test_a_miss_and_then_a_hit_give_pillows_thumbnail(tmp_path, cache):
    source = picture(tmp_path / "a.png", 1)
    first = np.asarray(cache.thumbnail(source))
    assert len(cached_files(cache)) == 1
    again = np.asarray(cache.thumbnail(source))  # from the file on disk
    expected = pillow_thumbnail(source)
    assert first.shape == expected.shape == (85, 128, 3)
    np.testing.assert_array_equal(first, expected)
    np.testing.assert_array_equal(again, expected)


def test_a_hit_does_not_decode_the_picture(tmp_path, cache, monkeypatch):
    source = picture(tmp_path / "a.png", 2)
    cache.thumbnail(source)
    opened: list[str] = []
    real_open = Image.open
    monkeypatch.setattr(Image, "open", lambda p, *a, **k: opened.append(str(p)) or real_open(p))
    cache.thumbnail(source)
    assert opened and all(str(source) != p for p in opened)


def test_a_changed_picture_is_made_again(tmp_path, cache):
    source = picture(tmp_path / "a.png", 3)
    old = np.asarray(cache.thumbnail(source))
    picture(source, 4)  # the same name, other pixels
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    new = np.asarray(cache.thumbnail(source))
    np.testing.assert_array_equal(new, pillow_thumbnail(source))
    assert not np.array_equal(old, new)


def test_a_corrupt_cache_file_is_made_again(tmp_path, cache):
    source = picture(tmp_path / "a.png", 5)
    cache.thumbnail(source)
    cached = cache.file_for(source)
    cached.write_bytes(b"\x89PNG\r\n\x1a\n not a png at all")
    np.testing.assert_array_equal(np.asarray(cache.thumbnail(source)), pillow_thumbnail(source))
    with Image.open(cached) as image:  # and the file was written again, whole
        image.verify()


def test_a_truncated_cache_file_is_made_again(tmp_path, cache):
    source = picture(tmp_path / "a.png", 6)
    cache.thumbnail(source)
    cached = cache.file_for(source)
    cached.write_bytes(cached.read_bytes()[:-40])
    np.testing.assert_array_equal(np.asarray(cache.thumbnail(source)), pillow_thumbnail(source))


def test_the_bound_is_respected_oldest_first(tmp_path):
    sources = [picture(tmp_path / f"{i}.png", 10 + i, (64, 64)) for i in range(12)]
    probe = ThumbnailCache(tmp_path / "probe")
    probe.thumbnail(sources[0])
    one = cached_files(probe)[0].stat().st_size
    cache = ThumbnailCache(tmp_path / "thumbs", max_bytes=int(one * 4.5))
    for age, source in enumerate(sources):
        cache.thumbnail(source)
        os.utime(cache.file_for(source), ns=(age * 10**9, age * 10**9))  # made in turn
    assert cache.prune() > 0
    assert cache.total_bytes() <= cache.max_bytes
    kept = {p.name for p in cached_files(cache)}
    newest = {cache.file_for(s).name for s in sources[-3:]}
    oldest = {cache.file_for(s).name for s in sources[:3]}
    assert newest <= kept and not (oldest & kept)


def test_a_picture_that_cannot_be_read_raises_and_caches_nothing(tmp_path, cache):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    with pytest.raises(OSError):
        cache.thumbnail(broken)
    with pytest.raises(OSError):
        cache.thumbnail(tmp_path / "gone.png")
    assert not cached_files(cache)
