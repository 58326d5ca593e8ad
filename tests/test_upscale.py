"""Upscaling: spandrel's own output is the oracle; tiles blend without seams; bad input
and hostile files get a sentence and leave nothing behind."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from engine.api.errors import BadInput, BadModelFile
from engine.api.events import Progress
from engine.api.kinds import Family
from engine.api.parts import ImageRef, ModelRef
from engine.api.requests import UpscaleRequest
from engine.context import JobContext
from engine.models.upscale.tiling import spans, upscale_tiled
from tests.upscalers import (
    compact_net,
    esrgan_net,
    photo_like,
    save_pth,
    save_safetensors,
    write_png,
)

spandrel = pytest.importorskip("spandrel")


def upscale(runtime, model: str, image: Path, **fields) -> np.ndarray:
    request = UpscaleRequest(
        model=ModelRef(Family.UPSCALE, model), image=ImageRef(str(image), ""), **fields
    )
    outcome = runtime.run(request, JobContext(1))
    return outcome.images[0]


def spandrel_reference(model_file: Path, rgb: np.ndarray) -> np.ndarray:
    """The oracle: spandrel's own loader and call on the whole image, rounded to uint8."""
    descriptor = spandrel.ModelLoader("cpu").load_from_file(str(model_file)).eval()
    tensor = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
    with torch.inference_mode():
        out = descriptor(tensor)
    return (out[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()


# ---------------------------------------------------------------- the model's pass


@pytest.mark.parametrize(
    "build, suffix, wrap",
    [
        (lambda: compact_net(scale=2), ".safetensors", None),
        (lambda: esrgan_net(scale=4), ".pth", "params_ema"),
        (lambda: compact_net(scale=4, seed=3), ".pth", None),
    ],
)
def test_a_whole_image_pass_equals_spandrels_own(cpu_runtime, tmp_path, build, suffix, wrap):
    net = build()
    model_file = tmp_path / f"model{suffix}"
    if suffix == ".pth":
        save_pth(net, model_file, wrap)
    else:
        save_safetensors(net, model_file)
    rgb = photo_like(40, 28)
    image = write_png(tmp_path / "in.png", rgb)
    result = upscale(cpu_runtime, str(model_file), image, tile=0)
    expected = spandrel_reference(model_file, rgb)
    assert result.rgb.shape == expected.shape
    assert np.array_equal(result.rgb, expected)
    assert (
        result.info["architecture"]
        == spandrel.ModelLoader().load_from_file(str(model_file)).architecture.name
    )
    assert result.info["parent"]["sha256"] and result.info["tile"] == 0


def test_tiles_match_the_whole_image_within_two_levels(cpu_runtime, tmp_path):
    model_file = save_safetensors(compact_net(scale=2, num_conv=4), tmp_path / "m.safetensors")
    image = write_png(tmp_path / "in.png", photo_like(150, 110, seed=2))
    whole = upscale(cpu_runtime, str(model_file), image, tile=0).rgb
    tiled = upscale(cpu_runtime, str(model_file), image, tile=64).rgb
    diff = np.abs(whole.astype(int) - tiled.astype(int))
    assert tiled.shape == whole.shape == (220, 300, 3)
    assert diff.max() <= 2


def test_a_flat_image_stays_exactly_flat_across_tile_seams():
    """Blending weights sum to one everywhere, so tiles of a constant stay that constant."""
    image = torch.full((1, 3, 70, 90), 0.25)
    out = upscale_tiled(
        lambda t: torch.nn.functional.interpolate(t, scale_factor=2), image, 2, tile=32
    )
    assert torch.allclose(out, torch.full_like(out, 0.25), atol=1e-6)


@settings(max_examples=200, deadline=None)
@given(
    length=st.integers(1, 3000),
    tile=st.integers(32, 1024),
    overlap=st.integers(0, 64),
)
def test_tiles_cover_the_image_and_overlap_as_asked(length, tile, overlap):
    tiles = spans(length, tile, overlap)
    assert tiles[0].start == 0 and tiles[-1].stop == length
    for first, second in zip(tiles, tiles[1:], strict=False):
        assert second.start > first.start
        assert first.stop - second.start >= min(overlap, tile // 4)  # shared pixels
        assert second.stop - second.start == min(tile, length)


def test_progress_is_reported_per_tile(cpu_runtime, tmp_path):
    model_file = save_safetensors(compact_net(), tmp_path / "m.safetensors")
    image = write_png(tmp_path / "in.png", photo_like(100, 60))
    events = []
    request = UpscaleRequest(
        model=ModelRef(Family.UPSCALE, str(model_file)), image=ImageRef(str(image), ""), tile=48
    )
    cpu_runtime.run(request, JobContext(1, events.append))
    steps = [(e.step, e.total) for e in events if isinstance(e, Progress) and e.step]
    total = steps[-1][1]
    assert total > 1 and steps == [(i, total) for i in range(1, total + 1)]


def test_out_of_memory_halves_the_tile_and_tries_again(cpu_runtime, tmp_path, monkeypatch):
    from engine.models.upscale import runners

    model_file = save_safetensors(compact_net(), tmp_path / "m.safetensors")
    image = write_png(tmp_path / "in.png", photo_like(160, 120))
    real_tiled = runners.upscale_tiled
    tiles_tried = []

    def tight_memory(model, tensor, scale, tile, **kw):
        tiles_tried.append(tile)
        if tile == 0 or tile > 40:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_tiled(model, tensor, scale, tile, **kw)

    monkeypatch.setattr(runners, "upscale_tiled", tight_memory)
    result = upscale(cpu_runtime, str(model_file), image, tile=0)
    assert tiles_tried == [0, 80, 40]  # the whole image, then halves of its longer side
    assert result.info["tile"] == 40 and result.rgb.shape == (240, 320, 3)


# ---------------------------------------------------------------- factors and resampling


def test_lanczos_is_pillows_lanczos(cpu_runtime, tmp_path):
    rgb = photo_like(33, 21)
    image = write_png(tmp_path / "in.png", rgb)
    result = upscale(cpu_runtime, "lanczos", image, scale=3.0)
    expected = np.asarray(Image.fromarray(rgb).resize((99, 63), Image.Resampling.LANCZOS))
    assert np.array_equal(result.rgb, expected)


def test_any_factor_is_the_models_pass_then_lanczos_to_the_exact_size(cpu_runtime, tmp_path):
    model_file = save_safetensors(compact_net(scale=2), tmp_path / "m.safetensors")
    rgb = photo_like(31, 17)
    image = write_png(tmp_path / "in.png", rgb)
    result = upscale(cpu_runtime, str(model_file), image, scale=3.0, tile=0)
    passed = spandrel_reference(model_file, rgb)
    expected = np.asarray(Image.fromarray(passed).resize((93, 51), Image.Resampling.LANCZOS))
    assert np.array_equal(result.rgb, expected)
    assert result.info["scale"] == 3.0 and result.info["model_scale"] == 2


def test_a_factor_below_the_models_own_is_refused_with_its_factor(cpu_runtime, tmp_path):
    model_file = save_safetensors(compact_net(scale=4), tmp_path / "x4.safetensors")
    image = write_png(tmp_path / "in.png", photo_like(16, 16))
    with pytest.raises(BadInput, match="×4"):
        upscale(cpu_runtime, str(model_file), image, scale=2.0)


def test_resamplers_need_a_factor(cpu_runtime, tmp_path):
    image = write_png(tmp_path / "in.png", photo_like(8, 8))
    with pytest.raises(BadInput, match="factor"):
        upscale(cpu_runtime, "bicubic", image)


# ---------------------------------------------------------------- what images come in


def test_alpha_is_kept_and_resized_beside_the_model_pass(cpu_runtime, tmp_path):
    model_file = save_safetensors(compact_net(scale=2), tmp_path / "m.safetensors")
    rgb = photo_like(24, 20)
    alpha = np.tile(np.linspace(0, 255, 24).astype(np.uint8), (20, 1))
    image = tmp_path / "in.png"
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(image)
    result = upscale(cpu_runtime, str(model_file), image, tile=0)
    assert result.rgb.shape == (40, 48, 4)
    assert np.array_equal(result.rgb[:, :, :3], spandrel_reference(model_file, rgb))
    expected_alpha = Image.fromarray(alpha).resize((48, 40), Image.Resampling.LANCZOS)
    assert np.array_equal(result.rgb[:, :, 3], np.asarray(expected_alpha))


def test_exif_orientation_is_honoured(cpu_runtime, tmp_path):
    rgb = photo_like(30, 10)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    image = tmp_path / "phone.jpg"
    Image.fromarray(rgb).save(image, exif=exif, quality=95)
    result = upscale(cpu_runtime, "lanczos", image, scale=2.0)
    assert result.rgb.shape[:2] == (60, 20)  # shown upright: 10 wide, 30 tall
    assert any("EXIF" in note for note in result.info["notes"])


@pytest.mark.parametrize(
    "mode, words",
    [("L", "grey"), ("P", "palette"), ("CMYK", "CMYK"), ("I;16", "16-bit")],
)
def test_other_colour_modes_are_converted_with_a_note(cpu_runtime, tmp_path, mode, words):
    source = Image.fromarray(photo_like(12, 10))
    if mode == "I;16":
        grey = (np.asarray(source.convert("L")).astype(np.uint16) * 257).astype(np.uint16)
        converted = Image.fromarray(grey)  # uint16: mode I;16
    else:
        converted = source.convert(mode)
    image = tmp_path / ("in.tif" if mode == "CMYK" else "in.png")
    converted.save(image)
    result = upscale(cpu_runtime, "bicubic", image, scale=2.0)
    assert result.rgb.shape == (20, 24, 3)
    assert any(words in note for note in result.info["notes"])
    if mode == "I;16":  # 16-bit grey 257*v reads back as 8-bit v
        small = np.asarray(source.convert("L"))
        expected = np.asarray(Image.fromarray(small).resize((24, 20), Image.Resampling.BICUBIC))
        assert np.array_equal(result.rgb[:, :, 0], expected)


def test_a_one_pixel_image_is_upscaled(cpu_runtime, tmp_path):
    model_file = save_safetensors(compact_net(scale=4), tmp_path / "m.safetensors")
    image = write_png(tmp_path / "dot.png", np.full((1, 1, 3), 200, np.uint8))
    assert upscale(cpu_runtime, str(model_file), image).rgb.shape == (4, 4, 3)


# ---------------------------------------------------------------- bad input


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, with one tiny compressed row: a bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0"))


@pytest.mark.parametrize(
    "name, content, words",
    [
        ("empty.png", b"", "empty"),
        ("notes.png", b"this is not an image at all", "not an image"),
        ("bomb.png", png_claiming(30_000, 30_000), "30000×30000"),
    ],
)
def test_unreadable_inputs_get_a_sentence(cpu_runtime, tmp_path, name, content, words):
    image = tmp_path / name
    image.write_bytes(content)
    with pytest.raises(BadInput, match=words) as caught:
        upscale(cpu_runtime, "lanczos", image, scale=2.0)
    assert caught.value.message.endswith(".")


def test_a_truncated_jpeg_gets_a_sentence(cpu_runtime, tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(photo_like(64, 64)).save(buffer, format="JPEG")
    image = tmp_path / "cut.jpg"
    image.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(BadInput, match="damaged or cut short"):
        upscale(cpu_runtime, "lanczos", image, scale=2.0)


def test_a_changed_input_is_refused_when_its_recipe_names_another_hash(cpu_runtime, tmp_path):
    image = write_png(tmp_path / "in.png", photo_like(8, 8))
    request = UpscaleRequest(
        model=ModelRef(Family.UPSCALE, "lanczos"), image=ImageRef(str(image), "0" * 64), scale=2
    )
    with pytest.raises(BadInput, match="changed"):
        cpu_runtime.run(request, JobContext(1))


def test_an_unknown_architecture_is_a_sentence(cpu_runtime, tmp_path):
    model_file = tmp_path / "mystery.safetensors"
    save_safetensors(torch.nn.Sequential(torch.nn.Linear(3, 5)), model_file)
    image = write_png(tmp_path / "in.png", photo_like(8, 8))
    with pytest.raises(BadModelFile, match="not an upscaler architecture"):
        upscale(cpu_runtime, str(model_file), image)


class _Marker:
    """Unpickling this would create a file: proof that a loader ran code from a model."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_a_pth_that_needs_arbitrary_unpickling_is_refused_and_never_run(cpu_runtime, tmp_path):
    marker = tmp_path / "code-ran"
    model_file = tmp_path / "evil.pth"
    state = compact_net().state_dict()
    state["payload"] = _Marker(str(marker))
    torch.save(state, str(model_file))
    image = write_png(tmp_path / "in.png", photo_like(8, 8))
    with pytest.raises(BadModelFile, match="run code"):
        upscale(cpu_runtime, str(model_file), image)
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"junk", b"\x80\x02}q\x00(X", b"PK\x03\x04 not a zip"])
def test_a_pth_of_garbage_is_called_damaged_not_dangerous(cpu_runtime, tmp_path, content):
    model_file = tmp_path / "broken.pth"
    model_file.write_bytes(content)
    image = write_png(tmp_path / "in.png", photo_like(8, 8))
    with pytest.raises(BadModelFile, match="damaged or not a model file"):
        upscale(cpu_runtime, str(model_file), image)


def test_a_damaged_model_file_is_a_sentence(cpu_runtime, tmp_path):
    model_file = save_safetensors(compact_net(), tmp_path / "m.safetensors")
    model_file.write_bytes(model_file.read_bytes()[:100])
    image = write_png(tmp_path / "in.png", photo_like(8, 8))
    with pytest.raises(BadModelFile, match="damaged"):
        upscale(cpu_runtime, str(model_file), image)


@pytest.mark.parametrize("fields", [{"scale": 0.5}, {"scale": float("nan")}, {"tile": 7}])
def test_requests_out_of_range_are_refused_before_any_work(fields):
    request = UpscaleRequest(
        model=ModelRef(Family.UPSCALE, "lanczos"), image=ImageRef("x.png", ""), **fields
    )
    with pytest.raises(BadInput):
        request.validate()


# ---------------------------------------------------------------- which upscalers are listed


def test_upscalers_are_found_where_a1111_and_comfyui_keep_them(tmp_path):
    from engine.api.catalogue import upscaler_models

    a1111 = tmp_path / "stable-diffusion-webui" / "models"
    comfy = tmp_path / "ComfyUI" / "models"
    own = tmp_path / "upscalers"
    for path in (
        a1111 / "ESRGAN" / "4x-UltraSharp.pth",
        a1111 / "Stable-diffusion" / "v1-5.safetensors",  # a checkpoint: not an upscaler
        comfy / "upscale_models" / "RealESRGAN_x4plus.safetensors",
        comfy / "upscale_models" / "notes.txt",
        own / "SPAN-2x.pth",
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    entries = upscaler_models([a1111.parent, comfy, own])
    ids = [entry.ref.id for entry in entries]
    assert ids[:2] == ["lanczos", "bicubic"]
    files = sorted(Path(i).name for i in ids if "/" in i)
    assert files == ["4x-UltraSharp.pth", "RealESRGAN_x4plus.safetensors", "SPAN-2x.pth"]
    assert all(entry.ref.family is Family.UPSCALE for entry in entries)


def test_describing_a_file_names_spandrels_architecture_and_factor(cpu_runtime, tmp_path):
    from engine.api.requests import DescribeModelRequest

    model_file = save_pth(esrgan_net(scale=2), tmp_path / "2x-esrgan.pth", "params_ema")
    request = DescribeModelRequest(model=ModelRef(Family.UPSCALE, str(model_file)))
    outcome = cpu_runtime.run(request, JobContext(1))
    expected = spandrel.ModelLoader().load_from_file(str(model_file))
    assert outcome.labels == (expected.architecture.name,)
    assert outcome.vectors == ((float(expected.scale),),) == ((2.0,),)
