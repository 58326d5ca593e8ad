"""The X/Y/Z plot run for real on the tiny Stable Diffusion model (issue 25): a 2 × 3
plot's cells are the six single jobs, pixel for pixel; the grid holds each cell where
its layout says; every cell is its own gallery picture with its own recipe, linked to
the grid; the grid's recipe, run again, makes the same grid."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.api.events import Preview, Progress
from engine.api.kinds import Family
from engine.api.parts import ModelRef, Prompt, Sampling, Size
from engine.api.requests import Txt2ImgRequest, XyzAxis, XyzPlotRequest
from engine.context import JobContext
from engine.store import read_metadata
from engine.store.lineage import PLOT_GRID

SIDE = 32


def base_request(model: Path) -> Txt2ImgRequest:
    return Txt2ImgRequest(
        model=ModelRef(Family.SD, str(model)),
        prompt=Prompt("a red lighthouse", "blurry"),
        size=Size(SIDE, SIDE),
        sampling=Sampling(steps=1, cfg_scale=7.0, seed=0),
    )


@pytest.fixture(scope="module")
def plot_run(sd_runtime, tiny_sd_model):
    """A 2 × 3 plot (X: seed 1-2, Y: CFG 5, 7, 9) run once for the module, saved."""
    request = XyzPlotRequest(
        base=base_request(tiny_sd_model),
        axes=(XyzAxis("seed", "1-2"), XyzAxis("cfg", "5, 7, 9")),
    )
    events: list = []
    outcome = sd_runtime.run(request, JobContext(1, events.append))
    return request, outcome, events


def test_a_2_by_3_plot_is_the_six_single_jobs(plot_run, sd_runtime, tiny_sd_model):
    _request, outcome, _events = plot_run
    grid, *cells = outcome.images
    assert len(cells) == 6
    for index, cell in enumerate(cells):
        seed, cfg = (1, 2)[index % 2], (5.0, 7.0, 9.0)[index // 2]  # x fastest
        single = Txt2ImgRequest(
            model=ModelRef(Family.SD, str(tiny_sd_model)),
            prompt=Prompt("a red lighthouse", "blurry"),
            size=Size(SIDE, SIDE),
            sampling=Sampling(steps=1, cfg_scale=cfg, seed=seed),
            save=False,
        )
        alone = sd_runtime.run(single, JobContext(2)).images[0]
        assert np.array_equal(cell.rgb, alone.rgb), f"cell {index} (seed {seed}, cfg {cfg})"
        assert cell.seed == seed
    assert not np.array_equal(cells[0].rgb, cells[1].rgb)  # the axes changed something


def test_the_grid_holds_each_cell_where_its_layout_says(plot_run):
    _request, outcome, _events = plot_run
    grid, *cells = outcome.images
    meta = read_metadata(Path(grid.path))
    layout = meta.recipe["xyz"]
    assert layout["shape"] == [2, 3, 1]
    assert (layout["tile_width"], layout["tile_height"]) == (SIDE, SIDE)
    pixels = np.asarray(Image.open(grid.path).convert("RGB"))
    xs = sorted({x for x, _ in layout["tiles"]})
    ys = sorted({y for _, y in layout["tiles"]})
    assert len(xs) == 2 and len(ys) == 3
    # Labels take room above (X) and left (Y) of the cells, and the tiles abut.
    assert xs[0] > 0 and ys[0] > 0
    assert xs[1] - xs[0] == SIDE and ys[1] - ys[0] == ys[2] - ys[1] == SIDE
    assert pixels.shape[:2] == (ys[-1] + SIDE, xs[-1] + SIDE)
    for cell, (x, y) in zip(cells, layout["tiles"], strict=True):
        assert np.array_equal(pixels[y : y + SIDE, x : x + SIDE], cell.rgb)
    # The label strips hold dark text on white (A1111's "Seed: 1" above each column).
    top = pixels[: ys[0], xs[0] :]
    assert (top == 255).mean() > 0.5 and top.min() < 100
    assert layout["axes"][0]["captions"] == ["Seed: 1", "Seed: 2"]
    assert layout["axes"][1]["captions"] == ["CFG Scale: 5", "CFG Scale: 7", "CFG Scale: 9"]


def test_each_cell_is_a_picture_with_its_own_recipe_linked_to_the_grid(plot_run, sd_runtime):
    request, outcome, _events = plot_run
    grid, *cells = outcome.images
    grid_meta = read_metadata(Path(grid.path))
    assert grid_meta.request == request  # the grid's recipe is the whole plot
    assert "X Type: Seed" in grid_meta.parameters_text
    assert 'Y Values: "5, 7, 9"' in grid_meta.parameters_text  # quoted, as A1111 writes it
    store = sd_runtime._store()
    children = {str(c.path) for c in store.lineage(Path(grid.path)).children}
    assert children == {str(Path(cell.path)) for cell in cells}
    for index, cell in enumerate(cells):
        meta = read_metadata(Path(cell.path))
        assert isinstance(meta.request, Txt2ImgRequest)
        assert meta.request.sampling.seed == (1, 2)[index % 2]
        assert meta.request.sampling.cfg_scale == (5.0, 7.0, 9.0)[index // 2]
        assert meta.recipe["xyz_cell"]["index"] == index
        assert "_own_request" not in json.dumps(meta.recipe)
        parents = store.lineage(Path(cell.path)).parents
        assert [(str(p.path), p.role) for p in parents] == [(str(Path(grid.path)), PLOT_GRID)]


def test_progress_runs_over_the_whole_plot_and_each_cell_is_previewed(plot_run):
    _request, _outcome, events = plot_run
    steps = [(e.step, e.total) for e in events if isinstance(e, Progress) and e.step]
    assert {total for _, total in steps} == {6}
    assert [s for s, _ in steps] == sorted(s for s, _ in steps)
    assert steps[-1][0] == 6
    assert sum(isinstance(e, Preview) for e in events) >= 6


def test_the_grid_recipe_run_again_makes_the_same_grid(plot_run, sd_runtime):
    _request, outcome, _events = plot_run
    grid = outcome.images[0]
    again = read_metadata(Path(grid.path)).request
    rerun = sd_runtime.run(again, JobContext(3)).images[0]
    assert np.array_equal(
        np.asarray(Image.open(rerun.path).convert("RGB")),
        np.asarray(Image.open(grid.path).convert("RGB")),
    )


def test_a_cancel_stops_the_plot_within_one_step(sd_runtime, tiny_sd_model):
    from engine.api.errors import JobCancelled
    from engine.context import JobControl

    request = XyzPlotRequest(
        base=base_request(tiny_sd_model), axes=(XyzAxis("steps", "1, 2"), XyzAxis("seed", "4-5"))
    )
    control = JobControl()
    seen: list[int] = []

    def cancel_in_second_cell(event):
        if isinstance(event, Progress) and event.step > 1:
            seen.append(event.step)
            control.cancel()

    ctx = JobContext(4, cancel_in_second_cell, control)
    with pytest.raises(JobCancelled):
        sd_runtime.run(request, ctx)
    assert len(seen) == 1


def test_generate_with_xyz_prints_the_grid_then_every_cell(tmp_path, tiny_sd_model, capsys):
    from tests.test_cli import in_process, json_lines

    common = ["--model", str(tiny_sd_model), "--prompt", "a fox", "--steps", "1"]
    size = ["--width", "32", "--height", "32", "--out", str(tmp_path), "--device", "cpu"]
    out = in_process(
        capsys, "generate", *common, *size, "--xyz", "seed=3-4", "--xyz", "Sampler=euler, DDIM"
    )
    assert out.returncode == 0, out.stderr
    lines = json_lines(out.stdout)
    assert len(lines) == 5
    grid = read_metadata(Path(lines[0]["path"]))
    assert isinstance(grid.request, XyzPlotRequest)
    assert grid.request.axes == (XyzAxis("seed", "3-4"), XyzAxis("sampler", "euler, DDIM"))
    cells = [read_metadata(Path(line["path"])).request for line in lines[1:]]
    assert [(c.sampling.seed, c.sampling.sampler) for c in cells] == [
        (3, "Euler"),
        (4, "Euler"),
        (3, "DDIM"),
        (4, "DDIM"),
    ]
    assert [line["seed"] for line in lines[1:]] == [3, 4, 3, 4]


def test_a_bad_xyz_value_is_one_line_and_nothing_is_made(tmp_path, tiny_sd_model, capsys):
    from tests.test_cli import in_process

    out = in_process(
        capsys,
        "generate",
        *("--model", str(tiny_sd_model), "--prompt", "a fox", "--out", str(tmp_path)),
        *("--xyz", "steps=10, 2O"),
    )
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "error: X axis (Steps): '2O' is not a whole number or a range "
        "(1-5, 1-10 (+3), 0.5-1.5 [5])."
    ]
    assert not list(tmp_path.rglob("*.png"))


def test_the_details_dock_names_the_plot_and_each_cells_place(plot_run):
    from gui.details_describe import _from_recipe

    _request, outcome, _events = plot_run
    grid, *cells = outcome.images
    rows = dict(_from_recipe(read_metadata(Path(grid.path))))
    assert rows["X/Y/Z plot"] == "Seed: 1-2 × CFG Scale: 5, 7, 9"
    assert rows["Prompt"] == "a red lighthouse"
    rows = dict(_from_recipe(read_metadata(Path(cells[3].path))))
    assert rows["Plot cell"] == "Seed: 2, CFG Scale: 7"
    assert rows["Batch"] == "image 1 of 1"


def test_z_grids_sit_side_by_side_and_tiles_hold_the_largest_cell():
    from engine.batch.xyz_grid_image import GridLabels, draw_grid

    rng = np.random.default_rng(0)
    # 2 columns × 1 row × 2 grids; cell 3 is larger (a Size axis): every tile is 24×16.
    cells = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(8, 16)] * 3]
    cells.append(rng.integers(0, 256, (16, 24, 3), dtype=np.uint8))
    labels = GridLabels(("Seed: 1", "Seed: 2"), ("",), ("Steps: 5", "Steps: 9"))
    picture = draw_grid(cells, (2, 1, 2), labels)
    assert picture.tile_size == (24, 16)
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = picture.tiles
    assert y0 == y1 == y2 == y3 > 0  # one row, under the grid titles and column labels
    assert x0 == 0  # no row labels: the Y axis is Nothing
    assert x1 - x0 == 24 and x3 - x2 == 24
    assert x2 > x1 + 24  # the second Z grid is to the right, after a gap
    height, width = picture.rgb.shape[:2]
    assert (width, height) == (x3 + 24, y3 + 16)
    for cell, (x, y) in zip(cells, picture.tiles, strict=True):
        h, w = cell.shape[:2]
        assert np.array_equal(picture.rgb[y : y + h, x : x + w], cell)
    bare = draw_grid(cells, (2, 1, 2), None)  # no legend: the cells alone (and the gap)
    assert bare.tiles[0] == (0, 0) and bare.rgb.shape[0] == 16


def test_a_checkpoint_axis_runs_each_model(sd_runtime, tiny_sd_model, other_model):
    base = replace(base_request(tiny_sd_model), save=False)
    axis = XyzAxis("checkpoint", f"{tiny_sd_model}, {other_model}")
    plot = XyzPlotRequest(base=base, axes=(axis,), save=False)
    grid, *cells = sd_runtime.run(plot, JobContext(5)).images
    for cell, model in zip(cells, (tiny_sd_model, other_model), strict=True):
        single = replace(base, model=ModelRef(Family.SD, str(model)))
        assert np.array_equal(cell.rgb, sd_runtime.run(single, JobContext(6)).images[0].rgb)
    assert not np.array_equal(cells[0].rgb, cells[1].rgb)
    assert grid.info["xyz"]["axes"][0]["captions"] == ["tiny-sd", "other-sd"]
