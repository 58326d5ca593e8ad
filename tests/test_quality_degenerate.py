"""No meter can be fooled: every figure that claims quality gives at most 5 % to uniform
noise, constant images, one picture repeated and the training images themselves (which
the copies figure counts as copies). The oracle is the degenerate input itself.

Each case is checked on every meter shown (digits, shapes, emoji); real unseen images
are checked too, so that a meter saying 0 to everything would fail.
"""

from __future__ import annotations

import pytest
import torch

from engine.data.emoji import load_emoji
from engine.data.shapes import ShapesData
from engine.quality import score as scoring
from engine.quality.splits import digit_splits
from engine.train.datasets import ShapesSource

N = 200
LIMIT = 0.05
# The figures that claim quality, per meter; counts of classes as a share of all classes.
CLAIMS = {
    "digits": ("recognisable", "realism", "diversity", "classes"),
    "shapes": ("recognisable", "realism", "diversity", "kinds", "factor_coverage"),
    "emoji": ("realism", "diversity"),
}
CLASS_COUNTS = {"classes": 10, "kinds": 4}
SHAPE = {"digits": (1, 8), "shapes": (3, 32), "emoji": (3, 32)}


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def shapes(seed: int, count: int) -> torch.Tensor:
    return torch.from_numpy(ShapesData(seed=seed).batch(count)[0].transpose(0, 3, 1, 2).copy())


def training_images(meter: str) -> torch.Tensor:
    """Images the bundled models learned from: digits and emoji are the whole sets; shapes
    are drawn afresh, and these are the first the presets drew (seed 0, 64 at a time)."""
    if meter == "digits":
        return digit_splits()[0][torch.randperm(1797, generator=torch.Generator().manual_seed(1))]
    if meter == "emoji":
        return torch.from_numpy(load_emoji()[0])
    source = ShapesSource(32, 0)
    return torch.cat([source.batch(64)[0] for _ in range(4)])


def one_good_picture(meter: str) -> torch.Tensor:
    """A picture that scores on its own (checked below) but is no training image."""
    if meter == "digits":
        x, y, split = digit_splits()
        unseen, labels = x[split["held_out"]], y[split["held_out"]]
        twin = int((labels[1:] == labels[0]).nonzero()[0]) + 1  # another of the same digit
        return (unseen[:1] + unseen[twin : twin + 1]) / 2  # their average: a digit, no copy
    if meter == "emoji":
        return torch.from_numpy(load_emoji()[0][:1]).flip(-1) * 0.95  # mirrored, darker
    return shapes(99, 1)


def degenerate(meter: str, case: str) -> torch.Tensor:
    channels, size = SHAPE[meter]
    g = torch.Generator().manual_seed(0)
    if case == "noise":
        return torch.rand(N, channels, size, size, generator=g)
    if case == "constant":  # each image one colour (white, black, grey and others)
        colours = torch.rand(N, channels, 1, 1, generator=g)
        colours[0], colours[1], colours[2] = 1.0, 0.0, 0.5
        return colours.expand(N, channels, size, size).clone()
    if case == "repeated":
        return one_good_picture(meter).repeat(N, 1, 1, 1)
    return training_images(meter)[:N]


def claims(meter: str, values: dict[str, float]) -> dict[str, float]:
    return {name: values[name] / CLASS_COUNTS.get(name, 1) for name in CLAIMS[meter]}


@pytest.mark.parametrize("case", ["noise", "constant", "repeated", "copies"])
@pytest.mark.parametrize("meter", ["digits", "shapes", "emoji"])
def test_no_figure_that_claims_quality_credits_degenerate_samples(meter, case):
    values = scoring.measure(meter, degenerate(meter, case))
    assert {k: v for k, v in claims(meter, values).items() if v > LIMIT} == {}, values
    if case == "copies":  # counted as what they are
        assert values["copies"] == 1.0
    if case == "repeated":
        assert values["repeats"] >= 0.99


@pytest.mark.parametrize("meter", ["digits", "shapes", "emoji"])
def test_the_repeated_picture_alone_is_credited(meter):
    """So the repeated case tests repetition, not a picture the meter rejects anyway."""
    picture = one_good_picture(meter)
    values = scoring.measure(meter, picture.repeat(2, 1, 1, 1))
    assert values["realism"] == 0.5 and values["repeats"] == 0.5 and values["copies"] == 0.0


def test_real_unseen_data_keeps_its_credit():
    x, _y, split = digit_splits()
    unseen, seen = x[split["held_out"]][:300], x[split["train"]]
    digits = scoring._digits(unseen, learned=seen)
    assert digits["recognisable"] > 0.75 and digits["classes"] == 10
    assert 0.9 <= digits["realism"] <= 1 and 0.85 < digits["diversity"] < 1.1
    fresh = scoring.measure("shapes", shapes(777, 300))
    assert fresh["recognisable"] > 0.85 and fresh["kinds"] == 4
    assert fresh["realism"] > 0.9 and fresh["factor_coverage"] > 0.85
    assert fresh["copies"] < 0.05  # a fresh shape may fall on one of the first drawn
