"""An X/Y/Z plot: one text-to-image request, and up to three axes that each change one
of its settings over a list of values. The plot is every combination, one picture per
cell, and a labelled grid of them (engine.batch).

The request holds the axes as their values text ("1-3", "Euler, DDIM"), so a grid's
recipe is the plot as typed and re-running it makes the same plot. Random seeds (-1)
are drawn when the plot is made (`with_seeds_drawn`), never when it runs, so the recipe
names the seeds it used. The cells are listed in the grid's order (x fastest, then y,
then z: A1111's index); they are run in A1111's loop order (`Plot.run_order`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import product
from typing import Any, ClassVar

from engine.api import limits
from engine.api.errors import BadInput
from engine.api.kinds import Family, Lane, Task
from engine.api.naming import shorten
from engine.api.outcomes import ImagesOutcome, Outcome
from engine.api.parts import Prompt
from engine.api.requests.base import Request
from engine.api.requests.sd import Txt2ImgRequest
from engine.api.requests.xyz_axes import NOTHING, AxisType, axis_type, csv_text

AXIS_NAMES = ("X", "Y", "Z")
CELLS = limits.Limit("The number of cells in an X/Y/Z plot", 1, 500)
MAX_GRID_PIXELS = 200_000_000  # A1111's default limit on a grid's size
SCRIPT = "X/Y/Z plot"  # as A1111's parameters text names the script


@dataclass(frozen=True)
class XyzAxis:
    """One axis: its type (a key of engine.api.requests.xyz_axes) and its values text."""

    type: str = NOTHING
    values: str = ""


@dataclass(frozen=True)
class PlotAxis:
    """An axis read: its type, its values and each value's label."""

    type: AxisType
    values: tuple[Any, ...]
    text: str

    @property
    def captions(self) -> tuple[str, ...]:
        return tuple(self.type.caption(value) for value in self.values)


@dataclass(frozen=True)
class Plot:
    """The plot's cells (grid order: x fastest), the order they run in, and the axes."""

    axes: tuple[PlotAxis, PlotAxis, PlotAxis]
    cells: tuple[Txt2ImgRequest, ...]
    run_order: tuple[int, ...]

    @property
    def shape(self) -> tuple[int, int, int]:
        """(columns, rows, grids): the number of X, Y and Z values."""
        x, y, z = (len(axis.values) for axis in self.axes)
        return x, y, z

    def position(self, index: int) -> tuple[int, int, int]:
        """(ix, iy, iz) of cell `index`."""
        nx, ny, _ = self.shape
        return index % nx, index // nx % ny, index // (nx * ny)


@dataclass(frozen=True, kw_only=True)
class XyzPlotRequest(Request):
    task: ClassVar[Task] = Task.XYZ_PLOT
    lane: ClassVar[Lane] = Lane.GENERATE
    outcome: ClassVar[type[Outcome]] = ImagesOutcome
    reopen_place: ClassVar[str | None] = "create"

    base: Txt2ImgRequest
    axes: tuple[XyzAxis, ...] = ()  # X, Y, Z; missing ones are Nothing
    legend: bool = True  # draw the labels
    save: bool = True

    @property
    def family(self) -> Family:  # type: ignore[override]
        return self.base.model.family

    @property
    def prompt(self) -> Prompt:
        return self.base.prompt

    @property
    def prompt_text(self) -> str:
        return self.base.prompt.positive

    @property
    def slug_text(self) -> str:
        return self.base.slug_text

    @property
    def image_count(self) -> int:
        """The grid and every cell (1 for a plot whose values do not read)."""
        axes = self._axes()
        return 1 if axes is None else _cells(axes) + 1

    def _axes(self) -> tuple[PlotAxis, PlotAxis, PlotAxis] | None:
        try:
            return plot_axes(self.axes)
        except BadInput:
            return None

    def check(self) -> None:
        if len(self.axes) > len(AXIS_NAMES):
            raise BadInput(f"An X/Y/Z plot has at most three axes, not {len(self.axes)}.")
        if self.base.batch_size != 1:
            raise BadInput("An X/Y/Z plot makes one picture per cell: set the batch size to 1.")
        self.base.validate()
        plot = plot_of(self)
        pixels = sum(c.size.width * c.size.height for c in plot.cells)
        if pixels > MAX_GRID_PIXELS:
            raise BadInput(
                f"The plot's grid would be {pixels / 1e6:.0f} megapixels; the most is "
                f"{MAX_GRID_PIXELS // 1_000_000}. Plot fewer values, or a smaller size."
            )

    def describe(self) -> str:
        axes = self._axes() or ()
        used = [a for a in axes if a.type.key != NOTHING]
        named = " × ".join(a.type.label for a in used) or "one cell"
        shape = "×".join(str(len(a.values)) for a in used) or "1"
        return f"{SCRIPT} {shape} · {named} · {shorten(self.prompt_text or '(no prompt)', 24)}"

    def a1111_params(self, info: dict[str, Any]) -> list[tuple[str, object]]:
        """The base request's, then A1111's own keys for a plot's grid."""
        params = [*self.base.a1111_params(info), ("Script", SCRIPT)]
        for name, axis in zip(AXIS_NAMES, self.axes, strict=False):
            kind = axis_type(axis.type)
            if kind.key != NOTHING:
                params += [(f"{name} Type", kind.label), (f"{name} Values", axis.values)]
        return params


