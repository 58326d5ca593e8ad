"""Single-file checkpoints: SD 1.x, 2.x and SDXL, loaded offline through the app's code.

Oracles: the diffusers folder the single file was converted from (every tensor and the
image must come back equal), the official configs in resources/sd-configs (the
architecture inferred from a full-size header must be theirs), and the files' own
contents for the bad ones.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from engine.api.errors import BadInput, BadModelFile
from engine.api.kinds import Family
from engine.api.parts import ModelRef, Prompt, Sampling, Size
from engine.api.requests import Txt2ImgRequest
from engine.context import JobContext
from engine.library.detect import ModelKind, SdFamily, detect
from engine.library.header import read_header
from engine.models.sd.architecture import text_encoder_configs, unet_config, vae_config
from engine.models.sd.loading import SINGLE_FILE, load_sd_pipeline, locate_sd_model
from engine.resources import SD_CONFIG_DIR
from tests.sd_original_layout import (
    bare_image,
    bare_pipeline,
    full_size_shapes,
    original_state_dict,
    save_folder,
    save_single_file,
    tiny_pipeline,
    write_header_only,
)

FAMILIES = ("sd1", "sd2", "sdxl")
COMPONENTS = {
    "sd1": ("unet", "vae", "text_encoder"),
    "sd2": ("unet", "vae", "text_encoder"),
    "sdxl": ("unet", "vae", "text_encoder", "text_encoder_2"),
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """Each family: (diffusers folder, original-layout single file) of one tiny pipeline."""
    made = {}
    for family in FAMILIES:
        root = tmp_path_factory.mktemp(family)
        pipe = tiny_pipeline(family, seed=3)
        made[family] = (
            save_folder(pipe, root / f"tiny-{family}"),
            save_single_file(pipe, root / f"tiny-{family}.safetensors"),
        )
    return made


@pytest.fixture(scope="module")
def runtime(sd_runtime):
    return sd_runtime


def request(model: Path, seed: int = 7) -> Txt2ImgRequest:
    return Txt2ImgRequest(
        model=ModelRef(Family.SD, str(model)),
        prompt=Prompt("a red apple on a table", "blurry"),
        size=Size(64, 64),
        sampling=Sampling(steps=3, cfg_scale=6.0, sampler=None, seed=seed),
    )


# ---------------------------------------------------------------- tiny files, loaded


@pytest.mark.parametrize("family", FAMILIES)
def test_every_tensor_of_a_single_file_equals_the_folder_it_came_from(tiny, family):
    folder, single = tiny[family]
    from_folder = load_sd_pipeline(folder, "cpu", torch.float32)
    from_file = load_sd_pipeline(single, "cpu", torch.float32)
    for component in COMPONENTS[family]:
        expected = getattr(from_folder, component).state_dict()
        got = getattr(from_file, component).state_dict()
        assert set(got) == set(expected), component
        for name, tensor in expected.items():
            assert torch.equal(got[name], tensor), f"{component}.{name}"


@pytest.mark.reproducibility
@pytest.mark.parametrize("family", FAMILIES)
def test_the_image_from_a_single_file_equals_the_image_from_its_folder(runtime, tiny, family):
    folder, single = tiny[family]
    from_folder = runtime.run(request(folder), JobContext(1)).images[0]
    from_file = runtime.run(request(single), JobContext(2)).images[0]
    assert np.array_equal(from_file.rgb, from_folder.rgb)
    assert from_file.rgb.std() > 0  # a picture, not a flat field
    assert from_file.info["model_format"] == SINGLE_FILE
    assert from_file.info["architecture"] == family
    assert from_file.info["model_sha256"] == _sha256(single)  # A1111's hash source


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_ckpt_of_plain_tensors_loads_like_its_safetensors(tiny, tmp_path):
    folder, single = tiny["sd1"]
    pipe = load_sd_pipeline(single, "cpu", torch.float32)
    ckpt = tmp_path / "tiny.ckpt"
    torch.save({"state_dict": original_state_dict(pipe), "global_step": 1}, ckpt)
    model = locate_sd_model(ckpt)
    assert model.family is SdFamily.SD1
    from_ckpt = load_sd_pipeline(model, "cpu", torch.float32)
    for name, tensor in pipe.unet.state_dict().items():
        assert torch.equal(from_ckpt.unet.state_dict()[name], tensor)


def test_v_prediction_is_read_from_the_model_spec(tmp_path):
    pipe = tiny_pipeline("sd2", seed=1)
    path = save_single_file(
        pipe, tmp_path / "v.safetensors", metadata={"modelspec.prediction_type": "v"}
    )
    loaded = load_sd_pipeline(path, "cpu", torch.float32)
    assert loaded.scheduler.config.prediction_type == "v_prediction"
    plain = load_sd_pipeline(
        save_single_file(pipe, tmp_path / "e.safetensors"), "cpu", torch.float32
    )
    assert plain.scheduler.config.prediction_type == "epsilon"


# ---------------------------------------------------------------- full-size headers


OFFICIAL = {"sd15": SdFamily.SD1, "sd21": SdFamily.SD2, "sdxl": SdFamily.SDXL}
UNET_FIELDS = (
    "in_channels",
    "block_out_channels",
    "layers_per_block",
    "down_block_types",
    "up_block_types",
    "cross_attention_dim",
    "use_linear_projection",
    "attention_head_dim",
    "projection_class_embeddings_input_dim",
    "addition_time_embed_dim",
)


@pytest.fixture(scope="module")
def official_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("official")
    files = {}
    for template in OFFICIAL:
        shapes = full_size_shapes(template)
        if template == "sd21":
            # Stability's SD 2.x files carry all 24 OpenCLIP blocks; diffusers uses 23.
            extra = "cond_stage_model.model.transformer.resblocks.23."
            for name, shape in list(shapes.items()):
                if ".resblocks.0." in name:
                    shapes[
                        name.replace("cond_stage_model.model.transformer.resblocks.0.", extra)
                    ] = shape
        files[template] = write_header_only(folder / f"{template}.safetensors", shapes)
    return files


@pytest.mark.parametrize("template", list(OFFICIAL))
def test_a_full_size_header_gives_the_official_architecture(official_files, template):
    header = read_header(official_files[template])
    found = detect(header)
    assert (found.kind, found.family, found.variant) == (
        ModelKind.CHECKPOINT,
        OFFICIAL[template],
        "",
    )
    official = json.loads((SD_CONFIG_DIR / template / "unet" / "config.json").read_text("utf-8"))
    inferred = unet_config(header, found.family)
    for field in UNET_FIELDS:
        if field in official:
            assert inferred.get(field, official[field]) == official[field], field
    depth = official.get("transformer_layers_per_block", 1)
    if isinstance(depth, int):
        depth = [depth] * len(official["block_out_channels"])
    assert inferred["transformer_layers_per_block"] == list(depth)
    vae = json.loads((SD_CONFIG_DIR / template / "vae" / "config.json").read_text("utf-8"))
    for field, value in vae_config(header).items():
        assert value == vae[field], field
    for component, values in text_encoder_configs(header, found.family).items():
        config = json.loads(
            (SD_CONFIG_DIR / template / component / "config.json").read_text("utf-8")
        )
        for field, value in values.items():
            assert value == config[field], f"{component}.{field}"


def test_an_inpainting_checkpoint_is_named_and_refused_for_text_to_image(official_files, tmp_path):
    shapes = full_size_shapes("sd15")
    shapes["model.diffusion_model.input_blocks.0.0.weight"] = (320, 9, 3, 3)
    path = write_header_only(tmp_path / "inpaint.safetensors", shapes)
    assert detect(read_header(path)).label == "SD 1.x inpainting"
    with pytest.raises(BadInput, match="inpainting"):
        locate_sd_model(path)


# ---------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    ("key", "what"),
    [
        ("model.diffusion_model.double_blocks.0.img_attn.norm.key_norm.scale", "FLUX"),
        (
            "model.diffusion_model.joint_blocks.0.context_block.adaLN_modulation.1.bias",
            "Stable Diffusion 3",
        ),
    ],
)
def test_other_families_are_named_and_refused(tmp_path, key, what):
    path = write_header_only(tmp_path / "other.safetensors", {key: (64,)})
    with pytest.raises(BadInput) as caught:
        locate_sd_model(path)
    assert what in caught.value.message
    assert "not supported" in caught.value.message


def test_a_zero_byte_file_is_explained(tmp_path):
    path = tmp_path / "empty.safetensors"
    path.touch()
    with pytest.raises(BadModelFile, match="empty"):
        locate_sd_model(path)


def test_a_truncated_file_is_explained_before_any_weight_is_read(tiny, tmp_path):
    _, single = tiny["sd1"]
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(single.read_bytes()[: single.stat().st_size // 2])
    with pytest.raises(BadModelFile) as caught:
        locate_sd_model(cut)
    assert "incomplete" in caught.value.message
    assert "again" in caught.value.message


class _Payload:
    """Unpickling this runs os.system: a model file that carries code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_would_run_code_is_refused_and_never_runs(runtime, tmp_path):
    marker = tmp_path / "ran"
    ckpt = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {"x": torch.zeros(1)}, "payload": _Payload(marker)}, ckpt)
    assert zipfile.is_zipfile(ckpt)
    with pytest.raises(BadModelFile) as caught:
        runtime.run(request(ckpt), JobContext(1))
    assert "would run code" in caught.value.message
    assert "never" in caught.value.message
    assert not marker.exists()


