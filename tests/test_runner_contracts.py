"""Every registered runner keeps the shared contract (tests/runner_contract.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine import registry
from engine.api.kinds import Family, Task
from engine.api.parts import DatasetRef, Latents, ModelRef, Prompt, Sampling, Size, Training
from engine.api.requests import DecodeRequest, SampleRequest, TrainRequest, Txt2ImgRequest
from engine.resources import BUNDLED_MODELS_DIR
from tests.runner_contract import RunnerContract

DIGITS = ModelRef(Family.VAE, "vae-digits")


def truncated_copy(source: Path, target: Path) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


class TestVaeSample(RunnerContract):
    task, family = Task.SAMPLE, Family.VAE

    def make_request(self, tmp_path, seed=0, count=2):
        return SampleRequest(model=DIGITS, seed=seed, count=count)

    def damaged_model_request(self, tmp_path):
        broken = truncated_copy(
            BUNDLED_MODELS_DIR / "vae-digits.safetensors", tmp_path / "cut.safetensors"
        )
        return SampleRequest(model=ModelRef(Family.VAE, str(broken)), count=1)


class TestVaeDecode(RunnerContract):
    task, family = Task.DECODE, Family.VAE
    has_seeds = False
    reports_steps = False

    def make_request(self, tmp_path, seed=0, count=2):
        return DecodeRequest(
            model=DIGITS, latents=Latents(tuple((0.1 * i,) * 8 for i in range(count)))
        )

    def damaged_model_request(self, tmp_path):
        broken = truncated_copy(
            BUNDLED_MODELS_DIR / "vae-digits.safetensors", tmp_path / "cut.safetensors"
        )
        return DecodeRequest(
            model=ModelRef(Family.VAE, str(broken)), latents=Latents(((0.0,) * 8,))
        )


class TestVaeTrain(RunnerContract):
    task, family = Task.TRAIN, Family.VAE
    has_seeds = False  # multi-threaded CPU training is seeded, not bitwise reproducible

    def make_request(self, tmp_path, seed=0, count=2):
        return TrainRequest(
            family=Family.VAE,
            preset="digits",
            dataset=DatasetRef("digits"),
            training=Training(steps=10 * count, batch_size=32, seed=seed),
            output=str(tmp_path / "trained.safetensors"),
        )


class TestSdTxt2Img(RunnerContract):
    task, family = Task.TXT2IMG, Family.SD
    seed_tolerance = 1  # batched CPU kernels; see test_sd.py

    @pytest.fixture(autouse=True)
    def _model(self, tiny_sd_model):
        self.model = tiny_sd_model

    def make_request(self, tmp_path, seed=0, count=2, model=None):
        return Txt2ImgRequest(
            model=ModelRef(Family.SD, str(model or self.model)),
            prompt=Prompt("a lighthouse"),
            size=Size(32, 32),
            sampling=Sampling(steps=3, seed=seed),
            batch_size=count,
        )

    def damaged_model_request(self, tmp_path):
        broken = Path(shutil.copytree(self.model, tmp_path / "broken-sd"))
        truncated_copy(
            self.model / "vae" / "diffusion_pytorch_model.safetensors",
            broken / "vae" / "diffusion_pytorch_model.safetensors",
        )
        return self.make_request(tmp_path, model=broken)


def test_every_registered_runner_has_a_contract_test():
    tested = {(cls.task, cls.family) for cls in RunnerContract.__subclasses__()}
    assert set(registry.discover()) == tested
