"""Interpolation between two seeds of a VAE or GAN: the ends are the seeds' own samples,
pixel for pixel; the command line writes the frames and an animation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.parts import ModelRef
from engine.api.requests import InterpolateRequest, SampleRequest
from engine.api.sample_options import DiffusionSampleOptions, LatentSampleOptions
from engine.context import JobContext
from engine.models.common.latent_paths import path_between

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.reproducibility
@pytest.mark.parametrize("model", ["vae-digits", "gan-digits", "vae-shapes", "gan-shapes"])
@pytest.mark.parametrize("mode", ["slerp", "lerp"])
def test_the_ends_are_the_seeds_own_samples(cpu_runtime, model, mode):
    family = Family(model.split("-")[0])
    ref = ModelRef(family, model)
    frames = cpu_runtime.run(
        InterpolateRequest(model=ref, from_seed=5, to_seed=77, frames=6, mode=mode, save=False),
        JobContext(1),
    ).images
    assert len(frames) == 6
    for seed, frame in ((5, frames[0]), (77, frames[-1])):
        sample = cpu_runtime.run(
            SampleRequest(model=ref, seed=seed, count=1, save=False), JobContext(2)
        ).images[0]
        assert np.array_equal(frame.rgb, sample.rgb)
    assert not np.array_equal(frames[2].rgb, frames[0].rgb)  # it moves


def test_slerp_keeps_the_norm_and_lerp_the_straight_line():
    a, b = torch.randn(64, generator=torch.Generator().manual_seed(1)), torch.randn(64)
    b = b / b.norm() * a.norm()  # equal norms: slerp's path stays on their sphere
    sphere = path_between(a, b, 9, "slerp")
    assert torch.allclose(sphere.norm(dim=1), torch.full((9,), float(a.norm())), rtol=1e-5)
    line = path_between(a, b, 9, "lerp")
    assert torch.allclose(line[4], (a + b) / 2, atol=1e-6)
    assert torch.equal(sphere[0], a) and torch.equal(sphere[-1], b)
    same = path_between(a, a.clone(), 3, "slerp")  # parallel codes: no division by zero
    assert torch.isfinite(same).all()


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"frames": 0}, "Frames"),
        ({"frames": 10_000}, "Frames"),
        ({"mode": "cubic"}, "slerp, lerp"),
        ({"model": ModelRef(Family.DDPM, "ddpm-digits")}, "Choose a VAE, GAN or RealNVP"),
    ],
)
def test_bad_requests_are_refused_with_a_sentence(fields, words):
    request = InterpolateRequest(**{"model": ModelRef(Family.GAN, "gan-digits"), **fields})
    with pytest.raises(BadInput, match=words):
        request.validate()


def _main(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )


def test_the_command_writes_frames_and_animations_whose_ends_are_samples(tmp_path):
    env = {"LATENTSTUDIO_CACHE_DIR": str(tmp_path / "cache")}
    out = tmp_path / "out"
    done = _main(
        "interpolate", "--model", "gan-shapes", "--from-seed", "3", "--to-seed", "9",
        "--frames", "5", "--out", str(out), env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    paths = [Path(json.loads(line)["path"]) for line in done.stdout.splitlines()]
    assert [p.suffix for p in paths] == [".png"] * 5 + [".gif", ".webp"]
    for animation in paths[5:]:
        with Image.open(animation) as image:
            assert image.n_frames == 5 and image.info.get("loop") == 0
    sampled = _main(
        "sample", "--model", "gan-shapes", "--seed", "9", "--count", "1", "--out", str(out),
        env=env,
    )  # fmt: skip
    sample_path = Path(json.loads(sampled.stdout.splitlines()[-1])["path"])
    last = np.asarray(Image.open(paths[4]).convert("RGB"))
    assert np.array_equal(last, np.asarray(Image.open(sample_path).convert("RGB")))
    with Image.open(paths[6]) as webp:  # lossless: the animation's frames are the frames
        webp.seek(4)
        assert np.array_equal(np.asarray(webp.convert("RGB")), last)


def test_the_command_refuses_bad_input_before_creating_anything(tmp_path):
    out = tmp_path / "out"
    for extra in (["--frames", "0"], ["--fps", "0"], ["--model", "ddpm-digits"]):
        done = _main(
            "interpolate", "--from-seed", "1", "--to-seed", "2", "--out", str(out), *extra,
            env={},
        )  # fmt: skip
        assert done.returncode == 2 and done.stderr.startswith("error:"), extra
    assert not out.exists()


# ---------------------------------------------------------------- the diffusion view


@pytest.mark.reproducibility
@pytest.mark.parametrize(("model", "label"), [("ddpm-digits", 7), ("ddpm-shapes", None)])
def test_the_filmstrips_final_sample_is_the_sample_of_that_seed(cpu_runtime, model, label):
    from engine.api.requests import DiffuseRequest

    ref = ModelRef(Family.DDPM, model)
    strip, final = cpu_runtime.run(
        DiffuseRequest(model=ref, seed=12, steps=8, label=label, columns=5, save=False),
        JobContext(1),
    ).images
    alone = cpu_runtime.run(
        SampleRequest(
            model=ref,
            seed=12,
            count=1,
            options=DiffusionSampleOptions(steps=8, label=label),
            save=False,
        ),
        JobContext(2),
    ).images[0]
    assert np.array_equal(final.rgb, alone.rgb)
    side = alone.rgb.shape[0]
    gap = max(1, side // 32)
    assert strip.rgb.shape == (2 * side + gap, 5 * side + 4 * gap, 3)
    assert (
        strip.info["filmstrip_steps"] == [1, 3, 5, 6, 8] or len(strip.info["filmstrip_steps"]) == 5
    )
    # the bottom right cell is the last prediction: the final sample itself
    assert np.array_equal(strip.rgb[side + gap :, -side:], final.rgb)
    assert not np.array_equal(strip.rgb[:side, :side], strip.rgb[:side, -side:])  # it moves


def test_more_steps_than_the_model_has_are_refused_in_a_sentence():
    from engine.api.requests import DiffuseRequest

    # The bundled DDPMs have T = 1000, the most a request may ask; a trained model with a
    # smaller T is refused by the sampler itself ("trained with T = ...").
    request = DiffuseRequest(model=ModelRef(Family.DDPM, "ddpm-digits"), steps=1001, save=False)
    with pytest.raises(BadInput, match="Denoising steps"):
        request.validate()


def test_the_diffuse_command_writes_the_strip_and_the_sample(tmp_path):
    out = tmp_path / "out"
    env = {"LATENTSTUDIO_CACHE_DIR": str(tmp_path / "cache")}
    done = _main(
        "diffuse", "--model", "ddpm-digits", "--seed", "4", "--steps", "10", "--out", str(out),
        env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    strip, final = (Path(json.loads(line)["path"]) for line in done.stdout.splitlines())
    sampled = _main(
        "sample", "--model", "ddpm-digits", "--seed", "4", "--count", "1", "--steps", "10",
        "--out", str(out), env=env,
    )  # fmt: skip
    alone = Path(json.loads(sampled.stdout.splitlines()[-1])["path"])
    assert np.array_equal(np.asarray(Image.open(final)), np.asarray(Image.open(alone)))
    assert Image.open(strip).width > Image.open(final).width * 5


# ---------------------------------------------------------------- Stable Diffusion walks


@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory) -> Path:
    from engine.models.sd.tiny import build_tiny_pipeline

    return build_tiny_pipeline(tmp_path_factory.mktemp("walk") / "tiny-sd", seed=0)


def _txt2img(model: Path, seed: int, prompt: str = "a lighthouse", **fields):
    from engine.api.parts import Prompt, Sampling, Size
    from engine.api.requests import Txt2ImgRequest

    return dict(
        model=ModelRef(Family.SD, str(model)),
        prompt=Prompt(prompt, "blurry"),
        size=Size(64, 64),
        sampling=Sampling(steps=3, cfg_scale=6.0, seed=seed),
        save=False,
        **fields,
    ), Txt2ImgRequest


@pytest.mark.reproducibility
def test_a_latent_walks_ends_are_the_two_seeds_txt2img_images(sd_runtime, tiny_sd):
    from engine.api.requests import LatentWalkRequest

    fields, txt2img = _txt2img(tiny_sd, 21)
    frames = sd_runtime.run(LatentWalkRequest(**fields, to_seed=22, frames=4), JobContext(1)).images
    first = sd_runtime.run(txt2img(**fields), JobContext(2)).images[0]
    last_fields, _ = _txt2img(tiny_sd, 22)
    last = sd_runtime.run(txt2img(**last_fields), JobContext(3)).images[0]
    assert np.array_equal(frames[0].rgb, first.rgb)
    assert np.array_equal(frames[-1].rgb, last.rgb)  # PNDM adds no noise of its own
    assert not np.array_equal(frames[1].rgb, frames[0].rgb)
    assert [f.info["t"] for f in frames] == [0.0, 1 / 3, 2 / 3, 1.0]


def test_a_walk_between_two_prompts_moves_the_picture(sd_runtime, tiny_sd):
    from engine.api.requests import LatentWalkRequest

    fields, _ = _txt2img(tiny_sd, 21)
    same_noise = LatentWalkRequest(**fields, to_seed=21, frames=3, to_prompt="a red apple")
    frames = sd_runtime.run(same_noise, JobContext(1)).images
    assert not np.array_equal(frames[0].rgb, frames[-1].rgb)
    assert frames[0].rgb.shape == (64, 64, 3)


def test_the_interpolate_command_walks_a_stable_diffusion_model(tmp_path, tiny_sd):
    out = tmp_path / "out"
    done = _main(
        "interpolate", "--model", str(tiny_sd), "--prompt", "a lighthouse", "--from-seed", "1",
        "--to-seed", "2", "--frames", "3", "--width", "64", "--height", "64", "--steps", "2",
        "--out", str(out), env={"LATENTSTUDIO_CACHE_DIR": str(tmp_path / "cache")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    paths = [Path(json.loads(line)["path"]) for line in done.stdout.splitlines()]
    assert [p.suffix for p in paths] == [".png"] * 3 + [".gif", ".webp"]


def test_a1111s_variation_seed_moves_each_images_noise_towards_anothers(sd_runtime, tiny_sd):
    from engine.store import read_metadata

    fields, txt2img = _txt2img(tiny_sd, 30)
    plain = sd_runtime.run(txt2img(**fields), JobContext(1)).images[0]
    full_fields, _ = _txt2img(tiny_sd, 30, variation_seed=55, variation_strength=1.0)
    full = sd_runtime.run(txt2img(**full_fields), JobContext(2)).images[0]
    other_fields, _ = _txt2img(tiny_sd, 55)
    other = sd_runtime.run(txt2img(**other_fields), JobContext(3)).images[0]
    assert np.array_equal(full.rgb, other.rgb)  # all the way: the variation seed's noise
    half_fields, _ = _txt2img(tiny_sd, 30, variation_seed=55, variation_strength=0.4)
    half_fields.update(batch_size=2, save=True)
    batch = sd_runtime.run(txt2img(**half_fields), JobContext(4)).images
    assert not np.array_equal(batch[0].rgb, plain.rgb)
    alone_fields, _ = _txt2img(tiny_sd, 31, variation_seed=56, variation_strength=0.4)
    alone = sd_runtime.run(txt2img(**alone_fields), JobContext(5)).images[0]
    assert np.abs(batch[1].rgb.astype(int) - alone.rgb.astype(int)).max() <= 1  # seed + i
    saved = read_metadata(Path(batch[0].path))
    assert saved.parameters["variation_seed"] == 55
    assert saved.parameters["variation_seed_strength"] == 0.4


@pytest.mark.parametrize("model", ["vae-shapes", "gan-shapes"])
def test_an_end_can_be_a_kept_code(cpu_runtime, model):
    """A picture kept from the sliders is a code, not a seed: a walk can start there."""
    from engine.api.requests import SeedLatentRequest

    ref = ModelRef(Family(model.split("-")[0]), model)
    code = cpu_runtime.run(SeedLatentRequest(model=ref, seed=12), JobContext(1)).vectors[0]
    kept = tuple(v + 0.5 for v in code)  # moved along every axis: no seed draws this
    walk = InterpolateRequest(
        model=ref, from_seed=12, to_seed=40, frames=4, from_latent=kept, save=False
    )
    assert walk.describe().startswith(f"{model} · a kept code → seed 40")
    frames = cpu_runtime.run(walk, JobContext(2)).images
    picture = SampleRequest(
        model=ref, seed=12, count=1, options=LatentSampleOptions(latent=kept), save=False
    )
    assert np.array_equal(frames[0].rgb, cpu_runtime.run(picture, JobContext(3)).images[0].rgb)
    last = SampleRequest(model=ref, seed=40, count=1, save=False)
    assert np.array_equal(frames[-1].rgb, cpu_runtime.run(last, JobContext(4)).images[0].rgb)
