"""The CPU's numeric path: features from literal flag sets, the choice, the cached
measurement, and the Stable Diffusion runner in each path (bare diffusers is the oracle:
the same call in the same dtype)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.api.kinds import Family
from engine.api.parts import ModelRef, Prompt, Sampling, Size
from engine.api.requests import Txt2ImgRequest
from engine.context import JobContext
from engine.cpu_path import (
    CANDIDATES,
    CpuFeatures,
    MeasurementCache,
    choose_path,
    features_from,
    parse_cpuinfo,
    precision_preference,
)
from engine.models.sd.tiny import build_tiny_pipeline
from tests.bare_txt2img import bare_txt2img

SAPPHIRE_RAPIDS = "fpu sse2 avx2 avx512f avx512bw avx512_bf16 amx_bf16 amx_tile amx_int8"
COOPER_LAKE = "fpu sse2 avx2 avx512f avx512bw avx512_vnni avx512_bf16"
ICE_LAKE = "fpu sse2 avx2 avx512f avx512bw avx512_vnni avx512vbmi"  # this machine's kind
ZEN3 = "fpu sse2 avx avx2 fma"
APPLE = "fp asimd evtstrm aes pmull sha1 sha2 crc32"


@pytest.mark.parametrize(
    ("flags", "capability", "expected"),
    [
        (SAPPHIRE_RAPIDS, "AVX512", CpuFeatures(True, True, True, True)),
        (COOPER_LAKE, "AVX512", CpuFeatures(False, True, True, True)),
        (ICE_LAKE, "AVX512", CpuFeatures(False, False, True, True)),
        (ICE_LAKE, "AVX2", CpuFeatures(False, False, False, True)),  # ATEN_CPU_CAPABILITY
        (ICE_LAKE, "DEFAULT", CpuFeatures(False, False, False, False)),
        (ZEN3, "AVX2", CpuFeatures(False, False, False, True)),
        (APPLE, "DEFAULT", CpuFeatures()),
        ("amx_tile", "AVX512", CpuFeatures()),  # tiles without bf16 in them: no AMX-BF16
    ],
)
def test_features_from_literal_flag_sets(flags, capability, expected):
    found = features_from(flags.split(), capability)
    assert found == expected
    assert found.native_bf16 == ("avx512_bf16" in flags or "amx_bf16" in flags)


def test_labels_name_the_best_unit():
    assert features_from(SAPPHIRE_RAPIDS.split(), "AVX512").label == "AMX"
    assert features_from(COOPER_LAKE.split(), "AVX512").label == "AVX-512 BF16"
    assert features_from(ICE_LAKE.split(), "AVX512").label == "AVX-512"
    assert features_from(ZEN3.split(), "AVX2").label == "AVX2"


def test_cpuinfo_text_gives_the_first_processors_model_and_flags():
    text = (
        "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t\t: fpu avx2\n\n"
        "processor\t: 1\nmodel name\t: other\nflags\t\t: fpu\n"
    )
    assert parse_cpuinfo(text) == ("Intel(R) Xeon(R) Platinum 8480+", frozenset({"fpu", "avx2"}))


# ---------------------------------------------------------------- choosing

AMX = CpuFeatures(amx=True, avx512_bf16=True, avx512=True, avx2=True)
NO_BF16 = CpuFeatures(avx512=True, avx2=True)


def seconds(fp32: float, bf16: float, bf16_cl: float) -> dict[str, float]:
    return dict(zip([p.label for p in CANDIDATES], [fp32, bf16, bf16_cl], strict=True))


def refuse_to_measure() -> dict[str, float]:
    raise AssertionError("measured where the hardware cannot make bf16 win")


def test_auto_without_native_bf16_is_fp32_without_measuring():
    path = choose_path("auto", NO_BF16, refuse_to_measure)
    assert (path.precision, path.channels_last, path.dtype) == ("fp32", False, torch.float32)


def test_forced_choices_win_over_hardware_and_measurement():
    assert choose_path("fp32", AMX, refuse_to_measure).precision == "fp32"
    forced = choose_path("bf16", NO_BF16, refuse_to_measure)
    assert (forced.precision, forced.dtype) == ("bf16", torch.bfloat16)


@pytest.mark.parametrize(
    ("measured", "expected"),
    [
        (seconds(1.0, 0.5, 0.6), ("bf16", False)),
        (seconds(1.0, 0.5, 0.4), ("bf16", True)),
        (seconds(1.0, 0.9, 0.9), ("fp32", False)),  # under the margin: exact fp32 stays
        (seconds(1.0, 2.0, 1.9), ("fp32", False)),
    ],
)
def test_auto_with_native_bf16_follows_the_measurement(measured, expected):
    path = choose_path("auto", AMX, lambda: measured)
    assert (path.precision, path.channels_last) == expected


def test_auto_is_the_environments_choice_where_it_names_one(monkeypatch):
    monkeypatch.setenv("LATENTSTUDIO_PRECISION", "bf16")
    assert precision_preference(None) == precision_preference("auto") == "bf16"
    assert precision_preference("fp32") == "fp32"
    monkeypatch.delenv("LATENTSTUDIO_PRECISION")
    assert precision_preference(None) == precision_preference("nonsense") == "auto"


def test_a_gpu_keeps_half_precision_unless_full_precision_is_asked_for(monkeypatch):
    from engine.cpu_path import numeric_path

    monkeypatch.setenv("LATENTSTUDIO_PRECISION", "fp32")  # the suite's CPU pin: not for GPUs
    assert numeric_path(True, None).dtype is numeric_path(True, "auto").dtype is torch.float16
    assert numeric_path(True, "fp32").dtype is torch.float32
    assert numeric_path(True, "bf16").dtype is torch.bfloat16


# ---------------------------------------------------------------- the cache


class Counting:
    def __init__(self, result: dict[str, float]) -> None:
        self.result, self.calls = result, 0

    def __call__(self) -> dict[str, float]:
        self.calls += 1
        return dict(self.result)


def test_a_measurement_is_made_once_and_reused(tmp_path):
    measure = Counting(seconds(1.0, 0.5, 0.4))
    first = MeasurementCache(tmp_path / "m.json").get("cpu A", measure)
    again = MeasurementCache(tmp_path / "m.json").get("cpu A", measure)
    assert first == again == measure.result and measure.calls == 1
    MeasurementCache(tmp_path / "m.json").get("cpu B", measure)  # another machine's key
    assert measure.calls == 2
    assert len(json.loads((tmp_path / "m.json").read_text())) == 2


@pytest.mark.parametrize(
    "stored", [b"{not json", b"[1, 2]", b'{"KEY": {"fp32": 1.0}}', b'{"KEY": {"fp32": -1}}']
)
def test_a_corrupt_cache_is_measured_again_and_repaired(tmp_path, stored):
    path = tmp_path / "m.json"
    path.write_bytes(stored.replace(b"KEY", MeasurementCache.key("cpu A").encode()))
    measure = Counting(seconds(1.0, 0.5, 0.4))
    assert MeasurementCache(path).get("cpu A", measure) == measure.result
    assert MeasurementCache(path).get("cpu A", measure) == measure.result
    assert measure.calls == 1


# ---------------------------------------------------------------- the runner


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_pipeline(tmp_path_factory.mktemp("tiny-sd") / "model")


def request(model: Path, batch: int = 1, side: int = 64) -> Txt2ImgRequest:
    return Txt2ImgRequest(
        model=ModelRef(Family.SD, str(model)),
        prompt=Prompt("a photo of a cat", "blurry"),
        size=Size(side, side),
        sampling=Sampling(steps=3, cfg_scale=7.0, sampler=None, seed=1234),
        batch_size=batch,
    )


def run_in(precision: str, req: Txt2ImgRequest):
    from engine.runtime import Runtime

    runtime = Runtime(device_preference="cpu", precision=precision)
    try:
        images = runtime.run(req, JobContext(1, previews=False)).images
        key = [k for k in runtime.cache.lru_keys() if k.family is Family.SD][-1]
        pipe = runtime.cache.peek(key).pipe
        dtypes = {p.dtype for part in (pipe.unet, pipe.vae) for p in part.parameters()}
        return images, dtypes, runtime.device_info()
    finally:
        runtime.close()


def test_forced_bf16_holds_bf16_weights_says_so_and_draws_as_bare_diffusers_bf16(tiny_model):
    req = request(tiny_model)
    images, dtypes, info = run_in("bf16", req)
    assert dtypes == {torch.bfloat16}
    assert images[0].info["precision"] == "bf16" and images[0].info["dtype"] == "bfloat16"
    assert info.description == "CPU · bf16" and info.dtype == "bfloat16"
    np.testing.assert_array_equal(
        images[0].rgb, bare_txt2img(tiny_model, req, dtype=torch.bfloat16)[0]
    )


@pytest.mark.reproducibility
def test_fp32_is_the_bare_diffusers_fp32_picture_byte_for_byte(tiny_model):
    req = request(tiny_model, batch=2)
    images, dtypes, info = run_in("fp32", req)
    assert dtypes == {torch.float32} and info.description == "CPU · fp32"
    assert [image.info["precision"] for image in images] == ["fp32", "fp32"]
    expected = bare_txt2img(tiny_model, req, dtype=torch.float32)
    for image, oracle in zip(images, expected, strict=True):
        np.testing.assert_array_equal(image.rgb, oracle)


def test_a_decode_that_fits_only_in_tiles_is_tiled_for_that_job_only(tiny_model, monkeypatch):
    """The oracle: bare diffusers with its VAE tiling on (the tiny VAE's tiles are 64 px,
    so a 128 px picture is decoded in four overlapping tiles)."""
    import engine.models.sd.runners as sd_runners
    from bench.baselines import load_bare_pipeline
    from engine.runtime import Runtime

    req = request(tiny_model, side=128)
    pipe = load_bare_pipeline(str(tiny_model.resolve()))
    pipe.vae.enable_tiling()
    expected = pipe(
        req.prompt.positive,
        negative_prompt=req.prompt.negative,
        width=128,
        height=128,
        num_inference_steps=3,
        guidance_scale=7.0,
        generator=[torch.Generator("cpu").manual_seed(1234)],
        output_type="np",
    ).images
    runtime = Runtime(device_preference="cpu", precision="fp32")
    try:
        # 3.5 MB free: the whole decode (about 4.7 MB) would not fit, the tiled one does.
        monkeypatch.setattr(sd_runners, "available_bytes", lambda device: int(3.5 * 2**20))
        tiled = runtime.run(req, JobContext(1, previews=False)).images[0]
        monkeypatch.setattr(sd_runners, "available_bytes", lambda device: 2**40)
        whole = runtime.run(req, JobContext(2, previews=False)).images[0]
    finally:
        runtime.close()
    assert tiled.info["vae_tiling"] is True and "vae_tiling" not in whole.info
    np.testing.assert_array_equal(tiled.rgb, (expected[0] * 255).round().astype(np.uint8))
    assert not np.array_equal(tiled.rgb, whole.rgb)  # tiling was really off again


def test_generate_precision_bf16_is_recorded_in_the_saved_recipe(tiny_model, tmp_path, capsys):
    import main
    from engine.store import read_metadata

    code = main.main(
        ["generate", "--model", str(tiny_model), "--prompt", "a lighthouse", "--steps", "2"]
        + ["--width", "64", "--height", "64", "--precision", "bf16", "--out", str(tmp_path)]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    path = Path(json.loads(captured.out.strip().splitlines()[-1])["path"])
    recipe = read_metadata(path).recipe
    assert (recipe["precision"], recipe["dtype"]) == ("bf16", "bfloat16")


def test_a_measured_channels_last_path_lays_out_the_model_and_says_so(tiny_model, monkeypatch):
    """What an AMX machine's measurement may choose, forced here: bf16 weights in
    channels-last, cached under their own key, recorded in the recipe."""
    import engine.runtime
    from engine.cpu_path import NumericPath
    from engine.runtime import Runtime

    path = NumericPath("bf16", channels_last=True, reason="measured")
    monkeypatch.setattr(engine.runtime, "numeric_path", lambda on_gpu, preference: path)
    runtime = Runtime(device_preference="cpu")
    try:
        image = runtime.run(request(tiny_model), JobContext(1, previews=False)).images[0]
        [key] = [k for k in runtime.cache.lru_keys() if k.family is Family.SD]
        unet = runtime.cache.peek(key).pipe.unet
    finally:
        runtime.close()
    weight = unet.conv_in.weight
    assert weight.dtype == torch.bfloat16
    assert weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
    assert key.dtype == "bfloat16-channels-last"
    assert (image.info["precision"], image.info["channels_last"]) == ("bf16", True)
    assert runtime.device_info().description == "CPU · bf16 · channels-last"
    # The same numbers in another memory layout: bare diffusers bf16's picture, to within
    # bf16's rounding (another summation order), not another picture.
    oracle = bare_txt2img(tiny_model, request(tiny_model), dtype=torch.bfloat16)[0].astype(int)
    difference = np.abs(image.rgb.astype(int) - oracle)
    print("channels-last vs contiguous bf16: max", difference.max(), "mean", difference.mean())
    assert difference.mean() < 2.0 and difference.max() <= 16
