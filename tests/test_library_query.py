"""The gallery's search language (issue 24) against 20 hand-made index rows.

The oracle is the expected set of each query, written by hand from the table below;
nothing in it is computed by the code under test.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.api.errors import BadInput
from engine.store.index import GalleryIndex
from engine.store.index_rows import IndexRecord
from engine.store.marks import Marks
from engine.store.query import QUERY_HELP, parse_query

# name, day, prompt, negative, model, seed, size, mode, sampler, names, source, stars, boards
ROWS = [
    ("a", "2026-01-05", "a red fox in the snow", "blurry", "juggernautXL_v9", 1234, (512, 768),
     "text", "euler_a", "", "ours", 3, ("foxes",)),
    ("b", "2026-01-10", "a fox cub sleeping", "", "juggernautXL_v9", 1234, (512, 768),
     "text", "dpmpp_2m", "", "ours", 4, ()),
    ("c", "2026-01-11", "blurry fox photo", "", "juggernautXL_v9", 1234, (512, 512),
     "text", "dpmpp_2m", "", "ours", 5, ()),
    ("d", "2025-12-31", "foxes and hounds", "", "sdxl_base", 99, (1024, 1024),
     "text", "dpmpp_2m", "", "ours", 0, ()),
    ("e", "2026-01-12", "castle on a hill", "fox", "dreamshaper_8", 1, (768, 512),
     "img2img", "euler", "detail_tweaker", "ours", 2, ("castles", "favourites")),
    ("f", "2026-01-13", "castle at night", "", "dreamshaper_8", 2, (512, 512),
     "inpaint", "ddim", "", "ours", 0, ("castles",)),
    ("g", "2026-01-14", "upscaled castle", "", "realesrgan_x4", None, (2048, 2048),
     "upscale", "", "", "ours", 0, ()),
    ("h", "2026-01-15", "mnist digit", "", "mnist_vae", 7, (28, 28),
     "lab", "", "", "ours", 0, ()),
    ("i", "2026-01-16", "cyberpunk city neon", "", "flux_dev", 42, (1024, 1024),
     "other", "euler", "", "comfyui", 1, ()),
    ("j", "2026-01-17", "portrait of a woman, red hair", "", "realisticVision", 1234,
     (512, 768), "other", "DPM++ 2M", "add_detail easynegative", "a1111", 0, ()),
    ("k", "2026-01-18", "AND OR NOT near", "", "x", 5, (64, 64),
     "text", "", "", "ours", 0, ()),
    ("l", "2026-01-19", "red-fox (masterpiece:1.2)", "", "x", 6, (64, 64),
     "text", "", "", "ours", 0, ()),
    ("m", "2026-01-20", "café au lait", "", "x", 8, (64, 64), "text", "", "", "ours", 0, ()),
    ("n", "2026-01-21", "catalog of birds", "", "x", 9, (64, 64),
     "text", "", "", "ours", 0, ("birds",)),
    ("o", "2026-01-22", "a cat", "", "x", 10, (64, 64), "text", "", "", "ours", 5, ()),
    ("p", "2026-02-03", "sunset over ocean", "", "juggernautXL_v9", 1234, (512, 768),
     "text", "", "", "ours", 2, ()),
    ("q", "2026-01-23", "ocean waves", "", "x", 11, (64, 64),
     "other", "", "", "invokeai", 0, ()),
    ("vacation-0001", "2026-01-24", "mountain lake", "", "x", 12, (64, 64),
     "text", "", "", "ours", 0, ()),
    ("s", "2026-01-25", "", "", "", None, (64, 64), "other", "", "", "unknown", 0, ()),
    ("t", "2026-01-26", "fox", "", "Juggernaut_Reborn", 1234, (512, 768),
     "img2img", "", "", "ours", 3, ()),
]  # fmt: skip
ALL = {row[0] for row in ROWS}

CASES = [
    ("", ALL),
    ("fox", {"a", "b", "c", "d", "e", "l", "t"}),  # prefix (foxes); negative prompts too
    ("FOX", {"a", "b", "c", "d", "e", "l", "t"}),
    ("fox -blurry", {"b", "d", "e", "l", "t"}),  # a's negative prompt says blurry
    ("fox -blurry model:juggernaut seed:1234 stars:>=3", {"b", "t"}),
    ('"red fox"', {"a", "l"}),
    ('"fox red"', set()),
    ("red fox", {"a", "l"}),
    ("cat", {"n", "o"}),
    ("-cat", ALL - {"o"}),  # an excluded word is a whole word: catalog stays
    ("model:dreamshaper", {"e", "f"}),
    ("model:JUGGERNAUT", {"a", "b", "c", "p", "t"}),
    ("seed:1234", {"a", "b", "c", "j", "p", "t"}),
    ("-seed:1234 fox", {"d", "e", "l"}),
    ("stars:5", {"c", "o"}),
    ("stars:=5", {"c", "o"}),
    ("stars:>3", {"b", "c", "o"}),
    ("stars:<=1", ALL - {"a", "b", "c", "e", "o", "p", "t"}),
    ("stars:<1", ALL - {"a", "b", "c", "e", "i", "o", "p", "t"}),
    ("starred", {"a", "b", "c", "e", "i", "o", "p", "t"}),
    ("board:castles", {"e", "f"}),
    ("board:CASTLES", {"e", "f"}),
    ('board:"favourites"', {"e"}),
    ("board:nope", set()),
    ("castle -board:castles", {"g"}),
    ("mode:inpaint", {"f"}),
    ("mode:img2img", {"e", "t"}),
    ("mode:upscale", {"g"}),
    ("mode:lab", {"h"}),
    ("mode:txt2img", {"a", "b", "c", "d", "k", "l", "m", "n", "o", "p", "vacation-0001"}),
    ("size:768x512", {"e"}),
    ("size:28x28", {"h"}),
    ("after:2026-02-01", {"p"}),
    ("before:2026-01-01", {"d"}),
    ("after:2026-01-12 before:2026-01-14", {"e", "f"}),
    ("tool:comfyui", {"i"}),
    ("tool:ComfyUI", {"i"}),
    ("tool:other", {"i", "j", "q", "s"}),
    ("sampler:euler", {"a", "e", "i"}),
    ("detail", {"e", "j"}),  # LoRA names: detail_tweaker, add_detail
    ("easynegative", {"j"}),  # an embedding
    ("vacation", {"vacation-0001"}),  # the file name
    ("euler", {"a", "e", "i"}),  # the sampler, through FTS
    ("AND", {"d", "k"}),  # FTS operators are plain words here
    ("NEAR(", {"k"}),
    ("OR NOT", {"k"}),
    ("*", ALL),
    ('"', ALL),
    ('"unclosed phrase', set()),
    ("-", ALL),
    ("(masterpiece", {"l"}),
    ('"masterpiece:1.2"', {"l"}),
    ("cafe", {"m"}),  # diacritics folded
    ("café", {"m"}),
    ("^fox", {"a", "b", "c", "d", "e", "l", "t"}),
    ("fox*", {"a", "b", "c", "d", "e", "l", "t"}),
    ("ocean", {"p", "q"}),
    ("-seed:1234 castle", {"e", "f", "g"}),  # g has no seed: a negated filter keeps it
]

BAD = [
    ("seed:abc", "seed:abc"),
    ("stars:>=9", "stars:>=9"),
    ("stars:many", "stars:many"),
    ("size:big", "size:big"),
    ("after:yesterday", "after:yesterday"),
    ("mode:sketch", "mode:sketch"),
    ("model:", "model:"),
    ("fox colour:red", "colour:red"),
    ("starred:yes", "starred:yes"),
    ("x" * 2000, "characters"),
    ("fox \ud800", "not text"),  # a lone surrogate (an undecodable command line)
]


def _timestamp(day: str) -> float:
    return datetime.fromisoformat(f"{day}T12:00:00").astimezone().timestamp()


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> GalleryIndex:
    index = GalleryIndex(tmp_path_factory.mktemp("query") / "index.sqlite3")
    for name, day, prompt, neg, model, seed, size, *library, stars, boards in ROWS:
        path = f"2026-01/{name}.png"
        index.add(
            IndexRecord(
                path, _timestamp(day), "txt2img", prompt, neg, model, seed, *size, None,
                *library, Marks(stars, boards),
            )
        )  # fmt: skip
    yield index
    index.close()


def _names(index: GalleryIndex, text: str) -> set[str]:
    return {r.path.split("/")[-1].removesuffix(".png") for r in index.search(parse_query(text))}


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_each_query_finds_exactly_the_pictures_written_by_hand(index, text, expected):
    assert _names(index, text) == expected


def test_results_come_newest_first(index):
    days = [r.created for r in index.search(parse_query("fox"))]
    assert days == sorted(days, reverse=True)


@pytest.mark.parametrize(("text", "named"), BAD, ids=[b[1][:20] for b in BAD])
def test_a_malformed_term_is_refused_with_a_sentence_naming_it(text, named):
    with pytest.raises(BadInput) as caught:
        parse_query(text)
    assert named in caught.value.message


def test_user_text_never_reaches_the_sql_itself():
    query = parse_query("fox'; DROP TABLE images; -- model:a'b board:\"x) OR 1=1\"")
    assert "DROP" not in query.where and "'b" not in query.where and "1=1" not in query.where
    assert query.where.count("?") == len(query.params)


def test_the_help_names_every_filter():
    for word in ("model:", "seed:", "stars:>=3", "starred", "board:", "mode:", "size:",
                 "after:", "before:", "tool:", '"', "-"):  # fmt: skip
        assert word in QUERY_HELP


_TRICKY = st.text(alphabet=st.sampled_from(list("abfox -:\"*()^+{}[]NEARORANDst0123<>=x_.\\%é'")))


@settings(max_examples=300, deadline=None)
@given(st.one_of(_TRICKY, st.text(max_size=60)))
def test_any_text_either_searches_or_is_refused_never_an_sqlite_error(index, text):
    try:
        query = parse_query(text)
    except BadInput:
        return
    try:
        index.search(query, limit=5)
        index.count_matches(query)
    except sqlite3.Error as exc:  # pragma: no cover - the failure this test looks for
        pytest.fail(f"{text!r} reached SQLite as an error: {exc}")
