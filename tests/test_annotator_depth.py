"""The depth annotator reads Depth Anything V2's original checkpoint into transformers'
DepthAnythingForDepthEstimation and makes ControlNet's depth maps.

The oracle is an independently built transformers model with random weights, written to
disk in the original repository's layout by a table transcribed here from transformers'
convert_depth_anything_to_hf.py (create_rename_keys and read_in_q_k_v); the sizes of the
image the network sees are the original image2tensor's, worked out by hand below.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import (
    DepthAnythingConfig,
    DepthAnythingForDepthEstimation,
    Dinov2Config,
    DPTImageProcessor,
)

from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.parts import ModelRef
from engine.models.sd.control.annotator_nets import depth, depth_convert
from engine.models.sd.control.annotator_nets.depth_convert import config_of
from engine.models.sd.control.annotators import annotated_map

# The V2 settings of the conversion script's get_dpt_config (and DINOv2's hub configs):
# hidden, layers, heads, fusion features, neck sizes, out_indices.
V2 = {
    "vits": (384, 12, 6, 64, [48, 96, 192, 384], [3, 6, 9, 12]),
    "vitb": (768, 12, 12, 128, [96, 192, 384, 768], [3, 6, 9, 12]),
    "vitl": (1024, 24, 16, 256, [256, 512, 1024, 1024], [5, 12, 18, 24]),
}
TINY = (64, 12, 1, 16, [8, 16, 32, 64], [3, 6, 9, 12])  # 64-wide heads, as DINOv2's
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def v2_config(sizes: tuple, head_hidden: int = 32) -> DepthAnythingConfig:
    hidden, layers, heads, features, neck, out_indices = sizes
    backbone = Dinov2Config(
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        image_size=518,
        patch_size=14,
        out_indices=out_indices,
        apply_layernorm=True,
        reshape_hidden_states=False,
    )
    return DepthAnythingConfig(
        backbone_config=backbone,
        reassemble_hidden_size=hidden,
        patch_size=14,
        fusion_hidden_size=features,
        neck_hidden_sizes=neck,
        head_hidden_size=head_hidden,
        depth_estimation_type="relative",
    )


def rename_table(layers: int) -> list[tuple[str, str]]:
    """(original key, transformers key), as create_rename_keys lists them. transformers 5
    names the script's attention.output.dense attention.o_proj."""
    table = [
        ("pretrained.cls_token", "backbone.embeddings.cls_token"),
        ("pretrained.mask_token", "backbone.embeddings.mask_token"),
        ("pretrained.pos_embed", "backbone.embeddings.position_embeddings"),
        ("pretrained.norm.weight", "backbone.layernorm.weight"),
        ("pretrained.norm.bias", "backbone.layernorm.bias"),
    ]
    for p in ("weight", "bias"):
        table.append(
            (
                f"pretrained.patch_embed.proj.{p}",
                f"backbone.embeddings.patch_embeddings.projection.{p}",
            )
        )
    for i in range(layers):
        b, t = f"pretrained.blocks.{i}", f"backbone.encoder.layer.{i}"
        table += [(f"{b}.ls1.gamma", f"{t}.layer_scale1.lambda1")]
        table += [(f"{b}.ls2.gamma", f"{t}.layer_scale2.lambda1")]
        for p in ("weight", "bias"):
            table += [(f"{b}.norm1.{p}", f"{t}.norm1.{p}"), (f"{b}.norm2.{p}", f"{t}.norm2.{p}")]
            table += [
                (f"{b}.mlp.fc1.{p}", f"{t}.mlp.fc1.{p}"),
                (f"{b}.mlp.fc2.{p}", f"{t}.mlp.fc2.{p}"),
            ]
            table += [(f"{b}.attn.proj.{p}", f"{t}.attention.o_proj.{p}")]
    for i in range(4):
        for p in ("weight", "bias"):
            table += [
                (f"depth_head.projects.{i}.{p}", f"neck.reassemble_stage.layers.{i}.projection.{p}")
            ]
            if i != 2:
                table += [
                    (
                        f"depth_head.resize_layers.{i}.{p}",
                        f"neck.reassemble_stage.layers.{i}.resize.{p}",
                    )
                ]
        table += [(f"depth_head.scratch.layer{i + 1}_rn.weight", f"neck.convs.{i}.weight")]
    for i, j in {1: 3, 2: 2, 3: 1, 4: 0}.items():
        r, f = f"depth_head.scratch.refinenet{i}", f"neck.fusion_stage.layers.{j}"
        for p in ("weight", "bias"):
            table += [(f"{r}.out_conv.{p}", f"{f}.projection.{p}")]
            for u in (1, 2):
                for c in (1, 2):
                    table += [
                        (
                            f"{r}.resConfUnit{u}.conv{c}.{p}",
                            f"{f}.residual_layer{u}.convolution{c}.{p}",
                        )
                    ]
    for p in ("weight", "bias"):
        table += [(f"depth_head.scratch.output_conv1.{p}", f"head.conv1.{p}")]
        table += [(f"depth_head.scratch.output_conv2.0.{p}", f"head.conv2.{p}")]
        table += [(f"depth_head.scratch.output_conv2.2.{p}", f"head.conv3.{p}")]
    return table


