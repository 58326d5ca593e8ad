"""Guards against Qt binding releases that corrupt reference counts.

PySide6 6.12.0 dropped a reference to True/False on every signal emitted from a worker
thread, and to None on every processEvents() call: a long generation aborted the whole
app with "Fatal Python error: bool_dealloc". These checks fail (instead of crashing
much later) on any release that brings such a bug back.
"""

from __future__ import annotations

import sys

import numpy as np
from PySide6.QtCore import QCoreApplication

from engine.api.events import DeviceInfo, Finished
from engine.api.kinds import Family
from engine.api.outcomes import ImagesOutcome, ResultImage
from engine.api.parts import ModelRef
from engine.api.requests import Request, SampleRequest
from engine.context import JobContext
from engine.local_engine import LocalEngine

STEPS = 1500
DRIFT_ALLOWED = 200  # refcounts of the singletons move a little with caches; not by thousands


class ManyStepsRunner:
    def device_info(self) -> DeviceInfo:
        return DeviceInfo("cpu", "float32", "CPU · fp32")

    def run(self, request: Request, ctx: JobContext) -> ImagesOutcome:
        for step in range(1, STEPS + 1):
            ctx.report(step, STEPS)
        return ImagesOutcome((ResultImage(np.zeros((1, 1, 3), np.uint8), request.seed),))

    def set_device_preference(self, preference: str) -> DeviceInfo:
        return self.device_info()

    def set_precision_preference(self, precision: str) -> DeviceInfo:
        return self.device_info()

    def set_offload_preference(self, offload: str) -> DeviceInfo:
        return self.device_info()

    def set_compile_preference(self, compile_unet: bool) -> DeviceInfo:
        return self.device_info()

    def close(self) -> None:
        pass


def singleton_refs() -> tuple[int, int]:
    return sys.getrefcount(None), sys.getrefcount(True) + sys.getrefcount(False)


def test_worker_signals_keep_reference_counts(qtbot, tmp_path):
    client = LocalEngine(tmp_path, make_runtime=lambda _c: ManyStepsRunner())
    events: list = []
    client.event.connect(events.append)
    client.start()
    qtbot.waitUntil(lambda: any(isinstance(e, DeviceInfo) for e in events))
    drifts = []
    # Other threads of the test process (thumbnail pools, hashing) move these counts a
    # little at any time; the binding bug moves them by STEPS on every job. So: the
    # smallest drift of up to three jobs.
    for attempt in range(3):
        events.clear()
        before = singleton_refs()
        client.submit(
            SampleRequest(model=ModelRef(Family.VAE, "vae-digits"), seed=attempt, count=1)
        )
        qtbot.waitUntil(lambda: any(isinstance(e, Finished) for e in events), timeout=30_000)
        after = singleton_refs()
        drifts.append(max(abs(a - b) for a, b in zip(after, before, strict=True)))
        if drifts[-1] < DRIFT_ALLOWED:
            break
    client.shutdown()
    assert min(drifts) < DRIFT_ALLOWED, drifts


def test_process_events_keeps_reference_counts(qapp):
    before = singleton_refs()
    for _ in range(STEPS):
        QCoreApplication.processEvents()
    after = singleton_refs()
    assert abs(after[0] - before[0]) < DRIFT_ALLOWED
