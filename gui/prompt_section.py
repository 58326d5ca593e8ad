"""Create's prompt area: the prompt and negative editors, the LoRA and Embeddings menus that
insert into the prompt, and the token count under each editor (CLIP's chunks, plus the
syntax and unknown-LoRA problems a job would meet)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QVBoxLayout, QWidget

from engine.api.prompt_syntax import unbalanced
from engine.batch.wildcard_check import wildcard_problem
from engine.library.detect import ModelKind, SdFamily
from engine.library.scan import LibraryEntry
from gui.extra_networks import fill_menu, insert_word, menu_button, unknown_loras
from gui.prompt_edit import PromptEdit
from gui.prompt_tokens import PromptTokenCounter, token_text

TOKENIZER_DELAY_MS = 1500
RECOUNT_DELAY_MS = 150  # typing restarts it: one count once the keys pause
QUIET = "color: #8a8a8a;"
WARNING = "color: #f0a040;"


class PromptSection(QWidget):
    """The two prompt editors with their menus and token counts. `entries` and `family`
    give the last scan of the model folders and the chosen model's family: the menus and
    the unknown-LoRA check read them when needed, never the disk."""

    def __init__(
        self,
        entries: Callable[[], list[LibraryEntry]],
        family: Callable[[], SdFamily | None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._entries, self._family = entries, family
        self._wildcard_folder: Path | None = None
        self._wildcards: Mapping[str, list[str]] | None = None  # None: not read yet
        self.tokens = PromptTokenCounter()
        self.prompt = PromptEdit("Prompt: what you want to see")
        self.negative = PromptEdit("Negative prompt: what you do not want")
        self.lora_button = menu_button(
            "LoRA", "Insert a LoRA from the model folders into the prompt", self.fill_lora_menu
        )
        self.lora_menu = self.lora_button.menu()
        self.embedding_button = menu_button(
            "Embeddings",
            "Insert a textual-inversion embedding's name into the prompt",
            self.fill_embedding_menu,
        )
        self.embedding_menu = self.embedding_button.menu()
        self.prompt_tokens, self.negative_tokens = QLabel(), QLabel()
        for edit, label, lines in (
            (self.prompt, self.prompt_tokens, 5),
            (self.negative, self.negative_tokens, 3),
        ):
            edit.setFixedHeight(edit.fontMetrics().lineSpacing() * lines + 12)
            label.setWordWrap(True)
            label.setStyleSheet(QUIET)
        self._recount = QTimer(self, singleShot=True, interval=RECOUNT_DELAY_MS)
        self._recount.timeout.connect(self.update_token_counts)
        self.prompt.textChanged.connect(self._recount.start)
        self.negative.textChanged.connect(self._recount.start)
        self._lay_out()
        # The CLIP tokenizer is built on a thread, once the window is up (not during start-up).
        QTimer.singleShot(TOKENIZER_DELAY_MS, self.update_token_counts)

    def _lay_out(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)  # part of Create's column, not a box in it
        prompt_row = QHBoxLayout()
        prompt_row.addWidget(QLabel("<b>Prompt</b>"))
        prompt_row.addStretch(1)
        prompt_row.addWidget(self.lora_button)
        prompt_row.addWidget(self.embedding_button)
        layout.addLayout(prompt_row)
        layout.addWidget(self.prompt)
        layout.addWidget(self.prompt_tokens)
        layout.addWidget(QLabel("<b>Negative prompt</b>"))
        layout.addWidget(self.negative)
        layout.addWidget(self.negative_tokens)

    def set_embedding_names(self, names: list[str]) -> None:
        """The embeddings both editors mark as such."""
        for edit in (self.prompt, self.negative):
            edit.set_embedding_names(names)

    def set_wildcards(self, folder: Path, listing: Mapping[str, list[str]]) -> None:
        """The wildcard folder's last listing: both editors complete and mark its names,
        and the line under each names a wildcard the folder does not have."""
        self._wildcard_folder, self._wildcards = folder, listing
        for edit in (self.prompt, self.negative):
            edit.set_wildcard_names(sorted(listing))
        self.update_token_counts()

    def wildcard_problem(self, text: str) -> str:
        if self._wildcards is None:
            return ""
        return wildcard_problem(text, self._wildcard_folder, self._wildcards)

    # ------------------------------------------------------------ menus

    def fill_lora_menu(self, menu: QMenu | None = None) -> None:
        menu = menu or self.lora_menu
        fill_menu(menu, self._entries(), ModelKind.LORA, self._family(), self.insert_lora)

    def fill_embedding_menu(self, menu: QMenu | None = None) -> None:
        insert = lambda name: insert_word(self.prompt, name)  # noqa: E731
        entries, family = self._entries(), self._family()
        fill_menu(menu or self.embedding_menu, entries, ModelKind.EMBEDDING, family, insert)

    def insert_lora(self, name: str) -> None:
        insert_word(self.prompt, f"<lora:{name}:1>")

    # ------------------------------------------------------------ token counts

    def update_token_counts(self) -> None:
        for edit, label in (
            (self.prompt, self.prompt_tokens),
            (self.negative, self.negative_tokens),
        ):
            text = edit.toPlainText()
            sizes = self.tokens.chunk_sizes(text)
            if sizes is None:  # the tokenizer is still being built: ask again shortly
                label.setText("")
                self._recount.start()
                continue
            problem = (
                self.wildcard_problem(text)
                or unbalanced(text)
                or unknown_loras(text, self._entries())
            )
            label.setText(token_text(sizes) + (f" · {problem}" if problem else ""))
            label.setStyleSheet(WARNING if problem else QUIET)
