"""Every registered runner keeps the shared contract (tests/runner_contract.py)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import ClassVar

import pytest
import torch

from engine import registry
from engine.api import families
from engine.api.image_parts import ControlUnit
from engine.api.kinds import Family, Task
from engine.api.parts import (
    DatasetRef,
    ImageRef,
    Latents,
    ModelRef,
    Prompt,
    Sampling,
    Size,
    Training,
)
from engine.api.requests import (
    ArithmeticRequest,
    ComponentsRequest,
    ControlMapRequest,
    DecodeRequest,
    DescribeModelRequest,
    DiffuseRequest,
    ForwardNoiseRequest,
    GibbsRequest,
    InterpolateRequest,
    LatentAxesRequest,
    LatentWalkRequest,
    PixelsRequest,
    ReconstructRequest,
    SampleRequest,
    ScoreRequest,
    SeedLatentRequest,
    TrainRequest,
    Txt2ImgRequest,
    UpscaleRequest,
    XyzAxis,
    XyzPlotRequest,
)
from engine.api.sample_options import DiffusionSampleOptions, SampleOptions
from tests.runner_contract import RunnerContract
from tests.tiny_models import LATENT_DIMS, tiny_model


def truncated_copy(source: Path, target: Path) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


def damaged_model(family: Family, tmp_path: Path) -> ModelRef:
    """A tiny model of `family` (tests/tiny_models.py) cut in half."""
    source = Path(tiny_model(family, tmp_path).id)
    return ModelRef(family, str(truncated_copy(source, tmp_path / "cut.safetensors")))


class ClassicSample(RunnerContract):
    """Sampling a tiny model of the class's family, built by the test."""

    task = Task.SAMPLE

    def make_request(self, tmp_path, seed=0, count=2):
        model = tiny_model(self.family, tmp_path)
        return SampleRequest(model=model, seed=seed, count=count, options=self.few_steps())

    def damaged_model_request(self, tmp_path):
        model = damaged_model(self.family, tmp_path)
        return SampleRequest(model=model, count=1, options=self.few_steps())

    def few_steps(self) -> SampleOptions:
        """A diffusion model's sampler cut to 5 steps; any other family's defaults."""
        diffusion = families.takes_options(self.family, DiffusionSampleOptions)
        return DiffusionSampleOptions(steps=5) if diffusion else SampleOptions()


class ClassicDecode(RunnerContract):
    task = Task.DECODE
    has_seeds = False
    reports_steps = False

    def make_request(self, tmp_path, seed=0, count=2):
        latents = tuple((0.1 * i,) * LATENT_DIMS[self.family] for i in range(count))
        return DecodeRequest(model=tiny_model(self.family, tmp_path), latents=Latents(latents))

    def damaged_model_request(self, tmp_path):
        return DecodeRequest(
            model=damaged_model(self.family, tmp_path),
            latents=Latents(((0.0,) * LATENT_DIMS[self.family],)),
        )


class ClassicInterpolate(RunnerContract):
    """Frames between two seeds of a tiny model."""

    task = Task.INTERPOLATE
    has_seeds = False  # every frame carries the request's seeds; the frame is its index

    def make_request(self, tmp_path, seed=0, count=2):
        model = tiny_model(self.family, tmp_path)
        return InterpolateRequest(model=model, from_seed=seed, to_seed=seed + 1, frames=count + 1)

    def damaged_model_request(self, tmp_path):
        return InterpolateRequest(model=damaged_model(self.family, tmp_path), frames=2)


class OneShot(RunnerContract):
    """Lab jobs that answer at once, with no steps and no seeds of their own to batch:
    latent axes, a seed's code, arithmetic, a reconstruction, a forward-process frame,
    a DDPM's schedule. Each is made by `request_of(model)` on a tiny model."""

    has_seeds = False
    reports_steps = False

    def request_of(self, model: ModelRef, tmp_path: Path):
        raise NotImplementedError

    def make_request(self, tmp_path, seed=0, count=2):
        return self.request_of(tiny_model(self.family, tmp_path), tmp_path)

    def damaged_model_request(self, tmp_path):
        return self.request_of(damaged_model(self.family, tmp_path), tmp_path)


