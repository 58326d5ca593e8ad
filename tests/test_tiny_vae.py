"""Tiny autoencoders (engine.models.sd.tiny_vae): every file layout users have loads and
decodes exactly as diffusers' AutoencoderTiny does (bare diffusers is the oracle)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import AutoencoderTiny
from safetensors.torch import save_file

from engine.api.errors import BadInput
from engine.api.events import Preview
from engine.models.sd.latent_preview import latents_to_rgb
from engine.models.sd.tiny_vae import decode, load_tiny_vae, previewing_with, tiny_preview

CONFIG = {
    "encoder_block_out_channels": (8, 8, 8, 8),
    "decoder_block_out_channels": (8, 8, 8, 8),
    "num_encoder_blocks": (1, 1, 1, 1),
    "num_decoder_blocks": (2, 1, 1, 1),
}


@pytest.fixture(scope="module")
def oracle() -> AutoencoderTiny:
    torch.manual_seed(0)
    return AutoencoderTiny(**CONFIG).eval()


def a1111_layout(vae: AutoencoderTiny) -> dict[str, torch.Tensor]:
    """The decoder as A1111's sd_vae_taesd.py Sequential names it: Clamp() is layer 0."""
    state = {}
    for name, tensor in vae.decoder.state_dict().items():
        _layers, index, rest = name.split(".", 2)
        state[f"{int(index) + 1}.{rest}"] = tensor.clone()
    return state


def write_layout(layout: str, vae: AutoencoderTiny, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if layout == "a1111 .pt":
        torch.save(a1111_layout(vae), folder / "taesd_decoder.pt")
        return folder / "taesd_decoder.pt"
    if layout == "madebyollin .pth":
        torch.save(a1111_layout(vae), folder / "taesdxl_decoder.pth")
        return folder / "taesdxl_decoder.pth"
    if layout == "decoder .safetensors":
        save_file(a1111_layout(vae), folder / "taesd_decoder.safetensors")
        return folder / "taesd_decoder.safetensors"
    if layout == "diffusers file":
        state = {k: v.contiguous() for k, v in vae.state_dict().items()}
        save_file(state, folder / "diffusion_pytorch_model.safetensors")
        return folder / "diffusion_pytorch_model.safetensors"
    vae.save_pretrained(folder / "taesd")  # "diffusers folder"
    return folder / "taesd"


LAYOUTS = [
    "a1111 .pt",
    "madebyollin .pth",
    "decoder .safetensors",
    "diffusers file",
    "diffusers folder",
]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_decodes_as_autoencoder_tiny_itself(layout, oracle, tmp_path):
    path = write_layout(layout, oracle, tmp_path)
    latents = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    ours = decode(load_tiny_vae(path), latents)
    with torch.no_grad():
        expected = oracle.decode(latents).sample
    # diffusers' VaeImageProcessor.denormalize: (x / 2 + 0.5).clamp(0, 1)
    expected = np.clip(expected.numpy() / 2 + 0.5, 0, 1).transpose(0, 2, 3, 1)
    assert ours.shape == (2, 64, 64, 3)
    np.testing.assert_array_equal(ours, expected)


def test_previews_are_the_tiny_decode_of_the_first_latent(oracle, tmp_path):
    vae = load_tiny_vae(write_layout("a1111 .pt", oracle, tmp_path))
    latents = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        first = oracle.decode(latents[:1]).sample[0].numpy()
    expected = (np.clip(first / 2 + 0.5, 0, 1) * 255).round().astype(np.uint8).transpose(1, 2, 0)
    with previewing_with(vae):
        np.testing.assert_array_equal(tiny_preview(latents, "sd"), expected)
    # Outside the job's block: the linear approximation, as before.
    np.testing.assert_array_equal(tiny_preview(latents, "sd"), latents_to_rgb(latents, "sd"))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("taesd_decoder.pt", b"not a checkpoint at all"),
        ("taesd_decoder.safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{}garbage"),
    ],
)
def test_a_corrupt_file_is_a_sentence(name, content, tmp_path):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(BadInput, match="not a tiny autoencoder"):
        load_tiny_vae(path)


