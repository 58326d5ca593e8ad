"""Small widget factories that take their ranges from engine.api.limits (one source)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtWidgets import QDoubleSpinBox, QLabel, QScrollArea, QSpinBox, QStackedWidget, QWidget

from engine.api.limits import Limit

QT_INT_MAX = 2**31 - 1  # a QSpinBox holds a C int


def spin_box(limit: Limit, value: int, step: int = 1) -> QSpinBox:
    box = QSpinBox()
    box.setRange(int(limit.low), min(int(limit.high), QT_INT_MAX))
    box.setSingleStep(step)
    box.setValue(value)
    box.setToolTip(f"{limit.name}: {limit.low}–{limit.high}")
    return box


def quiet_label(text: str = "") -> QLabel:
    """A grey, wrapped sentence: a note under a control, a status line."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: #a8a8a8;")
    return label


def double_spin_box(limit: Limit, value: float, step: float, decimals: int) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(decimals)
    box.setRange(float(limit.low), float(limit.high))
    box.setSingleStep(step)
    box.setValue(value)
    return box


class _FollowWidth(QObject):
    """Keeps a scroll area as wide as its content's minimum, whatever is shown in it."""

    def __init__(self, scroll: QScrollArea) -> None:
        super().__init__(scroll)
        self.scroll = scroll

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.LayoutRequest:
            bar = self.scroll.verticalScrollBar().sizeHint().width()
            self.scroll.setMinimumWidth(self.scroll.widget().minimumSizeHint().width() + bar)
        return False


def vertical_scroll(content: QWidget) -> QScrollArea:
    """A frameless area that scrolls `content` up and down, never sideways: it grows to the
    content's minimum width (options that open widen it) instead of clipping it."""
    scroll = QScrollArea()
    scroll.setWidget(content)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    content.installEventFilter(_FollowWidth(scroll))
    return scroll


class CurrentPageStack(QStackedWidget):
    """A stack whose size hints are its shown page's, not its widest page's: Explore is
    as narrow as the shown tool allows, so one wide tool does not widen every other."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.currentChanged.connect(lambda _index: self.updateGeometry())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        page = self.currentWidget()
        return page.sizeHint() if page is not None else super().sizeHint()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        page = self.currentWidget()
        return page.minimumSizeHint() if page is not None else super().minimumSizeHint()
