"""Latent Lab → Explore: touch a model's latent space. One page per tool; which tools a
model offers depends on its family:

- VAE: sliders, interpolation, arithmetic, reconstruction;
- GAN: sliders, interpolation, arithmetic;
- DDPM: the reverse process step by step, the forward process scrubbed;
- GMM: its components (means, weights, which explain an image; draws from one).
- NADE (autoregressive): pixel by pixel (a drawing to watch, completions, surprise).
- RBM: its filters, a Gibbs chain as a filmstrip, a held-out digit's clamped completion.

Pages that run with Generate build a request (saved to the gallery like any result);
live pages send their own small interactive jobs. Each page listens to its own jobs.
"""

from __future__ import annotations

from enum import Enum

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from engine.api.errors import BadInput
from engine.api.families import EXPLORE_TOOLS, spec_of
from engine.api.kinds import Family
from engine.api.parts import ModelRef
from engine.api.requests import Request, SampleRequest
from engine.handle import JobHandle
from gui.explore.arithmetic_page import ArithmeticPage
from gui.explore.components_page import ComponentsPage
from gui.explore.forward_page import ForwardPage
from gui.explore.gibbs_page import GibbsPage
from gui.explore.page import ExplorePage
from gui.explore.pixels_page import PixelsPage
from gui.explore.reconstruct_page import ReconstructPage
from gui.explore.reverse_page import ReversePage
from gui.explore.sliders_page import SlidersPage
from gui.explore.walk_page import WalkPage
from gui.mode_panel import Send
from gui.widgets import CurrentPageStack


class Tool(str, Enum):
    SLIDERS = "Latent sliders"
    WALK = "Interpolation"
    ARITHMETIC = "Latent arithmetic"
    RECONSTRUCT = "Reconstruction"
    REVERSE = "Reverse process"
    FORWARD = "Forward process"
    COMPONENTS = "Components"
    PIXELS = "Pixel by pixel"
    GIBBS = "Gibbs chain"


# The places ("explore:<tool>", Request.reopens_in) whose recipes a page here reopens.
PLACES = tuple(
    page.reopens
    for page in (SlidersPage, WalkPage, ArithmeticPage, ReconstructPage, ReversePage, ForwardPage)
    if page.reopens
)


def tools_of(family: Family) -> tuple[Tool, ...]:
    """The Explore tools a family's spec names, in its order."""
    return tuple(Tool(EXPLORE_TOOLS[t]) for t in spec_of(family).explore_tools)


class ExploreTab(QWidget):
    run_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model: ModelRef | None = None
        self.sliders, self.walk = SlidersPage(), WalkPage()
        self.arithmetic, self.reconstruct = ArithmeticPage(), ReconstructPage()
        self.reverse, self.forward = ReversePage(), ForwardPage()
        self.components = ComponentsPage()
        self.pixels = PixelsPage()
        self.gibbs = GibbsPage()
        self.pages: dict[Tool, ExplorePage] = {
            Tool.SLIDERS: self.sliders,
            Tool.WALK: self.walk,
            Tool.ARITHMETIC: self.arithmetic,
            Tool.RECONSTRUCT: self.reconstruct,
            Tool.REVERSE: self.reverse,
            Tool.FORWARD: self.forward,
            Tool.COMPONENTS: self.components,
            Tool.PIXELS: self.pixels,
            Tool.GIBBS: self.gibbs,
        }
        # Each page scrolls: the tallest (Gibbs chain, Pixel by pixel) must not set the
        # window's minimum height (a 760 px window keeps its size).
        self.stack = CurrentPageStack()
        self.scrolls: dict[ExplorePage, QScrollArea] = {}
        for page in self.pages.values():
            scroll = QScrollArea()
            scroll.setWidget(page)
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            bar = scroll.verticalScrollBar().sizeHint().width()
            scroll.setMinimumWidth(page.minimumSizeHint().width() + bar)  # widths as before
            self.scrolls[page] = scroll
            self.stack.addWidget(scroll)
        self.model_label = QLabel()
        self.model_label.setStyleSheet("color: #a8a8a8;")
        self.tool = QComboBox()
        self.tool.currentIndexChanged.connect(self._tool_changed)
        self.run_button = QPushButton()
        self.run_button.setMinimumHeight(36)
        self.run_button.clicked.connect(self.run_requested)
        form = QFormLayout()
        form.addRow("Model", self.model_label)
        form.addRow("Tool", self.tool)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.run_button)
        self.set_model(None)

    # ------------------------------------------------------------ model and tool

    def set_model(self, model: ModelRef | None) -> None:
        self.model = model
        self.model_label.setText(
            f"{model.name} (choose another in the Sample tab)" if model else "none"
        )
        tools = tools_of(model.family) if model else ()
        current = self.current_tool
        self.tool.blockSignals(True)
        self.tool.clear()
        for tool in tools:
            self.tool.addItem(tool.value, tool)
        self.tool.blockSignals(False)
        self.select_tool(current if current in tools else (tools[0] if tools else None))

    @property
    def current_tool(self) -> Tool | None:
        return self.tool.currentData()

    @property
    def page(self) -> ExplorePage:
        return self.stack.currentWidget().widget()

    def select_tool(self, tool: Tool | None) -> None:
        index = self.tool.findData(tool) if tool is not None else -1
        self.tool.setCurrentIndex(max(index, 0) if self.tool.count() else -1)
        self._tool_changed()

    def _tool_changed(self, *_args: object) -> None:
        tool = self.current_tool
        page = self.pages[tool] if tool is not None else self.walk
        self.stack.setCurrentWidget(self.scrolls[page])
        self.run_button.setVisible(page.run_text is not None and tool is not None)
        self.run_button.setText(page.run_text or "")
        if self.isVisible():  # live pages fetch their axes or schedule only when seen
            page.set_model(self.model)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        self.page.set_model(self.model)

    # ------------------------------------------------------------ requests

    def build_request(self, model: ModelRef | None) -> Request:
        if model is None:
            raise BadInput("Choose a model in the Sample tab first.")
        if self.page.run_text is None:
            raise BadInput(f"{self.current_tool.value} work as you move them: nothing to generate.")
        return self.page.build_request(model)

    def set_submit(self, send: Send) -> None:
        for page in self.pages.values():
            page.set_submit(send)

    def listen(self, request: Request, handle: JobHandle) -> None:
        """A Generate of the shown page: that page follows its job."""
        self.page.listen(request, handle)

    def reopen(self, request: Request) -> None:
        """Use these parameters: open the page named by the recipe, filled from it."""
        tool = next(t for t, page in self.pages.items() if page.reopens == request.reopens_in)
        self.select_tool(tool)
        # The page takes the model first (shown or not): a kept code then survives the
        # page's first look at the model, which starts the sliders from a seed.
        self.page.set_model(self.model)
        self.page.apply_request(request)

    def sample_selected(self, sample: SampleRequest | None) -> None:
        self.arithmetic.sample_selected(sample)
