"""Device and dtype policy per use: what the documentation of each model family says."""

from __future__ import annotations

import torch

from engine.api.kinds import Family
from engine.device import DeviceChoice, choose_device, inference_dtype, training_precision

CUDA = DeviceChoice("cuda", "Some GPU")
CPU = DeviceChoice("cpu")


def test_half_precision_only_for_stable_diffusion_on_a_gpu():
    assert inference_dtype(CUDA, Family.SD) is torch.float16
    assert inference_dtype(CPU, Family.SD) is torch.float32
    for family in (Family.VAE, Family.GAN, Family.DDPM):
        assert inference_dtype(CUDA, family) is torch.float32


def test_training_keeps_fp32_weights():
    assert (
        training_precision(CPU).weights is torch.float32
        and training_precision(CPU).autocast is None
    )


def test_the_status_bar_line_names_device_and_dtype():
    assert CPU.info().description == "CPU · fp32"
    assert CUDA.info().description == "CUDA · Some GPU · fp16"


def test_an_unavailable_choice_falls_back_to_the_cpu_and_says_what_was_asked():
    if torch.cuda.is_available():
        return
    choice = choose_device("cuda")
    assert (choice.device, choice.requested) == ("cpu", "cuda")
    assert choose_device("nonsense").device in ("cpu", "cuda", "mps")
