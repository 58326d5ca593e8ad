"""`generate --xyz TYPE=VALUES` (up to three, X then Y then Z): the generate request
becomes an X/Y/Z plot over it (engine.api.requests.xyz). Checkpoint values are looked
up by name in the model folders as --model is; random seeds (-1) are drawn here, so the
grid's recipe names the seeds it used."""

from __future__ import annotations

import argparse

from engine.api.errors import BadInput
from engine.api.requests import Txt2ImgRequest, XyzAxis, XyzPlotRequest
from engine.api.requests.xyz import with_seeds_drawn
from engine.api.requests.xyz_axes import AXIS_TYPES, NOTHING, axis_type, csv_text
from engine.api.xyz_ranges import split_values

SYNTAX = (
    "values are comma-separated (quote one that holds a comma); numbers also take "
    "ranges: 1-5, 1-10 (+3), 10-5 (-3), 0.5-1.5 [5]"
)


def add_xyz_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("X/Y/Z plot (A1111's)")
    types = ", ".join(axis.key for axis in AXIS_TYPES if axis.key != NOTHING)
    group.add_argument(
        "--xyz",
        action="append",
        default=[],
        metavar="TYPE=VALUES",
        help=f"an axis of a plot: X, then Y, then Z (types: {types}); {SYNTAX}. Prints the "
        "labelled grid, then every cell",
    )
    group.add_argument(
        "--xyz-no-legend", action="store_true", help="draw the grid without its labels"
    )


def xyz_request(args: argparse.Namespace, base: Txt2ImgRequest) -> XyzPlotRequest:
    axes = tuple(_axis(text) for text in args.xyz)
    if len(axes) > 3:
        raise BadInput(f"A plot has at most three axes (X, Y, Z); --xyz was given {len(axes)}.")
    plot = XyzPlotRequest(base=base, axes=axes, legend=not args.xyz_no_legend)
    return with_seeds_drawn(plot)


def _axis(text: str) -> XyzAxis:
    name, sep, values = text.partition("=")
    if not sep:
        raise BadInput(f'--xyz {text!r} needs TYPE=VALUES, such as --xyz "seed=1-3".')
    kind = axis_type(name.strip())
    if kind.key == "checkpoint":
        from engine.cli_names import resolve_model_name

        values = csv_text([resolve_model_name(v) for v in split_values(values)])
    return XyzAxis(kind.key, values.strip())
