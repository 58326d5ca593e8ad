"""Latent Lab: Generate -> a sheet of 16 samples on screen and in the gallery (bundled VAE, CPU).

`cold` is a click the moment the window appears (the engine thread is still importing
torch); `warm` is every click after that. Both go through the real window, client,
worker, runtime and gallery save.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

RUNS = 10


def main() -> None:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from engine.api.events import Cancelled, Failed, Finished
    from gui.app import create_main_window
    from gui.settings import AppSettings

    _app = QApplication([])  # kept referenced for the whole run
    work = Path(tempfile.mkdtemp())
    settings = AppSettings(work / "config")
    settings.output_dir = work / "out"
    window = create_main_window(settings)
    window.show()
    window.set_mode(1)
    done: list = []
    window.client.event.connect(
        lambda e: isinstance(e, (Finished, Cancelled, Failed)) and done.append(e)
    )

    def click_to_grid() -> float:
        done.clear()
        start = time.perf_counter()
        window.generate()
        loop = QEventLoop()
        poll = QTimer()
        poll.timeout.connect(lambda: done and loop.quit())
        poll.start(1)
        loop.exec()
        assert isinstance(done[0], Finished) and len(done[0].outcome.images) == 1, done[0]
        return time.perf_counter() - start

    cold = click_to_grid()
    warm = statistics.median(click_to_grid() for _ in range(RUNS))
    print(f"lab_generate_cold: {cold * 1000:.0f} ms")
    print(f"lab_generate_warm: {warm * 1000:.1f} ms")
    window.close()


if __name__ == "__main__":
    main()