class ClassicAxes(OneShot):
    task = Task.LATENT_AXES

    def request_of(self, model, tmp_path):
        return LatentAxesRequest(model=model)


class ClassicSeedLatent(OneShot):
    task = Task.SEED_LATENT

    def request_of(self, model, tmp_path):
        return SeedLatentRequest(model=model, seed=3)


class ClassicArithmetic(OneShot):
    task = Task.ARITHMETIC

    def request_of(self, model, tmp_path):
        return ArithmeticRequest(model=model, a=1, b=2, c=3, save=False)


class ClassicTrain(RunnerContract):
    task = Task.TRAIN
    has_seeds = False  # multi-threaded CPU training is seeded, not bitwise reproducible

    def make_request(self, tmp_path, seed=0, count=2):
        return TrainRequest(
            family=self.family,
            preset="digits",
            dataset=DatasetRef("digits"),
            training=Training(steps=10 * count, batch_size=32, seed=seed),
            output=str(tmp_path / "trained.safetensors"),
        )


class ClassicScore(RunnerContract):
    task = Task.SCORE
    has_seeds = False  # it draws seeds 0..count-1 itself
    reports_steps = False

    def make_request(self, tmp_path, seed=0, count=2):
        return ScoreRequest(model=tiny_model(self.family, tmp_path), count=10)

    def damaged_model_request(self, tmp_path):
        return ScoreRequest(model=damaged_model(self.family, tmp_path), count=10)


class TestVaeSample(ClassicSample):
    family = Family.VAE


class TestVaeDecode(ClassicDecode):
    family = Family.VAE


class TestVaeInterpolate(ClassicInterpolate):
    family = Family.VAE


class TestVaeTrain(ClassicTrain):
    family = Family.VAE


class TestVaeAxes(ClassicAxes):
    family = Family.VAE


class TestVaeSeedLatent(ClassicSeedLatent):
    family = Family.VAE


class TestVaeArithmetic(ClassicArithmetic):
    family = Family.VAE


class TestVaeReconstruct(OneShot):
    task, family = Task.RECONSTRUCT, Family.VAE

    def request_of(self, model, tmp_path):
        from PIL import Image

        path = tmp_path / "eight.png"
        Image.new("L", (8, 8), 128).save(path)
        return ReconstructRequest(model=model, image=ImageRef(str(path), ""), save=False)


class TestGanAxes(ClassicAxes):
    family = Family.GAN


class TestGanSeedLatent(ClassicSeedLatent):
    family = Family.GAN


class TestGanArithmetic(ClassicArithmetic):
    family = Family.GAN


class TestDdpmForwardNoise(OneShot):
    task, family = Task.FORWARD_NOISE, Family.DDPM

    def request_of(self, model, tmp_path):
        return ForwardNoiseRequest(model=model, t=100, image_index=2)


class TestDdpmDescribe(OneShot):
    task, family = Task.DESCRIBE, Family.DDPM

    def request_of(self, model, tmp_path):
        return DescribeModelRequest(model=model)


class TestVaeScore(ClassicScore):
    family = Family.VAE


class TestGanSample(ClassicSample):
    family = Family.GAN


class TestGanDecode(ClassicDecode):
    family = Family.GAN


class TestGanInterpolate(ClassicInterpolate):
    family = Family.GAN


class TestGanTrain(ClassicTrain):
    family = Family.GAN


class TestGanScore(ClassicScore):
    family = Family.GAN


class TestDdpmSample(ClassicSample):
    family = Family.DDPM
    seed_tolerance = 1  # the batch denoises together: batched CPU kernels


class TestDdpmDiffuse(RunnerContract):
    task, family = Task.DIFFUSE, Family.DDPM
    has_seeds = False  # a filmstrip and its final sample, both of the one seed

    def make_request(self, tmp_path, seed=0, count=2):
        return DiffuseRequest(model=tiny_model(Family.DDPM, tmp_path), seed=seed, steps=4)

    def damaged_model_request(self, tmp_path):
        return DiffuseRequest(model=damaged_model(Family.DDPM, tmp_path), steps=2)


class TestDdpmTrain(ClassicTrain):
    family = Family.DDPM


