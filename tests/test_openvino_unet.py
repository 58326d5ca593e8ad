"""The OpenVINO UNet backend (measured by bench.cpu_speed, not adopted) against eager fp32:
the same tiny pipeline, the same generator, with and without it. The routing tests need
no OpenVINO: a call the static graph cannot take must be the torch forward's, exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionPipeline

from bench.openvino_unet import available, use_openvino
from engine.models.sd.tiny import build_tiny_pipeline

needs_openvino = pytest.mark.skipif(
    not available(), reason="OpenVINO is not installed (not a dependency: measured, not adopted)"
)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    return build_tiny_pipeline(tmp_path_factory.mktemp("tiny-sd") / "model")


def _pipe(folder) -> StableDiffusionPipeline:
    pipe = StableDiffusionPipeline.from_pretrained(
        str(folder), dtype=torch.float32, safety_checker=None, requires_safety_checker=False
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _draw(pipe: StableDiffusionPipeline) -> np.ndarray:
    return pipe(
        "a lighthouse",
        width=64,
        height=64,
        num_inference_steps=3,
        guidance_scale=5.0,
        generator=torch.Generator().manual_seed(3),
        output_type="np",
    ).images


def _never_converted() -> str:
    raise AssertionError("a call routed to torch must not convert anything")


def test_calls_openvino_cannot_take_are_the_torch_forwards_own(tiny_folder, tmp_path):
    unet = _pipe(tiny_folder).unet
    torch.manual_seed(0)
    x, text = torch.randn(2, 4, 8, 8), torch.randn(2, 77, unet.config.cross_attention_dim)
    with torch.inference_mode():
        eager = unet(x, torch.tensor([10, 20]), encoder_hidden_states=text).sample
        scaled = unet(
            x, 10, encoder_hidden_states=text, cross_attention_kwargs={"scale": 0.5}
        ).sample
        routed = use_openvino(unet, tmp_path, _never_converted)
        # A per-sample timestep and a cross-attention argument: the static graph takes
        # neither, so both are torch's, bit for bit.
        assert torch.equal(
            unet(x, torch.tensor([10, 20]), encoder_hidden_states=text).sample, eager
        )
        again = unet(x, 10, encoder_hidden_states=text, cross_attention_kwargs={"scale": 0.5})
        assert torch.equal(again.sample, scaled)
    assert routed.calls == {"openvino": 0, "torch": 2}


@needs_openvino
def test_openvino_pictures_match_eager_fp32_diffusers(tiny_folder, tmp_path):
    eager = _draw(_pipe(tiny_folder))
    pipe = _pipe(tiny_folder)
    routed = use_openvino(pipe.unet, tmp_path, lambda: "0" * 64, threads=1)
    faster = _draw(pipe)
    # One UNet call per scheduler timestep (PNDM takes one more than the steps asked).
    assert routed.calls == {"openvino": len(pipe.scheduler.timesteps), "torch": 0}
    error = np.linalg.norm(faster - eager) / np.linalg.norm(eager)
    assert error < 1e-3, f"relative error {error:.2e} against eager fp32"
    assert np.abs(faster - eager).max() * 255 < 2  # within a grey level or so
    # The converted graph is on disk, named by the checkpoint and the shapes, and a
    # fresh UNet reads it instead of converting again.
    assert len(list((tmp_path / "openvino").glob("unet-*.xml"))) == 1
    second = _pipe(tiny_folder)
    reread = use_openvino(second.unet, tmp_path, lambda: "0" * 64, threads=1)
    reread._compile = _no_conversion(reread._compile)
    assert np.array_equal(_draw(second), faster)


def _no_conversion(compile_ir):
    import openvino

    def compile_without_converting(inputs, shapes):
        convert, openvino.convert_model = openvino.convert_model, _never_converted
        try:
            return compile_ir(inputs, shapes)
        finally:
            openvino.convert_model = convert

    return compile_without_converting
