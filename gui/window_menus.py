"""The main window's actions, menus and mode bar: what each item is called, its shortcut,
and the window method it calls."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QStackedWidget, QToolBar

from engine.interface import Engine
from gui.batch_dialog import open_batch_dialog
from gui.canvas import ImageCanvas
from gui.create_panel import CreatePanel
from gui.details_panel import DetailsDock
from gui.file_actions import FileActions
from gui.gallery_panel import GalleryPanel
from gui.gallery_sources import SourceFolderActions
from gui.help_menu import HelpWindow, add_help_menu
from gui.job_controls import JobControls
from gui.mode_panel import ModePanel
from gui.queue_dock import QueueDock
from gui.settings import AppSettings
from gui.trash_undo import TrashUndo

# What these use of the main window (MainWindow has it all; typed here so that this
# module does not import the window that imports it). The window is also the Qt parent
# of the actions.


class ActionWindow(Protocol):
    def addAction(self, action: QAction) -> None: ...  # noqa: N802


class MenuWindow(ActionWindow, HelpWindow, Protocol):
    # The actions build_menus makes and the window keeps.
    generate_action: QAction
    cancel_action: QAction
    save_as_action: QAction
    undo_action: QAction
    upscale_action: QAction
    controls: JobControls
    files: FileActions
    trash: TrashUndo
    canvas: ImageCanvas
    views: QStackedWidget
    gallery_panel: GalleryPanel
    sources: SourceFolderActions
    queue_dock: QueueDock
    details_dock: DetailsDock
    client: Engine
    settings: AppSettings
    create_panel: CreatePanel

    def generate(self) -> int | None: ...

    def open_settings(self) -> None: ...

    def upscale_shown_image(self) -> None: ...

    def close(self) -> bool: ...


class ModeBarWindow(Protocol):
    modes: list[ModePanel]

    def set_mode(self, index: int) -> None: ...

    def addToolBar(self, area: Qt.ToolBarArea, bar: QToolBar) -> None: ...  # noqa: N802


def _action(window: ActionWindow, text: str, slot, shortcut=None) -> QAction:
    action = QAction(text, window)
    action.triggered.connect(slot)
    if shortcut is not None:
        action.setShortcuts(shortcut if isinstance(shortcut, list) else [shortcut])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    window.addAction(action)  # shortcuts work whichever widget has focus
    return action


def build_menus(window: MenuWindow) -> None:
    """The actions the window keeps (generate_action, cancel_action, save_as_action,
    undo_action, upscale_action) and the menu bar."""
    w = window
    w.generate_action = _action(
        w, "Generate", w.generate, [QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")]
    )
    w.cancel_action = _action(w, "Cancel", w.controls.cancel_running, QKeySequence("Esc"))
    w.save_as_action = _action(
        w, "Save Image As…", w.files.save_image_as, QKeySequence.StandardKey.SaveAs
    )
    w.undo_action = _action(w, "Undo Delete", w.trash.undo, QKeySequence.StandardKey.Undo)
    settings = _action(w, "Settings…", w.open_settings, QKeySequence("Ctrl+,"))
    quit_action = _action(w, "Quit", w.close, QKeySequence.StandardKey.Quit)
    batch = _action(  # Create's settings as each line's defaults, read when a file is chosen
        w,
        "Run a Batch…",
        lambda: open_batch_dialog(
            w.client,
            w.settings.output_dir,
            w.create_panel.vm.txt2img_request,
            w,
            w.settings.wildcards_dir,
        ),
    )
    w.upscale_action = _action(
        w, "Upscale This Image", w.upscale_shown_image, QKeySequence("Ctrl+U")
    )
    w.canvas.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
    w.canvas.addActions([w.upscale_action, w.save_as_action])
    # The shown view's: the canvas, or the Upscale mode's before/after view.
    fit = _action(w, "Fit to Window", lambda: w.views.currentWidget().fit(), QKeySequence("Ctrl+0"))
    actual = _action(
        w, "Actual Size", lambda: w.views.currentWidget().actual_size(), QKeySequence("Ctrl+1")
    )

    menu = w.menuBar()
    file_menu = menu.addMenu("&File")
    file_menu.addActions([w.save_as_action, settings])
    file_menu.addSeparator()
    file_menu.addAction(batch)
    file_menu.addSeparator()
    file_menu.addActions([w.sources.add_action, w.sources.remove_action])
    file_menu.addSeparator()
    file_menu.addAction(quit_action)
    edit_menu = menu.addMenu("&Edit")
    edit_menu.addAction(w.undo_action)
    view_menu = menu.addMenu("&View")
    view_menu.addActions([fit, actual, w.gallery_panel.rescan_action])
    view_menu.addSeparator()
    view_menu.addActions([w.queue_dock.toggleViewAction(), w.details_dock.toggleViewAction()])
    job_menu = menu.addMenu("&Generate")
    job_menu.addActions([w.generate_action, w.cancel_action])
    job_menu.addSeparator()
    job_menu.addAction(w.upscale_action)
    add_help_menu(w)


def build_mode_bar(window: ModeBarWindow) -> list[QAction]:
    """One checkable button per mode (Alt+1…); returns their actions, in mode order."""
    bar = QToolBar("Modes")
    bar.setObjectName("mode-bar")
    bar.setMovable(False)
    bar.setIconSize(QSize(16, 16))
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    window.addToolBar(Qt.ToolBarArea.LeftToolBarArea, bar)
    group = QActionGroup(window)
    actions: list[QAction] = []
    for i, panel in enumerate(window.modes):
        action = QAction(panel.title, window, checkable=True)
        action.setShortcut(QKeySequence(f"Alt+{i + 1}"))
        action.setToolTip(f"{panel.title} (Alt+{i + 1})")
        action.triggered.connect(lambda _=False, i=i: window.set_mode(i))
        group.addAction(action)
        bar.addAction(action)
        # Only the checked mode is drawn framed: a mode button never takes the focus.
        bar.widgetForAction(action).setFocusPolicy(Qt.FocusPolicy.NoFocus)
        actions.append(action)
    return actions
