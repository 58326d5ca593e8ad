"""The wildcard folder read at once (what the window expands and completes from), the
check before Generate, and a batch's per-picture requests. Oracles: literal listings,
the disk-reading path of expand (the same choices for every seed), and literal seeds."""

from __future__ import annotations

import os

import pytest

from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.parts import ModelRef, Prompt, Sampling
from engine.api.requests import Txt2ImgRequest
from engine.batch.wildcard_check import check_wildcards, names_in, wildcard_problem
from engine.batch.wildcard_listing import read_wildcard_folder
from engine.batch.wildcard_requests import picture_requests
from engine.batch.wildcards import expand


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "wildcards"
    (root / "hair").mkdir(parents=True)
    (root / "colours.txt").write_text("# a comment\nred\n\n  green  \nblue\n")
    (root / "hair" / "long.txt").write_text("braided\nwavy __colours__\n")
    (root / "empty.txt").write_text("# nothing\n")
    (root / "notes.md").write_text("not a list")
    (tmp_path / "outside.txt").write_text("secret\n")
    os.symlink(tmp_path / "outside.txt", root / "link.txt")
    return root


def test_the_listing_holds_every_txt_and_its_options(folder, tmp_path):
    assert read_wildcard_folder(folder) == {
        "colours": ["red", "green", "blue"],
        "empty": [],
        "hair/long": ["braided", "wavy __colours__"],
    }
    assert read_wildcard_folder(tmp_path / "missing") == {}


@pytest.mark.parametrize(
    "text", ["a {red|green|__colours__} cat", "{2$$__hair/long__|x|y}, __colours__", "plain"]
)
def test_the_listing_chooses_what_reading_the_disk_chooses(folder, text):
    listed = read_wildcard_folder(folder)
    for seed in range(40):
        assert expand(text, seed, folder, listed) == expand(text, seed, folder)


def test_the_check_finds_a_name_in_an_option_no_seed_chose(folder):
    listed = read_wildcard_folder(folder)
    assert names_in("\\_\\_x\\_\\_ __a__ and {__b/c__|d}") == ["a", "b/c"]
    check_wildcards("a {red|__hair/long__} \\{x\\}", folder, listed)
    with pytest.raises(BadInput, match="no wildcard file nope.txt"):
        check_wildcards("{red|{green|__nope__}}", folder, listed)
    assert "never closed" in wildcard_problem("a {red", folder, listed)
    assert "closes" not in wildcard_problem("a }", folder, listed)  # its own sentence
    assert "no { before it" in wildcard_problem("a }", folder, listed)
    assert wildcard_problem("no wildcards at all", folder, listed) == ""
    with pytest.raises(BadInput, match="has no options"):
        expand("__empty__", 1, folder, listed)


def test_a_batch_becomes_one_request_per_picture_with_its_own_seed(folder):
    base = Txt2ImgRequest(
        model=ModelRef(Family.SD, "m"),
        prompt=Prompt("a {red|green|blue} cat", "ugly"),
        sampling=Sampling(seed=7),
        batch_size=3,
    )
    made = picture_requests(base, folder)
    assert [(r.sampling.seed, r.batch_size) for r in made] == [(7, 1), (8, 1), (9, 1)]
    for request in made:
        assert request.prompt.positive in ("a red cat", "a green cat", "a blue cat")
        assert request.prompt_template == "a {red|green|blue} cat"
        assert (request.prompt.negative, request.negative_template) == ("ugly", "")
        request.validate()
    plain = Txt2ImgRequest(model=ModelRef(Family.SD, "m"), prompt=Prompt("a cat"), batch_size=3)
    assert picture_requests(plain, folder) == [plain]
