"""The quality meter, checked on inputs whose answer is known without it: real digits,
copies of the training set, noise, a collapsed model, and fresh procedural shapes."""

from __future__ import annotations

import torch

from engine.data.shapes import ShapesData
from engine.quality import score as scoring
from engine.quality.meters import SHAPES_METER, ShapesReader, load_meter
from engine.quality.splits import digit_splits


def test_the_splits_are_disjoint_and_cover_every_digit():
    x, y, split = digit_splits()
    parts = [set(split[name].tolist()) for name in split]
    assert sum(len(p) for p in parts) == len(x) == len(y)
    assert all(not (a & b) for i, a in enumerate(parts) for b in parts[i + 1 :])
    assert set(y[split["held_out"]].tolist()) == set(range(10))


def test_real_unseen_digits_score_like_the_real_data_figure_and_are_not_copies():
    x, _y, split = digit_splits()
    unseen, seen = x[split["held_out"]], x[split["train"]]
    values = scoring._digits(unseen, learned=seen)  # as if a model had learned the half
    # The real-data figure is the same rule on these very images.
    assert values["recognisable"] == values["real_digits_recognisable"] > 0.8
    assert values["classes"] == 10
    assert 0.85 < values["diversity"] < 1.1  # as varied as the real digits (they are)
    # Not near-copies of the training half, and about 95 % of them as near it as 95 % of
    # unseen digits are (the definition, less the few that repeat another).
    assert values["copies"] < 0.05 and 0.9 <= values["realism"] <= 0.96


def test_the_training_images_themselves_are_all_copies_and_earn_nothing():
    x, _y, split = digit_splits()
    values = scoring._digits(x[split["train"]][:300])
    assert values["copies"] == 1.0
    assert values["recognisable"] == values["realism"] == values["classes"] == 0


def test_noise_is_not_realistic_and_a_collapsed_model_has_no_diversity():
    noise = torch.rand(300, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    values = scoring._digits(noise)
    # The classifier alone is sure of much of it; realism is what tells noise from digits.
    assert values["realism"] == 0.0 and values["copies"] == 0.0
    x, _y, split = digit_splits()
    one_digit = x[split["held_out"]][:1].repeat(300, 1, 1, 1)  # every sample the same
    collapsed = scoring._digits(one_digit)
    assert collapsed["diversity"] < 0.01 and collapsed["classes"] <= 1


def test_the_shapes_reader_recovers_the_known_factors_of_fresh_shapes():
    images, factors = ShapesData(seed=777).batch(400)  # never seen by the reader
    meter = load_meter(SHAPES_METER, ShapesReader())
    batch = torch.from_numpy(images.transpose(0, 3, 1, 2).copy())
    with torch.no_grad():
        logits, predicted = meter.net(batch)
    kinds = torch.as_tensor(factors.kind)
    assert (logits.argmax(1) == kinds).float().mean() > 0.95
    for column, truth in ((0, factors.x), (1, factors.y), (2, factors.scale)):
        true = torch.as_tensor(truth, dtype=torch.float32)
        r = torch.corrcoef(torch.stack([predicted[:, column], true]))[0, 1]
        assert r > 0.9, (column, r)


def test_fresh_shapes_score_as_fully_covering_and_one_shape_does_not():
    images, _ = ShapesData(seed=99).batch(300)
    real = torch.from_numpy(images.transpose(0, 3, 1, 2).copy())
    values = scoring._shapes(real)
    assert values["kinds"] == 4 and values["recognisable"] > 0.9
    assert values["factor_coverage"] > 0.85 and values["diversity"] > 0.85
    same = scoring._shapes(real[:1].repeat(300, 1, 1, 1))
    assert same["kinds"] == 0 and same["factor_coverage"] < 0.05 and same["diversity"] < 0.01
