"""Running an X/Y/Z plot: one job whose runner runs each cell through the family's own
text-to-image runner, then draws the labelled grid.

Why one job and not a sequence of queued jobs: the grid needs every cell, the queue
shows one line with one progress bar over the whole plot (cell k of n), one cancel
stops it within one step of the cell running, and the grid's recipe is the job's own
request, so re-running that recipe re-runs the whole plot. Each cell is the single
text-to-image job its request describes, run by the same runner instance (its model
stays loaded between cells), so its pixels are that job's pixels.

The outcome is the grid first, then every cell; each cell carries its own request
(OWN_REQUEST_KEY), so engine.finishing saves it with its own recipe and links it to the
grid saved just before it. A family registers its plot runner as a subclass naming its
text-to-image runner and how many steps a cell takes (engine.models.sd.runners).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, ClassVar

from engine.api.events import Event, Preview, Progress
from engine.api.outcomes import OWN_REQUEST_KEY, ImagesOutcome, ResultImage
from engine.api.requests import Txt2ImgRequest, XyzPlotRequest
from engine.api.requests.xyz import Plot, plot_of
from engine.batch.xyz_grid_image import GridLabels, draw_grid
from engine.context import JobContext
from engine.registry import RunnerEnv


class XyzPlotRunner:
    cell_runner: ClassVar[type]  # the family's text-to-image runner
    steps_of: ClassVar[Callable[[Txt2ImgRequest], int]]  # a cell's progress steps
    # An out-of-memory retry would make every cell done so far again.
    retry_on_oom: ClassVar[bool] = False

    def __init__(self, env: RunnerEnv) -> None:
        self.env = env
        self.cells = self.cell_runner(env)

    def run(self, request: XyzPlotRequest, ctx: JobContext) -> ImagesOutcome:
        plot = plot_of(request)  # the runtime has checked each cell's files (local_checks)
        steps = [type(self).steps_of(cell) for cell in plot.cells]
        total = sum(steps)
        images: dict[int, ResultImage] = {}
        done = 0
        for k, index in enumerate(plot.run_order):
            message = f"Cell {k + 1} of {len(plot.cells)}"
            child = _cell_context(ctx, done, total, message)
            outcome = self.cells.run(plot.cells[index], child)
            image = outcome.images[0]
            ctx.emit(Preview(ctx.job_id, image.rgb.copy()))  # each cell as it is made
            images[index] = as_cell(image, plot, index)
            done += steps[index]
        cells = [images[i] for i in range(len(plot.cells))]
        return ImagesOutcome((grid_picture(cells, plot, request), *cells))

    def unload(self) -> None:
        self.cells.unload()


def _cell_context(ctx: JobContext, done: int, total: int, message: str) -> JobContext:
    """A context for one cell: its steps counted on from the cells before it, out of
    the whole plot's; cancel, previews and the job's id are the plot's."""

    def emit(event: Event) -> None:
        if isinstance(event, Progress):
            ctx.report(done + event.step, total, message=event.message or message)
        else:
            ctx.emit(event)

    return JobContext(ctx.job_id, emit, ctx.control, ctx.previews)


def as_cell(image: ResultImage, plot: Plot, index: int) -> ResultImage:
    """Cell `index`'s picture with its place in the plot and its own request (its
    recipe when saved); a cluster's plot (engine.cluster.plot_fanout) uses it too."""
    position = plot.position(index)
    labels = [axis.captions[i] for axis, i in zip(plot.axes, position, strict=True)]
    cell = {"index": index, "position": list(position), "labels": [t for t in labels if t]}
    info = {**image.info, "xyz_cell": cell, OWN_REQUEST_KEY: plot.cells[index]}
    return replace(image, info=info)  # its index stays its batch's (0): its place is above


def grid_picture(cells: list[ResultImage], plot: Plot, request: XyzPlotRequest) -> ResultImage:
    """The labelled grid of every cell (grid order), whose info describes the plot."""
    x, y, z = plot.axes
    labels = GridLabels(x.captions, y.captions, z.captions) if request.legend else None
    picture = draw_grid([cell.rgb for cell in cells], plot.shape, labels)
    first = cells[0]
    info: dict[str, Any] = {
        k: v for k, v in first.info.items() if k not in (OWN_REQUEST_KEY, "xyz_cell")
    }
    info["xyz"] = {
        "shape": list(plot.shape),
        "axes": [
            {"type": a.type.key, "label": a.type.label, "captions": list(a.captions)}
            for a in plot.axes
        ],
        "seeds": [cell.seed for cell in cells],
        **picture.to_dict(),
    }
    return ResultImage(picture.rgb, first.seed, 0, info)
