"""The Lab timeline as a table: one row per Lab family, in the order history met them,
with its paper, its idea, its bundled model on the chosen data, and the figures measured
on the same held-out split. Torch-free: the GUI builds its view from these rows, and
`main.py compare` prints them.

A row's figures are the meter's, read from the model's `.quality.json` (500 samples,
measured when the model was made), and the timeline's own (engine.quality.timeline),
measured when the table is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.api import families
from engine.api.catalogue import bundled_path
from engine.api.families import Likelihood
from engine.api.kinds import Family
from engine.quality.record import load_quality

TIMELINE_SAMPLES = 64

# The meter's figures the table shows, in order, and their headings.
METER_COLUMNS = (
    ("recognisable", "recognisable"),
    ("classes", "classes"),
    ("diversity", "diversity"),
    ("copies", "copies"),
    ("realism", "realism"),
)


@dataclass(frozen=True)
class TimelineRow:
    family: Family
    title: str
    year: int
    paper: str
    idea: str
    model: str | None  # the bundled model on this data ("gmm-digits"), None if none
    likelihood: Likelihood | None
    values: dict[str, float] = field(default_factory=dict)
    data: str = ""  # the data set the row is on (what its likelihood is over can hang on it)

    def with_values(self, measured: dict[str, float]) -> TimelineRow:
        return TimelineRow(**{**self.__dict__, "values": {**self.values, **measured}})

    @property
    def bits_per_dim(self) -> float | None:
        if self.likelihood is None:
            return None
        return self.values.get(self.likelihood.score_key)


def timeline_rows(data: str) -> list[TimelineRow]:
    """Every Lab family in historical order, with its bundled model on `data` and that
    model's meter figures (no measuring here: reading two small files a row)."""
    rows = []
    for family in families.lab_families():
        spec = families.spec_of(family)
        name = f"{family}-{data}"
        path = bundled_path(name)
        rows.append(
            TimelineRow(
                family,
                spec.title,
                spec.year,
                spec.paper,
                spec.idea,
                name if path else None,
                spec.likelihood,
                _meter_values(path),
                data,
            )
        )
    return rows


def _meter_values(path: Path | None) -> dict[str, float]:
    if path is None:
        return {}
    wanted = {key for key, _ in METER_COLUMNS} | {"training_seconds"}
    return {k: v for k, v in load_quality(path).items() if k in wanted}


def likelihood_cell(row: TimelineRow) -> str:
    """'2.66 exact', '0.417 estimate', 'none' (a GAN's), 'not measured'."""
    if row.likelihood is None:
        return "none"
    bits = row.bits_per_dim
    if bits is None:
        return "not measured"
    return f"{bits:.3g} {row.likelihood.kind}"


def likelihood_note(row: TimelineRow) -> str:
    """What the bits are over, for the table's footnote or a tooltip."""
    if row.likelihood is None:
        return f"none: a {row.title} defines no density, so it has no likelihood to measure"
    over = row.likelihood.over_for(row.data)
    return f"bits per dimension, {row.likelihood.kind}, over {over}"


def number_cell(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if unit == "s":
        if value < 0.1:
            return f"{value * 1000:.0f} ms"
        return f"{value:.2f} s" if value < 10 else f"{value:.0f} s"
    if value >= 10_000:
        return f"{value:,.0f}"
    return f"{int(value)}" if float(value).is_integer() else f"{value:.2f}"


def row_cells(row: TimelineRow) -> list[str]:
    """The row as the table's cells, in COLUMNS order."""
    v = row.values.get
    return [
        str(row.year),
        row.title,
        row.model or "no bundled model",
        likelihood_cell(row),
        *(number_cell(v(key)) for key, _ in METER_COLUMNS),
        number_cell(v("sample_seconds"), "s"),
        number_cell(v("training_seconds"), "s"),
        number_cell(v("parameters")),
    ]


COLUMNS = (
    "year",
    "family",
    "model",
    "bits/dim",
    *(heading for _, heading in METER_COLUMNS),
    f"{TIMELINE_SAMPLES} samples",
    "training",
    "parameters",
)


def table_lines(rows: list[TimelineRow]) -> list[str]:
    """A plain-text table, columns padded to their widest cell, and the footnotes that
    say what each likelihood is over."""
    grid = [list(COLUMNS), *(row_cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in grid) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in grid
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = sorted({f"{r.title}: {likelihood_note(r)}" for r in rows})
    return [*(line.rstrip() for line in lines), "", *notes, "", COMPARING]


# What a learner must know before comparing two figures of the table.
COMPARING = (
    "Lower is better, but only figures over the same values compare: over pixel levels a "
    "dequantised density's bits bound the discrete pixels' from above, so exact discrete "
    "figures and dequantised ones can be ranked together; binarised pixels are another, "
    "easier problem."
)
