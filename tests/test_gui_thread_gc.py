"""Cyclic garbage made on an engine thread is collected on the GUI thread (a widget
destroyed on another thread deadlocks Qt: gui/gui_thread_gc.py)."""

from __future__ import annotations

import gc
import threading

from gui.gui_thread_gc import GuiThreadCollector


class Cycle:
    """Garbage only the cycle collector can free; says on which thread it was freed."""

    freed_on: list[str] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        Cycle.freed_on.append(threading.current_thread().name)


def test_garbage_made_on_another_thread_is_freed_on_the_gui_thread(qtbot, qapp):
    collector = GuiThreadCollector(qapp)
    try:
        assert not gc.isenabled()
        Cycle.freed_on.clear()

        def churn() -> None:  # far past every threshold: Python would collect here
            for _ in range(3 * gc.get_threshold()[0] * max(1, gc.get_threshold()[1])):
                Cycle()

        worker = threading.Thread(target=churn, name="engine-lane")
        worker.start()
        worker.join()
        assert Cycle.freed_on == []  # nothing was collected on the engine thread
        qtbot.waitUntil(lambda: bool(Cycle.freed_on), timeout=5_000)
        assert set(Cycle.freed_on) == {threading.main_thread().name}
    finally:
        collector.deleteLater()
        gc.collect()