def test_a_lora_chosen_as_a_model_says_how_to_use_it(tmp_path):
    path = tmp_path / "style.safetensors"
    save_file(
        {"lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": torch.zeros(4, 8)},
        str(path),
    )
    with pytest.raises(BadInput, match="<lora:"):
        locate_sd_model(path)


def test_a_header_damaged_in_its_middle_is_refused_when_loading(tiny, tmp_path):
    _, single = tiny["sd1"]
    data = bytearray(single.read_bytes())
    length = int.from_bytes(data[:8], "little")
    middle = 8 + length // 2
    data[middle : middle + 4] = b"}}}}"
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(bytes(data))
    with pytest.raises(BadModelFile, match="damaged"):
        locate_sd_model(broken)


def test_the_users_v_prediction_setting_gives_diffusers_own_v_image(runtime, tiny):
    from diffusers import PNDMScheduler

    folder, single = tiny["sd2"]
    result = runtime.run(replace(request(single), prediction="v"), JobContext(1)).images[0]
    assert result.info["prediction"] == "v_prediction"
    bare = bare_pipeline(folder)
    bare.scheduler = PNDMScheduler.from_config(
        bare.scheduler.config, prediction_type="v_prediction"
    )
    expected = bare_image(bare, "a red apple on a table", seed=7, negative="blurry")
    assert np.array_equal(result.rgb, expected)
    plain = runtime.run(request(single), JobContext(2)).images[0]
    assert plain.info["prediction"] == "epsilon" and not np.array_equal(plain.rgb, result.rgb)


def test_a_loadable_ckpt_converts_to_safetensors_and_an_evil_one_never_runs(tmp_path):
    import subprocess
    import sys

    from safetensors.torch import load_file

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "LATENTSTUDIO_DATA_DIR": str(tmp_path / "data")}
    plain = tmp_path / "model.ckpt"
    state = {"a": torch.arange(6.0).reshape(2, 3), "b": torch.ones(4, dtype=torch.float16)}
    torch.save({"state_dict": state, "global_step": 3}, plain)
    done = subprocess.run(
        [sys.executable, "main.py", "convert", str(plain)],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    target = Path(json.loads(done.stdout)["path"])
    assert target.parent == tmp_path / "data" / "models" / "converted"
    back = load_file(str(target))
    assert set(back) == {"a", "b"} and all(torch.equal(back[k], state[k]) for k in state)
    assert plain.exists()  # the original is left alone

    marker = tmp_path / "ran"
    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {"x": torch.zeros(1)}, "p": _Payload(marker)}, evil)
    refused = subprocess.run(
        [sys.executable, "main.py", "convert", str(evil), "--out", str(tmp_path / "o")],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert refused.returncode == 2 and "would run code" in refused.stderr
    assert not marker.exists() and not (tmp_path / "o").exists()
