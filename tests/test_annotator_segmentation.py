"""The segmentation annotator: an ADE20K model folder in Hugging Face's format, run by
transformers, painted in ADE20K's palette. The oracles: transformers' own image
processor and post-processing for the classes, and the palette as published
(mmsegmentation's ADE20KDataset, the colours ControlNet's seg models learned)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import SegformerConfig, SegformerForSemanticSegmentation, SegformerImageProcessor

from engine.api.errors import BadInput
from engine.api.image_parts import ControlUnit
from engine.api.kinds import Family
from engine.api.parts import ImageRef, ModelRef
from engine.api.requests import ControlMapRequest
from engine.cache import ModelCache
from engine.context import JobContext
from engine.device import choose_device
from engine.hashing import HashCache, HashService
from engine.models.sd.control.annotator_nets import segmentation
from engine.models.sd.control.annotators import annotated_map
from engine.registry import RunnerEnv
from tests.upscalers import photo_like, write_png

# ADE20K classes and their colours, from mmsegmentation's ADE20KDataset (CLASSES, PALETTE).
PUBLISHED = {
    0: ("wall", (120, 120, 120)),
    2: ("sky", (6, 230, 230)),
    4: ("tree", (4, 200, 3)),
    12: ("person", (150, 5, 61)),
    149: ("flag", (92, 0, 255)),
}


def tiny_segformer(
    folder: Path, labels: int = 150, seed: int = 0, only_class: int | None = None
) -> Path:
    torch.manual_seed(seed)
    config = SegformerConfig(
        num_labels=labels,
        num_encoder_blocks=2,
        depths=[1, 1],
        sr_ratios=[4, 2],
        hidden_sizes=[8, 16],
        patch_sizes=[7, 3],
        strides=[4, 2],
        num_attention_heads=[1, 1],
        mlp_ratios=[2, 2],
        decoder_hidden_size=16,
        id2label={i: f"class {i}" for i in range(labels)},
        label2id={f"class {i}": i for i in range(labels)},
    )
    model = SegformerForSemanticSegmentation(config).eval()
    if only_class is not None:  # the head says this class whatever it sees
        with torch.no_grad():
            model.decode_head.classifier.weight.zero_()
            model.decode_head.classifier.bias.zero_()
            model.decode_head.classifier.bias[only_class] = 1.0
    model.save_pretrained(folder)
    return folder


def picture(height: int, width: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_the_palette_is_ade20ks_as_published():
    assert segmentation.PALETTE.shape == (150, 3)
    for index, (_name, colour) in PUBLISHED.items():
        assert tuple(segmentation.PALETTE[index]) == colour


def test_the_classes_are_transformers_own_post_processing_painted(tmp_path):
    folder = tiny_segformer(tmp_path / "seg")
    rgb = picture(512, 512)  # the model's side: no resizing on either path
    processor = SegformerImageProcessor(do_resize=False)
    model = SegformerForSemanticSegmentation.from_pretrained(folder).eval()
    with torch.inference_mode():
        outputs = model(**processor(images=rgb, return_tensors="pt"))
    expected = processor.post_process_semantic_segmentation(outputs, target_sizes=[(512, 512)])
    classes = expected[0].numpy()
    assert len(np.unique(classes)) > 3  # random weights: a varied map, not one colour

    net = segmentation.load(folder, torch.device("cpu"))
    with torch.inference_mode():
        painted = segmentation.run(net, rgb, {})
    agree = (painted == segmentation.PALETTE[classes]).all(axis=2).mean()
    assert agree > 0.999  # float rounding may flip a near-tie pixel


def test_one_class_everywhere_is_its_published_colour_at_the_inputs_size(tmp_path):
    folder = tiny_segformer(tmp_path / "seg", only_class=2)  # sky
    net = segmentation.load(folder, torch.device("cpu"))
    with torch.inference_mode():
        painted = segmentation.run(net, picture(37, 53), {})
    assert painted.shape == (37, 53, 3) and painted.dtype == np.uint8
    assert (painted == PUBLISHED[2][1]).all()


def test_a_units_map_preview_runs_the_folder_the_unit_names(cpu_runtime, tmp_path):
    folder = tiny_segformer(tmp_path / "seg", only_class=12)  # person
    image = write_png(tmp_path / "a.png", photo_like(80, 48))
    unit = ControlUnit(
        ModelRef(Family.SD, ""),
        ImageRef(str(image), ""),
        preprocessor="segmentation",
        annotator=ModelRef(Family.SD, str(folder)),
    )
    request = ControlMapRequest(unit=unit, width=64, height=32)
    outcome = cpu_runtime.run(request, JobContext(1))
    (result,) = outcome.images
    assert result.rgb.shape == (32, 64, 3)
    assert (result.rgb == PUBLISHED[12][1]).all()


def test_a_model_of_other_classes_is_refused_with_a_sentence(tmp_path):
    folder = tiny_segformer(tmp_path / "cityscapes", labels=19)
    with pytest.raises(BadInput, match="ADE20K's 150"):
        segmentation.load(folder, torch.device("cpu"))


def test_a_folder_without_a_model_is_refused_with_a_sentence(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(BadInput, match="not a segmentation model"):
        segmentation.load(tmp_path, torch.device("cpu"))


def test_the_unit_runs_the_named_folder_once_through_the_cache(tmp_path, monkeypatch):
    folder = tiny_segformer(tmp_path / "seg")
    device = choose_device("cpu")
    env = RunnerEnv(device, ModelCache(2**30), HashService(HashCache(tmp_path / "h.db")))
    loads = []
    real_load = segmentation.load
    monkeypatch.setattr(segmentation, "load", lambda *a: loads.append(a) or real_load(*a))
    ref = ModelRef(Family.SD, str(folder))
    first = annotated_map("segmentation", picture(40, 48), {}, ref, env)
    second = annotated_map("segmentation", picture(40, 48), {}, ref, env)
    assert first.shape == (40, 48, 3) and first.dtype == np.uint8
    assert np.array_equal(first, second)
    assert len(loads) == 1
    assert set(map(tuple, first.reshape(-1, 3))) <= set(map(tuple, segmentation.PALETTE))
