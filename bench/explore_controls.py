"""Latent Lab → Explore: a control moved → its page has drawn the engine's answer.

The tools that answer a move (GMM components explaining a held-out image, NADE and
PixelCNN completing one with its surprise map, an RBM's Gibbs chains, filters and
clamped completion) are driven through the real window, client and worker on the
bundled digits models: the held-out image's number is stepped MOVES times, one move
every MOVE_MS, and each answer is timed from the move's Queued event (inside the
move's submit) to the page's job_finished having drawn it. Prints, per tool,
`explore_<tool>_median` and `explore_<tool>_p95` in milliseconds.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

MOVES = 30
MOVE_MS = 250  # a click on a spin box's arrow every quarter second


def main() -> None:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from engine.api.events import Queued
    from engine.api.requests import LiveRequest
    from gui.app import create_main_window
    from gui.explore import Tool
    from gui.settings import AppSettings

    _app = QApplication([])  # kept referenced for the whole run
    work = Path(tempfile.mkdtemp())
    settings = AppSettings(work / "config")
    settings.output_dir = work / "out"
    window = create_main_window(settings)
    window.resize(1400, 900)
    window.show()
    window.set_mode(1)
    lab = window.lab_panel
    asked: dict[int, float] = {}  # id of a live request -> when its move queued it
    latencies: list[float] = []

    def note_move(event: object) -> None:
        request = getattr(event, "request", None)
        if isinstance(event, Queued) and isinstance(request, LiveRequest):
            asked[id(request)] = time.perf_counter()

    window.client.event.connect(note_move)

    def wait_until(condition, timeout_s: float = 300) -> None:
        loop, poll = QEventLoop(), QTimer()
        poll.timeout.connect(lambda: condition() and loop.quit())
        poll.start(20)
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        loop.exec()

    tools = (
        ("components", "gmm-digits", Tool.COMPONENTS, lambda page: page.image_index),
        ("pixels_nade", "nade-digits", Tool.PIXELS, lambda page: page.image_index),
        ("pixels_pixelcnn", "pixelcnn-digits", Tool.PIXELS, lambda page: page.image_index),
        ("gibbs", "rbm-digits", Tool.GIBBS, lambda page: page.image_index),
    )
    for name, model, tool, control in tools:
        lab.tabs.setCurrentIndex(0)
        lab.refresh_models(select=model)
        lab.tabs.setCurrentWidget(lab.explore)
        lab.explore.select_tool(tool)
        page = lab.explore.page
        if name == "components":
            page.explain.setChecked(True)
        wait_until(lambda: not window.jobs.active())
        original = page.job_finished

        def timed(request, outcome, original=original) -> None:
            original(request, outcome)
            moved = asked.pop(id(request), None)
            if moved is not None:
                latencies.append(time.perf_counter() - moved)

        page.job_finished = timed
        latencies.clear()
        asked.clear()
        box = control(page)
        moves = iter(range(1, MOVES + 1))
        drag, loop = QTimer(), QEventLoop()

        def move(drag=drag, loop=loop, moves=moves, box=box) -> None:
            value = next(moves, None)
            if value is None:
                drag.stop()
                loop.quit()
            else:
                box.setValue(value)

        drag.timeout.connect(move)
        drag.start(MOVE_MS)
        loop.exec()
        wait_until(lambda: not window.jobs.active())
        QApplication.processEvents()
        page.job_finished = original
        ms = sorted(v * 1000 for v in latencies)
        p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
        print(f"explore_{name}_answered: {len(ms)} of {MOVES} moves", flush=True)
        print(f"explore_{name}_median: {statistics.median(ms):.1f} ms", flush=True)
        print(f"explore_{name}_p95: {p95:.1f} ms", flush=True)
    window.close_now()


if __name__ == "__main__":
    main()
