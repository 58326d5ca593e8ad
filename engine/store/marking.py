"""Setting stars and boards on pictures (issue 24): where each change is kept.

A picture in the output folder is ours: the change goes into its PNG first (atomically,
pixels untouched: engine.store.marks), then into the index, so the file stays the truth
and a rebuild finds it. A picture outside it (another tool's folder, read only) is never
written: its stars and boards live in the index only, under its absolute path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

from engine.store.errors import StoreError, reason
from engine.store.index import GalleryIndex
from engine.store.marks import MARKS_KEY, Marks, marks_from_text, write_marks
from engine.store.png import read_png_text

Change = Callable[[Marks], Marks]


def mark_key(root: Path, path: Path | str, must_exist: bool = True) -> tuple[str, bool]:
    """(the index key of `path`, whether it is in the output folder `root`)."""
    if "\0" in str(path):
        raise StoreError(f"{str(path)!r} is not a valid file name (it holds a NUL).")
    given = Path(path).expanduser()
    resolved = (given if given.is_absolute() else root / given).resolve()
    if must_exist and not resolved.is_file():
        raise StoreError(f"{path} is not a picture file; stars and boards go on pictures.")
    if resolved.is_relative_to(root.resolve()):
        return PurePosixPath(resolved.relative_to(root.resolve())).as_posix(), True
    return resolved.as_posix(), False


def change_marks(
    root: Path, index: GalleryIndex, paths: Iterable[Path | str], change: Change
) -> list[Marks]:
    """Apply `change` to each picture's marks; the new marks, in order. StoreError
    (naming the file) when one cannot be written; the ones before it are kept."""
    results = []
    for path in paths:
        key, ours = mark_key(root, path)
        if ours:
            file = root.resolve() / key
            marks = change(_file_marks(file))
            try:
                write_marks(file, marks)
            except (OSError, ValueError) as exc:
                why = reason(exc) if isinstance(exc, OSError) else str(exc)
                raise StoreError(f"Could not keep the stars and boards in {file}: {why}.") from exc
        else:
            marks = change(index.marks(key))
        index.set_marks(key, marks)
        results.append(marks)
    return results


def _file_marks(path: Path) -> Marks:
    try:
        text, _size = read_png_text(path)
    except (OSError, ValueError) as exc:
        raise StoreError(f"Could not read {path}: {exc}.") from exc
    return marks_from_text(text.get(MARKS_KEY)) or Marks()
