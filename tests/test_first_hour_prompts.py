"""The first hour (issue 7), the prompt editor: the token counter's chunks (CLIP's own), the
weight keys and colours, and the LoRA menu's tag resolved by the job."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor

from tests.sd_original_layout import save_single_file, tiny_pipeline

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
    panel.prompt_section.fill_lora_menu()
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
