"""Filling Create from another tool's picture (gui/use_parts.py): a model the folders
have is chosen, one they lack is named; LoRAs kept apart become tags. The expected values
are the literal ones written into the picture (tests/foreign_pictures.py)."""

from __future__ import annotations

import json
from pathlib import Path

from engine.library.detect import Detected, ModelKind
from engine.library.scan import SINGLE_FILE, LibraryEntry
from engine.store.foreign import read_picture
from engine.store.foreign.as_a1111 import a1111_params
from tests.foreign_pictures import comfy_graph, png


def entry(path: str, kind: ModelKind) -> LibraryEntry:
    return LibraryEntry(Path(path), kind, Detected(kind), SINGLE_FILE, 0)


def test_model_names_are_matched_as_model_folders_name_them():
    from gui.use_parts import model_stem

    assert model_stem("C:\\models\\SDXL\\juggernaut_v9.safetensors") == "juggernaut_v9"
    assert model_stem("SDXL/sd_xl_base_1.0.safetensors") == "sd_xl_base_1.0"
    assert model_stem("dreamshaper_8") == "dreamshaper_8"  # A1111 writes the stem already


def test_a_model_and_loras_the_folders_have_are_used(qtbot, tmp_path):
    from gui.use_parts import ALL, fill_create
    from gui.viewmodels.create import CreateViewModel

    read = read_picture(png(tmp_path / "c.png", {"prompt": json.dumps(comfy_graph())}))
    entries = (
        entry("/m/Stable-diffusion/SDXL.safetensors", ModelKind.CHECKPOINT),  # case differs
        entry("/m/Lora/first.safetensors", ModelKind.LORA),
        entry("/m/Lora/second.safetensors", ModelKind.LORA),
    )
    vm = CreateViewModel()
    problems = fill_create(vm, a1111_params(read), read.loras, ALL, entries)
    assert vm.model.value == str(Path("/m/Stable-diffusion/SDXL.safetensors"))
    assert vm.prompt.value == "a lighthouse <lora:first:0.8> <lora:second:0.35>"
    assert problems == ["The seed 987654321012 is beyond Latent Studio's 0–4294967295: not used."]
    # The same picture with no model folders: the model and the LoRAs are named.
    vm = CreateViewModel()
    problems = fill_create(vm, a1111_params(read), read.loras, ALL, ())
    assert vm.model.value in ("", None)
    assert any("The model 'sdxl.safetensors' is not in the model folders" in p for p in problems)
    assert any("No LoRA named first, second" in p for p in problems)
