"""Where a remote job's pictures land: in the user's gallery, on this computer (and a
remote training's files: in its run folder here, engine.cluster.run_files).

The worker sends the pixels (PNG, lossless) and what its runner recorded; here its own
paths are put back to the user's (the model the request named), the recipe says where
the picture was made, and the images are saved as a local job's are
(engine.finishing.save_results), with the request as the user sent it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from engine.api.outcomes import WORKER_KEY, ImagesOutcome, ModelOutcome, Outcome
from engine.api.requests import Request
from engine.cluster.run_files import land_run
from engine.finishing import save_results
from engine.store import GalleryStore


def land(
    outcome: Outcome,
    request: Request,
    store: Callable[[], GalleryStore | None],
    worker: str,
) -> Outcome:
    """The outcome with its images saved here (when the request saves images), or a
    training's files written in its run folder here."""
    if isinstance(outcome, ModelOutcome) and outcome.files:
        return land_run(outcome, Path(request.output))
    if not isinstance(outcome, ImagesOutcome):
        return outcome
    images = tuple(
        replace(image, info=info_here(image.info, request, worker), png_text={})
        for image in outcome.images
    )
    return replace(
        outcome, images=save_results(store() if request.saves_images else None, images, request)
    )


def info_here(info: dict, request: Request, worker: str) -> dict:
    """A remote picture's info as this computer keeps it: made on `worker`, and the
    model named by the user's path (a plot's cells too: engine.cluster.plot_fanout)."""
    info = {**info, WORKER_KEY: f"Ray cluster: {worker}"}
    model = getattr(request, "model", None)
    if "model_path" in info and model is not None:
        from engine.api.catalogue import model_path

        info["model_path"] = str(model_path(model).resolve())
    return info