def plot_axes(axes: tuple[XyzAxis, ...]) -> tuple[PlotAxis, PlotAxis, PlotAxis]:
    """The three axes read (missing ones Nothing); BadInput naming the axis and value."""
    padded = (*axes, *(XyzAxis(),) * (len(AXIS_NAMES) - len(axes)))
    read = []
    for name, axis in zip(AXIS_NAMES, padded, strict=False):
        kind = axis_type(axis.type)
        read.append(PlotAxis(kind, tuple(kind.values(axis.values, f"{name} axis")), axis.values))
    x, y, z = read
    count = _cells((x, y, z))
    if count > CELLS.high:
        raise BadInput(
            f"The plot has {count:,} cells ({len(x.values)} × {len(y.values)} × "
            f"{len(z.values)}); the most is {CELLS.high}. Plot fewer values."
        )
    return x, y, z


def _cells(axes: tuple[PlotAxis, ...]) -> int:
    return len(axes[0].values) * len(axes[1].values) * len(axes[2].values)


def plot_of(request: XyzPlotRequest) -> Plot:
    """Every cell's request in grid order, each checked; BadInput names the cell."""
    axes = plot_axes(request.axes)
    x, y, z = axes
    cells = []
    for vz, vy, vx in product(z.values, y.values, x.values):
        cell = request.base
        for name, axis, value in zip(AXIS_NAMES, axes, (vx, vy, vz), strict=True):
            try:
                cell = axis.type.apply(cell, value, list(axis.values))
            except BadInput as exc:
                raise BadInput(f"{name} axis ({axis.type.label}): {exc.message}") from None
        cells.append(_checked(cell, axes, (vx, vy, vz)))
    return Plot(axes, tuple(cells), run_order(axes))


def _checked(cell: Txt2ImgRequest, axes: tuple, values: tuple) -> Txt2ImgRequest:
    try:
        cell.validate()
    except BadInput as exc:
        where = ", ".join(
            a.type.caption(v) for a, v in zip(axes, values, strict=True) if a.type.key != NOTHING
        )
        raise BadInput(f"The cell {where or 'of the plot'}: {exc.message}") from None
    return cell


def run_order(axes: tuple[PlotAxis, PlotAxis, PlotAxis]) -> tuple[int, ...]:
    """The cells' indices in the order they run: A1111's loops, Z outermost, then Y,
    then X, unless one axis is strictly the costliest to change (a checkpoint): then it
    is outermost, and the costlier of the other two next."""
    costs = [axis.type.cost for axis in axes]
    strict = [i for i in range(3) if all(costs[i] > costs[j] for j in range(3) if j != i)]
    if not strict:
        outer, middle = 2, 1
    elif strict[0] == 2:
        outer, middle = 2, (0 if costs[0] > costs[1] else 1)
    else:  # X or Y first; the other of them next unless Z is not cheaper than it
        outer = strict[0]
        other = 1 - outer
        middle = other if costs[other] > costs[2] else 2
    inner = 3 - outer - middle
    nx, ny, nz = (len(axis.values) for axis in axes)
    sizes = (nx, ny, nz)
    order = []
    for a, b, c in product(range(sizes[outer]), range(sizes[middle]), range(sizes[inner])):
        at = {outer: a, middle: b, inner: c}
        order.append(at[0] + at[1] * nx + at[2] * nx * ny)
    return tuple(order)


def with_seeds_drawn(
    request: XyzPlotRequest, draw: Callable[[], int] | None = None
) -> XyzPlotRequest:
    """The plot with each -1 of a seed axis replaced by a random seed (A1111 does so as
    the plot starts), so that its recipe names the seeds it used. `draw()` gives one."""
    draw = draw or limits.random_seed
    axes = []
    for axis in request.axes:
        kind = axis_type(axis.type)
        if kind.key == "seed":
            values = kind.values(axis.values, "Seed axis")
            if -1 in values:
                axis = replace(axis, values=csv_text([draw() if v == -1 else v for v in values]))
        axes.append(axis)
    return replace(request, axes=tuple(axes))
