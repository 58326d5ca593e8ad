"""What happens to a job's images after its runner returns: the steps its outcome declares.

1. compose: an outcome whose `sheet` is not Sheet.NONE becomes one image, a near-square
   grid, one row, or latent arithmetic's A − B + C = result, whose recipe lists what each
   cell was (seeds; t for a walk's frames; classes; operands) and the layout;
2. save: each image goes to the gallery when the request saves images; one that is not
   written keeps its PNG text, so Save As still writes it with its recipe. The control
   maps a job made (in the info under CONTROL_MAPS_KEY) are kept with a saved image as
   PNGs in the gallery's inputs/ (content-addressed), named in its recipe by path and
   sha256 ("control_maps"); an image not saved drops them. A walk saved one file per
   frame names its first frame in each later frame's recipe (WALK_FIRST_KEY, path and
   sha256), so the gallery's lineage holds the frames together. An X/Y/Z plot's outcome
   is its grid, then its cells: each cell is saved with its own request as its recipe
   (OWN_REQUEST_KEY) and names the grid (PLOT_GRID_KEY), saved first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from engine.api.equation_strip import equation_strip
from engine.api.errors import BadInput
from engine.api.grid import GridLayout, filmstrip, image_grid
from engine.api.outcomes import (
    CONTROL_MAPS_KEY,
    OWN_REQUEST_KEY,
    ImagesOutcome,
    ResultImage,
    Sheet,
)
from engine.api.requests import InterpolateRequest, LatentWalkRequest, Request, XyzPlotRequest
from engine.hashing import file_sha256
from engine.store import GalleryStore, StoreError, encode_png, png_text
from engine.store.lineage import PLOT_GRID_KEY, WALK_FIRST_KEY


def finish_images(
    outcome: ImagesOutcome, request: Request, store: Callable[[], GalleryStore | None]
) -> ImagesOutcome:
    """The outcome composed as it declares and saved as the request says; `store` is
    opened only when the request saves images."""
    images = outcome.images
    if outcome.sheet is not Sheet.NONE and len(images) > 1:
        images = (compose_sheet(images, outcome.sheet),)
    return ImagesOutcome(save_results(store() if request.saves_images else None, images, request))


def compose_sheet(images: tuple[ResultImage, ...], sheet: Sheet) -> ResultImage:
    """One image of all images laid out as `sheet` says, whose info lists each one's seed
    (and class, for a class-conditional model; t, for interpolation frames; operand,
    for arithmetic) and the layout."""
    first = images[0]
    layout = GridLayout.for_images(len(images), first.width, first.height)
    if sheet is not Sheet.GRID:
        layout = GridLayout(len(images), 1, first.width, first.height, layout.gap)
    info = {**first.info, "seeds": [image.seed for image in images], "grid": layout.to_dict()}
    if "t" in first.info:
        info["ts"] = [image.info["t"] for image in images]
        del info["t"]
    if sheet is Sheet.EQUATION:  # latent arithmetic: A − B + C = result, signs drawn
        info["operands"] = [image.info.get("operand") for image in images]
        info.pop("operand", None)
        rgb, layout = equation_strip([image.rgb for image in images])
        info["grid"] = layout.to_dict()
        return ResultImage(rgb, first.seed, 0, info)
    if "label" in first.info:
        info["labels"] = [image.info.get("label") for image in images]
        info["class_names"] = [image.info.get("class_name") for image in images]
    if sheet is Sheet.STRIP:
        return ResultImage(filmstrip([[image.rgb for image in images]]), first.seed, 0, info)
    return ResultImage(image_grid([image.rgb for image in images]), first.seed, 0, info)


def save_results(
    store: GalleryStore | None, images: tuple[ResultImage, ...], request: Request
) -> tuple[ResultImage, ...]:
    """Save each image in turn; after the first failed save (a full disk, a folder gone)
    the rest are kept unsaved with the same reason, without trying again: 256 tries
    would each fail the same way, and each could leave a marker behind."""
    kept: list[ResultImage] = []
    failure = ""
    for image in images:
        if failure:
            kept.append(save_result(None, replace(image, save_error=failure), request))
            continue
        link = _link_to_first(request)
        if kept and kept[0].path and link:
            image = replace(image, info={**image.info, link: _ref(kept[0].path)})
        result = save_result(store, image, request)
        failure = result.save_error or ""
        kept.append(result)
    return tuple(kept)


def _link_to_first(request: Request) -> str | None:
    """The recipe key by which the later images of a job name its first: a latent walk
    (Create's or the Lab's) saved one file per frame, an X/Y/Z plot's cells their grid."""
    if isinstance(request, LatentWalkRequest | InterpolateRequest) and not request.grid:
        return WALK_FIRST_KEY
    return PLOT_GRID_KEY if isinstance(request, XyzPlotRequest) else None


def _ref(path: str) -> dict[str, str]:
    try:
        return {"path": path, "sha256": file_sha256(Path(path))}
    except OSError:  # gone already: the path alone still links the frames
        return {"path": path, "sha256": ""}


def save_result(store: GalleryStore | None, image: ResultImage, request: Request) -> ResultImage:
    """Write one image to the gallery; an image not written keeps its PNG text instead,
    so Save As can still write it with its recipe. Nothing is lost either way."""
    maps = image.info.get(CONTROL_MAPS_KEY)
    request = image.info.get(OWN_REQUEST_KEY, request)  # a plot's cell: its own recipe
    private = (CONTROL_MAPS_KEY, OWN_REQUEST_KEY)
    image = replace(image, info={k: v for k, v in image.info.items() if k not in private})
    if store is not None:
        try:
            if maps:
                image = replace(image, info={**image.info, "control_maps": keep_maps(store, maps)})
            return replace(image, path=str(store.save(image, request)))
        except StoreError as exc:
            image = replace(image, save_error=exc.message)
            image.info.pop("control_maps", None)
    return replace(image, png_text=png_text(image, request, datetime.now().astimezone()))


def keep_maps(store: GalleryStore, maps: list) -> list[dict[str, str]]:
    """Each control map as a PNG in the gallery's inputs/: its path and sha256."""
    refs = []
    for pixels in maps:
        try:
            ref = store.keep_input(encode_png(pixels))
        except BadInput as exc:  # not pixels a PNG holds: a runner's mistake, said plainly
            raise StoreError(exc.message) from exc
        refs.append({"path": ref.path, "sha256": ref.sha256})
    return refs
