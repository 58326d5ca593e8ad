"""Latent sliders through the real window (issue 11): a slider dragged continuously at
60 moves a second, and for each frame painted on the canvas, the time from the move
that asked for it to the canvas's paint. Moves whose frame was replaced by a newer one
before it ran are not painted (the interactive lane keeps only the newest), so
`slider_frames_painted` says how many of the moves reached the screen.

Per family (the bundled shapes models, 32 x 32): `slider_frame_median_<model>` and
`slider_frame_p95_<model>`, in milliseconds.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("LATENTSTUDIO_CACHE_DIR", tempfile.mkdtemp(prefix="bench-cache-"))

MOVES = 240  # four seconds of dragging
MOVE_MS = 16


def main() -> None:
    from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from engine.api.events import Queued
    from engine.api.requests import DecodeRequest
    from gui.app import create_main_window
    from gui.explore import Tool
    from gui.settings import AppSettings

    _app = QApplication([])
    work = Path(tempfile.mkdtemp())
    settings = AppSettings(work / "config")
    settings.output_dir = work / "out"
    window = create_main_window(settings)
    window.resize(1400, 900)
    window.show()
    window.set_mode(1)
    lab, canvas = window.lab_panel, window.canvas
    asked: dict[tuple[float, ...], float] = {}  # a decode's code -> when its move happened

    def note_move(event: object) -> None:  # a sweep returns to a position: the last wins
        request = getattr(event, "request", None)  # Queued: inside the move's submit
        if isinstance(event, Queued) and isinstance(request, DecodeRequest):
            asked[request.latents.vectors[0]] = time.perf_counter()

    window.client.event.connect(note_move)
    latencies: list[float] = []
    painted: set[int] = set()

    class PaintWatch(QObject):
        def eventFilter(self, _obj, event) -> bool:  # noqa: N802
            shown = window.results.shown
            if event.type() == QEvent.Type.Paint and shown is not None:
                request = shown.request
                if isinstance(request, DecodeRequest) and id(shown) not in painted:
                    painted.add(id(shown))
                    moved = asked.get(request.latents.vectors[0])
                    if moved is not None:
                        latencies.append(time.perf_counter() - moved)
            return False

    watch = PaintWatch()
    canvas.installEventFilter(watch)

    def wait_until(condition, timeout_s: float = 120) -> None:
        loop, poll = QEventLoop(), QTimer()
        poll.timeout.connect(lambda: condition() and loop.quit())
        poll.start(20)
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        loop.exec()

    for model in ("vae-shapes", "gan-shapes"):
        lab.tabs.setCurrentIndex(0)
        lab.refresh_models(select=model)
        lab.tabs.setCurrentWidget(lab.explore)
        lab.explore.select_tool(Tool.SLIDERS)
        sliders = lab.explore.sliders
        wait_until(lambda s=sliders: s.keep_button.isEnabled() and bool(s._rows))
        wait_until(lambda: not window.jobs.active())
        latencies.clear()
        asked.clear()
        slider = sliders._rows[0][1]
        positions = [round(300 * ((i / 60) % 2 - 1)) for i in range(MOVES)]  # sweeps
        moves = iter(positions)
        drag, loop = QTimer(), QEventLoop()

        def move(drag=drag, loop=loop, moves=moves, slider=slider) -> None:
            value = next(moves, None)
            if value is None:
                drag.stop()
                loop.quit()
            else:
                slider.setValue(value if value != slider.value() else value + 1)

        drag.timeout.connect(move)
        drag.start(MOVE_MS)
        loop.exec()
        wait_until(lambda: not window.jobs.active())
        QApplication.processEvents()
        ms = sorted(v * 1000 for v in latencies)
        p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
        print(f"slider_frames_painted_{model}: {len(ms)} of {MOVES} moves", flush=True)
        print(f"slider_frame_median_{model}: {statistics.median(ms):.1f} ms", flush=True)
        print(f"slider_frame_p95_{model}: {p95:.1f} ms", flush=True)
    window.close_now()


if __name__ == "__main__":
    main()
