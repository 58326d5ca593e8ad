"""Wildcards: `{a|b}`, `{2$$a|b|c}`, `__name__` from the wildcard folder, chosen by a
stream of the seed's own. Properties that must hold, checked over many seeds."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
from scipy.stats import chisquare

from engine.api.errors import BadInput
from engine.batch.wildcards import expand, has_wildcards

SEEDS = range(600)


def outcomes(text: str, folder: Path | None = None) -> Counter:
    return Counter(expand(text, seed, folder) for seed in SEEDS)


@pytest.mark.parametrize(
    "prompt",
    ["a red fox", "a (red:1.2) fox, [snow|rain], <lora:x:0.5>", "back\\slash \\( kept", ""],
)
def test_a_prompt_without_wildcards_is_unchanged(prompt):
    assert not has_wildcards(prompt)
    assert expand(prompt, 7) == prompt


def test_the_same_seed_makes_the_same_choice_and_every_option_is_reachable():
    text = "a {red|green|blue} fox"
    assert [expand(text, 42) for _ in range(5)] == [expand(text, 42)] * 5
    counts = outcomes(text)
    assert set(counts) == {"a red fox", "a green fox", "a blue fox"}
    # Uniform over the three: a chi-square test at 0.1% cannot reject it.
    assert chisquare(list(counts.values())).pvalue > 1e-3


def test_the_choice_does_not_come_from_the_image_noise_stream():
    import numpy as np

    # The noise draws from default_rng(seed); the choice must not simply be its first draw.
    noise_first = [int(np.random.default_rng(s).integers(2)) for s in SEEDS]
    chosen = [expand("{0|1}", s) == "1" for s in SEEDS]
    assert noise_first != chosen


def test_several_options_are_distinct_and_in_order():
    counts = outcomes("{2$$a|b|c}")
    assert set(counts) == {"a, b", "a, c", "b, c"}
    assert set(outcomes("{2$$ and $$x|y}")) == {"x and y"}
    ranged = outcomes("{1-2$$a|b}")
    assert set(ranged) == {"a", "b", "a, b"}


def test_nested_braces():
    assert set(outcomes("{x {a|b}|y}")) == {"x a", "x b", "y"}


def test_escaped_braces_are_characters():
    assert expand("\\{a|b\\} and {c|c}", 3) == "{a|b} and c"
    assert expand("snake\\_case __ ok", 3) == "snake_case __ ok"


@pytest.mark.parametrize(
    "text, words",
    [("a {red|green", "never closed"), ("a red}", "no {"), ("{3-1$$a|b}", "swap")],
)
def test_broken_braces_are_a_sentence(text, words):
    with pytest.raises(BadInput, match=words):
        expand(text, 0)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "wildcards"
    (root / "hair").mkdir(parents=True)
    (root / "colours.txt").write_text("red\n# a comment\n\n  blue  \n{dark|light} green\n")
    (root / "hair" / "long.txt").write_text("__colours__ braids\n")
    (root / "loop.txt").write_text("again __loop__\n")
    (root / "empty.txt").write_text("# nothing\n")
    (tmp_path / "secret.txt").write_text("outside\n")
    return root


def test_a_wildcard_file_gives_one_of_its_lines_expanded(folder):
    assert set(outcomes("__colours__", folder)) == {"red", "blue", "dark green", "light green"}
    assert set(outcomes("__hair/long__", folder)) == {
        "red braids",
        "blue braids",
        "dark green braids",
        "light green braids",
    }


def test_a_missing_or_empty_wildcard_file_is_a_sentence(folder):
    with pytest.raises(BadInput, match="no wildcard file animals.txt"):
        expand("__animals__", 0, folder)
    with pytest.raises(BadInput, match="has no options"):
        expand("__empty__", 0, folder)
    with pytest.raises(BadInput, match="no wildcard folder"):
        expand("__colours__", 0, None)


def test_a_file_that_names_itself_stops_with_a_sentence(folder):
    with pytest.raises(BadInput, match="nest more than"):
        expand("__loop__", 0, folder)


@pytest.mark.parametrize("name", ["../secret", "hair/../../secret", "/etc/passwd", "./colours"])
def test_names_that_leave_the_folder_are_refused(folder, name):
    with pytest.raises(BadInput, match="not a file name inside"):
        expand(f"__{name}__", 0, folder)


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_a_link_out_of_the_folder_is_not_read(folder):
    (folder / "sneaky.txt").symlink_to(folder.parent / "secret.txt")
    with pytest.raises(BadInput, match="outside"):
        expand("__sneaky__", 0, folder)
