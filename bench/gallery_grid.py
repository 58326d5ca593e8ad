"""The big gallery grid (issue 24): 100,000 indexed pictures open, search and scroll.

The index holds 100,000 rows of generated metadata (bench/library_search.py's
builder); every row's file exists: it is a hard link to one of 256 tiny PNGs (16×16),
so thumbnails are real decodes through the disk cache (a fresh, empty cache folder).
Measured in an offscreen Gallery panel of 1280×800:

`grid_first_screen`: from building the panel (the index already open) to its first
screen of rows painted (thumbnails still placeholders); `grid_first_screen_thumbnails
_cold` / `_warm`: until every thumbnail on that screen is painted, with the cache empty /
filled. `grid_search_painted_*`: a keystroke's query (after the search field's
debounce) to its results painted, p50 and p95 over 32 queries; `grid_search_keystroke_
painted_*` is the same from the keystroke itself, debounce included;
`grid_search_answer_to_painted_p95` is the GUI thread's share (the answer handed over
to its rows painted; the rest is the index's search and count on the
search thread). `grid_scroll_
max_stall`: the longest gap between two ticks of a 5 ms heartbeat on the GUI thread while
the grid is scrolled through 1,000 rows of thumbnails (a row per 8 ms, pages and
thumbnails arriving meanwhile); `grid_jump_max_stall` the same for a jump to the bottom
(row 100,000) and back.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROWS = int(os.environ.get("GRID_ROWS", "100000"))  # fewer only while working on this
DISTINCT = 256  # tiny PNGs the rows' files are hard links to
HEARTBEAT_MS = 5
SCROLL_ROWS = 1_000
PHRASE = "lighthouse dragon"


def build(root: Path) -> None:
    """The index of ROWS generated records, and a file for each."""
    import numpy as np
    from PIL import Image

    from bench.library_search import make_records
    from engine.store import INDEX_NAME, GalleryIndex

    records = make_records(ROWS)
    tiny = root / ".tiny"
    tiny.mkdir(parents=True)
    rng = np.random.default_rng(0)
    sources = []
    for i in range(DISTINCT):
        path = tiny / f"{i}.png"
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), np.uint8)).save(path)
        sources.append(path)
    for folder in {Path(r.path).parent for r in records}:
        (root / folder).mkdir(parents=True, exist_ok=True)
    for i, record in enumerate(records):
        os.link(sources[i % DISTINCT], root / record.path)
    index = GalleryIndex(root / INDEX_NAME)
    for at in range(0, ROWS, 500):
        index.add_many(records[at : at + 500])
    index.close()


class Painted:
    """Records when the grid's viewport was last painted."""

    def __init__(self, viewport) -> None:
        from PySide6.QtCore import QEvent, QObject

        class Filter(QObject):
            def eventFilter(inner, _obj, event):  # noqa: N802, N805
                if event.type() == QEvent.Type.Paint:
                    self.last = time.perf_counter()
                return False

        self.last = 0.0
        self._filter = Filter()
        viewport.installEventFilter(self._filter)


def spin_until(app, done, timeout_s: float = 30.0) -> float:
    end = time.perf_counter() + timeout_s
    while not done():
        if time.perf_counter() > end:
            raise TimeoutError("the grid did not get there in time")
        app.processEvents()
        time.sleep(0.0005)
    return time.perf_counter()


def visible_rows(panel) -> range:
    from PySide6.QtCore import QPoint

    view = panel.view
    first = view.indexAt(QPoint(8, 8)).row()
    last = view.indexAt(QPoint(view.viewport().width() - 30, view.viewport().height() - 30))
    return range(max(first, 0), max(last.row(), first) + 1)


def all_thumbnails_painted(panel, painted: Painted, arrived: list[float]) -> bool:
    """Every row on screen has its thumbnail, painted after the last one arrived."""
    rows = visible_rows(panel)
    ready = len(rows) > 1 and all(panel.model.thumbnail_ready(r) for r in rows)
    return ready and painted.last > (arrived[-1] if arrived else 0.0)


def open_panel(app, store):
    from gui.gallery_panel import GalleryPanel

    start = time.perf_counter()
    panel = GalleryPanel(store)
    panel.resize(1280, 800)
    painted = Painted(panel.view.viewport())
    arrived: list[float] = []
    panel.model._loader.loaded.connect(lambda *_: arrived.append(time.perf_counter()))
    panel.show()
    panel.refresh()
    first = spin_until(app, lambda: painted.last and panel.model.rowCount() == ROWS)
    thumbs = spin_until(app, lambda: all_thumbnails_painted(panel, painted, arrived))
    return panel, painted, (first - start) * 1000, (thumbs - start) * 1000


