"""Export: a selection of pictures copied or saved to a folder (issue 24).

- metadata "keep", same format: the file's bytes, copied as they are (our recipe and
  marks, another tool's chunks or EXIF: all of it).
- metadata "keep", another format: the pixels re-encoded with the A1111 text (PNG:
  `parameters` chunk; JPEG/WebP: EXIF UserComment), so other sites read the prompt.
- metadata "strip": the pixels only (engine.store.export_encode says what goes).

Only the sources are read; each new file is written whole or not at all
(engine.atomic.write_new_atomic) under a free name: an existing file is never replaced,
a taken name becomes "name (2).ext". A cancel stops between two files or mid-copy, and
what was written by then is whole. Per picture, the report says where it went or why
it did not.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from engine.api.errors import BadInput
from engine.atomic import write_new_atomic
from engine.store.errors import FULL_DISK_ERRORS, reason
from engine.store.export_encode import FORMATS, MAX_PIXELS, CannotEncode, a1111_text, encode
from engine.store.export_names import candidates, safe_stem
from engine.store.foreign.picture_text import Unreadable

METADATA = ("keep", "strip")
_PILLOW_FORMATS = {"PNG": "png", "JPEG": "jpeg", "MPO": "jpeg", "WEBP": "webp"}
_COPY_CHUNK = 1024 * 1024
# Errors that every later file would meet too: the export stops at the first.
_FOLDER_ERRORS = FULL_DISK_ERRORS | {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT}


@dataclass(frozen=True)
class ExportOptions:
    metadata: str = "keep"  # "keep" | "strip"
    format: str = ""  # "" (each picture's own) | "png" | "jpeg" | "webp"
    quality: int = 90  # JPEG and WebP, 1-100 (WebP 100: lossless)

    def check(self) -> ExportOptions:
        if self.metadata not in METADATA:
            raise BadInput(f"Metadata is kept or stripped, not {self.metadata!r}.")
        if self.format and self.format not in FORMATS:
            raise BadInput(f"Pictures are exported as PNG, JPEG or WebP, not {self.format!r}.")
        if isinstance(self.quality, bool) or not isinstance(self.quality, int):
            raise BadInput(f"The quality is a whole number from 1 to 100, not {self.quality!r}.")
        if not 1 <= self.quality <= 100:
            raise BadInput(f"The quality is a whole number from 1 to 100, not {self.quality}.")
        return self


@dataclass(frozen=True)
class Exported:
    source: Path
    target: Path | None  # None: not written, `why` says why
    why: str = ""


@dataclass
class ExportReport:
    folder: Path
    items: list[Exported] = field(default_factory=list)
    cancelled: bool = False

    @property
    def written(self) -> list[Path]:
        return [x.target for x in self.items if x.target is not None]

    @property
    def failed(self) -> list[Exported]:
        return [x for x in self.items if x.target is None]

    def summary(self) -> str:
        """One sentence for a status bar."""
        text = f"Exported {len(self.written)} of {len(self.items)} pictures to {self.folder}"
        if self.cancelled:
            text += " (cancelled: the rest were not exported)"
        return text + "."


class _Cancelled(Exception):
    pass


def export(
    paths: list[Path] | list[str],
    folder: Path | str,
    how: ExportOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ExportReport:
    """Export `paths` into `folder` (made if missing). Raises BadInput (a sentence) when
    the export cannot start at all; each picture's own trouble goes in the report."""
    how = (how or ExportOptions()).check()
    sources = [Path(p) for p in paths]
    if not sources:
        raise BadInput("Nothing to export: select some pictures first.")
    folder = prepare_folder(Path(folder), sources)
    stop = cancelled or (lambda: False)
    report = ExportReport(folder)
    for done, source in enumerate(sources):
        if stop():
            report.cancelled = True
            break
        try:
            target = _export_one(source, folder, how, stop)
            report.items.append(Exported(source, target))
        except _Cancelled:
            report.cancelled = True
            break
        except OSError as exc:
            why = f"Could not write into {folder}: {reason(exc)}."
            report.items.append(Exported(source, None, why))
            if exc.errno in _FOLDER_ERRORS:  # the next ones would fail the same way
                report.items += [Exported(s, None, why) for s in sources[done + 1 :]]
                break
        except (Unreadable, CannotEncode) as exc:
            report.items.append(Exported(source, None, f"{source.name}: {exc}"))
        if progress:
            progress(done + 1, len(sources))
    return report