class TestDdpmScore(ClassicScore):
    family = Family.DDPM


class TestGmmSample(ClassicSample):
    family = Family("gmm")


class TestGmmTrain(ClassicTrain):
    family = Family("gmm")


class TestGmmScore(ClassicScore):
    family = Family("gmm")


class TestGmmComponents(OneShot):
    task, family = Task.COMPONENTS, Family("gmm")

    def request_of(self, model, tmp_path):
        return ComponentsRequest(model=model, image_index=2)


class ClassicPixels(OneShot):
    """Explore → Pixel by pixel on an autoregressive family (engine.models.common.
    pixels_explore): a drawing's frames or a held-out image's completions, each a step
    (so a cancel lands between two frames)."""

    task = Task.PIXELS
    reports_steps = True
    what: ClassVar[str]

    def request_of(self, model, tmp_path):
        return PixelsRequest(model=model, what=self.what, seed=3, image_index=2)


class OneTorchThread:
    """An RBM's (or a NADE's) products are tiny (AIS: 14,500 of them in a row); a second
    thread only waits for the first, a hundredfold slower on a busy machine (test_rbm.py)."""

    @pytest.fixture(autouse=True)
    def one_thread(self):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        yield
        torch.set_num_threads(threads)


class TestRbmSample(OneTorchThread, ClassicSample):
    family = Family("rbm")


class TestRbmTrain(OneTorchThread, ClassicTrain):
    family = Family("rbm")


class TestRbmScore(OneTorchThread, ClassicScore):
    family = Family("rbm")


class TestRbmGibbs(OneTorchThread, OneShot):
    task, family = Task.GIBBS, Family("rbm")
    reports_steps = True  # a step per frame and per completion, a cancel checked after each

    def request_of(self, model, tmp_path):
        return GibbsRequest(model=model, steps=5, image_index=2)


class TestNadeSample(OneTorchThread, ClassicSample):
    family = Family("nade")


class TestNadeTrain(OneTorchThread, ClassicTrain):
    family = Family("nade")


class TestNadeScore(OneTorchThread, ClassicScore):
    family = Family("nade")


class TestRealnvpSample(ClassicSample):
    family = Family("realnvp")


class TestRealnvpDecode(ClassicDecode):
    family = Family("realnvp")


class TestRealnvpInterpolate(ClassicInterpolate):
    family = Family("realnvp")


class TestRealnvpSeedLatent(ClassicSeedLatent):
    family = Family("realnvp")


class TestRealnvpTrain(ClassicTrain):
    family = Family("realnvp")


class TestRealnvpScore(ClassicScore):
    family = Family("realnvp")


class TestPixelcnnSample(OneTorchThread, ClassicSample):
    family = Family("pixelcnn")


class TestPixelcnnTrain(OneTorchThread, ClassicTrain):
    family = Family("pixelcnn")


class TestPixelcnnScore(OneTorchThread, ClassicScore):
    family = Family("pixelcnn")


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


class TestSdLatentWalk(RunnerContract):
    task, family = Task.LATENT_WALK, Family.SD
    has_seeds = False  # every frame carries the walk's first seed; the frame is its index

    @pytest.fixture(autouse=True)
    def _model(self, tiny_sd_model):
        self.model = tiny_sd_model

    def make_request(self, tmp_path, seed=0, count=2):
        return LatentWalkRequest(
            model=ModelRef(Family.SD, str(self.model)),
            prompt=Prompt("a lighthouse"),
            size=Size(32, 32),
            sampling=Sampling(steps=2, seed=seed),
            to_seed=seed + 1,
            frames=max(2, count),
            save=False,
        )


