"""Renaming a trained model: all of its files or none of them, with one sentence if not."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

from engine.api.model_names import model_name_problem


def rename_model(path: Path, name: str, suffixes: Sequence[str]) -> str | None:
    """Rename the files of the model at `path` (each suffix that exists) to `name`; the
    sentence saying why not, with every file left as it was, or None once all are moved."""
    if problem := model_name_problem(name):
        return problem
    moves = [
        (path.with_suffix(suffix), path.with_name(name + suffix))
        for suffix in suffixes
        if path.with_suffix(suffix).exists()
    ]
    if any(target.exists() for _source, target in moves):
        return f"There is already a model called {name}; choose another name."
    done: list[tuple[Path, Path]] = []
    try:
        for source, target in moves:
            source.rename(target)
            done.append((source, target))
    except OSError as exc:
        for source, target in reversed(done):  # put back what moved: all or none
            with contextlib.suppress(OSError):
                target.rename(source)
        return f"{path.stem} was not renamed: {exc.strerror or exc}. Its files are unchanged."
    return None
