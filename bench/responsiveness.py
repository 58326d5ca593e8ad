"""GUI responsiveness: the longest gap between 5 ms heartbeats while a CPU job runs.

The real main window and engine client run a tiny Stable Diffusion job on the CPU
(with live previews); a 5 ms QTimer on the GUI thread records when it actually fires.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"

HEARTBEAT_MS = 5


def main() -> None:
    import numpy as np
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from engine.api.events import Cancelled, Failed, Finished
    from engine.api.kinds import Family
    from engine.api.parts import ModelRef, Prompt, Sampling, Size
    from engine.api.requests import Txt2ImgRequest
    from engine.models.sd.tiny import build_tiny_pipeline
    from gui.app import create_main_window
    from gui.settings import AppSettings

    _app = QApplication([])  # kept referenced for the whole run
    work = Path(tempfile.mkdtemp())
    model = build_tiny_pipeline(work / "tiny-sd")
    settings = AppSettings(work / "config")
    settings.output_dir = work / "out"
    window = create_main_window(settings)
    window.show()

    beats: list[float] = []
    done: list[object] = []
    timer = QTimer()
    timer.setInterval(HEARTBEAT_MS)
    timer.timeout.connect(lambda: beats.append(time.perf_counter()))

    def on_event(event) -> None:
        if isinstance(event, (Finished, Cancelled, Failed)):
            done.append(event)

    window.client.event.connect(on_event)
    request = Txt2ImgRequest(
        model=ModelRef(Family.SD, str(model)),
        prompt=Prompt("a lighthouse at dusk"),
        size=Size(512, 512),
        sampling=Sampling(steps=60, seed=1),
    )

    def run_job() -> float:
        """Submit, then run the real event loop until the job ends; returns its seconds."""
        done.clear()
        start = time.perf_counter()
        window.client.submit(request)
        poll = QTimer()
        loop = QEventLoop()
        poll.timeout.connect(lambda: done and loop.quit())
        poll.start(1)
        loop.exec()
        return time.perf_counter() - start

    run_job()  # warm-up: loads the model
    timer.start()
    job_s = run_job()
    timer.stop()
    gaps_ms = np.diff(beats) * 1000
    assert isinstance(done[0], Finished), done[0]
    print(f"responsiveness_job_duration: {job_s:.2f} s")
    print(f"responsiveness_heartbeats: {len(beats)} count")
    print(f"responsiveness_max_gap: {gaps_ms.max():.1f} ms")
    print(f"responsiveness_p99_gap: {np.percentile(gaps_ms, 99):.1f} ms")
    window.close()


if __name__ == "__main__":
    main()
