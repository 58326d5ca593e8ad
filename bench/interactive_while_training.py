"""Interactive lane latency while a training job runs on the training lane.

The real window and engine: a VAE trains on the digits (training lane) while the Latent
Lab asks for one latent at a time to be decoded (interactive lane, as a slider does);
each sample is the time from the request to the frame painted on the canvas. The same
is measured first with nothing training, in the same run, as the baseline.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SAMPLES = 60
PAUSE_MS = 30  # between two requests, like slider ticks


def main() -> None:
    import numpy as np
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from engine.api.events import DeviceInfo
    from engine.api.kinds import Family
    from engine.api.parts import DatasetRef, Latents, ModelRef, Training
    from engine.api.requests import DecodeRequest, TrainRequest
    from gui.app import create_main_window
    from gui.settings import AppSettings

    app = QApplication([])
    work = Path(tempfile.mkdtemp())
    os.environ.setdefault("LATENTSTUDIO_CACHE_DIR", str(work / "cache"))
    settings = AppSettings(work / "config")
    settings.output_dir = work / "out"
    window = create_main_window(settings)
    window.resize(1280, 820)
    window.show()
    window.set_mode(1)
    client = window.client
    rng = np.random.default_rng(0)
    model = ModelRef(Family.VAE, "vae-digits")

    def wait_until(condition, timeout_s: float = 120) -> None:
        loop = QEventLoop()
        poll = QTimer()
        poll.timeout.connect(lambda: condition() and loop.quit())
        poll.start(1)
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        loop.exec()

    def request_to_pixels() -> float:
        latent = tuple(float(v) for v in rng.standard_normal(8))
        finished, painted = [], []
        start = time.perf_counter()
        handle = client.submit(DecodeRequest(model=model, latents=Latents((latent,))))
        handle.finished.connect(lambda _outcome: finished.append(1))
        on_paint = lambda: finished and not painted and painted.append(time.perf_counter())  # noqa: E731
        window.canvas.painted.connect(on_paint)
        wait_until(lambda: painted)
        window.canvas.painted.disconnect(on_paint)
        return painted[0] - start

    def measure(count: int) -> list[float]:
        times = []
        for _ in range(count):
            times.append(request_to_pixels() * 1000)
            pause = time.perf_counter() + PAUSE_MS / 1000
            wait_until(lambda p=pause: time.perf_counter() >= p)
        return times

    devices: list = []
    client.event.connect(lambda e: isinstance(e, DeviceInfo) and devices.append(e))
    wait_until(lambda: devices)
    measure(5)  # warm: model loaded, caches hot
    idle = measure(SAMPLES)

    train = client.submit(
        TrainRequest(
            family=Family.VAE,
            preset="digits",
            dataset=DatasetRef("digits"),
            training=Training(steps=10_000_000, batch_size=32, checkpoint_every=10_000_000),
            output=str(work / "trained.safetensors"),
        )
    )
    steps: list = []
    train.progress.connect(lambda p: steps.append(p.step))
    wait_until(lambda: steps and steps[-1] > 50)
    first_step = steps[-1]
    busy = measure(SAMPLES)
    trained = steps[-1] - first_step
    cancelled: list = []
    train.cancelled.connect(lambda: cancelled.append(1))
    train.cancel()
    wait_until(lambda: cancelled)

    def p95(values: list[float]) -> float:
        return float(np.percentile(values, 95))

    print(f"interactive_idle_median: {statistics.median(idle):.1f} ms")
    print(f"interactive_idle_p95: {p95(idle):.1f} ms")
    print(f"interactive_while_training_median: {statistics.median(busy):.1f} ms")
    print(f"interactive_while_training_p95: {p95(busy):.1f} ms")
    print(f"interactive_while_training_ratio_p95: {p95(busy) / p95(idle):.2f} x")
    print(f"training_steps_during_measurement: {trained} steps")
    window.close()
    del app


if __name__ == "__main__":
    main()
