"""Wildcards in Create's own Generate (issue 25): the real window with a tiny SD model.

The oracle for each picture's choice is the draw replicated here from the rule
engine.batch.wildcards documents (a numpy stream seeded with [tag, seed]: `{a|b|c}`
takes `choice(3, 1)`, then `__name__` takes `integers(len(lines))`), not the module
itself; re-running a recipe is compared pixel for pixel with Pillow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from engine.api.events import Finished, Queued
from engine.store import read_metadata

COLOURS = ["red", "green", "blue"]
PLACES = ["in the snow", "on the beach"]
TAG = 0x57494C44  # the stream's tag, as engine.batch.wildcards documents it


def expected(seed: int) -> tuple[str, str]:
    """`a {red|green|blue} ball, __places__` and `{blurry|dark}` for `seed`."""
    rng = np.random.default_rng([TAG, seed])
    colour = COLOURS[int(rng.choice(3, size=1, replace=False)[0])]
    place = PLACES[int(rng.integers(2))]
    negative = ["blurry", "dark"][int(np.random.default_rng([TAG, seed]).choice(2, 1, False)[0])]
    return f"a {colour} ball, {place}", negative


@pytest.fixture
def settings(settings, tmp_path, tiny_sd_model):
    folder = tmp_path / "wildcards"
    folder.mkdir()
    (folder / "places.txt").write_text("# where\nin the snow\n\non the beach\n")
    (folder / "sub").mkdir()
    (folder / "sub" / "hats.txt").write_text("a top hat\n")
    settings.wildcards_dir = folder
    settings.models_dirs = [tiny_sd_model.parent]
    return settings


@pytest.fixture
def create(qtbot, window, settings, tiny_sd_model):
    panel = window.create_panel
    qtbot.waitUntil(lambda: panel.model_path == str(tiny_sd_model), timeout=30_000)
    qtbot.waitUntil(lambda: panel.vm.wildcards is not None, timeout=10_000)
    window.set_mode(0)
    panel.width_box.setValue(32)
    panel.height_box.setValue(32)
    panel.steps.setValue(1)
    yield panel
    for box in window.findChildren(QMessageBox):
        box.close()


def finished(window) -> list[Finished]:
    return [e for e in window.events if isinstance(e, Finished)]


def pixels(path: str) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def test_a_batch_of_four_chooses_per_picture_and_a_recipe_makes_its_picture_again(
    qtbot, window, create
):
    assert sorted(create.vm.wildcards) == ["places", "sub/hats"]
    create.prompt.setPlainText("a {red|green|blue} ball, __places__")
    create.negative.setPlainText("{blurry|dark}")
    create.seed.set_seed(100)
    create.batch.setValue(4)
    window.generate()
    qtbot.waitUntil(lambda: len(finished(window)) == 4, timeout=120_000)
    images = [image for event in finished(window) for image in event.outcome.images]
    assert sorted(image.seed for image in images) == [100, 101, 102, 103]
    for image in images:
        recipe = read_metadata(Path(image.path)).request
        positive, negative = expected(image.seed)
        assert (recipe.prompt.positive, recipe.prompt.negative) == (positive, negative)
        assert recipe.prompt_template == "a {red|green|blue} ball, __places__"
        assert recipe.negative_template == "{blurry|dark}"
        assert (recipe.sampling.seed, recipe.batch_size) == (image.seed, 1)
    assert len({read_metadata(Path(i.path)).request.prompt for i in images}) > 1
    assert create.seed.last_seed == 100  # Reuse: the batch's first seed, as A1111's
    with Image.open(images[0].path) as png:  # the A1111 text, as sd-dynamic-prompts writes it
        text = png.info["parameters"]
    assert 'Template: "a {red|green|blue} ball, __places__"' in text
    assert "Negative Template: {blurry|dark}" in text
    assert text.startswith(read_metadata(Path(images[0].path)).request.prompt.positive + "\n")
    # Use these parameters on the third picture, then Generate: the same picture.
    third = next(image for image in images if image.seed == 102)
    window.use_parameters(read_metadata(Path(third.path)))
    assert create.prompt.toPlainText() == expected(102)[0]
    window.generate()
    qtbot.waitUntil(lambda: len(finished(window)) == 5, timeout=60_000)
    [again] = finished(window)[-1].outcome.images
    assert again.seed == 102
    assert np.array_equal(pixels(again.path), pixels(third.path))


def test_an_unknown_wildcard_is_named_under_the_prompt_and_submits_nothing(qtbot, window, create):
    create.prompt.setPlainText("a __colours__ ball")
    create.update_token_counts()
    sentence = "There is no wildcard file colours.txt in"
    qtbot.waitUntil(lambda: sentence in create.prompt_tokens.text(), timeout=10_000)
    assert window.generate() is None
    assert sentence in window.notices.last_error
    assert not [e for e in window.events if isinstance(e, Queued)]
    # A bad brace too; escaped characters and a known name are fine.
    create.prompt.setPlainText("a {red|green ball")
    create.update_token_counts()
    assert "never closed" in create.prompt_tokens.text()
    create.prompt.setPlainText("a \\{literal\\} __sub/hats__")
    create.update_token_counts()
    assert "wildcard" not in create.prompt_tokens.text()


def test_typing_two_underscores_completes_a_name_from_the_folder(qtbot, window, create):
    create.prompt.setFocus()
    create.prompt.setPlainText("a cat wearing ")
    create.prompt.moveCursor(create.prompt.textCursor().MoveOperation.End)
    qtbot.keyClicks(create.prompt, "__ha")
    completer = create.prompt.wildcards
    assert completer.popup_visible
    assert completer.completer.currentCompletion() == "sub/hats"
    qtbot.keyClick(completer.completer.popup(), Qt.Key.Key_Return)
    assert create.prompt.toPlainText() == "a cat wearing __sub/hats__"
    assert not completer.popup_visible


def test_the_prompt_matrix_makes_every_combination_in_one_grid(qtbot, window, create):
    create.prompt.setPlainText("a {red|green} ball|on grass|at night")
    create.seed.set_seed(5)
    create.matrix.setChecked(True)
    window.generate()
    qtbot.waitUntil(lambda: len(finished(window)) == 1, timeout=120_000)
    grid, *cells = finished(window)[0].outcome.images
    rng = np.random.default_rng([TAG, 5])
    ball = f"a {['red', 'green'][int(rng.choice(2, size=1, replace=False)[0])]} ball"
    combinations = [ball, f"{ball}, on grass", f"{ball}, at night", f"{ball}, on grass, at night"]
    recipes = [read_metadata(Path(cell.path)).request for cell in cells]
    assert [r.prompt.positive for r in recipes] == combinations  # A1111's order
    assert {r.sampling.seed for r in recipes} == {5}
    assert recipes[0].prompt_template == "a {red|green} ball|on grass|at night"
    plot = read_metadata(Path(grid.path)).request
    assert [a.type for a in plot.axes] == ["prompt"]
    with Image.open(grid.path) as image:  # four 32 px tiles in a row, with their labels
        assert image.width >= 4 * 32 and image.height > 32
    # With the X/Y/Z plot on too, Generate says to turn one off and starts nothing.
    create.xyz.setChecked(True)
    assert window.generate() is None and "turn one off" in window.notices.last_error
