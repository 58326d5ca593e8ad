"""Child process for bench.cold_start: show a window, print when it is on screen, exit.

`app` shows Latent Studio's main window as `make run` does; `bare` an empty PySide6 window.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path


def main(which: str) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    app = QApplication(sys.argv)
    if which == "app":
        from gui.app import create_main_window
        from gui.settings import AppSettings
        from gui.theme import apply_dark_theme

        apply_dark_theme(app)
        config = Path(tempfile.mkdtemp())
        settings = AppSettings(config)
        settings.output_dir = config / "out"
        window = create_main_window(settings)
    else:
        window = QMainWindow()
        window.resize(1280, 820)
    window.show()

    def shown() -> None:
        print(f"shown {time.time():.6f}", flush=True)
        window.close()
        app.quit()

    QTimer.singleShot(0, shown)  # runs once the first show/paint events are processed
    code = app.exec()
    if which == "app":  # closed while the engine still imports torch: as the app exits
        from gui.app import exit_now_if_engine_is_stuck

        exit_now_if_engine_is_stuck(code)


if __name__ == "__main__":
    main(sys.argv[1])
