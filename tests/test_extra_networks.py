"""LoRAs and embeddings in Create (issue 19): the LoRA menu marks files of other families,
an Embeddings menu inserts a name, the editor marks known embedding names, and Image
details name the VAE, the embeddings and each LoRA's weight."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QLabel
from safetensors.torch import save_file

from engine.api.kinds import Family
from engine.api.outcomes import ResultImage
from engine.api.parts import LoraSpec, ModelRef, Prompt, Sampling
from engine.api.requests import Txt2ImgRequest
from engine.store import GalleryStore, read_metadata
from gui.details_panel import DetailsPanel
from gui.prompt_edit import COLOURS
from tests.sd_original_layout import full_size_shapes, write_header_only
from tests.test_library import _lora


@pytest.fixture
def webui(tmp_path: Path) -> Path:
    models = tmp_path / "webui" / "models"
    for sub in ("Stable-diffusion", "Lora"):
        (models / sub).mkdir(parents=True)
    (tmp_path / "webui" / "embeddings").mkdir()
    write_header_only(models / "Stable-diffusion" / "sd15.safetensors", full_size_shapes("sd15"))
    _lora(models / "Lora" / "ink.safetensors", 768)
    _lora(models / "Lora" / "xl-neon.safetensors", 2048)
    embeddings = tmp_path / "webui" / "embeddings"
    save_file({"emb_params": torch.zeros(2, 768)}, str(embeddings / "bad-hands.safetensors"))
    save_file(
        {"clip_l": torch.zeros(2, 768), "clip_g": torch.zeros(2, 1280)},
        str(embeddings / "xl-negative.safetensors"),
    )
    return tmp_path / "webui"


@pytest.fixture
def create(qtbot, window, settings, webui):
    settings.models_dirs = [webui]
    with qtbot.waitSignal(window.create_panel.models_listed, timeout=30_000):
        window.apply_settings()
    window.set_mode(0)
    return window.create_panel


def menu_rows(menu) -> list[tuple[str, bool]]:
    menu.aboutToShow.emit()
    return [(a.text(), a.isEnabled() and not a.isSeparator()) for a in menu.actions()]


def test_loras_of_another_family_are_listed_apart_and_greyed(create):
    rows = menu_rows(create.lora_menu)
    assert rows[0] == ("ink · SD 1.x", True)
    assert rows[1] == ("Made for other model families", False)  # a section heading
    assert rows[2][0].startswith("xl-neon · SDXL") and not rows[2][1]


def test_the_embeddings_menu_inserts_a_name_the_editor_marks(qtbot, create):
    rows = menu_rows(create.embedding_menu)
    assert [text for text, _ in rows][0] == "bad-hands · SD 1.x"
    assert rows[-1][0].startswith("xl-negative · SDXL") and not rows[-1][1]
    create.prompt.setPlainText("a hand,")
    create.prompt.moveCursor(QTextCursor.MoveOperation.End)
    create.embedding_menu.actions()[0].trigger()
    assert create.prompt.toPlainText() == "a hand, bad-hands"
    assert create.build_request().embeddings[0].endswith("bad-hands.safetensors")
    block = create.prompt.document().firstBlock()
    marked = [
        (r.start, r.length)
        for r in block.layout().formats()
        if r.format.foreground().color() == COLOURS["embedding"]
    ]
    assert marked == [(len("a hand, "), len("bad-hands"))]


def test_details_name_the_vae_the_embeddings_and_each_loras_weight(qtbot, tmp_path):
    request = Txt2ImgRequest(
        model=ModelRef(Family.SD, "/m/sd15.safetensors"),
        prompt=Prompt("a fox bad-hands"),
        sampling=Sampling(seed=1_234_567_890),
        loras=(LoraSpec("/m/Lora/neon glow v2.safetensors", 0.8),),
        embeddings=("/m/embeddings/bad-hands.safetensors",),
        vae="/m/VAE/vae-ft-mse-840000.safetensors",
    )
    image = ResultImage(np.zeros((8, 8, 3), np.uint8), 1_234_567_890, 0, {"model": "sd15"})
    path = GalleryStore(tmp_path).save(image, request)
    panel = DetailsPanel()
    qtbot.addWidget(panel)
    panel.show_metadata(read_metadata(path))
    rows = dict(panel.rows())
    assert rows["LoRAs"] == "neon glow v2 (weight 0.8)"
    assert rows["VAE"] == "vae-ft-mse-840000"
    assert rows["Embeddings"] == "bad-hands"


def test_long_paths_and_hashes_wrap_inside_a_narrow_details_dock(qtbot, tmp_path):
    deep = tmp_path / "a-very-long-folder-name-for-outputs_of_stable_diffusion_webui" / "x"
    deep.mkdir(parents=True)
    request = Txt2ImgRequest(
        model=ModelRef(Family.SD, str(deep / "juggernautXL_v9Rundiffusionphoto2.safetensors")),
        prompt=Prompt("a fox"),
        sampling=Sampling(seed=4_294_967_295),
    )
    image = ResultImage(np.zeros((8, 8, 3), np.uint8), 4_294_967_295, 0, {"model": "m"})
    path = GalleryStore(deep).save(image, request)
    panel = DetailsPanel()
    qtbot.addWidget(panel)
    panel.resize(260, 600)
    panel.show()
    panel.show_metadata(read_metadata(path))
    widest = max(label.minimumSizeHint().width() for label in panel.findChildren(QLabel))
    assert widest < 200, widest
    assert "4294967295" in dict(panel.rows())["Seed"]
