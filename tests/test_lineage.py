"""Lineage (issue 24): a picture made from another links to it by path and sha256; the
gallery lists parents and children both ways, says which are deleted or changed, and
`family:` finds a whole chain. Pictures are real PNGs saved through GalleryStore.save
with the recipes the runners write; sha256 is checked with hashlib on the file bytes."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from engine.api.image_parts import SourceImage
from engine.api.kinds import Family
from engine.api.outcomes import ResultImage
from engine.api.parts import ImageRef, ModelRef, Prompt, Sampling
from engine.api.requests import (
    InterpolateRequest,
    ReconstructRequest,
    Txt2ImgRequest,
    UpscaleRequest,
    request_to_dict,
)
from engine.store import INDEX_NAME, GalleryStore
from engine.store.lineage import parent_refs
from engine.store.metadata import RECIPE_KEY
from engine.store.png import encode_png

SD = ModelRef(Family.SD, "models/sd15")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rgb(seed: int, side: int = 16) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)


def text_to_image(store: GalleryStore, seed: int = 1, prompt: str = "a fox") -> Path:
    request = Txt2ImgRequest(model=SD, prompt=Prompt(prompt), sampling=Sampling(seed=seed))
    return store.save(ResultImage(_rgb(seed), seed, 0, {"model": "sd15"}), request)


def upscale(store: GalleryStore, parent: Path) -> Path:
    """As the Upscale panel asks (no sha256) and its runner records (`parent`)."""
    request = UpscaleRequest(
        model=ModelRef(Family.UPSCALE, "lanczos"), image=ImageRef(str(parent), ""), scale=2
    )
    info = {"parent": {"path": str(parent), "sha256": _sha(parent)}, "scale": 2.0}
    return store.save(ResultImage(_rgb(7, 32), None, 0, info), request)


def img2img(store: GalleryStore, parent: Path) -> Path:
    request = Txt2ImgRequest(
        model=SD,
        prompt=Prompt("a fox, oil"),
        sampling=Sampling(seed=3),
        source=SourceImage(ImageRef(str(parent), _sha(parent)), 0.5),
    )
    return store.save(ResultImage(_rgb(3, 32), 3, 0, {"model": "sd15"}), request)


@pytest.fixture
def chain(tmp_path: Path):
    store = GalleryStore.opened(tmp_path / "out")
    first = text_to_image(store)
    middle = upscale(store, first)
    last = img2img(store, middle)
    other = text_to_image(store, seed=9, prompt="an owl")
    yield store, first, middle, last, other
    store.close()


def _listed(relatives) -> list[tuple[str, str, str]]:
    return [(r.path.name, r.role, r.state) for r in relatives]


def test_the_chain_shows_both_ways(chain) -> None:
    store, first, middle, last, _ = chain
    assert _listed(store.lineage(first).parents) == []
    assert _listed(store.lineage(first).children) == [(middle.name, "upscaled from", "present")]
    assert _listed(store.lineage(middle).parents) == [(first.name, "upscaled from", "present")]
    assert _listed(store.lineage(middle).children) == [(last.name, "source", "present")]
    assert _listed(store.lineage(last).parents) == [(middle.name, "source", "present")]
    assert _listed(store.lineage(last).children) == []
    assert store.lineage(last).parents[0].path == middle


def test_deleting_the_middle_marks_the_link(chain, trash) -> None:
    store, first, middle, last, _ = chain
    store.delete(middle)
    assert _listed(store.lineage(last).parents) == [(middle.name, "source", "deleted")]
    assert _listed(store.lineage(first).children) == []  # its row left the index


def test_a_rewritten_parent_is_changed(chain) -> None:
    store, first, middle, _last, _ = chain
    first.write_bytes(encode_png(_rgb(99)))  # other bytes, same name
    assert _listed(store.lineage(middle).parents) == [(first.name, "upscaled from", "changed")]
    assert _listed(store.lineage(first).children) == [(middle.name, "upscaled from", "changed")]


def test_a_moved_parent_still_finds_its_children_by_content(chain) -> None:
    store, first, middle, _last, _ = chain
    moved = first.parent / "moved.png"
    first.rename(moved)
    store.sync()
    assert _listed(store.lineage(moved).children) == [(middle.name, "upscaled from", "present")]
    assert _listed(store.lineage(middle).parents) == [(first.name, "upscaled from", "deleted")]


@pytest.mark.parametrize("how", ["name", "key", "absolute"])
def test_family_filter_is_exactly_the_chain(chain, how) -> None:
    store, first, middle, last, other = chain
    value = {
        "name": middle.name,
        "key": middle.relative_to(store.root).as_posix(),
        "absolute": str(middle),
    }[how]
    found = {item.path for item in store.search(f'family:"{value}"')}
    assert found == {first, middle, last}
    assert store.count_search(f'family:"{value}"') == 3
    assert {i.path for i in store.search(f'-family:"{value}"')} == {other}
    assert {i.path for i in store.search(f'family:"{other.name}"')} == {other}


def test_links_survive_a_rebuild_and_an_older_index(chain) -> None:
    store, first, middle, last, _ = chain
    outside = store.root.parent / "elsewhere.png"
    outside.write_bytes(encode_png(_rgb(5)))
    store.set_stars([outside], 4)
    store.rebuild()
    assert _listed(store.lineage(last).parents) == [(middle.name, "source", "present")]
    store.close()
    # An index of schema 3 (no links) is given them in place: the stars of a picture
    # outside the gallery, which live in the index alone, are kept.
    with sqlite3.connect(store.root / INDEX_NAME) as conn:
        conn.execute("DROP TRIGGER images_links_delete")
        conn.execute("DROP TABLE links")
        conn.execute("PRAGMA user_version = 3")
    again = GalleryStore.opened(store.root)
    assert _listed(again.lineage(first).children) == [(middle.name, "upscaled from", "present")]
    assert again.marks(outside).stars == 4
    again.close()


def _hostile(path: Path, recipe: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_png(_rgb(len(path.name)), {RECIPE_KEY: json.dumps(recipe)}))
    return path


def _with_source(source: str) -> dict:
    return {"version": 2, "request": {"type": "txt2img", "source": {"image": {"path": source}}}}


def test_cycles_and_self_links_do_not_loop(tmp_path: Path) -> None:
    root = tmp_path / "out"
    a = _hostile(root / "x" / "a.png", _with_source(str(root / "x" / "b.png")))
    b = _hostile(root / "x" / "b.png", _with_source("x/a.png"))
    c = _hostile(root / "x" / "c.png", _with_source("x/c.png"))
    d = _hostile(root / "x" / "d.png", _with_source("../../etc/passwd"))
    with GalleryStore.opened(root) as store:
        assert _listed(store.lineage(a).parents) == [("b.png", "source", "present")]
        assert _listed(store.lineage(a).children) == [("b.png", "source", "present")]
        assert store.lineage(c).parents == () and store.lineage(c).children == ()
        assert store.lineage(d).parents == ()  # a relative path may not lead out
        if Path("/dev/zero").exists():  # a device is never read (it has no end)
            e = _hostile(root / "x" / "e.png", _with_source("/dev/zero"))
            store.sync()
            assert _listed(store.lineage(e).parents) == [("zero", "source", "deleted")]
        assert {i.path for i in store.search("family:a.png")} == {a, b}
        assert {i.path for i in store.search("family:c.png")} == {c}


def test_what_each_kind_of_recipe_links_to() -> None:
    """Roles from the request dict as request_to_dict writes it (ImageRef as JSON)."""
    lab = ModelRef(Family.VAE, "vae-digits")
    reconstruct = ReconstructRequest(model=lab, image=ImageRef("/g/in.png", ""))
    walk = InterpolateRequest(
        model=lab, from_image=ImageRef("/g/a.png", "a" * 64), to_image=ImageRef("/g/b.png", "")
    )

    def refs(request, **extra):
        return [
            (r.path, r.sha256, r.role)
            for r in parent_refs({"request": request_to_dict(request), **extra})
        ]

    assert refs(reconstruct, parent={"path": "/g/in.png", "sha256": "B" * 64}) == [
        ("/g/in.png", "b" * 64, "reconstructed from")
    ]
    assert refs(walk) == [("/g/a.png", "a" * 64, "walk start"), ("/g/b.png", "", "walk end")]
    assert parent_refs("not a recipe") == [] and parent_refs({"request": [1]}) == []
    assert parent_refs({"request": {"control": [{"image": {"path": 5}}] * 10_000}}) == []


def test_a_walks_frames_link_to_its_first_frame(tmp_path: Path) -> None:
    """engine.finishing saves a walk one file per frame, naming the first in the rest."""
    from engine.api.requests import LatentWalkRequest
    from engine.finishing import save_results

    request = LatentWalkRequest(model=SD, prompt=Prompt("a fox"), frames=3, to_seed=2)
    frames = tuple(ResultImage(_rgb(i), 1, i, {"model": "sd15", "t": i / 2}) for i in range(3))
    with GalleryStore.opened(tmp_path / "out") as store:
        saved = [Path(image.path) for image in save_results(store, frames, request)]
        first = store.lineage(saved[0])
        assert sorted(_listed(first.children)) == sorted(
            (p.name, "walk's first frame", "present") for p in saved[1:]
        )
        assert {i.path for i in store.search(f'family:"{saved[0].name}"')} == set(saved)
        # Ancestors and descendants, not siblings: a later frame's family is its line.
        assert {i.path for i in store.search(f'family:"{saved[2].name}"')} == {saved[0], saved[2]}
        assert [r.path for r in store.lineage(saved[1]).parents] == [saved[0]]
