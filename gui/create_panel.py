"""Create: Stable Diffusion text-to-image controls."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.api import limits
from engine.api.kinds import Family
from engine.api.outcomes import ImagesOutcome, Outcome
from engine.api.parts import ModelRef, Prompt, Sampling, Size
from engine.api.prompt_syntax import unbalanced
from engine.api.requests import Request, Txt2ImgRequest
from engine.api.samplers import SAMPLER_NAMES
from engine.handle import JobHandle
from engine.library.detect import ModelKind
from engine.library.prompt_refs import embeddings_named, missing_loras, resolve_lora_tags
from engine.library.scan import DIFFUSERS, LibraryEntry, human_size
from gui.extra_networks import fill_menu, insert_word, menu_button
from gui.latent_walk_box import LatentWalkBox
from gui.library_scanner import LibraryListing, LibraryScanner
from gui.mode_panel import ModePanel
from gui.model_folders_watch import ModelFoldersWatch, what_changed
from gui.prompt_edit import PromptEdit
from gui.prompt_tokens import TOKENS_PER_CHUNK, PromptTokenCounter
from gui.seed_edit import SeedEdit
from gui.start_folders import Purpose, remember, start_folder
from gui.unusable_models import UnusableNote
from gui.widgets import double_spin_box, spin_box

MODEL_DEFAULT_SAMPLER = "Model default"
TOKENIZER_DELAY_MS = 1500
NO_MODEL = "No model yet: Settings → Models folders"
SCANNING = "Looking for models…"
OWN_VAE = "The model's own"
PREDICTIONS = {"As the model says": "", "ε (epsilon)": "epsilon", "v (v-prediction)": "v"}
QUIET = "color: #8a8a8a;"
WARNING = "color: #f0a040;"


def _size_box(value: int) -> QSpinBox:
    box = spin_box(limits.SD_SIDE, value, step=limits.SIZE_MULTIPLE)
    box.setSuffix(" px")
    return box


class CreatePanel(QWidget, ModePanel):
    title = "Create"
    reopens = ("create",)
    generate_requested = Signal()
    model_chosen = Signal(str)
    models_listed = Signal()  # a scan of the model folders has been shown
    models_changed = Signal()  # a rescan found files added or removed
    notice = Signal(str)  # a line for the status bar

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_box = QComboBox()
        self.model_box.setMinimumContentsLength(12)
        self.model_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model_box.setPlaceholderText(NO_MODEL)
        self.model_box.currentIndexChanged.connect(self._on_model_changed)
        self.browse_button = QToolButton(text="…")
        self.browse_button.setToolTip("Open a Stable Diffusion model (a diffusers folder)")
        self.browse_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        browse = QMenu(self.browse_button)
        browse.addAction("Open a model folder…", self._browse_folder)
        browse.addAction("Open a model file…", self._browse_file)
        self.browse_button.setMenu(browse)

        self.tokens = PromptTokenCounter()
        self.prompt = PromptEdit("Prompt: what you want to see")
        self.negative = PromptEdit("Negative prompt: what you do not want")
        self.lora_button = menu_button(
            "LoRA", "Insert a LoRA from the model folders into the prompt", self._fill_lora_menu
        )
        self.lora_menu = self.lora_button.menu()
        self.embedding_button = menu_button(
            "Embeddings",
            "Insert a textual-inversion embedding's name into the prompt",
            self._fill_embedding_menu,
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
        self._recount = QTimer(self, singleShot=True, interval=150)
        self._recount.timeout.connect(self.update_token_counts)
        self.prompt.textChanged.connect(self._recount.start)
        self.negative.textChanged.connect(self._recount.start)

        self.width_box, self.height_box = _size_box(512), _size_box(512)
        self.steps = spin_box(limits.SD_STEPS, 20)
        self.cfg = double_spin_box(limits.CFG_SCALE, 7.0, step=0.5, decimals=1)
        self.seed = SeedEdit()
        self.sampler = QComboBox()
        self.sampler.addItems([MODEL_DEFAULT_SAMPLER, *SAMPLER_NAMES])
        self.sampler.setToolTip("Model default: the scheduler the model ships with.")
        self.batch = spin_box(limits.SD_BATCH, 1)
        self.vae_box = QComboBox()
        self.vae_box.addItem(OWN_VAE, "")
        self.vae_box.setToolTip(
            "A VAE file to decode with instead of the model's own; remembered per model"
        )
        self.vae_box.currentIndexChanged.connect(self._remember_model_settings)
        self.prediction_box = QComboBox()
        for label, value in PREDICTIONS.items():
            self.prediction_box.addItem(label, value)
        self.prediction_box.setToolTip(
            "What the model was trained to predict. Files usually say; SD 2.x 768 models "
            "often do not, and need v. Remembered per model."
        )
        self.prediction_box.currentIndexChanged.connect(self._remember_model_settings)
        # Per model file: {"vae": path or "", "prediction": "" | "epsilon" | "v"}.
        self._model_settings: dict[str, dict[str, str]] = {}
        self.variation_seed = SeedEdit()
        self.variation_strength = double_spin_box(limits.VARIATION_STRENGTH, 0.0, 0.05, 2)
        self.variation_strength.setToolTip(
            "A1111's variation: how far each image's starting noise moves towards the "
            "variation seed's (0: none; small values give close variations of one image)"
        )
        self.clip_skip = spin_box(limits.CLIP_SKIP, 1)
        self.clip_skip.setToolTip(
            "1: the text encoder's last layer; 2: the one before it (anime-style SD 1.x "
            "models are often made for 2)"
        )

        self.walk = LatentWalkBox()

        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip("Generate (Ctrl+Enter)")
        self.generate_button.setMinimumHeight(36)
        self.generate_button.clicked.connect(self.generate_requested)

        model_row = QHBoxLayout()
        model_row.addWidget(self.model_box, 1)
        model_row.addWidget(self.browse_button)
        size_row = QHBoxLayout()
        size_row.addWidget(self.width_box, 1)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.height_box, 1)

        form = QFormLayout()
        form.addRow("Model", model_row)
        self.unusable_note = UnusableNote()
        form.addRow(self.unusable_note)
        form.addRow("Size", size_row)
        form.addRow("Steps", self.steps)
        form.addRow("CFG scale", self.cfg)
        form.addRow("Sampler", self.sampler)
        form.addRow("Seed", self.seed)
        form.addRow("Batch", self.batch)
        variation = QHBoxLayout()
        variation.addWidget(self.variation_strength)
        variation.addWidget(self.variation_seed, 2)
        form.addRow("Variation", variation)
        form.addRow("VAE", self.vae_box)
        form.addRow("Prediction", self.prediction_box)
        form.addRow("Clip skip", self.clip_skip)

        layout = QVBoxLayout(self)
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
        layout.addLayout(form)
        layout.addWidget(self.walk)
        layout.addStretch(1)
        layout.addWidget(self.generate_button)
        # The CLIP tokenizer is built on a thread, once the window is up (not during start-up).
        QTimer.singleShot(TOKENIZER_DELAY_MS, self.update_token_counts)
        self._select_after_scan = ""
        self.listing = LibraryListing([], {})
        self.scanner = LibraryScanner(self)
        self.scanner.scanned.connect(self._on_scanned)
        self._folders: list[Path] = []
        self._announce = False  # whether the scan under way should say what changed
        self.folder_watch = ModelFoldersWatch(self)
        self.folder_watch.rescan.connect(self.rescan_models)

    # ------------------------------------------------------------ models

    def scan_models(self, folders: list[Path], select: str = "", announce: bool = False) -> None:
        """List the checkpoints in the folders, on a thread; `select` once they arrive."""
        self._folders, self._announce = list(folders), announce
        self._select_after_scan = select or self.model_path
        if self.model_box.count() == 0:
            self.model_box.setPlaceholderText(SCANNING)
        self.scanner.scan(folders)

    def rescan_models(self) -> None:
        """The same folders again (they changed, or the window is back in front)."""
        self.scan_models(self._folders, self.model_path, announce=True)

    def _on_scanned(self, listing: LibraryListing) -> None:
        change = what_changed(self.listing.entries, listing.entries) if self._announce else ""
        same = (
            self._announce
            and listing.entries == self.listing.entries
            and listing.hashes == self.listing.hashes
        )
        self.listing = listing
        self.folder_watch.watch(listing.folders)
        embeddings = [
            e.name for e in listing.entries if e.kind is ModelKind.EMBEDDING and not e.problem
        ]
        for edit in (self.prompt, self.negative):
            edit.set_embedding_names(embeddings)
        if not same:  # a focus rescan that found nothing new leaves the pickers alone
            self._fill_vaes(listing)
            self.set_models(listing, self._select_after_scan)
            self.unusable_note.show_entries(listing.entries)
        self.models_listed.emit()
        if change:
            self.notice.emit(change)
            self.models_changed.emit()

    def set_models(self, listing: LibraryListing, select: str = "") -> None:
        self.model_box.blockSignals(True)
        self.model_box.clear()
        usable = 0
        for entry in listing.entries:
            if entry.kind is not ModelKind.CHECKPOINT and not entry.detected.other:
                continue  # LoRAs, VAEs... are not models to generate with
            self.model_box.addItem(model_title(entry, listing.short_hash(entry)), str(entry.path))
            index = self.model_box.count() - 1
            self.model_box.setItemData(index, model_tooltip(entry), Qt.ItemDataRole.ToolTipRole)
            if entry.problem:  # shown, so the user learns what the file is; not choosable
                self.model_box.model().item(index).setEnabled(False)
            else:
                usable += 1
        self.model_box.setPlaceholderText(NO_MODEL)
        self.model_box.setCurrentIndex(-1)
        self.model_box.blockSignals(False)
        if select:
            self.select_model(select)
        elif usable:
            first = next(
                i
                for i in range(self.model_box.count())
                if self.model_box.model().item(i).isEnabled()
            )
            self.model_box.setCurrentIndex(first)

    def select_model(self, path: str) -> None:
        index = self.model_box.findData(path)
        if index < 0 and path:
            if not Path(path).exists():
                return  # a remembered model that is gone: leave the choice to the user
            self.model_box.addItem(Path(path).name, path)
            index = self.model_box.count() - 1
            self.model_box.setItemData(index, path, Qt.ItemDataRole.ToolTipRole)
        self.model_box.setCurrentIndex(index)

    @property
    def model_path(self) -> str:
        return str(self.model_box.currentData() or "")

    def _on_model_changed(self, _index: int) -> None:
        if self.model_path:
            self._show_model_settings(self._model_settings.get(self.model_path, {}))
            self.model_chosen.emit(self.model_path)

    def _fill_vaes(self, listing: LibraryListing) -> None:
        chosen = self.vae_box.currentData() or ""
        self.vae_box.blockSignals(True)
        self.vae_box.clear()
        self.vae_box.addItem(OWN_VAE, "")
        for entry in listing.entries:
            if entry.kind is ModelKind.VAE and not entry.problem:
                self.vae_box.addItem(f"{entry.name} · {human_size(entry.size)}", str(entry.path))
        self.vae_box.blockSignals(False)
        self._show_vae(chosen)

    def _show_vae(self, path: str) -> None:
        index = self.vae_box.findData(path)
        if index < 0 and path and Path(path).is_file():
            self.vae_box.addItem(Path(path).stem, path)
            index = self.vae_box.count() - 1
        self.vae_box.blockSignals(True)
        self.vae_box.setCurrentIndex(max(index, 0))
        self.vae_box.blockSignals(False)

    def _show_model_settings(self, settings: dict[str, str]) -> None:
        self._show_vae(settings.get("vae", ""))
        self.prediction_box.blockSignals(True)
        self.prediction_box.setCurrentIndex(
            max(0, self.prediction_box.findData(settings.get("prediction", "")))
        )
        self.prediction_box.blockSignals(False)

    def _remember_model_settings(self, _index: int = 0) -> None:
        if self.model_path:
            self._model_settings[self.model_path] = {
                "vae": self.vae_box.currentData() or "",
                "prediction": self.prediction_box.currentData() or "",
            }

    def _browse_folder(self) -> None:
        start = str(start_folder(Purpose.MODELS))
        folder = QFileDialog.getExistingDirectory(
            self, "Open a Stable Diffusion model folder", start
        )
        if folder:
            remember(Purpose.MODELS, str(Path(folder).parent))
            self.select_model(folder)

    def _fill_lora_menu(self, menu: QMenu | None = None) -> None:
        fill_menu(
            menu or self.lora_menu,
            self.listing.entries,
            ModelKind.LORA,
            self._chosen_family(),
            self.insert_lora,
        )

    def _fill_embedding_menu(self, menu: QMenu | None = None) -> None:
        insert = lambda name: insert_word(self.prompt, name)  # noqa: E731
        entries, family = self.listing.entries, self._chosen_family()
        fill_menu(menu or self.embedding_menu, entries, ModelKind.EMBEDDING, family, insert)

    def insert_lora(self, name: str) -> None:
        insert_word(self.prompt, f"<lora:{name}:1>")

    def _chosen_family(self):
        for entry in self.listing.entries:
            if str(entry.path) == self.model_path:
                return entry.family
        return None

    def _browse_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open a Stable Diffusion model file",
            str(start_folder(Purpose.MODELS)),
            "Checkpoints (*.safetensors *.ckpt)",
        )
        if path:
            remember(Purpose.MODELS, path)
            self.select_model(path)

    # ------------------------------------------------------------ prompts

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
            problem = unbalanced(text) or unknown_loras(text, self.listing)
            label.setText(token_text(sizes) + (f" · {problem}" if problem else ""))
            label.setStyleSheet(WARNING if problem else QUIET)

    # ------------------------------------------------------------ request and state

    def build_request(self) -> Txt2ImgRequest:
        sampler = self.sampler.currentText()
        prompt = Prompt(self.prompt.toPlainText().strip(), self.negative.toPlainText().strip())
        request = Txt2ImgRequest(
            model=ModelRef(Family.SD, self.model_path),
            prompt=prompt,
            loras=resolve_lora_tags(f"{prompt.positive} {prompt.negative}", self.listing.entries),
            embeddings=embeddings_named(
                f"{prompt.positive} {prompt.negative}", self.listing.entries
            ),
            clip_skip=self.clip_skip.value(),
            vae=self.vae_box.currentData() or "",
            prediction=self.prediction_box.currentData() or "",
            variation_seed=self.variation_seed.resolve() if self.variation_strength.value() else 0,
            variation_strength=round(self.variation_strength.value(), 2),
            size=Size(self.width_box.value(), self.height_box.value()),
            sampling=Sampling(
                steps=self.steps.value(),
                cfg_scale=round(self.cfg.value(), 2),
                sampler=None if sampler == MODEL_DEFAULT_SAMPLER else sampler,
                seed=self.seed.resolve(),
            ),
            batch_size=self.batch.value(),
        )
        return self.walk.walk_of(request)

    def listen(self, request: Request, handle: JobHandle) -> None:
        handle.finished.connect(self._drawn)

    def _drawn(self, outcome: Outcome) -> None:
        if isinstance(outcome, ImagesOutcome) and outcome.images:
            self.seed.set_last_seed(outcome.images[0].seed)

    def reopen(self, request: Request, seed: int | None) -> None:
        self.apply_request(request, seed)

    def apply_request(self, request: Txt2ImgRequest, seed: int | None) -> None:
        """Fill every control from a request (Use these parameters): its seed, one image."""
        if request.model.id:
            self.select_model(request.model.id)
        self.prompt.setPlainText(request.prompt.positive)
        self.negative.setPlainText(request.prompt.negative)
        self.width_box.setValue(request.size.width)
        self.height_box.setValue(request.size.height)
        self.steps.setValue(request.sampling.steps)
        self.cfg.setValue(request.sampling.cfg_scale)
        self.sampler.setCurrentText(request.sampling.sampler or MODEL_DEFAULT_SAMPLER)
        self.seed.set_seed(request.sampling.seed if seed is None else seed)
        self.batch.setValue(1)
        self.clip_skip.setValue(request.clip_skip)
        self.variation_strength.setValue(request.variation_strength)
        if request.variation_strength:
            self.variation_seed.set_seed(request.variation_seed)
        self._show_model_settings({"vae": request.vae, "prediction": request.prediction})
        self._remember_model_settings()
        self.walk.apply_request(request)

    def apply_parameters(self, params: dict[str, Any]) -> None:
        """Fill what another tool's A1111 text says; what it does not say stays as it is."""
        self.prompt.setPlainText(str(params.get("prompt", "")))
        self.negative.setPlainText(str(params.get("negative_prompt", "")))
        setters = (
            ("width", self.width_box.setValue),
            ("height", self.height_box.setValue),
            ("steps", self.steps.setValue),
            ("cfg_scale", self.cfg.setValue),
            ("seed", self.seed.set_seed),
            ("clip_skip", self.clip_skip.setValue),
            ("variation_seed", self.variation_seed.set_seed),
            ("variation_seed_strength", self.variation_strength.setValue),
        )
        for key, setter in setters:
            if isinstance(params.get(key), int | float):
                setter(params[key])
        sampler = str(params.get("sampler", ""))
        karras = f"{sampler} Karras" if params.get("schedule_type") == "Karras" else sampler
        for name in (karras, sampler):
            if name in SAMPLER_NAMES:
                self.sampler.setCurrentText(name)
                break
        self.batch.setValue(1)

    def state(self) -> dict[str, Any]:
        """What the next start of the app should show again."""
        return {
            "prompt": self.prompt.toPlainText(),
            "negative": self.negative.toPlainText(),
            "width": self.width_box.value(),
            "height": self.height_box.value(),
            "steps": self.steps.value(),
            "cfg": self.cfg.value(),
            "sampler": self.sampler.currentText(),
            "seed": self.seed.edit.text(),
            "batch": self.batch.value(),
            "clip_skip": self.clip_skip.value(),
            "model_settings": {k: dict(v) for k, v in self._model_settings.items()},
        }

    def restore(self, state: dict[str, Any]) -> None:
        with contextlib.suppress(TypeError, ValueError):
            self.prompt.setPlainText(str(state.get("prompt", "")))
            self.negative.setPlainText(str(state.get("negative", "")))
            self.width_box.setValue(int(state.get("width", self.width_box.value())))
            self.height_box.setValue(int(state.get("height", self.height_box.value())))
            self.steps.setValue(int(state.get("steps", self.steps.value())))
            self.cfg.setValue(float(state.get("cfg", self.cfg.value())))
            if state.get("sampler") in (MODEL_DEFAULT_SAMPLER, *SAMPLER_NAMES):
                self.sampler.setCurrentText(state["sampler"])
            self.seed.edit.setText(str(state.get("seed", "")))
            self.batch.setValue(int(state.get("batch", self.batch.value())))
            self.clip_skip.setValue(int(state.get("clip_skip", 1)))
            remembered = state.get("model_settings", {})
            if isinstance(remembered, dict):
                self._model_settings = {
                    str(k): {str(a): str(b) for a, b in v.items()}
                    for k, v in remembered.items()
                    if isinstance(v, dict)
                }


