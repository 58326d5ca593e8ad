"""The Lab timeline: its rows in the order history met the families, each likelihood
labelled (exact, bound, estimate, none), and the measures of one model against oracles
that do not share our code: a VAE's bound against its marginal likelihood by quadrature,
a mixture's parameter count by its formula, the CLI's JSON read back."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine.api import families
from engine.api.requests import ScoreRequest
from engine.context import JobContext
from engine.models.vae.bound import binarised_bound_bits
from engine.models.vae.net import Vae, VaeConfig
from engine.quality.timeline_table import (
    likelihood_cell,
    likelihood_note,
    table_lines,
    timeline_rows,
)
from engine.runtime import Runtime
from tests.tiny_models import tiny_model

ROOT = Path(__file__).resolve().parents[1]


def test_every_lab_family_names_its_year_paper_and_idea_and_the_rows_follow_history():
    rows = timeline_rows("digits")
    assert [r.family for r in rows] == list(families.lab_families())
    years = [r.year for r in rows]
    assert years == sorted(years) and years[0] == 1977  # Dempster, Laird & Rubin
    for row in rows:
        assert row.paper and str(row.year) in row.paper, row.family
        assert row.idea.endswith(".") and len(row.idea) < 200, row.family
        assert row.model == f"{row.family}-digits"  # every Lab family is bundled on digits


def test_each_likelihood_is_labelled_and_a_gan_says_it_has_none():
    rows = {r.family: r for r in timeline_rows("digits")}
    assert likelihood_cell(rows["gan"]) == "none"
    assert "no density" in likelihood_note(rows["gan"])
    assert rows["gmm"].likelihood.kind == "exact"
    assert rows["rbm"].likelihood.kind == "estimate"
    assert rows["vae"].likelihood.kind == "bound"
    assert likelihood_cell(rows["gmm"]) == "not measured"  # nothing measured yet
    measured = rows["gmm"].with_values({"held_out_bits_per_dim": 2.6612})
    assert likelihood_cell(measured) == "2.66 exact"
    lines = table_lines([measured, rows["gan"]])
    assert "GMM: bits per dimension, exact, over dequantised pixel levels" in lines


def test_a_shapes_timeline_marks_the_families_without_a_bundled_model():
    rows = {r.family: r for r in timeline_rows("shapes")}
    assert rows["gmm"].model is None and rows["vae"].model == "vae-shapes"
    assert "no bundled model" in table_lines(list(rows.values()))[2 + list(rows).index("gmm")]


def test_an_rbms_bits_are_over_binarised_digits_but_dequantised_colour_levels():
    # One family, two kinds of visible unit: what its figure is over follows the data.
    digits = {r.family: r for r in timeline_rows("digits")}["rbm"]
    shapes = {r.family: r for r in timeline_rows("shapes")}["rbm"]
    assert likelihood_note(digits) == "bits per dimension, estimate, over binarised pixels"
    assert "over dequantised pixel levels" in likelihood_note(shapes)
    assert shapes.likelihood.score_key == digits.likelihood.score_key


@pytest.mark.parametrize("seed", [0, 1])
def test_the_vae_bound_is_never_below_its_marginal_likelihood_by_quadrature(seed):
    """A VAE with a one-number latent: log p(v) = log ∫ N(z) Π Bern(v | decoder(z)) dz by a
    fine grid; the negative ELBO in bits must bound −log₂ p(v) from above."""
    torch.manual_seed(seed)
    model = Vae(VaeConfig(image_size=2, channels=1, hidden=(8,), latent_dim=1)).double().eval()
    images = torch.rand(6, 1, 2, 2, dtype=torch.float64)
    v = (images > 0.5).double().flatten(1)
    z = torch.linspace(-8, 8, 8001, dtype=torch.float64)
    with torch.no_grad():
        p_on = torch.sigmoid(model.decode_logits(z[:, None])).flatten(1)  # Z x 4
    log_lik = (v[:, None, :] * p_on.log() + (1 - v[:, None, :]) * (1 - p_on).log()).sum(-1)
    log_prior = -0.5 * z**2 - 0.5 * math.log(2 * math.pi)
    log_p = torch.logsumexp(log_lik + log_prior, dim=1) + math.log(z[1] - z[0])
    exact_bits = float(-log_p.mean()) / (4 * math.log(2))
    bound = binarised_bound_bits(model, images)
    assert bound >= exact_bits - 0.01  # Monte Carlo noise of 16 draws, well under this
    assert bound < exact_bits + 2.0  # a bound, but of this model, not of another


def test_timeline_measures_of_one_model_follow_its_formula_and_its_record(tmp_path):
    ref = tiny_model(families.Family("gmm"), tmp_path)
    runtime = Runtime(device_preference="cpu")
    try:
        request = ScoreRequest(model=ref, count=12, meter=False)
        outcome = runtime.run(request, JobContext(0, previews=False))
    finally:
        runtime.close()
    values = dict(zip(outcome.labels, (v[0] for v in outcome.vectors), strict=True))
    from safetensors import safe_open

    with safe_open(str(ref.id), framework="pt") as fh:
        config = json.loads(fh.metadata()["latentstudio"])["config"]
    k, d = config["components"], config["channels"] * config["image_size"] ** 2
    assert config["covariance"] == "full"
    assert values["parameters"] == k + k * d + k * d * d  # weights, means, Cholesky factors
    assert values["sample_seconds"] > 0
    assert math.isfinite(values["held_out_bits_per_dim"])  # an untrained mixture's, finite
    assert "training_seconds" not in values  # the tiny model's record keeps none


def test_compare_prints_one_json_line_per_family_in_historical_order():
    out = subprocess.run(
        [sys.executable, "main.py", "compare", "--data", "emoji", "--json", "--device", "cpu"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["family"] for r in rows] == list(families.lab_families())
    by = {r["family"]: r for r in rows}
    assert by["gan"]["model"] == "gan-emoji" and by["gan"]["bits_per_dim"] is None
    assert by["gan"]["likelihood"] is None and by["gan"]["sample_seconds"] > 0
    assert by["vae"]["likelihood"] == "bound" and 0 < by["vae"]["bits_per_dim"] < 1
    assert by["gmm"]["model"] is None and "sample_seconds" not in by["gmm"]
    assert by["vae"]["parameters"] > 1000 and by["vae"]["training_seconds"] > 0
