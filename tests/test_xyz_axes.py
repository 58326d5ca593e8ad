"""X/Y/Z plot values read as AUTOMATIC1111 reads them (issue 25): its wiki's documented
range examples as a literal table, the quirks of its scripts/xyz_grid.py (a falling
range stops short of its end; a count truncates on a whole-number axis; CSV quoting),
prompt S/R, the loop order, and a sentence for every value it cannot take."""

from __future__ import annotations

import pytest

from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.parts import LoraSpec, ModelRef, Prompt, Size
from engine.api.requests import Txt2ImgRequest, XyzAxis, XyzPlotRequest
from engine.api.requests.xyz import plot_axes, plot_of, with_seeds_drawn
from engine.api.requests.xyz_axes import axis_type, csv_text
from engine.api.xyz_ranges import float_values, int_values, split_values

# The A1111 wiki (Features → X/Y/Z plot), with the axis kind each example is typed on.
A1111_DOCUMENTED = [
    ("int", "1-5", [1, 2, 3, 4, 5]),
    ("int", "1-5 (+2)", [1, 3, 5]),
    ("int", "10-5 (-3)", [10, 7]),
    ("float", "1-3 (+0.5)", [1.0, 1.5, 2.0, 2.5, 3.0]),
    ("int", "1-10 [5]", [1, 3, 5, 7, 10]),
    ("float", "0.0-1.0 [6]", [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
]
# What A1111's code gives for more (read from its range()/arange()/linspace() calls).
A1111_BEHAVIOUR = [
    ("int", "1-10 (+3)", [1, 4, 7, 10]),
    ("int", "5-1 (-1)", [5, 4, 3]),  # end + 1 even when falling
    ("int", "1-3 [5]", [1, 1, 2, 2, 3]),  # linspace truncated to int
    ("int", "-3--1", [-3, -2, -1]),
    ("int", "1-3, 7, 10-12", [1, 2, 3, 7, 10, 11, 12]),
    ("int", " 8 ,9", [8, 9]),
    ("float", "0.5-1.5 [5]", [0.5, 0.75, 1.0, 1.25, 1.5]),
    ("float", "0.5-1.5 (+0.25)", [0.5, 0.75, 1.0, 1.25, 1.5]),
    ("float", "1-3", [1.0, 2.0, 3.0]),
    ("float", "7, 7.5", [7.0, 7.5]),
    ("float", "2-1 (-0.5)", [2.0, 1.5, 1.0]),
]


@pytest.mark.parametrize(("kind", "text", "expected"), A1111_DOCUMENTED + A1111_BEHAVIOUR)
def test_ranges_expand_as_a1111_expands_them(kind, text, expected):
    read = int_values if kind == "int" else float_values
    values = read(text, "X axis")
    assert values == pytest.approx(expected, abs=1e-12)
    assert all(type(v) is (int if kind == "int" else float) for v in values)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Euler, DDIM", ["Euler", "DDIM"]),
        ('"a, b",c', ["a, b", "c"]),  # quoted: the comma is part of the value
        ('cat, "dog, wet"', ["cat", '"dog', 'wet"']),  # a quote after a space is text (csv)
        ("one\ntwo, three", ["one", "two", "three"]),  # lines are rows
        ("", []),
    ],
)
def test_values_split_as_csv_like_a1111(text, expected):
    assert split_values(text) == expected


def test_values_written_back_read_the_same():
    for values in (["a, b", "c"], ['say "hi"', "x"], [1, 2, 3]):
        assert split_values(csv_text(values)) == [str(v) for v in values]


@pytest.mark.parametrize(
    ("name", "key"),
    [("cfg", "cfg"), ("CFG Scale", "cfg"), ("Prompt S/R", "prompt_sr"), ("prompt_sr", "prompt_sr")]
    + [("Checkpoint name", "checkpoint"), ("model", "checkpoint"), ("clip-skip", "clip_skip")],
)
def test_axes_are_named_by_key_or_a1111_label(name, key):
    assert axis_type(name).key == key


BASE = Txt2ImgRequest(
    model=ModelRef(Family.SD, "/models/base.safetensors"),
    prompt=Prompt("a cat on a mat", "ugly cat"),
)


def test_prompt_sr_replaces_the_first_value_by_each_in_both_prompts():
    plot = plot_of(XyzPlotRequest(base=BASE, axes=(XyzAxis("prompt_sr", "cat, dog, fox"),)))
    prompts = [(c.prompt.positive, c.prompt.negative) for c in plot.cells]
    assert prompts == [
        ("a cat on a mat", "ugly cat"),
        ("a dog on a mat", "ugly dog"),
        ("a fox on a mat", "ugly fox"),
    ]
    assert plot.axes[0].captions == ("cat", "dog", "fox")  # the value alone, as A1111


