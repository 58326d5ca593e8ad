"""The gallery index: rebuild throughput, and opening a big gallery to its first screen.

`rebuild_images_per_s`: `gallery --rebuild` (every PNG's header and recipe read again into
a fresh index) on 2,000 images. `gallery_open_first_screen`: a 10,000-image gallery,
from opening the store to the Gallery view painted with its first screen of rows (the
background sync that checks the folder runs meanwhile, as in the app).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
REBUILD_IMAGES = 2_000
OPEN_IMAGES = 10_000


def make_gallery(root: Path, count: int) -> None:
    """`count` real gallery PNGs (our recipe and A1111 text), written without fsync."""
    import numpy as np

    from engine.api.kinds import Family
    from engine.api.outcomes import ResultImage
    from engine.api.parts import ModelRef, Prompt, Sampling
    from engine.api.requests import Txt2ImgRequest
    from engine.store.metadata import png_text
    from engine.store.png import encode_png

    rgb = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    start = datetime(2026, 1, 1).astimezone()
    for i in range(count):
        when = start + timedelta(minutes=i)
        request = Txt2ImgRequest(
            model=ModelRef(Family.SD, "models/sd15"),
            prompt=Prompt(f"a lighthouse at dusk, study {i}"),
            sampling=Sampling(seed=i),
        )
        data = encode_png(rgb, png_text(ResultImage(rgb, i, 0, {"model": "sd15"}), request, when))
        folder = root / when.strftime("%Y-%m-%d")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i:05d}-{i}-a-lighthouse-at-dusk.png").write_bytes(data)


def rebuild_rate(root: Path) -> float:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "main.py", "gallery", "--out", str(root), "--rebuild"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - start
    assert f'"rebuilt": {REBUILD_IMAGES}' in out.stdout, out.stdout
    return REBUILD_IMAGES / elapsed


def open_to_first_screen(root: Path) -> float:
    from PySide6.QtWidgets import QApplication

    from engine.store import GalleryStore
    from gui.gallery_panel import GalleryPanel

    app = QApplication.instance() or QApplication([])
    start = time.perf_counter()
    store = GalleryStore(root)
    panel = GalleryPanel(store)
    panel.resize(900, 700)
    panel.show()
    panel.refresh()
    panel.sync()
    panel.view.repaint()
    elapsed = time.perf_counter() - start
    assert panel.model.rowCount() > 0 and panel.model.total == OPEN_IMAGES
    panel.close_loader()
    store.close()
    app.processEvents()
    return elapsed


def main() -> None:
    work = Path(tempfile.mkdtemp())
    small, big = work / "small", work / "big"
    make_gallery(small, REBUILD_IMAGES)
    rebuild_rate(small)  # warm the file cache
    rates = [rebuild_rate(small) for _ in range(3)]
    print(f"rebuild_images_per_s: {statistics.median(rates):.0f} images/s")

    make_gallery(big, OPEN_IMAGES)
    subprocess.run(
        [sys.executable, "main.py", "gallery", "--out", str(big), "--rebuild"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    opens = [open_to_first_screen(big) for _ in range(5)]
    print(f"gallery_open_first_screen: {statistics.median(opens) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
