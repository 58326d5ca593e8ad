"""What looked broken to a new user in their first hour, driven through the real window.

One test per item of the report (issue 7), each against the real engine and widgets.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PySide6.QtCore import QEventLoop, QPoint, Qt, QTimer
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication, QMessageBox
from safetensors.torch import save_file

from engine.api.events import Cancelled, Finished, Preview, Started
from engine.api.kinds import Family
from engine.api.parts import ModelRef
from engine.api.requests import SampleRequest
from engine.store import read_metadata
from gui.app import create_main_window
from gui.settings import AppSettings
from gui.settings_dialog import SettingsDialog
from tests.sd_original_layout import save_single_file, tiny_pipeline, write_header_only

DIGITS = ModelRef(Family.VAE, "vae-digits")


@pytest.fixture
def settings(tmp_path: Path) -> AppSettings:
    settings = AppSettings(tmp_path / "config")
    settings.output_dir = tmp_path / "out"
    return settings


@pytest.fixture
def window(qtbot, settings, trash):
    window = create_main_window(settings)
    window.events = []
    window.client.event.connect(window.events.append)
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close_now()


def finished_jobs(window) -> list[Finished]:
    return [e for e in window.events if isinstance(e, Finished)]


def generate_and_wait(qtbot, window, timeout=60_000) -> Finished:
    count = len(finished_jobs(window))
    job = window.generate()
    assert job is not None, window.last_error
    qtbot.waitUntil(lambda: len(finished_jobs(window)) > count, timeout=timeout)
    return finished_jobs(window)[-1]


def use_tiny_model(window, settings, model: Path, steps: int = 3) -> None:
    settings.models_dirs = [model.parent]
    listed = QEventLoop()  # the model folders are listed on a thread
    window.create_panel.models_listed.connect(listed.quit)
    window.apply_settings()
    QTimer.singleShot(30_000, listed.quit)
    listed.exec()
    window.set_mode(0)
    panel = window.create_panel
    panel.width_box.setValue(64)
    panel.height_box.setValue(64)
    panel.steps.setValue(steps)


# 1 ---------------------------------------------------------------- Reuse


def test_create_reuse_turns_on_with_the_create_seed_and_the_lab_is_left_alone(
    qtbot, window, settings, tiny_sd_model
):
    use_tiny_model(window, settings, tiny_sd_model)
    assert not window.create_panel.seed.reuse_button.isEnabled()
    window.create_panel.seed.set_seed(777)
    generate_and_wait(qtbot, window)
    assert window.create_panel.seed.reuse_button.isEnabled()
    window.create_panel.seed.set_seed(None)
    window.create_panel.seed.reuse_button.click()
    assert window.create_panel.seed.edit.text() == "777"
    assert not window.lab_panel.seed.reuse_button.isEnabled()


# 2 ---------------------------------------------------------------- canvas


def test_double_click_toggles_one_to_one_and_back_to_fit(qtbot, window):
    window.set_mode(1)
    generate_and_wait(qtbot, window)
    canvas = window.canvas
    assert canvas.fitted
    qtbot.mouseDClick(canvas, Qt.MouseButton.LeftButton, pos=canvas.rect().center())
    assert not canvas.fitted and canvas.scale() == 1.0 and canvas.zoom_text() == "100%"
    qtbot.mouseDClick(canvas, Qt.MouseButton.LeftButton, pos=canvas.rect().center())
    assert canvas.fitted and canvas.zoom_text().startswith("Fit · ")


def test_a_click_does_not_stop_later_results_from_being_fitted(qtbot, window):
    window.set_mode(1)
    generate_and_wait(qtbot, window)
    canvas = window.canvas
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=canvas.rect().center())
    assert canvas.fitted
    canvas.set_zoom(3.0)  # the user zoomed on purpose…
    generate_and_wait(qtbot, window)
    assert canvas.fitted  # …but a new result is shown whole
    width = canvas.width()
    scale = canvas.scale()
    window.resize(window.width() - 200, window.height())
    qtbot.waitUntil(lambda: canvas.width() < width)
    assert canvas.fitted and canvas.scale() != scale  # resizing re-fits


def test_a_drag_pans_and_keeps_the_zoom(qtbot, window):
    window.set_mode(1)
    generate_and_wait(qtbot, window)
    canvas = window.canvas
    before = canvas.image_rect()
    centre = canvas.rect().center()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(canvas, centre + QPoint(40, 10))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=centre + QPoint(40, 10))
    assert not canvas.fitted and canvas.image_rect().x() > before.x()


# 3 ---------------------------------------------------------------- honest progress


def test_progress_says_loading_then_step_one_with_a_busy_bar(
    qtbot, window, settings, tiny_sd_model
):
    use_tiny_model(window, settings, tiny_sd_model, steps=6)
    texts: list[tuple[str, int]] = []
    status = window.status

    def record(_state):
        texts.append((status.progress_label.text(), status.progress.maximum()))

    window.jobs.changed.connect(record)
    generate_and_wait(qtbot, window)
    shown = [t for t, _ in texts]
    assert "Loading model…" in shown[0] or shown[0] == "Starting…"
    first_step = next(i for i, t in enumerate(shown) if t.startswith("Step"))
    assert shown[first_step].startswith("Step 1/6")
    assert texts[first_step][1] == 0  # busy until step 1 is done
    assert any(t.startswith("Step 6/6") for t in shown)
    assert not any(t.startswith("Step 7") for t in shown)


def test_the_eta_counts_down_between_two_steps():
    import time

    from gui.viewmodels.jobs import JobState, progress_text

    state = JobState(
        1,
        SampleRequest(model=DIGITS),
        lane=None,
        step=2,
        total=10,
        eta_s=30.0,
        it_per_s=0.3,
        updated_at=time.monotonic(),
    )
    now = state.updated_at
    assert progress_text(state, now).endswith("ETA 0:30")
    assert progress_text(state, now + 12).endswith("ETA 0:18")
    assert progress_text(state, now).startswith("Step 3/10")


# 4 ---------------------------------------------------------------- after a cancel


def test_a_cancelled_preview_is_marked_as_not_a_result(qtbot, window, settings, tiny_sd_model):
    use_tiny_model(window, settings, tiny_sd_model, steps=500)
    window.generate()
    qtbot.waitUntil(lambda: any(isinstance(e, Preview) for e in window.events), timeout=60_000)
    window.controls.cancel_running()
    qtbot.waitUntil(lambda: any(isinstance(e, Cancelled) for e in window.events), timeout=60_000)
    assert window.canvas.banner.startswith("Cancelled at step")
    assert "not saved" in window.canvas.banner
    assert not window.save_as_action.isEnabled()
    window.set_mode(1)
    generate_and_wait(qtbot, window)
    assert window.canvas.banner == ""


# 5 ---------------------------------------------------------------- quitting


def test_quitting_with_jobs_running_asks_first(qtbot, window, settings, tiny_sd_model):
    use_tiny_model(window, settings, tiny_sd_model, steps=500)
    window.generate()
    qtbot.waitUntil(lambda: any(isinstance(e, Started) for e in window.events), timeout=60_000)
    window.close()
    assert window.isVisible()  # not closed: asked
    box = window.quit_box
    assert "1 job(s) running" in box.text()
    labels = [b.text() for b in box.buttons()]
    assert "Quit Anyway" in labels and "Quit When Done" in labels
    next(b for b in box.buttons() if b.text() == "Cancel").click()
    assert window.isVisible() and window.client.running_job_ids()
    window.close()
    next(b for b in window.quit_box.buttons() if b.text() == "Quit Anyway").click()
    qtbot.waitUntil(lambda: not window.isVisible())


def test_quit_when_done_waits_for_the_jobs(qtbot, window, settings, tiny_sd_model):
    use_tiny_model(window, settings, tiny_sd_model, steps=30)
    window.generate()
    qtbot.waitUntil(lambda: any(isinstance(e, Started) for e in window.events), timeout=60_000)
    window.close()
    next(b for b in window.quit_box.buttons() if b.text() == "Quit When Done").click()
    assert window.isVisible()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=60_000)
    assert finished_jobs(window)  # it finished before the window went


# 6 ---------------------------------------------------------------- Save Image As


def test_save_as_is_off_with_nothing_to_save_and_suggests_the_images_own_name(qtbot, window):
    assert not window.save_as_action.isEnabled()
    window.set_mode(1)
    window.lab_panel.seed.set_seed(42)
    finished = generate_and_wait(qtbot, window)
    assert window.save_as_action.isEnabled()
    assert window.files.suggested_file_name() == Path(finished.outcome.images[0].path).name


def test_unsaved_images_survive_later_jobs_until_saved(qtbot, window, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should be")
    settings.output_dir = blocker / "out"
    window.apply_settings()
    window.set_mode(1)
    window.lab_panel.count.setValue(1)
    window.lab_panel.seed.set_seed(5)
    first = generate_and_wait(qtbot, window)
    window.lab_panel.seed.set_seed(6)
    generate_and_wait(qtbot, window)
    generate_and_wait(qtbot, window)
    assert [u.image.seed for u in window.results.unsaved] == [5, 6, 6]
    assert first.outcome.images[0].png_text


# 7 ---------------------------------------------------------------- delete, undo


def test_delete_clears_the_canvas_and_can_be_undone(qtbot, window, trash):
    window.set_mode(1)
    made = generate_and_wait(qtbot, window).outcome.images[0].path
    window.set_mode(2)
    panel = window.gallery_panel
    assert panel.select_path(made)
    assert window.shown_file == made  # the canvas follows the selection
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_Delete)
    assert not Path(made).exists() and window.canvas.image is None
    assert window.undo_button.isVisible() and window.undo_action.isEnabled()
    window.undo_action.trigger()
    assert Path(made).is_file() and panel.model.rowCount() == 1
    assert read_metadata(Path(made)).seed is not None
    assert not list((trash / "files").iterdir())


# 8 ---------------------------------------------------------------- files from outside


def test_images_added_from_outside_appear_without_a_restart(qtbot, window, settings):
    import shutil

    window.set_mode(1)
    made = Path(generate_and_wait(qtbot, window).outcome.images[0].path)
    window.set_mode(2)
    qtbot.waitUntil(lambda: not window.gallery_panel.syncer.running)
    copied = settings.output_dir / "from-another-tool" / "copied.png"
    copied.parent.mkdir()
    shutil.copy(made, copied)
    qtbot.waitUntil(
        lambda: window.gallery_panel.model.row_of(str(copied)) is not None, timeout=10_000
    )


def test_rescan_finds_what_the_watcher_did_not(qtbot, window, settings):
    import shutil

    window.set_mode(1)
    made = Path(generate_and_wait(qtbot, window).outcome.images[0].path)
    window.gallery_panel.watcher.blockSignals(True)
    shutil.copy(made, settings.output_dir / "dropped.png")
    window.gallery_panel.rescan_action.trigger()
    qtbot.waitUntil(
        lambda: (
            window.gallery_panel.model.row_of(str(settings.output_dir / "dropped.png")) is not None
        ),
        timeout=10_000,
    )


# 9 ---------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("folder", "words"),
    [("/proc/latent", "system folder"), ("{file}/out", "is a file"), ("", "cannot be empty")],
)
def test_settings_say_at_once_why_an_output_folder_cannot_work(
    qtbot, settings, tmp_path, folder, words
):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.output_dir.setText(folder.format(file=blocker))
    assert dialog.output_note.isVisibleTo(dialog) and words in dialog.output_note.text()
    dialog.accept()
    assert words in dialog.error.text()


def test_settings_say_what_a_models_folder_holds(qtbot, settings, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    a1111 = tmp_path / "a1111" / "models"
    (a1111 / "Stable-diffusion").mkdir(parents=True)
    save_single_file(tiny_pipeline("sd1"), a1111 / "Stable-diffusion" / "tiny.safetensors")
    (a1111 / "Lora").mkdir()
    save_file({"x.lora_down.weight": torch.zeros(4, 8)}, str(a1111 / "Lora" / "style.safetensors"))
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.models_dirs.addItem(str(empty))
    assert "no Stable Diffusion models found" in dialog.models_note.text()
    dialog.models_dirs.addItem(str(tmp_path / "a1111"))
    assert "a1111: 1 checkpoint, 1 LoRA." in dialog.models_note.text()


# 10 ---------------------------------------------------------------- single files found


def test_single_file_checkpoints_are_listed_with_family_size_and_problems(
    qtbot, window, settings, tmp_path
):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    save_single_file(tiny_pipeline("sd1"), folder / "dreamshaper_8.safetensors")
    write_header_only(
        folder / "flux-dev.safetensors", {"double_blocks.0.img_attn.norm.key_norm.scale": (128,)}
    )
    settings.models_dirs = [folder]
    with qtbot.waitSignal(window.create_panel.models_listed, timeout=30_000):
        window.apply_settings()
    box = window.create_panel.model_box
    assert box.count() == 2
    assert box.itemText(0).startswith("dreamshaper_8 · SD 1.x · ")
    assert window.create_panel.model_path == str(folder / "dreamshaper_8.safetensors")
    assert box.itemText(1) == "flux-dev — a FLUX model: not supported"
    assert not box.model().item(1).isEnabled()


# 11 ---------------------------------------------------------------- remembered settings


def test_prompt_and_settings_come_back_after_a_restart(qtbot, settings, trash):
    first = create_main_window(settings)
    qtbot.addWidget(first)
    panel = first.create_panel
    panel.prompt.setPlainText("a lighthouse at dusk")
    panel.negative.setPlainText("fog")
    panel.width_box.setValue(640)
    panel.steps.setValue(33)
    panel.sampler.setCurrentText("Euler a")
    panel.cfg.setValue(5.5)
    panel.batch.setValue(3)
    first.lab_panel.count.setValue(9)
    first.close_now()
    second = create_main_window(settings)
    qtbot.addWidget(second)
    panel = second.create_panel
    assert (panel.prompt.toPlainText(), panel.negative.toPlainText()) == (
        "a lighthouse at dusk",
        "fog",
    )
    assert (
        panel.width_box.value(),
        panel.steps.value(),
        panel.cfg.value(),
        panel.batch.value(),
    ) == (640, 33, 5.5, 3)
    assert panel.sampler.currentText() == "Euler a" and second.lab_panel.count.value() == 9
    second.close_now()


# 12 ---------------------------------------------------------------- sizes


def test_both_odd_sizes_are_named_and_the_fix_generates(qtbot, window, settings, tiny_sd_model):
    use_tiny_model(window, settings, tiny_sd_model)
    window.create_panel.width_box.setValue(60)
    window.create_panel.height_box.setValue(70)
    assert window.generate() is None
    assert "width 60 and height 70 are not" in window.last_error and "64 × 72" in window.last_error
    box = next(w for w in window.findChildren(QMessageBox) if w.isVisible())
    next(b for b in box.buttons() if b.text() == "Use nearest size and generate").click()
    qtbot.waitUntil(lambda: bool(finished_jobs(window)), timeout=60_000)
    assert (window.create_panel.width_box.value(), window.create_panel.height_box.value()) == (
        64,
        72,
    )
    assert finished_jobs(window)[-1].outcome.images[0].rgb.shape == (72, 64, 3)


# 13 ---------------------------------------------------------------- tokens


def test_the_token_counter_shows_each_chunk_and_syntax_problems(qtbot, window):
    panel = window.create_panel
    assert panel.tokens.wait(10)
    panel.prompt.setPlainText("a photo of a cat")
    panel.update_token_counts()
    assert panel.prompt_tokens.text() == "5/75 tokens"
    panel.prompt.setPlainText("a (photo:1.3) of [a] cat <lora:ink:0.5>")
    panel.update_token_counts()  # brackets, weights and tags are not tokens
    assert panel.prompt_tokens.text().startswith("5/75 tokens · no LoRA named ink")
    panel.prompt.setPlainText(", ".join(["red fox"] * 40))
    panel.update_token_counts()
    assert panel.prompt_tokens.text() == "119 tokens in 2 chunks (75 + 44)"
    panel.prompt.setPlainText("(a cat")
    panel.update_token_counts()
    assert "never closed" in panel.prompt_tokens.text()


def test_the_editors_chunks_are_the_engines(qtbot):
    from hypothesis import given
    from hypothesis import settings as hsettings
    from hypothesis import strategies as st
    from transformers import CLIPTokenizer

    from engine.models.sd.prompt_encoding import chunks_of
    from engine.resources import CLIP_TOKENIZER_DIR
    from gui.prompt_tokens import PromptTokenCounter

    clip = CLIPTokenizer.from_pretrained(str(CLIP_TOKENIZER_DIR))
    ours = PromptTokenCounter()
    assert ours.wait(10)
    words = st.sampled_from(["red fox", ",", "(", ")", "[", "]", ":1.2)", "BREAK", "sky", "a"])

    @hsettings(max_examples=100, deadline=None)
    @given(st.lists(words, max_size=120).map(" ".join))
    def same_chunks(text):
        assert ours.chunk_sizes(text) == [len(c.ids) for c in chunks_of(clip, text)]

    same_chunks()


def test_ctrl_up_weights_the_word_and_the_editor_colours_it(qtbot, window):
    from PySide6.QtGui import QTextCharFormat

    edit = window.create_panel.prompt
    edit.setPlainText("a red cat")
    cursor = edit.textCursor()
    cursor.setPosition(3)
    edit.setTextCursor(cursor)
    qtbot.keyClick(edit, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert edit.toPlainText() == "a (red:1.1) cat"
    qtbot.keyClick(edit, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert edit.toPlainText() == "a (red:1.2) cat"
    assert edit.textCursor().selectedText() == "red"
    for _ in range(4):
        qtbot.keyClick(edit, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    assert edit.toPlainText() == "a (red:0.8) cat"
    edit.undo()
    assert edit.toPlainText() == "a (red:0.9) cat"
    ranges = edit.document().firstBlock().layout().formats()
    colours = {
        (r.start, r.length): QTextCharFormat(r.format).foreground().color().name() for r in ranges
    }
    assert colours[(3, 3)] == "#6b7785"  # "red", weighted down: grey
    assert colours[(2, 1)] == "#8a8a8a"  # the bracket, dimmed


def test_the_lora_menu_inserts_a_tag_that_the_job_resolves(qtbot, window, settings, tmp_path):
    from tests.tiny_loras import lora_state, save_kohya_lora

    folder = tmp_path / "models"
    (folder / "Lora").mkdir(parents=True)
    pipe = tiny_pipeline("sd1", seed=5)
    save_single_file(pipe, folder / "tiny.safetensors")
    save_kohya_lora(lora_state(pipe.unet), folder / "Lora" / "ink.safetensors")
    settings.models_dirs = [folder]
    with qtbot.waitSignal(window.create_panel.models_listed, timeout=30_000):
        window.apply_settings()
    panel = window.create_panel
    panel.prompt.setPlainText("a castle")
    panel.prompt.moveCursor(QTextCursor.MoveOperation.End)
    panel._fill_lora_menu()
    [action] = panel.lora_menu.actions()
    action.trigger()
    assert panel.prompt.toPlainText() == "a castle <lora:ink:1>"
    request = panel.build_request()
    assert [(Path(lora.path).name, lora.weight) for lora in request.loras] == [
        ("ink.safetensors", 1.0)
    ]


def test_our_token_count_is_clips(qtbot):
    from hypothesis import given
    from hypothesis import settings as hsettings
    from hypothesis import strategies as st
    from transformers import CLIPTokenizer

    from engine.resources import CLIP_TOKENIZER_DIR
    from gui.prompt_tokens import PromptTokenCounter

    clip = CLIPTokenizer.from_pretrained(str(CLIP_TOKENIZER_DIR))
    ours = PromptTokenCounter()
    assert ours.wait(10)

    @hsettings(max_examples=150, deadline=None)
    @given(st.text(st.characters(exclude_categories=("Cs",)), max_size=80))
    def same_count(text):
        assert ours.count(text) == len(clip(text).input_ids) - 2

    same_count()


# 14 ---------------------------------------------------------------- layout


def test_queue_rows_tell_jobs_apart_and_the_lab_says_sample_not_samples(
    qtbot, window, settings, tiny_sd_model
):
    use_tiny_model(window, settings, tiny_sd_model)
    window.create_panel.prompt.setPlainText(
        "a watercolor fox in a misty forest, early morning light"
    )
    window.create_panel.seed.set_seed(11)
    generate_and_wait(qtbot, window)
    window.set_mode(1)
    window.lab_panel.count.setValue(1)
    generate_and_wait(qtbot, window)
    tree = window.queue_dock.tree
    sd_row, lab_row = tree.topLevelItem(0), tree.topLevelItem(1)
    assert "seed 11" in sd_row.text(0) and "64×64" in sd_row.text(0)
    assert "early morning light" in sd_row.toolTip(0)
    assert "1 sample ·" in lab_row.text(0)


def test_the_canvas_hint_wraps_at_the_smallest_window(qtbot, window):
    window.resize(window.minimumSizeHint())
    canvas = window.canvas
    metrics = canvas.fontMetrics()
    assert (
        metrics.horizontalAdvance(canvas.placeholder) > canvas.width() - 24 or canvas.width() > 400
    )
    # Word-wrapped drawing: every word fits on some line (no "enerate (Ctrl+Enter)…").
    assert (
        max(metrics.horizontalAdvance(word) for word in canvas.placeholder.split()) < canvas.width()
    )


# ---------------------------------------------------------------- details panel


def test_details_show_the_recipe_and_use_these_parameters_refills_create(
    qtbot, window, settings, tiny_sd_model
):
    use_tiny_model(window, settings, tiny_sd_model)
    panel = window.create_panel
    panel.prompt.setPlainText("a red fox in the snow")
    panel.negative.setPlainText("blurry")
    panel.sampler.setCurrentText("Euler a")
    panel.seed.set_seed(99)
    panel.batch.setValue(2)
    made = generate_and_wait(qtbot, window).outcome.images
    rows = dict(window.details.rows())
    assert rows["Prompt"] == "a red fox in the snow" and rows["Seed"] == "99"
    assert rows["Sampler"] == "Euler a" and rows["Size"] == "64×64"
    panel.prompt.setPlainText("something else")
    panel.steps.setValue(12)
    window.set_mode(2)
    window.gallery_panel.select_path(made[1].path)  # the second image: seed 100
    window.details.use_button.click()
    assert window.mode == "Create"
    assert panel.prompt.toPlainText() == "a red fox in the snow" and panel.steps.value() == 3
    assert panel.seed.edit.text() == "100" and panel.batch.value() == 1
    window.details.copy_seed.click()
    assert QApplication.clipboard().text() == "100"


def test_details_read_other_tools_pngs(qtbot, window, settings):
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text(
        "parameters",
        "a castle\nNegative prompt: ugly\nSteps: 28, Sampler: DPM++ 2M, Schedule type: Karras, "
        "CFG scale: 6.5, Seed: 1234, Size: 512x768, Model: dreamshaper_8, Clip skip: 2",
    )
    path = settings.output_dir / "a1111.png"
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (512, 768)).save(path, pnginfo=info)
    window.open_image(str(path))
    rows = dict(window.details.rows())
    assert rows["Prompt"] == "a castle" and rows["Negative prompt"] == "ugly"
    assert rows["Seed"] == "1234" and rows["Clip skip"] == "2" and rows["Size"] == "512×768"
    window.details.copy_parameters.click()
    assert QApplication.clipboard().text().startswith("a castle\nNegative prompt: ugly")
    window.details.use_button.click()
    panel = window.create_panel
    assert panel.sampler.currentText() == "DPM++ 2M Karras"
    assert (panel.steps.value(), panel.cfg.value(), panel.seed.edit.text()) == (28, 6.5, "1234")
    assert (panel.width_box.value(), panel.height_box.value()) == (512, 768)


def test_arrow_keys_walk_the_gallery_and_the_canvas_follows(qtbot, window):
    window.set_mode(1)
    first = generate_and_wait(qtbot, window).outcome.images[0].path
    second = generate_and_wait(qtbot, window).outcome.images[0].path
    window.set_mode(2)
    view = window.gallery_panel.view
    window.gallery_panel.select_path(second)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert window.shown_file == first
    assert dict(window.details.rows())["Seed"] == str(read_metadata(Path(first)).seed)


def test_a_single_sample_of_a_sheet_can_be_kept(qtbot, window, settings):
    window.set_mode(1)
    window.lab_panel.seed.set_seed(500)
    window.lab_panel.count.setValue(4)
    generate_and_wait(qtbot, window)
    canvas = window.canvas
    rect = canvas.image_rect()
    # The sheet is 2 x 2: click the lower right sample (seed 503).
    qtbot.mouseClick(
        canvas, Qt.MouseButton.LeftButton, pos=QPoint(int(rect.right() - 5), int(rect.bottom() - 5))
    )
    assert window.lab_panel.keep_button.isEnabled() and "503" in window.lab_panel.keep_button.text()
    window.lab_panel.keep_button.click()
    qtbot.waitUntil(lambda: len(finished_jobs(window)) == 2, timeout=30_000)
    kept = finished_jobs(window)[-1].outcome.images[0]
    assert read_metadata(Path(kept.path)).request == SampleRequest(model=DIGITS, seed=503, count=1)
    # The kept sample is the very pixels of that sheet cell.
    sheet = finished_jobs(window)[0].outcome.images[0]
    layout = sheet.info["grid"]
    x = layout["cell_width"] + layout["gap"]
    y = layout["cell_height"] + layout["gap"]
    cell = sheet.rgb[y : y + layout["cell_height"], x : x + layout["cell_width"]]
    assert (cell == kept.rgb).all()
    assert json.loads(json.dumps(sheet.info["seeds"])) == [500, 501, 502, 503]


# 15 ---------------------------------------------------------------- a fresh Linux


LDD_ON_A_MINIMAL_INSTALL = """
	linux-vdso.so.1 (0x00007ffd)
	libQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f78)
	libxcb-cursor.so.0 => not found
	libxcb-icccm.so.4 => not found
	libxcb-keysyms.so.1 => not found
	libxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f78)