def test_each_axis_changes_its_own_setting():
    base = Txt2ImgRequest(
        model=BASE.model,
        prompt=Prompt("x <lora:ink:0.8>"),
        loras=(LoraSpec("/l/ink.safetensors", 0.8),),
    )
    cases = [
        ("steps", "12", lambda c: c.sampling.steps == 12),
        ("cfg", "4.5", lambda c: c.sampling.cfg_scale == 4.5),
        ("sampler", "euler a", lambda c: c.sampling.sampler == "Euler a"),
        ("checkpoint", "/m/other.ckpt", lambda c: c.model.id == "/m/other.ckpt"),
        ("vae", "/v/kl.safetensors", lambda c: c.vae == "/v/kl.safetensors"),
        ("vae", "Automatic", lambda c: c.vae == ""),
        ("clip_skip", "2", lambda c: c.clip_skip == 2),
        ("size", "64x96", lambda c: c.size == Size(64, 96)),
        ("lora_weight", "0.25", lambda c: c.loras[0].weight == 0.25),
        ("lora_weight", "0.25", lambda c: c.prompt.positive == "x <lora:ink:0.25>"),
    ]
    for key, text, holds in cases:
        (cell,) = plot_of(XyzPlotRequest(base=base, axes=(XyzAxis(key, text),))).cells
        assert holds(cell), key


def test_captions_are_a1111s():
    x, y, z = plot_axes(
        (XyzAxis("seed", "1"), XyzAxis("cfg", "0.1-0.3 [3]"), XyzAxis("sampler", "DDIM"))
    )
    assert x.captions == ("Seed: 1",)
    assert y.captions == ("CFG Scale: 0.1", "CFG Scale: 0.2", "CFG Scale: 0.3")
    assert z.captions == ("DDIM",)
    (c,) = plot_axes((XyzAxis("checkpoint", "/m/dreamy-v2.safetensors"),))[0].captions
    assert c == "dreamy-v2"


def test_cells_are_in_grid_order_and_run_in_a1111s_loop_order():
    request = XyzPlotRequest(
        base=BASE,
        axes=(XyzAxis("seed", "1-2"), XyzAxis("steps", "10, 20, 30"), XyzAxis("cfg", "5, 6")),
    )
    plot = plot_of(request)
    assert plot.shape == (2, 3, 2)
    seeds_steps_cfg = [
        (c.sampling.seed, c.sampling.steps, c.sampling.cfg_scale) for c in plot.cells
    ]
    assert seeds_steps_cfg[:3] == [(1, 10, 5.0), (2, 10, 5.0), (1, 20, 5.0)]  # x fastest
    assert seeds_steps_cfg[6] == (1, 10, 6.0)
    assert plot.run_order == tuple(range(12))  # no costly axis: Z, then Y, then X


def test_a_checkpoint_axis_is_the_outermost_loop():
    request = XyzPlotRequest(
        base=BASE, axes=(XyzAxis("checkpoint", "/a, /b"), XyzAxis("seed", "1, 2, 3"))
    )
    plot = plot_of(request)
    ran = [(plot.cells[i].model.id, plot.cells[i].sampling.seed) for i in plot.run_order]
    assert ran == [("/a", 1), ("/a", 2), ("/a", 3), ("/b", 1), ("/b", 2), ("/b", 3)]


def test_random_seeds_are_drawn_once_and_written_into_the_plot():
    drawn = iter([111, 222])
    request = XyzPlotRequest(base=BASE, axes=(XyzAxis("seed", "-1, 5, -1"),))
    fixed = with_seeds_drawn(request, lambda: next(drawn))
    assert fixed.axes[0].values == "111, 5, 222"
    assert [c.sampling.seed for c in plot_of(fixed).cells] == [111, 5, 222]


@pytest.mark.parametrize(
    ("axes", "words"),
    [
        ((XyzAxis("steps", "10, twenty"),), ["X axis (Steps)", "'twenty'", "whole number"]),
        ((XyzAxis("seed", "1.5"),), ["'1.5'", "whole number"]),
        ((XyzAxis(), XyzAxis("sampler", "Euler, Eulr")), ["Y axis", "'Eulr'", "Euler a"]),
        ((XyzAxis("prompt_sr", "dog, cat"),), ["'dog'", "neither the prompt"]),
        ((XyzAxis("size", "64 by 64"),), ["'64 by 64'", "512x768"]),
        ((XyzAxis("colour", "red"),), ["'colour'", "prompt_sr"]),
        ((XyzAxis("steps", "5-1"),), ["no values", "5-1 [5]"]),
        ((XyzAxis("steps", ""),), ["no values"]),
        ((XyzAxis("steps", "0, 10"),), ["Steps: 0", "between 1 and 1000"]),
        ((XyzAxis("cfg", "1-2 (+0)"),), ["step of 0"]),
        ((XyzAxis("seed", "1-100000"),), ["100,000 values"]),
        ((XyzAxis("seed", "1-30"), XyzAxis("steps", "1-30")), ["900 cells", "500"]),
        ((XyzAxis("denoising", "0.5"),), ["source image"]),
        ((XyzAxis("lora_weight", "0.5"),), ["LoRA"]),
        ((XyzAxis("sampler", "Euler,,DDIM"),), ["empty"]),
    ],
)
def test_a_value_it_cannot_take_is_a_sentence_naming_the_axis_and_value(axes, words):
    with pytest.raises(BadInput) as caught:
        XyzPlotRequest(base=BASE, axes=axes).validate()
    for word in words:
        assert word in caught.value.message
    assert caught.value.message.endswith(".")
