"""The DDPM family's files and models: saving and loading (and the files refused), the
bundled class-conditional digits model, the sample runner and training in the app."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.api.errors import BadInput, BadModelFile
from engine.api.kinds import Family
from engine.api.outcomes import ModelOutcome
from engine.api.parts import DatasetRef, Training
from engine.api.requests import TrainRequest
from engine.context import JobContext
from engine.hashing import file_sha256
from engine.models.common.modelfile import sidecar_path
from engine.models.ddpm.files import load_ddpm, save_ddpm
from engine.models.ddpm.net import DdpmConfig
from engine.models.ddpm.sampling import label_for, sample
from engine.models.ddpm.training import DDPM_PRESETS
from engine.quality.meters import DIGITS_METER, digit_classifier, load_meter
from engine.resources import BUNDLED_MODELS_DIR
from tests.test_ddpm import (  # noqa: F401 - one_torch_thread applies here too (autouse)
    BUNDLED_PATH,
    TINY,
    new_runtime,
    one_torch_thread,
    run,
    sample_request,
    tiny_unet,
)
from tests.tiny_models import rewrite_config


@pytest.fixture
def tiny_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.safetensors"
    save_ddpm(path, tiny_unet(), TINY, {"seed": 0, "default_guidance": 1.5})
    return path


# ---------------------------------------------------------------- files


def test_save_and_load_round_trip(tiny_file: Path):
    unet, config, meta = load_ddpm(tiny_file)
    assert config == TINY and meta == {"seed": 0, "default_guidance": 1.5}
    assert not unet.training
    expected, got = tiny_unet().state_dict(), unet.state_dict()
    assert expected.keys() == got.keys()
    assert all(torch.equal(expected[k], got[k]) for k in expected)
    record = json.loads(sidecar_path(tiny_file).read_text())
    assert record["family"] == "ddpm" and record["config"] == TINY.to_dict()
    assert DdpmConfig.from_dict(record["config"]) == TINY  # widths come back a tuple


def assert_bad_file(path: Path, *phrases: str) -> str:
    with pytest.raises(BadModelFile) as caught:
        load_ddpm(path)
    message = caught.value.message
    assert path.name in message
    for phrase in phrases:
        assert phrase in message
    assert message.rstrip().endswith(".")
    with pytest.raises(BadModelFile):
        new_runtime(path.parent).run(sample_request(str(path), count=1), JobContext(1))
    return message


def test_a_file_of_another_family_is_refused_naming_both(tmp_path: Path):
    path = tmp_path / "gan.safetensors"
    path.write_bytes((BUNDLED_MODELS_DIR / "gan-digits.safetensors").read_bytes())
    assert_bad_file(path, "gan model", "not a DDPM")


def test_truncated_file_says_what_to_do(tmp_path: Path):
    path = tmp_path / "cut.safetensors"
    path.write_bytes(BUNDLED_PATH.read_bytes()[:-1000])
    assert_bad_file(path, "damaged or incomplete", "python -m engine.train ddpm")


def test_config_that_disagrees_with_the_weights_is_a_bad_model_file(tiny_file, tmp_path):
    wider = rewrite_config(tiny_file, tmp_path / "wider.safetensors", widths=[8, 24])
    assert_bad_file(wider, "does not match", "train it again")
    colour = rewrite_config(tiny_file, tmp_path / "colour.safetensors", channels=3)
    assert_bad_file(colour, "does not match")
    classes = rewrite_config(tiny_file, tmp_path / "classes.safetensors", num_classes=4)
    assert_bad_file(classes, "does not match")
    odd = rewrite_config(tiny_file, tmp_path / "odd.safetensors", widths=[12, 16])
    assert_bad_file(odd, "incomplete or invalid")


# ---------------------------------------------------------------- the bundled digits model


def recognised_as(images: list, label: int) -> float:
    meter = load_meter(DIGITS_METER, digit_classifier())
    pixels = torch.from_numpy(np.stack([image.rgb[..., 0] for image in images]))
    with torch.no_grad():
        logits = meter.net(pixels.float()[:, None] / 255)
    return (logits.argmax(1) == label).float().mean().item()


@pytest.mark.parametrize("digit", [7, 3])
def test_asked_for_a_digit_the_bundled_model_draws_that_digit(digit, tmp_path):
    images = run(tmp_path, seed=digit * 100, count=16, steps=20, label=digit, guidance=1.25)
    assert len(images) == 16
    assert all(image.info["label"] == digit for image in images)
    assert images[0].info["guidance"] == 1.25
    assert recognised_as(images, digit) >= 0.6


def test_bundled_weights_are_the_digits_preset():
    _unet, config, meta = load_ddpm(BUNDLED_PATH)
    assert config == DDPM_PRESETS["digits"].config and config.num_classes == 10
    assert meta["classes"] == [str(d) for d in range(10)]
    assert BUNDLED_PATH.stat().st_size < 5 * 1024 * 1024


def test_runner_gives_each_sample_its_seed_class_and_recipe(tmp_path):
    images = run(tmp_path, seed=5, count=3, steps=5)
    assert [(i.index, i.seed) for i in images] == [(0, 5), (1, 6), (2, 7)]
    assert all(i.rgb.shape == (8, 8, 3) and i.rgb.dtype == np.uint8 for i in images)
    config = load_ddpm(BUNDLED_PATH)[1]
    assert [i.info["label"] for i in images] == [label_for(config, s, None) for s in (5, 6, 7)]
    info = images[0].info
    assert (info["model"], info["family"], info["device"]) == ("ddpm-digits", "ddpm", "cpu")
    assert info["model_sha256"] == file_sha256(BUNDLED_PATH)


@pytest.mark.reproducibility
def test_samples_reproduce_from_their_recipe(tmp_path):
    batch = run(tmp_path, seed=100, count=4, steps=10, label=None)
    again = run(tmp_path, seed=100, count=4, steps=10, label=None)
    assert all(np.array_equal(a.rgb, b.rgb) for a, b in zip(batch, again, strict=True))
    for i, image in enumerate(batch):
        alone = run(tmp_path, seed=100 + i, count=1, steps=10)[0]
        assert alone.info["label"] == image.info["label"]
        difference = np.abs(alone.rgb.astype(int) - image.rgb.astype(int)).max()
        assert difference <= 1  # the batch denoises together: equal up to rounding
    assert not np.array_equal(batch[0].rgb, batch[1].rgb)


def test_few_and_many_steps_both_work_and_differ(tmp_path):
    few = run(tmp_path, seed=1, count=1, steps=5, label=4)[0]
    many = run(tmp_path, seed=1, count=1, steps=50, label=4)[0]
    assert few.rgb.shape == many.rgb.shape == (8, 8, 3)
    assert not np.array_equal(few.rgb, many.rgb)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"steps": 0}, "Denoising steps"),
        ({"steps": 1001}, "Denoising steps"),
        ({"guidance": 25.0}, "Guidance scale"),
        ({"guidance": float("nan")}, "finite"),
        ({"eta": 1.5}, "Eta"),
        ({"label": -1}, "cannot be negative"),
    ],
)
def test_requests_outside_the_limits_are_bad_input(fields, words, tmp_path):
    request = sample_request(**fields)
    with pytest.raises(BadInput, match=words):
        request.validate()
    with pytest.raises(BadInput):
        new_runtime(tmp_path).run(request, JobContext(1))


def test_a_class_the_model_does_not_have_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="0 to 9, not 10"):
        run(tmp_path, label=10)


def test_guidance_defaults_to_the_models_recommendation(tiny_file, tmp_path):
    images = run(tmp_path, model=str(tiny_file), count=1, steps=3, label=2)
    assert images[0].info["guidance"] == 1.5  # from the file's meta
    unguided = run(tmp_path, model=str(tiny_file), count=1, steps=3, label=2, guidance=1.0)
    assert unguided[0].info["guidance"] == 1.0
    unet = load_ddpm(tiny_file)[0]
    expected = sample(unet, TINY, [0], [2], 3, 1.5)
    pixels = (expected * 255).round().clamp(0, 255).to(torch.uint8)[0, 0].numpy()
    np.testing.assert_array_equal(images[0].rgb[..., 0], pixels)


# ---------------------------------------------------------------- training in the app


def test_training_in_the_app_writes_a_conditional_model_with_its_guidance(tmp_path):
    out = tmp_path / "mine.safetensors"
    request = TrainRequest(
        family=Family.DDPM,
        preset="digits",
        dataset=DatasetRef("digits"),
        training=Training(steps=2, batch_size=8),
        output=str(out),
    )
    outcome = new_runtime(tmp_path).run(request, JobContext(1))
    assert isinstance(outcome, ModelOutcome) and outcome.step == 2
    _unet, config, meta = load_ddpm(out)
    assert config == DDPM_PRESETS["digits"].config and meta["steps"] == 2
    assert meta["default_guidance"] == DDPM_PRESETS["digits"].guidance
    images = run(tmp_path, model=str(out), count=1, steps=2, label=5)
    assert images[0].info["guidance"] == DDPM_PRESETS["digits"].guidance


def test_a_ddpm_sheet_in_the_gallery_shows_its_steps_classes_and_guidance(tmp_path):
    """What the details panel says of a saved sheet, against what each sample was drawn
    with when run alone (its class from its seed) and the request's own settings."""
    from engine.runtime import Runtime
    from engine.store import GalleryStore
    from gui.details_panel import describe

    with GalleryStore(tmp_path / "gallery") as store:
        runtime = Runtime(lambda: store, device_preference="cpu")
        try:
            request = sample_request(seed=20, count=3, steps=6, grid=True)
            sheet = runtime.run(request, JobContext(1)).images[0]
            rows = dict(describe(store.metadata(Path(sheet.path))))
        finally:
            runtime.close()
    alone = run(tmp_path, seed=20, count=3, steps=6)
    classes = ", ".join(str(image.info["label"]) for image in alone)  # digits: named so
    assert rows["Steps"] == "6 (DDIM, eta 0)"
    assert rows["Class"] == f"one per sample, from its seed: {classes}"
    assert rows["Guidance"] == f"{alone[0].info['guidance']:g} (the model's default)"
    assert rows["Seeds"] == "20 to 22 (one per sample)"


def test_the_bundled_shapes_model_names_the_kind_it_drew(tmp_path):
    from engine.data.shapes import KINDS

    images = run(tmp_path, model="ddpm-shapes", seed=1, count=2, steps=2, label=3)
    assert [image.info["class_name"] for image in images] == [KINDS[3]] * 2