"""


def test_a_missing_system_library_gets_the_one_line_that_installs_it():
    from gui.system_check import install_line, missing_libraries

    missing = missing_libraries(LDD_ON_A_MINIMAL_INSTALL)
    assert missing == ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert (
        install_line(missing)
        == "sudo apt-get install -y libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1"
    )


def test_the_check_reads_the_real_plugin_and_knows_every_package_it_may_ask_for():
    import sys as _sys

    from gui.system_check import DEBIAN_PACKAGES, check, plugin_files

    if not _sys.platform.startswith("linux"):
        pytest.skip("Linux only")
    assert plugin_files()  # the wheel's xcb plugin is where we look
    assert set(check()) <= set(DEBIAN_PACKAGES)  # whatever is missing here has a package


def test_a_vae_and_the_prediction_are_chosen_per_model_and_remembered(
    qtbot, window, settings, tmp_path
):
    from tests.sd_original_layout import vae_to_original

    folder = tmp_path / "models"
    (folder / "VAE").mkdir(parents=True)
    first, second = tiny_pipeline("sd1", seed=1), tiny_pipeline("sd1", seed=2)
    save_single_file(first, folder / "first.safetensors")
    save_single_file(second, folder / "second.safetensors")
    state = vae_to_original(second.vae.state_dict(), second.vae.config)
    save_file(
        {k: v.contiguous() for k, v in state.items()}, str(folder / "VAE" / "clear.safetensors")
    )
    settings.models_dirs = [folder]
    with qtbot.waitSignal(window.create_panel.models_listed, timeout=30_000):
        window.apply_settings()
    panel = window.create_panel
    assert [panel.vae_box.itemText(i) for i in range(panel.vae_box.count())][0] == "The model's own"
    panel.select_model(str(folder / "first.safetensors"))
    panel.vae_box.setCurrentIndex(panel.vae_box.findData(str(folder / "VAE" / "clear.safetensors")))
    assert panel.build_request().vae == str(folder / "VAE" / "clear.safetensors")
    panel.select_model(str(folder / "second.safetensors"))
    assert panel.build_request().vae == ""
    panel.select_model(str(folder / "first.safetensors"))
    assert panel.vae_box.currentText().startswith("clear · ")
    restored = type(panel)()
    restored.restore(panel.state())
    assert restored._model_settings[str(folder / "first.safetensors")]["vae"] == str(
        folder / "VAE" / "clear.safetensors"
    )
    panel.prediction_box.setCurrentIndex(panel.prediction_box.findData("v"))
    assert panel.build_request().prediction == "v"
    panel.select_model(str(folder / "second.safetensors"))
    assert panel.build_request().prediction == ""


def test_a_variation_is_asked_for_and_read_back_from_a1111_text(qtbot, window):
    panel = window.create_panel
    assert panel.build_request().variation_strength == 0.0
    panel.variation_strength.setValue(0.3)
    panel.variation_seed.set_seed(77)
    request = panel.build_request()
    assert (request.variation_seed, request.variation_strength) == (77, 0.3)
    panel.variation_strength.setValue(0.0)
    panel.apply_parameters({"prompt": "x", "variation_seed": 12, "variation_seed_strength": 0.25})
    assert panel.build_request().variation_seed == 12
