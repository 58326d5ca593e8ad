"""The compiled UNet (engine.models.sd.compiled): compiled again whenever its weights
change, eager (and said so) where inductor cannot compile.

Oracles: the eager pipeline's own pixels for the same weights (compiled and eager
differ by float reassociation only: max abs difference ≤ 1e-3 on [0, 1] pixels), a
second LoRA that visibly changes the picture (so "the same as eager" is not vacuous),
and inductor's own exception for a machine without a C++ compiler.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine.api.parts import LoraSpec
from engine.library.detect import SdFamily
from engine.models.sd.compiled import CompiledUnet, adapters_key, compiler_missing
from engine.models.sd.loras import applied_loras
from tests.compile_support import CompileStandIn, draw
from tests.sd_original_layout import bare_pipeline
from tests.tiny_loras import lora_state, save_diffusers_lora

TOLERANCE = 1e-3  # compiled vs eager on [0, 1] pixels: float reassociation, not weights
NO_COMPILER = "No working C++ compiler found in torch._inductor.config.cpp.cxx: (None, 'g++')"


def fake_slot() -> CompiledUnet:
    return CompiledUnet(compile_fn=CompileStandIn, missing=lambda: "")


def loras(tmp_path: Path, pipe, *seeds: int) -> list[LoraSpec]:
    return [
        LoraSpec(
            str(save_diffusers_lora(lora_state(pipe.unet, seed), tmp_path / f"l{seed}.safetensors"))
        )
        for seed in seeds
    ]


# ---------------------------------------------------------------- when to compile again


def test_the_graph_is_kept_while_the_weights_are_the_same(tiny_sd_model):
    pipe, slot = bare_pipeline(tiny_sd_model), fake_slot()
    for i in range(3):
        with slot.applied(pipe, adapters_key((), ()), shape="64x64"):
            assert isinstance(pipe.unet, CompileStandIn) and slot.warm == (i > 0)
            draw(pipe)
    assert slot.compiles == 1 and slot.warm and not isinstance(pipe.unet, CompileStandIn)
    with slot.applied(pipe, adapters_key((), ()), shape="96x64"):  # static shapes: not warm
        assert not slot.warm
    assert slot.compiles == 1


def test_an_in_place_weight_change_compiles_again(tiny_sd_model):
    pipe, slot = bare_pipeline(tiny_sd_model), fake_slot()
    with slot.applied(pipe):
        draw(pipe)
    with torch.no_grad():
        next(pipe.unet.parameters()).mul_(1.01)  # what a fused LoRA does: same tensors
    with slot.applied(pipe):
        draw(pipe)
    assert slot.compiles == 2


def test_a_lora_change_compiles_again_and_the_same_lora_again_does_not(tiny_sd_model, tmp_path):
    pipe, slot = bare_pipeline(tiny_sd_model), fake_slot()
    a, b = loras(tmp_path, pipe, 1, 2)
    for specs, builds in (((a,), 1), ((a,), 1), ((b,), 2), ((LoraSpec(b.path, 0.5),), 3)):
        with applied_loras(pipe, specs, SdFamily.SD1), slot.applied(pipe, adapters_key(specs, ())):
            draw(pipe)
        assert slot.compiles == builds
    with slot.applied(pipe, adapters_key((), ())):  # LoRAs taken off: other parameters
        draw(pipe)
    assert slot.compiles == 4


# ---------------------------------------------------------------- no C++ compiler


def _no_compiler():
    from torch._inductor.exc import InvalidCxxCompiler

    raise InvalidCxxCompiler()


def test_inductors_own_check_finds_no_compiler_and_the_unet_runs_eagerly(
    tiny_sd_model, monkeypatch
):
    import torch._inductor.cpp_builder as cpp_builder

    monkeypatch.setattr(cpp_builder, "get_cpp_compiler", _no_compiler)
    assert "No working C++ compiler" in compiler_missing()
    pipe = bare_pipeline(tiny_sd_model)
    expected = draw(pipe)
    slot = CompiledUnet(compile_fn=CompileStandIn)  # the real check, before any compile
    with slot.applied(pipe):
        assert not isinstance(pipe.unet, CompileStandIn)
        np.testing.assert_array_equal(draw(pipe), expected)
    record = slot.record()
    assert record["compiled"] is False and "No working C++ compiler" in record["notes"][0]


def test_a_compile_failing_on_its_first_call_falls_back_to_eager(tiny_sd_model):
    """torch.compile is lazy: inductor fails inside the first call, wrapped by dynamo."""
    from torch._dynamo.exc import BackendCompilerFailed
    from torch._inductor.exc import InvalidCxxCompiler

    class Failing(CompileStandIn):
        def forward(self, *args, **kwargs):
            try:
                _no_compiler()
            except InvalidCxxCompiler as exc:
                raise BackendCompilerFailed(lambda: None, exc, None) from exc

    pipe = bare_pipeline(tiny_sd_model)
    expected = draw(pipe)
    slot = CompiledUnet(compile_fn=Failing, missing=lambda: "")
    with slot.applied(pipe):
        np.testing.assert_array_equal(draw(pipe), expected)
    with slot.applied(pipe):  # and it is not tried again for this pipeline
        assert not isinstance(pipe.unet, CompileStandIn)
    assert slot.record()["compiled"] is False
    assert "No working C++ compiler" in slot.record()["notes"][0]


# ---------------------------------------------------------------- the real inductor


@pytest.mark.slow
@pytest.mark.timeout(1800)  # two cold inductor builds: minutes on a busy 2-core machine
def test_a_compiled_unet_after_a_lora_change_draws_that_loras_eager_picture(
    tiny_sd_model, tmp_path, monkeypatch
):
    """Two builds of the tiny UNet with its LoRA layers by inductor with freezing
    (minutes with a cold cache on a shared 2-core machine). LoRA A, then LoRA B with the
    same shapes: were A's frozen weights kept, the compiled picture would be A's."""
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    pipe, slot = bare_pipeline(tiny_sd_model), CompiledUnet()
    pictures = {}
    for name, spec in zip("ab", loras(tmp_path, pipe, 1, 2), strict=True):
        with applied_loras(pipe, (spec,), SdFamily.SD1):
            eager = draw(pipe)
            with slot.applied(pipe, adapters_key((spec,), ())):
                compiled = draw(pipe)
        pictures[name] = eager, compiled
    assert slot.compiles == 2 and slot.warm and slot.record()["compiled"] is True
    for eager, compiled in pictures.values():
        assert np.abs(compiled - eager).max() <= TOLERANCE
    assert np.abs(pictures["b"][1] - pictures["a"][0]).max() > 50 * TOLERANCE  # not A's
