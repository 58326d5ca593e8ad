"""Cyclic garbage made on an engine thread is collected on the GUI thread (a widget
destroyed on another thread deadlocks Qt: gui/gui_thread_gc.py)."""

from __future__ import annotations

import gc
import threading
from types import SimpleNamespace

from PySide6.QtCore import QObject, Signal

from engine.api.events import DeviceInfo
from gui.app import settle_when_engine_started
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


class Announcer(QObject):
    event = Signal(object)


def test_settling_freezes_start_up_and_later_garbage_is_still_collected(qtbot, qapp):
    """After the engine's DeviceInfo, start-up's objects leave every later collection
    (gc.freeze), while a cycle made after it is still freed, on the GUI thread."""
    collector = GuiThreadCollector(qapp)
    window = SimpleNamespace(client=Announcer())
    settle_when_engine_started(window, collector)
    try:
        long_lived = [Cycle() for _ in range(100)]
        tracked_before = len(gc.get_objects())
        window.client.event.emit(object())  # not the device: nothing happens
        qtbot.wait(50)
        assert not collector.settled and gc.get_freeze_count() == 0
        window.client.event.emit(DeviceInfo("cpu", "float32", "CPU · fp32"))
        qtbot.waitUntil(lambda: collector.settled, timeout=5_000)
        assert gc.get_freeze_count() >= tracked_before // 2
        assert len(gc.get_objects()) < tracked_before // 2  # collections no longer walk them
        assert not any(obj is long_lived[0] for obj in gc.get_objects())
        Cycle.freed_on.clear()
        for _ in range(3 * gc.get_threshold()[0]):
            Cycle()
        qtbot.waitUntil(lambda: bool(Cycle.freed_on), timeout=5_000)
        assert set(Cycle.freed_on) == {threading.main_thread().name}
    finally:
        gc.unfreeze()  # the rest of the suite's process collects as usual
        collector.deleteLater()
        gc.collect()
