"""A model's last quality measurement, kept beside it as `<name>.quality.json`.

The model file's own record is fixed when training writes it; the meter's figures come
later (and again on demand), so they live in a file of their own. Plain JSON: the GUI
reads it without the engine.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from engine.api import untrusted_json
from engine.atomic import write_bytes_atomic

SUFFIX = ".quality.json"


def quality_path(model: Path) -> Path:
    return Path(model).with_suffix(SUFFIX)


def save_quality(model: Path, values: dict[str, float], count: int) -> None:
    data = {"samples": count, "values": values}
    write_bytes_atomic(quality_path(model), (json.dumps(data, indent=2) + "\n").encode())


def load_quality(model: Path) -> dict[str, float]:
    """The figures last measured for `model`, {} when there are none or they are unreadable."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        values = untrusted_json.loads(quality_path(model).read_text(encoding="utf-8")).get(
            "values", {}
        )
        return {str(k): float(v) for k, v in values.items()}
    return {}