def test_a_file_of_another_kind_is_a_sentence(tmp_path):
    path = tmp_path / "taesd_decoder.safetensors"
    save_file({"encoder.down.0.block.0.conv1.weight": torch.zeros(4, 4, 3, 3)}, path)
    with pytest.raises(BadInput, match="not a tiny autoencoder"):
        load_tiny_vae(path)
    path = tmp_path / "wrong_shapes.pt"
    state = a1111_layout(AutoencoderTiny(**CONFIG))
    state["1.weight"] = torch.zeros(8, 4, 5, 5)
    torch.save(state, path)
    with pytest.raises(BadInput, match="not a tiny autoencoder"):
        load_tiny_vae(path)


# ---------------------------------------------------------------- through the runner


def sd_request(model: Path, **overrides):
    from engine.api.kinds import Family
    from engine.api.parts import ModelRef, Prompt, Sampling, Size
    from engine.api.requests import Txt2ImgRequest

    return Txt2ImgRequest(
        model=ModelRef(Family.SD, str(model)),
        prompt=Prompt("a photo of a cat", "blurry"),
        size=Size(32, 32),
        sampling=Sampling(steps=1, cfg_scale=7.0, seed=21),
        **overrides,
    )


def test_fast_decode_is_bare_diffusers_with_autoencoder_tiny_and_its_recipe_repeats_it(
    cpu_runtime, tiny_model, oracle, tmp_path
):
    import json

    from bench.baselines import bare_diffusers_txt2img, load_bare_pipeline
    from engine.api.requests.recipes import request_from_dict, request_to_dict
    from engine.context import JobContext

    path = write_layout("a1111 .pt", oracle, tmp_path)
    req = sd_request(tiny_model, tiny_vae=str(path), fast_decode=True)
    events = []
    got = cpu_runtime.run(req, JobContext(1, emit=events.append)).images[0]
    shown = [e.rgb for e in events if isinstance(e, Preview)]
    assert shown and all(p.shape == (32, 32, 3) for p in shown)  # full size, from TAESD
    assert got.info["decoder"] == f"tiny autoencoder {path.name}"
    # The oracle: diffusers' documented use, pipe.vae = AutoencoderTiny(...).
    pipe = load_bare_pipeline(str(tiny_model.resolve()), "cpu", torch.float32)
    own, pipe.vae = pipe.vae, oracle
    try:
        expected = bare_diffusers_txt2img(
            tiny_model,
            prompt="a photo of a cat",
            negative_prompt="blurry",
            width=32,
            height=32,
            steps=1,
            cfg_scale=7.0,
            seed=21,
        )[0]
    finally:
        pipe.vae = own
    np.testing.assert_array_equal(got.rgb, expected)
    recipe = json.loads(json.dumps(request_to_dict(req)))
    assert recipe["fast_decode"] is True and recipe["tiny_vae"] == str(path)
    again = cpu_runtime.run(request_from_dict(recipe), JobContext(1)).images[0]
    np.testing.assert_array_equal(again.rgb, got.rgb)
    plain = request_to_dict(sd_request(tiny_model))
    assert "fast_decode" not in plain and "tiny_vae" not in plain  # old recipes unchanged


def test_a_broken_tiny_file_approximates_previews_and_refuses_the_fast_decode(
    cpu_runtime, tiny_model, tmp_path
):
    from engine.context import JobContext

    path = tmp_path / "taesd_decoder.pt"
    path.write_bytes(b"broken")
    events = []
    ctx = JobContext(1, emit=events.append)
    got = cpu_runtime.run(sd_request(tiny_model, tiny_vae=str(path)), ctx).images[0]
    assert any("Previews approximated" in note for note in got.info["notes"])
    shown = [e.rgb for e in events if isinstance(e, Preview)]
    assert shown and all(p.shape == (4, 4, 3) for p in shown)  # the 8x smaller approximation
    with pytest.raises(BadInput, match="not a tiny autoencoder"):
        cpu_runtime.run(sd_request(tiny_model, tiny_vae=str(path), fast_decode=True), JobContext(1))


def test_the_fast_decode_needs_a_file_and_text_to_image():
    with pytest.raises(BadInput, match="needs a tiny autoencoder"):
        sd_request(Path("m"), fast_decode=True).check()
