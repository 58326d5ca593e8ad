"""Cyclic garbage is collected on the GUI thread, never on an engine thread.

Python's cycle collector runs on whichever thread happens to allocate past a threshold.
When that is an engine thread and the garbage holds a Qt widget (a panel's bindings and
signal lambdas make cycles through widgets), the widget is destroyed off the GUI thread
and Qt deadlocks: seen in the test suite, a lane thread parsing a tokenizer's JSON
collected a dropped panel, waited for the GIL inside QObject's destructor, and both
threads stopped for good. So the GUI turns automatic collection off and collects on its
own thread instead, a generation at a time, when the usual thresholds are crossed.

Once the engine has imported torch and diffusers, the heap holds ~380,000 objects that
live as long as the app (modules, classes, functions), and a collection of the oldest
generation walks them all: 230-260 ms on the GUI thread, measured with the window open.
`settle()` collects once and then freezes what is left (gc.freeze), so later collections
walk only what was made since: 0 ms for the same collection after it. Models loaded
later are made after the freeze, so unloading one still frees its cycles.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_MS = 500  # often enough that garbage stays small, rarely enough to cost nothing


def collect_due() -> None:
    """Collect the oldest generation whose count passed its threshold (as Python would)."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    for generation in (2, 1, 0):
        if thresholds[generation] and counts[generation] > thresholds[generation]:
            gc.collect(generation)
            return


class GuiThreadCollector(QObject):
    """Owns the collection while it lives (a child of the application)."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        gc.disable()
        self._timer = QTimer(self, interval=CHECK_MS)
        self._timer.timeout.connect(collect_due)
        self._timer.start()
        self.settled = False

    def settle(self) -> None:
        """Once, when start-up is over: collect, then keep the survivors out of every later
        collection (they live as long as the app)."""
        if not self.settled:
            self.settled = True
            gc.collect()
            gc.freeze()
