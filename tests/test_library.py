"""The model library: A1111 and ComfyUI folders listed with each file's kind and family,
from headers alone; `main.py models` prints them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from engine.library.detect import ModelKind, SdFamily
from engine.library.scan import human_size, scan_library
from tests.sd_original_layout import (
    full_size_shapes,
    save_single_file,
    tiny_pipeline,
    write_header_only,
)

ROOT = Path(__file__).resolve().parent.parent


def _lora(path: Path, width: int) -> Path:
    name = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k"
    save_file(
        {
            f"{name}.lora_down.weight": torch.zeros(4, width),
            f"{name}.lora_up.weight": torch.zeros(320, 4),
        },
        str(path),
    )
    return path


@pytest.fixture(scope="module")
def installs(tmp_path_factory) -> dict[str, Path]:
    """An A1111 install and a ComfyUI install, as their folders are laid out."""
    root = tmp_path_factory.mktemp("installs")
    a1111, comfy = root / "stable-diffusion-webui", root / "ComfyUI"
    folders = {
        "a1111_ckpt": a1111 / "models" / "Stable-diffusion",
        "a1111_lora": a1111 / "models" / "Lora",
        "a1111_vae": a1111 / "models" / "VAE",
        "a1111_emb": a1111 / "embeddings",
        "comfy_ckpt": comfy / "models" / "checkpoints" / "XL",
        "comfy_lora": comfy / "models" / "loras",
    }
    for folder in folders.values():
        folder.mkdir(parents=True)
    save_single_file(tiny_pipeline("sd1"), folders["a1111_ckpt"] / "tiny-sd1.safetensors")
    write_header_only(folders["a1111_ckpt"] / "real-sd21.safetensors", full_size_shapes("sd21"))
    write_header_only(folders["comfy_ckpt"] / "real-sdxl.safetensors", full_size_shapes("sdxl"))
    write_header_only(
        folders["comfy_ckpt"] / "flux-dev.safetensors",
        {"double_blocks.0.img_attn.norm.key_norm.scale": (128,)},
    )
    _lora(folders["a1111_lora"] / "style.safetensors", 768)
    _lora(folders["comfy_lora"] / "xl-style.safetensors", 2048)
    save_file(
        {"emb_params": torch.zeros(2, 768)}, str(folders["a1111_emb"] / "bad-hands.safetensors")
    )
    (folders["a1111_ckpt"] / "notes.txt").write_text("not a model")
    (folders["a1111_ckpt"] / "empty.safetensors").touch()
    return {"a1111": a1111, "comfy": comfy}


def test_an_a1111_and_a_comfyui_install_are_listed_by_kind_and_family(installs):
    entries = {e.path.name: e for e in scan_library([installs["a1111"], installs["comfy"]])}
    expected = {
        "tiny-sd1.safetensors": (ModelKind.CHECKPOINT, SdFamily.SD1),
        "real-sd21.safetensors": (ModelKind.CHECKPOINT, SdFamily.SD2),
        "real-sdxl.safetensors": (ModelKind.CHECKPOINT, SdFamily.SDXL),
        "style.safetensors": (ModelKind.LORA, SdFamily.SD1),
        "xl-style.safetensors": (ModelKind.LORA, SdFamily.SDXL),
        "bad-hands.safetensors": (ModelKind.EMBEDDING, SdFamily.SD1),
    }
    for name, (kind, family) in expected.items():
        assert (entries[name].kind, entries[name].family) == (kind, family), name
    assert "notes.txt" not in entries
    assert "empty" in entries["empty.safetensors"].problem
    assert "FLUX" in entries["flux-dev.safetensors"].problem
    assert entries["real-sdxl.safetensors"].size > 6e9  # the header's size, on a sparse file


def test_the_models_command_prints_one_json_line_per_model(installs, tmp_path):
    env = {"LATENTSTUDIO_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "main.py", "models", "--dir", str(installs["a1111"])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    by_name = {Path(line["path"]).name: line for line in lines}
    assert by_name["real-sd21.safetensors"]["family"] == "sd2"
    assert by_name["real-sd21.safetensors"]["format"] == "single file"
    assert by_name["style.safetensors"]["kind"] == "lora"
    assert set(lines[0]) >= {"path", "kind", "family", "format", "size", "short_hash"}


def test_the_models_command_refuses_a_missing_folder_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "main.py", "models", "--dir", str(tmp_path / "nowhere")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: not a folder")


@pytest.mark.parametrize(
    ("n", "text"), [(0, "0 bytes"), (999, "999 bytes"), (1500, "1.5 KB"), (6_938_000_000, "6.9 GB")]
)
def test_sizes_read_as_people_write_them(n, text):
    assert human_size(n) == text
