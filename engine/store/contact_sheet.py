"""A contact sheet: a selection's thumbnails on one PNG, in a grid, each with its file
name and seed (and stars, where known) underneath (issue 24).

Pure Pillow. The caption font is Pillow's own default (ImageFont.load_default), so
nothing is downloaded and no system font is needed. Each tile is a TILE x TILE square
holding the picture scaled to fit (never enlarged), centred; pictures that cannot be
read are left out and named in the report.

Layout, in pixels: GAP around and between tiles; under each tile CAPTION_HEIGHT for two
lines of text. Column c, row r's tile starts at (GAP + c * (tile + GAP),
GAP + r * (tile + CAPTION_HEIGHT + GAP)).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from engine.api.errors import BadInput
from engine.store.errors import reason
from engine.store.export import prepare_folder, write_under_free_name
from engine.store.export_encode import MAX_PIXELS
from engine.store.foreign import read_picture

GAP = 8
CAPTION_HEIGHT = 32
BACKGROUND = (255, 255, 255)
TEXT = (40, 40, 40)
MAX_SHEET_PIXELS = 64_000_000  # 190 MB of RGB while drawing
FONT_SIZE = 12


@dataclass(frozen=True)
class SheetOptions:
    columns: int = 4
    tile: int = 256  # the side of each thumbnail's square, in pixels

    def check(self) -> SheetOptions:
        for name, value, low, high in (
            ("columns", self.columns, 1, 64),
            ("tile", self.tile, 32, 2048),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise BadInput(f"The sheet's {name} must be a whole number from {low} to {high}.")
        return self


@dataclass
class SheetReport:
    path: Path
    size: tuple[int, int]
    pictures: int
    left_out: list[tuple[Path, str]] = field(default_factory=list)  # and why


def sheet_size(count: int, how: SheetOptions) -> tuple[int, int]:
    columns = min(how.columns, max(count, 1))
    rows = math.ceil(count / how.columns) if count else 0
    width = GAP + columns * (how.tile + GAP)
    height = GAP + rows * (how.tile + CAPTION_HEIGHT + GAP)
    return width, height


def contact_sheet(
    paths: list[Path] | list[str],
    target: Path | str,
    how: SheetOptions | None = None,
    stars: Mapping[str, int] | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> SheetReport | None:
    """Draw the sheet and write it as a PNG at `target`, or, when that name is taken,
    at "name (2).png"... (a file is never replaced). None when cancelled (nothing is
    written). BadInput when nothing can be drawn or the sheet would be too large."""
    how = (how or SheetOptions()).check()
    sources = [Path(p) for p in paths]
    if not sources:
        raise BadInput("Nothing to put on a contact sheet: select some pictures first.")
    width, height = sheet_size(len(sources), how)
    if width * height > MAX_SHEET_PIXELS:
        raise BadInput(
            f"{len(sources):,} pictures make a sheet of {width:,}x{height:,} pixels, too large "
            "for one picture; select fewer, or make the tiles smaller."
        )
    target = Path(target).expanduser()
    folder = prepare_folder(target.parent, sources)
    tiles, left_out = [], []
    for done, source in enumerate(sources):
        if cancelled and cancelled():
            return None
        try:
            tiles.append((source, thumbnail(source, how.tile)))
        except _Unreadable as exc:
            left_out.append((source, str(exc)))
        if progress:
            progress(done + 1, len(sources))
    if not tiles:
        raise BadInput("None of the selected pictures can be read; no sheet was made.")
    sheet = draw_sheet(tiles, how, stars or {})
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    data = buffer.getvalue()
    stem = target.stem if target.suffix.lower() == ".png" else target.name
    written = write_under_free_name(folder, stem, ".png", lambda f: f.write(data))
    return SheetReport(written, sheet.size, len(tiles), left_out)


class _Unreadable(Exception):
    pass


def thumbnail(source: Path, side: int) -> Image.Image:
    """The picture scaled to fit a side x side square (never enlarged), on white."""
    try:
        with Image.open(source) as image:
            if image.width * image.height > MAX_PIXELS:
                raise _Unreadable(f"at {image.width}x{image.height} it is too large to read.")
            image.draft("RGB", (side, side))  # a JPEG decodes at a fraction of its size
            image = ImageOps.exif_transpose(image) or image
            rgba = image.convert("RGBA")
    except _Unreadable:
        raise
    except UnidentifiedImageError:
        raise _Unreadable("it is not a picture that can be read.") from None
    except OSError as exc:
        raise _Unreadable(f"it cannot be read ({reason(exc)}).") from None
    except Exception as exc:  # a damaged picture: Pillow raises many types
        raise _Unreadable(f"it is not a picture that can be read ({exc}).") from None
    rgba.thumbnail((side, side), Image.Resampling.LANCZOS)
    flat = Image.new("RGB", rgba.size, BACKGROUND)
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


def draw_sheet(
    tiles: list[tuple[Path, Image.Image]], how: SheetOptions, stars: Mapping[str, int]
) -> Image.Image:
    sheet = Image.new("RGB", sheet_size(len(tiles), how), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = _font()
    for i, (source, thumb) in enumerate(tiles):
        row, column = divmod(i, how.columns)
        x = GAP + column * (how.tile + GAP)
        y = GAP + row * (how.tile + CAPTION_HEIGHT + GAP)
        sheet.paste(thumb, (x + (how.tile - thumb.width) // 2, y + (how.tile - thumb.height) // 2))
        for line, text in enumerate(_caption(source, stars)):
            fitted = _fit(draw, text, font, how.tile)
            draw.text((x, y + how.tile + 2 + line * (FONT_SIZE + 3)), fitted, fill=TEXT, font=font)
    return sheet


def _caption(source: Path, stars: Mapping[str, int]) -> list[str]:
    seed = read_picture(source).fields.get("seed")
    second = [f"seed {seed}" if seed is not None else "no seed"]
    count = stars.get(str(source), 0)
    if count:
        second.append(f"{count} star" + ("s" if count > 1 else ""))
    return [_printable(source.name), ", ".join(second)]


def _printable(text: str) -> str:
    """A file name as the font can draw it: control codes and undecodable bytes as '?'."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join(c if c.isprintable() else "?" for c in text)


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    """`text`, cut with "..." to fit `width` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..."


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=FONT_SIZE)  # Pillow's built-in, with FreeType
    except (TypeError, ValueError, OSError):
        return ImageFont.load_default()  # the bitmap font, without FreeType