def prepare_folder(folder: Path, sources: list[Path]) -> Path:
    """The target folder, made if missing; BadInput when it cannot be, or when it is a
    folder the pictures come from (source folders are read only)."""
    try:
        folder = folder.expanduser()
        if folder.exists() and not folder.is_dir():
            raise BadInput(f"{folder} is a file; choose a folder to export into.")
        resolved = folder.resolve()
        if any(_parent(s) == resolved for s in sources):
            raise BadInput(
                f"{folder} holds pictures being exported, and their folders are never "
                "written to; choose another folder."
            )
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(
            f"Cannot export into {folder}: {reason(exc)}. Choose another folder."
        ) from None
    except ValueError:  # a NUL in the path
        raise BadInput(f"{folder!r} is not a folder name; choose another folder.") from None
    return folder


def _parent(source: Path) -> Path | None:
    try:
        return source.expanduser().resolve().parent
    except (OSError, ValueError):
        return None


def _export_one(source: Path, folder: Path, how: ExportOptions, stop) -> Path:
    own = _own_format(source)
    fmt = how.format or own
    if how.metadata == "keep" and fmt == own:
        suffix = source.suffix if source.suffix.lower() in _suffixes(own) else FORMATS[own][1]
        return write_under_free_name(folder, safe_stem(source.stem), suffix, _copier(source, stop))
    text = a1111_text(source) if how.metadata == "keep" else None
    data = _encoded(source, fmt, text, how.quality)
    if stop():
        raise _Cancelled
    return write_under_free_name(
        folder, safe_stem(source.stem), FORMATS[fmt][1], lambda f: f.write(data)
    )


def _own_format(source: Path) -> str:
    """ "png", "jpeg" or "webp"; Unreadable (a sentence) for anything else."""
    try:
        with Image.open(source) as image:
            fmt = _PILLOW_FORMATS.get(str(image.format))
    except FileNotFoundError:
        raise Unreadable("it does not exist (moved or deleted?).") from None
    except IsADirectoryError:
        raise Unreadable("it is a folder, not a picture.") from None
    except UnidentifiedImageError:  # an OSError to Pillow, but the disk is fine
        raise Unreadable("it is not a picture that can be read.") from None
    except OSError as exc:
        raise Unreadable(f"it cannot be read ({reason(exc)}).") from None
    except Exception as exc:  # Pillow signals junk with many types
        raise Unreadable(f"it is not a picture that can be read ({exc}).") from None
    if fmt is None:
        raise Unreadable("only PNG, JPEG and WebP pictures are exported.")
    return fmt


def _encoded(source: Path, fmt: str, text: str | None, quality: int) -> bytes:
    try:
        with Image.open(source) as image:
            if image.width * image.height > MAX_PIXELS:
                raise CannotEncode(f"at {image.width}x{image.height} it is too large to convert.")
            image.load()
            return encode(image, fmt, text, quality)
    except (CannotEncode, MemoryError):
        raise
    except OSError as exc:
        raise Unreadable(f"it cannot be read ({reason(exc)}).") from None
    except Exception as exc:  # a damaged picture: Pillow raises many types
        raise CannotEncode(f"it could not be converted ({exc}).") from None


def _suffixes(fmt: str) -> tuple[str, ...]:
    return {"png": (".png",), "jpeg": (".jpg", ".jpeg", ".jpe"), "webp": (".webp",)}[fmt]


def _copier(source: Path, stop) -> Callable[[BinaryIO], None]:
    def copy(target: BinaryIO) -> None:
        try:
            stream = open(source, "rb")  # noqa: SIM115 - closed below, read errors kept apart
        except OSError as exc:
            raise Unreadable(f"it cannot be read ({reason(exc)}).") from None
        with stream:
            while chunk := stream.read(_COPY_CHUNK):
                if stop():
                    raise _Cancelled  # write_new_atomic removes the part written
                target.write(chunk)

    return copy


def write_under_free_name(
    folder: Path, stem: str, suffix: str, write: Callable[[BinaryIO], None]
) -> Path:
    """Write under the first free name of `stem` in `folder`."""
    for name in candidates(stem, suffix):
        target = folder / name
        if os.path.lexists(target):  # a quick look first; the link decides in a race
            continue
        try:
            write_new_atomic(target, write)
        except FileExistsError:
            continue
        return target
    raise OSError(errno.EEXIST, f"every name for {stem}{suffix} is taken")