def token_text(sizes: list[int]) -> str:
    """'12/75 tokens'; past one chunk: '80 tokens in 2 chunks (75 + 5)'."""
    if len(sizes) == 1:
        return f"{sizes[0]}/{TOKENS_PER_CHUNK} tokens"
    return f"{sum(sizes)} tokens in {len(sizes)} chunks ({' + '.join(map(str, sizes))})"


def unknown_loras(text: str, listing: LibraryListing) -> str | None:
    missing = missing_loras(text, listing.entries)
    return f"no LoRA named {', '.join(missing)} in the model folders" if missing else None


def model_title(entry: LibraryEntry, short_hash: str | None) -> str:
    """'dreamshaper_8 · SD 1.x · 2.1 GB · 879db523c3'; a file that cannot be used says why."""
    if entry.problem:
        return f"{entry.name} — {entry.problem}"
    parts = [entry.name, entry.detected.label]
    if entry.format == DIFFUSERS:
        parts.append("diffusers folder")
    parts.append(human_size(entry.size))
    if short_hash:
        parts.append(short_hash)
    return " · ".join(parts)


def model_tooltip(entry: LibraryEntry) -> str:
    kind = "diffusers folder" if entry.format == DIFFUSERS else "single-file checkpoint"
    lines = [str(entry.path), f"{entry.detected.label}, {kind}, {human_size(entry.size)}"]
    if entry.problem:
        lines.append(entry.problem)
    elif entry.format != DIFFUSERS and entry.path.suffix.lower() != ".safetensors":
        lines.append(
            "A pickled checkpoint: it loads (tensors only), but a .safetensors copy loads "
            f'faster and safer: python main.py convert "{entry.path}"'
        )
    return "\n".join(lines)
