"""Create: Stable Diffusion text-to-image controls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.api import limits
from engine.api.errors import BadInput
from engine.api.outcomes import ImagesOutcome, Outcome
from engine.api.requests import Request, Txt2ImgRequest, XyzPlotRequest
from engine.handle import JobHandle
from engine.library.detect import SdFamily
from gui.bindings import bind_check, bind_combo, bind_line_edit, bind_spin, bind_text_edit
from gui.control_section import ControlSection
from gui.create_model_list import ModelList
from gui.fast_section import FewStepNote, TinyDecoderRow, spacing_box
from gui.latent_walk_box import LatentWalkBox
from gui.library_scanner import LibraryListing
from gui.mode_panel import ModePanel
from gui.model_choices import (
    add_model_path,
    add_vae_path,
    ask_model_file,
    ask_model_folder,
    browse_button,
    model_box,
    prediction_box,
    vae_box,
)
from gui.prompt_matrix_box import PromptMatrixBox
from gui.prompt_section import PromptSection
from gui.seed_edit import SeedEdit
from gui.source_options import HiresBox
from gui.source_section import SourceDrops, SourceSection
from gui.unusable_models import UnusableNote
from gui.viewmodels.create import SAMPLERS, CreateViewModel, missing_sentence
from gui.widgets import double_spin_box, spin_box, vertical_scroll
from gui.wildcard_scanner import WildcardScanner
from gui.xyz_section import XyzSection


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
        self.vm = CreateViewModel()
        self.model_box = model_box()
        self.browse_button = browse_button(self._browse_folder, self._browse_file)

        self.listing = LibraryListing([], {})  # the prompt menus read it before any scan
        self.prompt_section = PromptSection(lambda: self.listing.entries, self.chosen_family)
        self._alias_prompt_widgets(self.prompt_section)

        self.width_box, self.height_box = _size_box(512), _size_box(512)
        self.steps = spin_box(limits.SD_STEPS, 20)
        self.cfg = double_spin_box(limits.CFG_SCALE, 7.0, step=0.5, decimals=1)
        self.seed = SeedEdit()
        self.sampler = QComboBox()
        self.sampler.addItems(list(SAMPLERS))
        self.sampler.setToolTip("Model default: the scheduler the model ships with.")
        self.batch = spin_box(limits.SD_BATCH, 1)
        self.vae_box, self.prediction_box = vae_box(), prediction_box()
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
        self.xyz = XyzSection()
        self.matrix = PromptMatrixBox()
        self._build_source()

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
        self.few_step_note, self.tiny_decoder = FewStepNote(self.vm), TinyDecoderRow(self.vm)
        form.addRow(self.few_step_note)
        form.addRow("Size", size_row)
        form.addRow("Steps", self.steps)
        form.addRow("CFG scale", self.cfg)
        form.addRow("Sampler", self.sampler)
        form.addRow("Spacing", spacing_box(self.vm))
        form.addRow("Seed", self.seed)
        form.addRow("Batch", self.batch)
        variation = QHBoxLayout()
        variation.addWidget(self.variation_strength)
        variation.addWidget(self.variation_seed, 2)
        form.addRow("Variation", variation)
        form.addRow("VAE", self.vae_box)
        form.addRow("Preview", self.tiny_decoder)
        form.addRow("Prediction", self.prediction_box)
        form.addRow("Clip skip", self.clip_skip)

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(self.source)
        layout.addWidget(self.control)
        layout.addWidget(self.prompt_section)
        layout.addWidget(self.matrix)
        layout.addLayout(form)
        layout.addWidget(self.hires)
        layout.addWidget(self.walk)
        layout.addWidget(self.xyz)
        layout.addStretch(1)
        # The controls scroll (a source's options are long); Generate stays in sight.
        scroll = vertical_scroll(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll, 1)
        outer.addWidget(self.generate_button)
        self.models = ModelList(self, self)
        self.wildcard_scanner = WildcardScanner(self)
        self.wildcard_scanner.listed.connect(self._on_wildcards)
        self._wildcard_folder: Path | None = None
        self._later_pictures: list[Request] = []
        self._bind()

    def _alias_prompt_widgets(self, section: PromptSection) -> None:
        """The prompt area's widgets under the panel's own names, which the window, the
        send-to actions and the tests use."""
        self.prompt, self.negative, self.tokens = section.prompt, section.negative, section.tokens
        self.lora_button, self.lora_menu = section.lora_button, section.lora_menu
        self.embedding_button = section.embedding_button
        self.embedding_menu = section.embedding_menu
        self.prompt_tokens, self.negative_tokens = section.prompt_tokens, section.negative_tokens

    def _build_source(self) -> None:
        """Starting from an image: the source section, hires (text to image only), drops
        and Ctrl+V onto Create."""
        self.source = SourceSection(self.vm)
        self.source.notice.connect(self.notice)
        self.hires = HiresBox(self.vm.source)
        self.vm.source.path.changed.connect(
            lambda *_: self.hires.set_source_present(self.vm.source.has_source)
        )
        # Only the section itself: a picture dropped elsewhere is shown with its
        # parameters, Create unchanged (gui/window_drops.py, issue 24).
        self.drops = SourceDrops(self.source, self.source)
        self.control = ControlSection(self.vm.control)
        self.control.notice.connect(self.notice)
        self.control.preview_maps(self.vm.width, self.vm.height, lambda r: self.send(r))
        self.control.draw_at(self.vm.width, self.vm.height)
        self.addAction(self.source.paste_action)  # Ctrl+V anywhere in Create

    def _bind(self) -> None:
        """Every control to its field of the view-model, both ways."""
        vm = self.vm
        self.model_binding = bind_combo(
            self.model_box, vm.model, missing=lambda p: add_model_path(self.model_box, p)
        )
        vm.model.changed.connect(self._on_model_changed)
        bind_text_edit(self.prompt, vm.prompt)
        bind_text_edit(self.negative, vm.negative)
        for box, field in (
            (self.width_box, vm.width),
            (self.height_box, vm.height),
            (self.steps, vm.steps),
            (self.cfg, vm.cfg),
            (self.batch, vm.batch),
            (self.clip_skip, vm.clip_skip),
            (self.variation_strength, vm.variation_strength),
            (self.walk.frames, vm.frames),
        ):
            bind_spin(box, field)
        bind_combo(self.sampler, vm.sampler, by_text=True)
        bind_combo(self.walk.mode, vm.mode, by_text=True)
        self.vae_binding = bind_combo(
            self.vae_box, vm.vae, missing=lambda p: add_vae_path(self.vae_box, p)
        )
        bind_combo(self.prediction_box, vm.prediction)
        for edit, field in (
            (self.seed.edit, vm.seed),
            (self.variation_seed.edit, vm.variation_seed),
            (self.walk.to_seed.edit, vm.to_seed),
            (self.walk.to_prompt, vm.to_prompt),
        ):
            bind_line_edit(edit, field)
        bind_check(self.walk, vm.walk)
        vm.walk.changed.connect(self.walk.body.setVisible)  # the box's toggled is blocked

    # ------------------------------------------------------------ models

    def scan_models(self, folders: list[Path], select: str = "", announce: bool = False) -> None:
        """List the checkpoints in the folders, on a thread; `select` once they arrive."""
        self.models.scan(folders, select, announce)

    def select_model(self, path: str) -> None:
        """Choose a model by path; one outside the folders is added, a gone one refused."""
        if not self.vm.model.set(path):
            self.model_binding.show()

    @property
    def model_path(self) -> str:
        return self.vm.model.value

    def _on_model_changed(self, *_args: object) -> None:
        self.control.set_models(self.listing.entries, self.chosen_family())
        if self.model_path:
            self.model_chosen.emit(self.model_path)

    def _browse_folder(self) -> None:
        if folder := ask_model_folder(self):
            self.select_model(folder)

    def _browse_file(self) -> None:
        if path := ask_model_file(self):
            self.select_model(path)

    def chosen_family(self) -> SdFamily | None:
        for entry in self.listing.entries:
            if str(entry.path) == self.model_path:
                return entry.family
        return None

    # ------------------------------------------------------------ prompts

    def scan_wildcards(self, folder: Path | None = None) -> None:
        """Read the wildcard folder (this one, or the last one again) on a thread."""
        self._wildcard_folder = folder or self._wildcard_folder
        if self._wildcard_folder is not None:
            self.wildcard_scanner.scan(self._wildcard_folder)

    def _on_wildcards(self, folder: Path, listing: dict[str, list[str]]) -> None:
        self.vm.set_wildcards(folder, listing)
        self.prompt_section.set_wildcards(folder, listing)

    def update_token_counts(self) -> None:
        self.prompt_section.update_token_counts()

    def insert_lora(self, name: str) -> None:
        self.prompt_section.insert_lora(name)

    # ------------------------------------------------------------ request and state

    def build_request(self) -> Txt2ImgRequest | XyzPlotRequest:
        request = self.vm.build_request()
        if self.matrix.isChecked():
            if self.xyz.isChecked():
                raise BadInput(
                    "The prompt matrix and the X/Y/Z plot each make a grid: turn one off."
                )
            return self.matrix.plot(request)
        return self.xyz.plot(request) if self.xyz.isChecked() else request

    def _one_job(self) -> bool:
        """Whether Generate makes one job (a plot or a matrix), not one per picture."""
        return self.xyz.isChecked() or self.matrix.isChecked()

    def build_requests(self) -> list[Request]:
        """Generate's jobs: a plot, or the form's (one per picture with wildcards)."""
        made = [self.build_request()] if self._one_job() else list(self.vm.build_requests())
        self._later_pictures = made[1:]  # Reuse takes the first picture's seed, as A1111's
        return made

    def snap_size(self) -> None:
        """Width and height to the nearest sizes Stable Diffusion draws."""
        self.vm.snap_size()

    def listen(self, request: Request, handle: JobHandle) -> None:
        if not any(request is later for later in self._later_pictures):
            handle.finished.connect(self._drawn)

    def _drawn(self, outcome: Outcome) -> None:
        if isinstance(outcome, ImagesOutcome) and outcome.images:
            self.seed.set_last_seed(outcome.images[0].seed)

    def reopen(self, request: Request, seed: int | None) -> None:
        self.apply_request(request, seed)

    def apply_request(self, request: Txt2ImgRequest | XyzPlotRequest, seed: int | None) -> None:
        """Fill every control from a request (Use these parameters): its seed, one image.
        The source and mask are opened first, so the recipe's own size wins; one that is
        missing or changed is named. A plot's grid fills the form and the plot's axes."""
        self.matrix.setChecked(False)  # a matrix's grid reopens as its plot
        if isinstance(request, XyzPlotRequest):
            self.xyz.show_plot(request)
            request, seed = request.base, None
        else:
            self.xyz.setChecked(False)
        mask = request.mask.image if request.mask else None
        source = request.source.image if request.source else None
        problems = self.source.reopen(source, mask)
        self.vm.apply_request(request, seed)
        if problems := problems + self.control.reopen(request):
            self.notice.emit(" ".join(problems))

    def apply_parameters(self, params: dict[str, Any]) -> None:
        """Fill what another tool's A1111 text says; what it does not say stays as it is.
        A picture made from an image names what its text cannot carry."""
        if missing := self.vm.apply_parameters(params):
            self.notice.emit(missing_sentence(missing))
            self.control.set_expanded(self.vm.control.in_use or self.control.toggle.isChecked())

    def state(self) -> dict[str, Any]:
        """What the next start of the app should show again."""
        return self.vm.state()

    def restore(self, state: dict[str, Any]) -> None:
        self.vm.restore(state)