def search_times(app, panel, painted: Painted) -> tuple[list[float], list[float]]:
    from bench.library_search import QUERIES

    asked: dict[str, float] = {}
    panel.search_bar.query_changed.connect(lambda text: asked.setdefault(text, time.perf_counter()))
    resets: list[float] = []
    panel.model.modelReset.connect(lambda: resets.append(time.perf_counter()))
    from_query, from_key, gui_side = [], [], []
    typing = [PHRASE[:k] for k in range(1, len(PHRASE) + 1) if not PHRASE[:k].endswith(" ")]
    for text in [*QUERIES, *typing]:  # 16 queries, then a phrase typed letter by letter
        typed = time.perf_counter()
        resets.clear()
        panel.search_bar.field.setText(text)
        done = spin_until(
            app, lambda t=text: panel.model.query == t and resets and painted.last > resets[-1]
        )
        from_query.append((done - asked[text]) * 1000)
        from_key.append((done - typed) * 1000)
        gui_side.append((done - resets[-1]) * 1000)  # the answer shown: reset to painted
    panel.search_bar.field.setText("")
    spin_until(app, lambda: panel.model.query == "" and panel.model.rowCount() == ROWS)
    return from_query, from_key, gui_side


def max_stall(app, move) -> float:
    """The longest gap between heartbeat ticks while `move(step)` runs step by step."""
    from PySide6.QtCore import QTimer

    ticks: list[float] = []
    beat = QTimer(interval=HEARTBEAT_MS)
    beat.timeout.connect(lambda: ticks.append(time.perf_counter()))
    beat.start()
    step = 0
    while move(step):
        step += 1
        until = time.perf_counter() + 0.008
        while time.perf_counter() < until:
            app.processEvents()
            time.sleep(0.0005)
    beat.stop()
    return max(b - a for a, b in zip(ticks, ticks[1:], strict=False)) * 1000


def scroll_stall(app, panel) -> float:
    bar = panel.view.verticalScrollBar()
    # Scrolled by pixels (a grid row's height) or by items (a grid row's worth).
    per_pixel = bar.maximum() > panel.model.rowCount()
    per_row = panel.view.gridSize().height() if per_pixel else columns(panel)
    bar.setValue(0)

    def move(step: int) -> bool:
        bar.setValue(step * per_row)
        return step < SCROLL_ROWS

    return max_stall(app, move)


def columns(panel) -> int:
    return max(1, panel.view.viewport().width() // panel.view.gridSize().width())


def jump_stall(app, panel) -> float:
    bar = panel.view.verticalScrollBar()
    spots = [bar.maximum(), bar.maximum() // 2, 0]

    def move(step: int) -> bool:
        if step < len(spots) * 10 and step % 10 == 0:
            bar.setValue(spots[step // 10])
        return step < len(spots) * 10

    return max_stall(app, move)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    from PySide6.QtWidgets import QApplication

    with tempfile.TemporaryDirectory() as work:
        os.environ["LATENTSTUDIO_CACHE_DIR"] = str(Path(work) / "cache")  # an empty cache
        app = QApplication.instance() or QApplication([])
        from engine.store import GalleryStore

        # GRID_BENCH_DIR keeps the (slow to write) index and links between runs.
        out = Path(os.environ.get("GRID_BENCH_DIR") or Path(work) / "out")
        if not out.is_dir():
            start = time.perf_counter()
            build(out)
            print(f"grid_build_index_and_links: {time.perf_counter() - start:.1f} s")
        store = GalleryStore(out)
        panel, painted, first, cold = open_panel(app, store)
        print(f"grid_first_screen: {first:.0f} ms")
        print(f"grid_first_screen_thumbnails_cold: {cold:.0f} ms")
        panel.close_loader()
        panel.deleteLater()
        panel, painted, _first, warm = open_panel(app, store)
        print(f"grid_first_screen_thumbnails_warm: {warm:.0f} ms")
        from_query, from_key, gui_side = search_times(app, panel, painted)
        print(f"grid_search_painted_p50: {statistics.median(from_query):.0f} ms")
        print(f"grid_search_painted_p95: {_p95(from_query):.0f} ms")
        print(f"grid_search_keystroke_painted_p50: {statistics.median(from_key):.0f} ms")
        print(f"grid_search_keystroke_painted_p95: {_p95(from_key):.0f} ms")
        print(f"grid_search_answer_to_painted_p95: {_p95(gui_side):.0f} ms")
        print(f"grid_scroll_max_stall: {scroll_stall(app, panel):.1f} ms")
        print(f"grid_jump_max_stall: {jump_stall(app, panel):.1f} ms")
        print(f"grid_load_average: {os.getloadavg()[0]:.2f}")
        panel.close_loader()
        store.close()


if __name__ == "__main__":
    main()
