"""Saves killed at random moments never leave a torn PNG, a stray hidden file or an
index that disagrees with the folder once the gallery is opened again."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from engine.store import GalleryStore, read_metadata

ROOT = Path(__file__).resolve().parent.parent
KILLS = 24


def keep_saving(root: str, ready, writing) -> None:
    """The writer: saves images as fast as it can until it is killed.

    `writing` is set each time a save starts writing its file (the reservation is held
    and the temp file is about to be written), so half the kills can aim at that window.
    """
    import engine.store.gallery as gallery
    from engine.api.kinds import Family
    from engine.api.outcomes import ResultImage
    from engine.api.parts import ModelRef, Prompt, Sampling
    from engine.api.requests import Txt2ImgRequest

    real_write = gallery.write_bytes_atomic

    def write_and_tell(path, data):
        writing.set()
        real_write(path, data)

    gallery.write_bytes_atomic = write_and_tell
    store = GalleryStore(Path(root))
    rng = np.random.default_rng(os.getpid())
    ready.set()
    seed = 0
    while True:
        seed += 1
        request = Txt2ImgRequest(
            model=ModelRef(Family.SD, "models/sd15"),
            prompt=Prompt("crash test"),
            sampling=Sampling(seed=seed),
        )
        rgb = rng.integers(0, 256, (192, 256, 3), dtype=np.uint8)
        store.save(ResultImage(rgb, seed, 0, {"model": "sd15"}), request)


def test_kills_at_random_moments_lose_nothing_and_leave_nothing(tmp_path):
    root = tmp_path / "gallery"
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["engine.store", "numpy", "PIL.Image"])
    rng = random.Random(1234)
    started = time.perf_counter()
    for kill in range(KILLS):
        ready, writing = context.Event(), context.Event()
        writer = context.Process(target=keep_saving, args=(str(root), ready, writing))
        writer.start()
        assert ready.wait(30)
        if kill % 2:  # anywhere in the loop
            time.sleep(rng.uniform(0.0, 0.12))
        else:  # somewhere in the few milliseconds a file is being written
            assert writing.wait(30)
            time.sleep(rng.uniform(0.0, 0.004))
        os.kill(writer.pid, signal.SIGKILL)
        writer.join()
    killing_s = time.perf_counter() - started
    left_by_kills = hidden_files(root)
    assert left_by_kills  # some kills landed mid-save (else this test proved little)

    # A kill between creating a reservation marker and writing its process id into it
    # leaves an empty marker, which is honoured as a save starting for its first 30 s
    # (EMPTY_MARKER_GRACE_S). Let that time pass for them, as it would for a user.
    for marker in root.rglob(".*.reserved"):
        if marker.stat().st_size == 0:
            old = time.time() - 31
            os.utime(marker, (old, old))
    with GalleryStore.opened(root) as store:
        pngs = sorted(p for p in root.rglob("*.png") if not p.name.startswith("."))
        # The writers got somewhere: how far depends on the machine's load, so only
        # insist that some saves finished between the kills.
        assert pngs
        for png in pngs:
            with Image.open(png) as image:
                image.load()  # every byte of every image is there
            assert isinstance(read_metadata(png).seed, int)
        assert store.count() == len(pngs)
    assert hidden_files(root) == []
    check = subprocess.run(
        [sys.executable, "main.py", "gallery", "--out", str(root), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout) == {"consistent": True, "images": len(pngs)}
    print(
        json.dumps(
            {
                "kills": KILLS,
                "images": len(pngs),
                "left": len(left_by_kills),
                "s": round(killing_s, 1),
            }
        )
    )


def hidden_files(root: Path) -> list[str]:
    """Temp files and reservations (the index and its journal are not leftovers)."""
    return sorted(p.name for p in root.rglob(".*") if not p.name.startswith(".latentstudio-index"))