class TestSdXyzPlot(RunnerContract):
    """An X/Y/Z plot of `count` seeds: its outcome is the grid, then the cells (that
    each cell is its single job is tests/test_xyz_plot.py's)."""

    task, family = Task.XYZ_PLOT, Family.SD
    has_seeds = False  # image 0 is the grid

    @pytest.fixture(autouse=True)
    def _model(self, tiny_sd_model):
        self.model = tiny_sd_model

    def make_request(self, tmp_path, seed=0, count=2, model=None):
        base = Txt2ImgRequest(
            model=ModelRef(Family.SD, str(model or self.model)),
            prompt=Prompt("a lighthouse"),
            size=Size(32, 32),
            sampling=Sampling(steps=2, seed=seed),
        )
        seeds = XyzAxis("seed", f"{seed}-{seed + count - 1}")
        return XyzPlotRequest(base=base, axes=(seeds,), save=False)

    def damaged_model_request(self, tmp_path):
        broken = Path(shutil.copytree(self.model, tmp_path / "broken-sd"))
        truncated_copy(
            self.model / "vae" / "diffusion_pytorch_model.safetensors",
            broken / "vae" / "diffusion_pytorch_model.safetensors",
        )
        return self.make_request(tmp_path, model=broken)


class TestSdControlMap(RunnerContract):
    """A control unit's map preview: no model, no seed, one step."""

    task, family = Task.CONTROL_MAP, Family.SD
    has_seeds = False
    reports_steps = False

    def make_request(self, tmp_path, seed=0, count=2):
        from tests.upscalers import photo_like, write_png

        image = write_png(tmp_path / "map.png", photo_like(48, 32, seed=seed))
        unit = ControlUnit(ModelRef(Family.SD, ""), ImageRef(str(image), ""), preprocessor="canny")
        return ControlMapRequest(unit=unit, width=64, height=64)


class TestUpscale(RunnerContract):
    """A tiny Compact upscaler, tiled so that a job has several steps (tiles)."""

    task, family = Task.UPSCALE, Family.UPSCALE
    has_seeds = False

    def make_request(self, tmp_path, seed=0, count=2, model=None):
        from tests.upscalers import compact_net, photo_like, save_safetensors, write_png

        model = model or save_safetensors(compact_net(), tmp_path / "up.safetensors")
        image = write_png(tmp_path / "in.png", photo_like(40 * count, 40))
        return UpscaleRequest(
            model=ModelRef(Family.UPSCALE, str(model)), image=ImageRef(str(image), ""), tile=48
        )

    def damaged_model_request(self, tmp_path):
        from tests.upscalers import compact_net, save_safetensors

        whole = save_safetensors(compact_net(), tmp_path / "whole.safetensors")
        cut = truncated_copy(whole, tmp_path / "cut.safetensors")
        return self.make_request(tmp_path, model=cut)


class TestUpscaleDescribe(RunnerContract):
    """Opening an upscaler file to say what it is."""

    task, family = Task.DESCRIBE, Family.UPSCALE
    has_seeds = False
    reports_steps = False

    def make_request(self, tmp_path, seed=0, count=2, model=None):
        from tests.upscalers import esrgan_net, save_pth

        model = model or save_pth(esrgan_net(), tmp_path / "4x-esrgan.pth")
        return DescribeModelRequest(model=ModelRef(Family.UPSCALE, str(model)))

    def damaged_model_request(self, tmp_path):
        from tests.upscalers import esrgan_net, save_pth

        whole = save_pth(esrgan_net(), tmp_path / "whole.pth")
        return self.make_request(tmp_path, model=truncated_copy(whole, tmp_path / "cut.pth"))


def contract_classes(base: type = RunnerContract) -> list[type]:
    found = []
    for cls in base.__subclasses__():
        found += [cls, *contract_classes(cls)]
    return [cls for cls in found if cls.__name__.startswith("Test")]


def test_every_registered_runner_has_a_contract_test():
    # A family a test installs for a while (tests/toy_family.py) is gone again here.
    shipped = contract_classes()
    tested = {(c.task, c.family) for c in shipped if families.is_known(c.family)}
    assert set(registry.discover()) == tested


class TestNadePixelsDraw(OneTorchThread, ClassicPixels):
    family, what = Family("nade"), "draw"


class TestNadePixelsImage(OneTorchThread, ClassicPixels):
    family, what = Family("nade"), "image"


class TestPixelcnnPixelsDraw(OneTorchThread, ClassicPixels):
    family, what = Family("pixelcnn"), "draw"


class TestPixelcnnPixelsImage(OneTorchThread, ClassicPixels):
    family, what = Family("pixelcnn"), "image"
