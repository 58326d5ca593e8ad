"""Annotator files are found where A1111's sd-webui-controlnet, Forge and ComfyUI's
comfyui_controlnet_aux keep them (their documented layouts, written out literally here),
listed by the library, and named in a sentence when absent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.library.annotators import ANNOTATORS, annotator_file, annotator_problem
from engine.library.detect import ModelKind
from engine.library.scan import scan_library

A1111 = "extensions/sd-webui-controlnet/annotator/downloads"
COMFY = "custom_nodes/comfyui_controlnet_aux/ckpts"


def place(root: Path, relative: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"weights")
    return path


def seg_folder(root: Path, relative: str, labels: int = 150) -> Path:
    folder = root / relative
    folder.mkdir(parents=True)
    config = {
        "architectures": ["SegformerForSemanticSegmentation"],
        "id2label": {str(i): f"class {i}" for i in range(labels)},
    }
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize("name", sorted(ANNOTATORS))
def test_an_absent_annotator_is_a_sentence_naming_its_file_and_folders(name, tmp_path):
    sentence = annotator_problem(name, [tmp_path])
    first = ANNOTATORS[name].first
    assert first.file in sentence
    assert f"{A1111}/{first.folder}/" in sentence and f"{COMFY}/{first.comfy}/" in sentence
    assert str(tmp_path) in sentence and '"none"' in sentence


@pytest.mark.parametrize(
    ("name", "layout", "given"),
    [
        ("openpose", f"{A1111}/openpose/body_pose_model.pth", "models"),
        ("openpose", f"{COMFY}/lllyasviel/Annotators/body_pose_model.pth", "models"),
        ("openpose", "models/ControlNetPreprocessor/openpose/body_pose_model.pth", "models"),
        ("openpose", "models/body_pose_model.pth", "models"),
        ("openpose", f"{A1111}/openpose/body_pose_model.pth", "."),
        ("depth", f"{A1111}/depth_anything_v2/depth_anything_v2_vits.pth", "models"),
        (
            "depth",
            f"{COMFY}/depth-anything/Depth-Anything-V2-Large/depth_anything_v2_vitl.pth",
            "models",
        ),
        (
            "depth",
            "models/ControlNetPreprocessor/depth_anything_v2/depth_anything_v2_vitb.pth",
            ".",
        ),
    ],
)
def test_an_annotator_in_a_known_place_is_found(tmp_path, name, layout, given):
    path = place(tmp_path, layout)
    folder = tmp_path / given
    folder.mkdir(exist_ok=True)
    assert annotator_file(name, [tmp_path / "elsewhere", folder]) == path
    assert annotator_problem(name, [folder]) is None
    other = next(n for n in ANNOTATORS if n != name)
    assert annotator_problem(other, [folder]) is not None  # another annotator's file


def test_the_largest_depth_model_is_preferred(tmp_path):
    place(tmp_path, f"{A1111}/depth_anything_v2/depth_anything_v2_vits.pth")
    large = place(tmp_path, f"{A1111}/depth_anything_v2/depth_anything_v2_vitl.pth")
    assert annotator_file("depth", [tmp_path]) == large


def test_a_folder_with_the_files_name_is_not_the_file(tmp_path):
    (tmp_path / "body_pose_model.pth").mkdir()
    assert annotator_file("openpose", [tmp_path]) is None


def test_any_ade20k_segmentation_folder_is_found_whatever_its_name(tmp_path):
    seg_folder(tmp_path, "models/ControlNetPreprocessor/segmentation/cityscapes", labels=19)
    assert annotator_file("segmentation", [tmp_path / "models"]) is None
    found = seg_folder(tmp_path, "models/ControlNetPreprocessor/segmentation/my-ade-model")
    assert annotator_file("segmentation", [tmp_path / "models"]) == found


def test_a_broken_config_is_not_a_segmentation_model(tmp_path):
    folder = tmp_path / "segformer"
    folder.mkdir()
    (folder / "config.json").write_bytes(b"\xff{not json")
    assert annotator_file("segmentation", [tmp_path]) is None


def test_the_library_lists_annotators_by_their_preprocessor(tmp_path):
    pose = place(tmp_path, f"{A1111}/openpose/body_pose_model.pth")
    seg = seg_folder(tmp_path, "models/segformer-b0-finetuned-ade-512-512")
    (model_folder := tmp_path / "models").mkdir(exist_ok=True)
    listed = {
        e.detected.variant: e.path
        for e in scan_library([model_folder])
        if e.kind is ModelKind.ANNOTATOR
    }
    assert listed == {"openpose": pose, "segmentation": seg}
