"""The prompt matrix against A1111's documented example (its wiki, "Prompt matrix")."""

from __future__ import annotations

import pytest

from engine.api.errors import BadInput
from engine.batch.prompt_matrix import matrix_prompts

# The wiki's example: `a busy city street in a modern city|illustration|cinematic
# lighting` makes four pictures, in this order.
A1111_EXAMPLE = [
    "a busy city street in a modern city",
    "a busy city street in a modern city, illustration",
    "a busy city street in a modern city, cinematic lighting",
    "a busy city street in a modern city, illustration, cinematic lighting",
]


def test_a1111s_documented_example():
    prompt = "a busy city street in a modern city|illustration|cinematic lighting"
    assert matrix_prompts(prompt) == A1111_EXAMPLE


def test_parts_at_start_and_stripped_of_spaces_and_commas():
    assert matrix_prompts("a fox| snowy, |night,", at_start=True) == [
        "a fox",
        "snowy, a fox",
        "night, a fox",
        "snowy, night, a fox",
    ]


def test_three_parts_make_eight_in_bit_order():
    prompts = matrix_prompts("base|a|b|c")
    assert len(prompts) == 8
    assert prompts[5] == "base, a, c"  # 5 = 0b101: parts 0 and 2
    assert prompts[6] == "base, b, c"


def test_no_bar_is_the_prompt_itself_and_wildcards_stay_whole():
    assert matrix_prompts("a fox") == ["a fox"]
    assert matrix_prompts("a {red|blue} fox|night") == [
        "a {red|blue} fox",
        "a {red|blue} fox, night",
    ]


def test_too_many_parts_is_a_sentence():
    with pytest.raises(BadInput, match="at most 12 parts"):
        matrix_prompts("|".join("abcdefghijklm"))
