"""The gallery as a library (issue 24): search and insert on 100,000 index rows.

`library_insert_rows_per_s`: 100,000 generated rows (prompt, model, seed, mode, LoRA
names; a fifth starred, one in twenty on a board) written as a rebuild writes them, in
batches of 500 per transaction, through the FTS triggers and the marks tables. It is
the index's side of `gallery --rebuild`; reading the PNGs is bench/gallery_index.py's.
`library_search_first_screen_*`: a search keystroke's work, from the query text to the
first screen of results (200 rows), median and p95 over a mix of typed words, prefixes,
exclusions and filters, each query run 5 times; `library_search_count_*`: counting all
of its matches (the total a view shows, which can follow the first screen).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

ROWS = 100_000
BATCH = 500
FIRST_SCREEN = 200
REPEATS = 5
WORDS = [
    "fox",
    "owl",
    "castle",
    "lighthouse",
    "dusk",
    "portrait",
    "woman",
    "man",
    "cat",
    "dog",
    "forest",
    "river",
    "mountain",
    "city",
    "neon",
    "cyberpunk",
    "oil",
    "painting",
    "watercolor",
    "photo",
    "cinematic",
    "dramatic",
    "lighting",
    "snow",
    "rain",
    "sunset",
    "ocean",
    "flowers",
    "garden",
    "dragon",
    "knight",
    "robot",
    "spaceship",
    "desert",
    "night",
    "morning",
]
MODELS = ["juggernautXL_v9", "dreamshaper_8", "sdxl_base", "realisticVision_v6", "flux_dev"]
MODES = ["text"] * 6 + ["img2img", "inpaint", "upscale", "lab"]
QUERIES = [
    "f",
    "fo",
    "fox",
    "fox c",
    "fox castle",
    "fox -blurry",
    '"oil painting"',
    "fox -blurry model:juggernaut seed:1234 stars:>=3",
    "starred",
    "stars:5",
    "board:picks",
    "mode:inpaint",
    "size:512x768",
    "after:2026-03-01 before:2026-03-08",
    "tool:comfyui",
    "lighthouse dusk model:dream",
]


def make_records(count: int) -> list:
    from engine.store.index_rows import IndexRecord
    from engine.store.marks import Marks

    rng = random.Random(0)
    start = 1_767_225_600.0  # 2026-01-01
    records = []
    for i in range(count):
        prompt = " ".join(rng.choices(WORDS, k=rng.randint(4, 12)))
        stars = rng.randint(1, 5) if rng.random() < 0.2 else 0
        boards = ("picks",) if rng.random() < 0.05 else ()
        records.append(
            IndexRecord(
                path=f"2026-{1 + i % 12:02d}-01/{i:06d}-{i}-{prompt[:20].replace(' ', '-')}.png",
                created=start + i * 60.0,
                kind="txt2img",
                prompt=prompt,
                negative_prompt="blurry, lowres" if rng.random() < 0.5 else "",
                model=rng.choice(MODELS),
                seed=1234 if rng.random() < 0.01 else rng.randrange(2**32),
                width=rng.choice((512, 768, 1024)),
                height=rng.choice((512, 768, 1024)),
                recipe=None,
                mode=rng.choice(MODES),
                sampler=rng.choice(("euler_a", "dpmpp_2m", "ddim")),
                names="detail_tweaker" if rng.random() < 0.1 else "",
                source="comfyui" if rng.random() < 0.1 else "ours",
                marks=Marks(stars, boards),
            )
        )
    return records


def insert_rate(folder: Path, records: list) -> tuple[float, object]:
    from engine.store.index import GalleryIndex

    index = GalleryIndex(folder / "index.sqlite3")
    start = time.perf_counter()
    for at in range(0, len(records), BATCH):
        index.add_many(records[at : at + BATCH])
    return len(records) / (time.perf_counter() - start), index


def search_times(index) -> tuple[list[float], list[float]]:
    """(query text to its first screen of rows, counting its matches), each in seconds."""
    from engine.store.query import parse_query

    screens, counts = [], []
    for _ in range(REPEATS):
        for text in QUERIES:
            start = time.perf_counter()
            query = parse_query(text)
            index.search(query, limit=FIRST_SCREEN)
            middle = time.perf_counter()
            index.count_matches(query)
            screens.append(middle - start)
            counts.append(time.perf_counter() - middle)
    return screens, counts


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    records = make_records(ROWS)
    with tempfile.TemporaryDirectory() as work:
        rate, index = insert_rate(Path(work), records)
        print(f"library_insert_rows_per_s: {rate:.0f} rows/s")
        screens, counts = search_times(index)
        for name, times in (("search_first_screen", screens), ("search_count", counts)):
            print(f"library_{name}_median: {statistics.median(times) * 1000:.1f} ms")
            print(f"library_{name}_p95: {_p95(times) * 1000:.1f} ms")
        index.close()


if __name__ == "__main__":
    main()