def original_layout(model: DepthAnythingForDepthEstimation) -> dict[str, torch.Tensor]:
    """The model's tensors under the original repository's names (qkv fused, in that order)."""
    ours = model.state_dict()
    layers = model.config.backbone_config.num_hidden_layers
    state = {old: ours[new].clone() for old, new in rename_table(layers)}
    for i in range(layers):
        t = f"backbone.encoder.layer.{i}.attention"
        for p in ("weight", "bias"):
            qkv = [ours[f"{t}.{n}_proj.{p}"] for n in ("q", "k", "v")]
            state[f"pretrained.blocks.{i}.attn.qkv.{p}"] = torch.cat(qkv)
    return state


@pytest.fixture(scope="module")
def reference() -> DepthAnythingForDepthEstimation:
    torch.manual_seed(0)
    model = DepthAnythingForDepthEstimation(v2_config(TINY, head_hidden=8)).eval()
    with torch.no_grad():  # layer scales start at 1 and biases at 0: make every tensor tell
        for tensor in model.parameters():
            tensor.add_(torch.randn_like(tensor) * 0.02)
    return model


@pytest.fixture(scope="module")
def original_file(reference, tmp_path_factory):
    path = tmp_path_factory.mktemp("depth") / "depth_anything_v2_vits.pth"
    torch.save(original_layout(reference), path)
    return path


@pytest.fixture(scope="module")
def loaded(original_file):
    return depth.load(original_file, torch.device("cpu"))


