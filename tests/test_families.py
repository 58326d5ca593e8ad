"""Families declare themselves: each engine/models/<family>/spec.py, and nothing else,
says what a family is and can do; a family added as one package is listed everywhere."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

from engine import registry
from engine.api import families
from engine.api.catalogue import lab_models
from engine.api.errors import BadInput
from engine.api.kinds import Family, Task
from engine.api.parts import ModelRef
from engine.api.requests import SampleRequest, request_from_dict
from engine.commands import build_parser
from engine.local_engine import LocalCatalogue
from tests.runner_contract import RunnerContract
from tests.toy_family import toy_family, write_toy_model

ROOT = Path(__file__).resolve().parent.parent


def sample_help(*argv: str) -> str:
    """What `latent-studio sample ARGV --help` prints, from a parser built now."""
    sample = build_parser()._subparsers._group_actions[0].choices["sample"]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.suppress(SystemExit):
        sample.parse_args([*argv, "--help"])
    return printed.getvalue()


# ---------------------------------------------------------------- the shipped families


def test_the_specs_are_read_without_torch():
    code = (
        "import sys, json; from engine.api import families; "
        "print(json.dumps([sorted(families.family_specs()), 'torch' in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == [
        ["ddpm", "gan", "gmm", "nade", "pixelcnn", "rbm", "realnvp", "sd", "upscale", "vae"],
        False,
    ]


def test_every_shipped_family_is_whole():
    assert registry.family_problems() == []


def test_the_lab_offers_the_classic_families_in_the_order_history_met_them():
    assert families.lab_families() == (
        "gmm",
        "rbm",
        "nade",
        "vae",
        "gan",
        "pixelcnn",
        "realnvp",
        "ddpm",
    )
    assert families.trainable_families() == (
        "gmm",
        "rbm",
        "nade",
        "vae",
        "gan",
        "pixelcnn",
        "realnvp",
        "ddpm",
    )
    assert [e.ref.family for e in lab_models()] == sorted(
        (e.ref.family for e in lab_models()),
        key=("gmm", "rbm", "nade", "vae", "gan", "pixelcnn", "realnvp", "ddpm").index,
    )


def test_support_is_read_from_the_specs():
    assert families.supports(Family.DDPM, Task.DIFFUSE)
    assert not families.supports(Family.GAN, Task.RECONSTRUCT)
    assert families.families_for(Task.LATENT_AXES) == ("vae", "gan")


def test_a_family_is_an_open_key_equal_to_its_id():
    assert Family("gan") is Family.GAN and Family.GAN == "gan" and hash(Family.GAN) == hash("gan")
    assert json.dumps({"family": Family.DDPM}) == '{"family": "ddpm"}'
    assert Family("nosuch") == "nosuch" and families.title_of(Family("nosuch")) == "nosuch"
    with pytest.raises(ValueError):
        Family("Not an id")


def test_a_family_no_package_declares_is_refused_with_a_sentence():
    request = SampleRequest(model=ModelRef(Family("nosuch"), "nosuch-digits"), count=1)
    with pytest.raises(BadInput, match="no model family 'nosuch'"):
        request.validate()
    with pytest.raises(BadInput, match="no model family 'nosuch'"):
        request_from_dict({"type": "sample", "model": {"family": "nosuch", "id": "x"}})


def test_a_gans_sample_help_offers_no_diffusion_flags():
    everything = sample_help()
    assert "--steps" in everything and "--guidance" in everything
    gan = sample_help("--model", "gan-digits")
    assert "--model" in gan and "--steps" not in gan and "--guidance" not in gan
    assert "--steps" in sample_help("--model", "ddpm-digits")


def test_python_m_engine_train_still_reproduces_through_its_shim():
    out = subprocess.run(
        [sys.executable, "-m", "engine.train", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "{gmm,rbm,nade,vae,gan,pixelcnn,realnvp,ddpm,sr}" in out.stdout


# ---------------------------------------------------------------- a family added in a test


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The toy family installed, and one toy model among the models trained here."""
    monkeypatch.setenv("LATENTSTUDIO_DATA_DIR", str(tmp_path / "data"))
    model = write_toy_model(tmp_path / "data" / "models")
    with toy_family(tmp_path / "packages"):
        yield ModelRef(Family("toy"), str(model))


def test_a_toy_family_is_whole_and_listed_by_the_catalogue(toy):
    assert registry.family_problems() == []
    assert families.lab_families() == (
        *("gmm", "rbm", "nade", "vae", "gan", "pixelcnn", "realnvp", "ddpm"),
        "toy",
    )
    assert toy in [e.ref for e in lab_models()]


def test_the_lab_picker_offers_the_toy_and_tells_its_idea(toy, qtbot):
    from gui.lab_panel import LabPanel

    panel = LabPanel(catalogue=LocalCatalogue())
    qtbot.addWidget(panel)
    panel.refresh_models(select=toy.id)
    titles = [panel.model_box.itemText(i) for i in range(panel.model_box.count())]
    assert "toy-dots · Toy · dots · 3 steps" in titles
    assert panel.model == toy and "four random numbers" in panel.about.text()


def test_sample_help_lists_the_toy_and_its_own_options(toy):
    text = " ".join(sample_help().split())  # argparse wraps the model list where it likes
    assert "Toy model" in text and "Toy options" in text and "--spread" in text
    assert "--spread" not in sample_help("--model", "gan-digits")


def test_a_half_added_family_is_reported(tmp_path):
    with toy_family(tmp_path, runners=False):
        problems = registry.family_problems()
    assert problems == ["toy: a spec but no module engine.models.toy.runners"]
    assert registry.family_problems() == []  # and it is gone again


def test_runners_without_a_spec_are_reported(tmp_path):
    with toy_family(tmp_path) as package:
        (package / "spec.py").unlink()
        problems = registry.family_problems()
    assert problems == ["toy: runners but no spec (engine/models/toy/spec.py)"]


class TestToySampleKeepsTheRunnerContract(RunnerContract):
    task: ClassVar[Task] = Task.SAMPLE
    family: ClassVar[Family] = Family("toy")

    @pytest.fixture(autouse=True)
    def installed(self, tmp_path_factory):
        root = tmp_path_factory.mktemp("toy")
        self.model = write_toy_model(root / "models")
        with toy_family(root / "packages"):
            yield

    def make_request(self, tmp_path, seed=0, count=2):
        return SampleRequest(
            model=ModelRef(Family("toy"), str(self.model)), seed=seed, count=count, save=False
        )