def picture(height: int, width: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // width, y * 255 // height, (x + y) % 256], axis=2)
    return rgb.astype(np.uint8)


def test_every_tensor_comes_from_the_original_key_it_was_written_under(loaded, original_file):
    original = torch.load(original_file, weights_only=True)
    ours = loaded.state_dict()
    layers = TINY[1]
    pairs = rename_table(layers)
    assert len(ours) == len(pairs) + 6 * layers  # qkv's weight and bias: q, k, v's six
    for old, new in pairs:
        assert torch.equal(ours[new], original[old]), new
    width = TINY[0]
    for i in range(layers):
        for p in ("weight", "bias"):
            qkv = original[f"pretrained.blocks.{i}.attn.qkv.{p}"]
            for n, name in enumerate("qkv"):
                part = ours[f"backbone.encoder.layer.{i}.attention.{name}_proj.{p}"]
                assert torch.equal(part, qkv[n * width : (n + 1) * width])


def test_a_few_keys_land_where_the_conversion_script_puts_them(loaded, reference):
    # Literal pairs from create_rename_keys: the refinenets run deepest first.
    ours, theirs = loaded.state_dict(), reference.state_dict()
    for key in (
        "neck.fusion_stage.layers.3.projection.weight",  # refinenet1.out_conv
        "neck.fusion_stage.layers.0.residual_layer2.convolution1.bias",  # refinenet4
        "neck.convs.2.weight",  # scratch.layer3_rn
        "head.conv3.weight",  # output_conv2.2
        "backbone.encoder.layer.11.layer_scale2.lambda1",  # blocks.11.ls2.gamma
    ):
        assert torch.equal(ours[key], theirs[key]), key
    assert loaded.config.backbone_config.out_indices == [3, 6, 9, 12]


@pytest.mark.parametrize(
    ("size", "network"),
    [
        ((480, 640), (518, 686)),  # the conversion script's cats: predicted depth 518 x 686
        ((512, 768), (518, 784)),  # 777 / 14 = 55.5, rounded half to even: 56
        ((600, 400), (784, 518)),
        ((1024, 1024), (518, 518)),
        ((64, 64), (518, 518)),  # small images are enlarged to the lower bound
        ((1000, 530), (980, 518)),  # 977.4 / 14 = 69.8: 70
    ],
)
def test_the_network_sees_the_original_image2tensor_size(size, network):
    assert depth.network_size(*size) == network


@pytest.mark.parametrize("size", [(1024, 1536), (600, 700), (2000, 530), (700, 600), (518, 519)])
def test_large_images_get_the_size_transformers_processor_gives(size):
    # DPTImageProcessor scales as little as possible: for images at least 518 on both
    # sides that is the original's lower bound (smaller ones it would not enlarge enough).
    processor = DPTImageProcessor(
        do_resize=True,
        size={"height": 518, "width": 518},
        ensure_multiple_of=14,
        keep_aspect_ratio=True,
        image_mean=IMAGENET_MEAN,
        image_std=IMAGENET_STD,
    )  # as convert_depth_anything_to_hf.py sets it up
    pixels = processor(np.zeros((*size, 3), np.uint8), return_tensors="pt").pixel_values
    assert depth.network_size(*size) == tuple(pixels.shape[-2:])


def test_the_map_is_the_reference_models_prediction_stretched(loaded, reference):
    rgb = picture(200, 300)  # network size (518, 777 -> 784)
    image = cv2.resize(rgb.astype(np.float32) / 255, (784, 518), interpolation=cv2.INTER_CUBIC)
    image = (image - IMAGENET_MEAN) / IMAGENET_STD
    pixels = torch.from_numpy(image.transpose(2, 0, 1).astype(np.float32))[None]
    with torch.no_grad():
        predicted = reference(pixel_values=pixels).predicted_depth
    resized = F.interpolate(predicted[:, None], (200, 300), mode="bilinear", align_corners=True)
    d = resized[0, 0].numpy()
    expected = ((d - d.min()) / (d.max() - d.min()) * 255).astype(np.uint8)

    got = depth.run(loaded, rgb, {})

    assert got.shape == (200, 300, 3) and got.dtype == np.uint8
    assert (got == got[:, :, :1]).all()  # grey
    assert got.min() == 0 and got.max() == 255
    assert np.abs(got[:, :, 0].astype(int) - expected).max() <= 1


def test_a_flat_prediction_is_black_not_a_division_by_zero():
    flat = torch.full((1, 1, 37, 56), 3.7)
    resized = F.interpolate(flat, (41, 53), mode="bilinear", align_corners=True)[0, 0].numpy()
    for prediction in (np.full((41, 53), 3.7, np.float32), resized, np.zeros((41, 53))):
        got = depth.to_map(prediction)
        assert got.shape == (41, 53, 3) and got.dtype == np.uint8 and not got.any()
    ramp = np.linspace(0, 1e-3, 41 * 53, dtype=np.float32).reshape(41, 53)
    assert depth.to_map(ramp).max() == 255  # a small but real range is stretched


def test_a_safetensors_copy_loads_the_same(tmp_path, original_file, loaded):
    path = tmp_path / "depth_anything_v2_vits.safetensors"
    save_file(torch.load(original_file, weights_only=True), str(path))
    again = depth.load(path, torch.device("cpu")).state_dict()
    for key, tensor in loaded.state_dict().items():
        assert torch.equal(again[key], tensor), key


@pytest.mark.parametrize("name", ["vits", "vitb", "vitl"])
def test_the_size_is_read_from_the_tensors_shapes(name):
    with torch.device("meta"):
        model = DepthAnythingForDepthEstimation(v2_config(V2[name]))
    config = config_of(original_layout(model))
    hidden, layers, heads, features, neck, out_indices = V2[name]
    backbone = config.backbone_config
    assert (backbone.hidden_size, backbone.num_hidden_layers) == (hidden, layers)
    assert backbone.num_attention_heads == heads and backbone.image_size == 518
    assert backbone.out_indices == out_indices and backbone.mlp_ratio == 4
    assert config.fusion_hidden_size == features and list(config.neck_hidden_sizes) == neck
    assert config.head_hidden_size == 32 and config.depth_estimation_type == "relative"


def test_the_file_name_says_nothing_about_the_size(tmp_path, original_file, loaded):
    renamed = tmp_path / "depth_anything_v2_vitl.pth"
    renamed.write_bytes(original_file.read_bytes())
    assert depth.load(renamed, torch.device("cpu")).config.backbone_config.hidden_size == 64


def _problem(path) -> str:
    with pytest.raises(BadInput) as caught:
        depth.load(path, torch.device("cpu"))
    return caught.value.message


def test_a_damaged_file_is_a_sentence(tmp_path, original_file):
    garbage = tmp_path / "depth_anything_v2_vits.pth"
    garbage.write_bytes(b"this is no checkpoint\n" * 20)
    assert "depth_anything_v2_vits.pth is damaged" in _problem(garbage)
    cut = tmp_path / "cut.pth"
    cut.write_bytes(original_file.read_bytes()[:5000])
    assert "cut.pth is damaged" in _problem(cut)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not safetensors")
    assert "bad.safetensors is damaged" in _problem(bad)


def test_another_network_is_a_sentence_naming_what_was_expected(tmp_path, original_file):
    pose = tmp_path / "body_pose_model.pth"
    torch.save(torch.nn.Conv2d(3, 64, 3).state_dict(), pose)
    sentence = _problem(pose)
    assert "body_pose_model.pth is not a Depth Anything V2 network" in sentence
    assert "depth_anything_v2_vitl.pth" in sentence and "depth_anything_v2_vits.pth" in sentence

    original = torch.load(original_file, weights_only=True)
    lacking = tmp_path / "lacking.pth"
    torch.save({k: v for k, v in original.items() if "refinenet2.out_conv" not in k}, lacking)
    assert "lacking.pth is not a Depth Anything V2 network" in _problem(lacking)
    reshaped = tmp_path / "reshaped.pth"
    torch.save({**original, "depth_head.projects.1.bias": torch.zeros(7)}, reshaped)
    assert "(7,)" in _problem(reshaped)
    extra = tmp_path / "extra.pth"
    torch.save({**original, "depth_head.scratch.stem.weight": torch.zeros(1)}, extra)
    assert "depth_head.scratch.stem.weight" in _problem(extra)


def test_the_giant_size_is_named_not_misread():
    # ViT-g (depth_anything_v2_vitg): 40 blocks 1536 wide, with a SwiGLU MLP
    state = {f"pretrained.blocks.{i}.norm1.weight": torch.zeros(1536) for i in range(40)}
    state |= {key: torch.zeros(1) for key in depth_convert.REQUIRED}
    state["pretrained.cls_token"] = torch.zeros(1, 1, 1536)
    with pytest.raises(depth_convert.NotDepthAnything, match="40 blocks 1536 wide"):
        config_of(state)


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    path = tmp_path / "depth_anything_v2_vits.pth"
    torch.save({"pretrained.cls_token": torch.zeros(1), "why": Family}, path)
    assert "would run code" in _problem(path)


def test_the_depth_preprocessor_runs_end_to_end_from_the_file(original_file):
    ref = ModelRef(Family.SD, str(original_file))
    got = annotated_map("depth", picture(64, 64), {}, ref)  # the network sees 518 x 518
    assert got.shape == (64, 64, 3) and got.dtype == np.uint8
    assert got.min() == 0 and got.max() == 255
