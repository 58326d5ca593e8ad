"""The CMU OpenPose body-18 network (Cao et al. 2017), as body_pose_model.pth holds it:
a VGG-19 trunk, then six stages that each predict 38 part-affinity-field channels (L1:
an x, y vector per limb) and 19 heatmap channels (L2: 18 keypoints and the background).

The file is the Caffe model converted for PyTorch by pytorch-openpose, the one
sd-webui-controlnet and controlnet_aux load. Its keys are the Caffe layer names
("conv1_1.weight", "Mconv7_stage6_L2.bias"); a state dict saved from the PyTorch module
has them under the block's name ("model0.conv1_1.weight"). Both are read.
"""

from __future__ import annotations

import pickle
import struct
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from engine.api.errors import BadInput

PAF_CHANNELS = 38  # 19 limbs, an (x, y) vector each
HEATMAP_CHANNELS = 19  # 18 keypoints and the background
STRIDE = 8  # three 2x2 poolings
TRUNK_CHANNELS = 128
STAGES = 6

# (name, in, out, kernel); padding keeps the size. "pool" is a 2x2 max pooling.
_TRUNK = (
    ("conv1_1", 3, 64, 3),
    ("conv1_2", 64, 64, 3),
    ("pool1_stage1", 0, 0, 2),
    ("conv2_1", 64, 128, 3),
    ("conv2_2", 128, 128, 3),
    ("pool2_stage1", 0, 0, 2),
    ("conv3_1", 128, 256, 3),
    ("conv3_2", 256, 256, 3),
    ("conv3_3", 256, 256, 3),
    ("conv3_4", 256, 256, 3),
    ("pool3_stage1", 0, 0, 2),
    ("conv4_1", 256, 512, 3),
    ("conv4_2", 512, 512, 3),
    ("conv4_3_CPM", 512, 256, 3),
    ("conv4_4_CPM", 256, TRUNK_CHANNELS, 3),
)

Layer = tuple[str, int, int, int]


def _first_stage(branch: int, out: int) -> tuple[Layer, ...]:
    name = f"CPM_L{branch}"
    return (
        (f"conv5_1_{name}", TRUNK_CHANNELS, 128, 3),
        (f"conv5_2_{name}", 128, 128, 3),
        (f"conv5_3_{name}", 128, 128, 3),
        (f"conv5_4_{name}", 128, 512, 1),
        (f"conv5_5_{name}", 512, out, 1),
    )


def _later_stage(stage: int, branch: int, out: int) -> tuple[Layer, ...]:
    # Each later stage sees the previous stage's PAFs and heatmaps beside the trunk.
    given = PAF_CHANNELS + HEATMAP_CHANNELS + TRUNK_CHANNELS
    names = [f"Mconv{i}_stage{stage}_L{branch}" for i in range(1, 8)]
    sizes = (given, 128, 128, 128, 128, 128, 128, out)
    kernels = (7, 7, 7, 7, 7, 1, 1)
    return tuple((name, sizes[i], sizes[i + 1], kernels[i]) for i, name in enumerate(names))


def _stage(stage: int, branch: int) -> tuple[Layer, ...]:
    out = PAF_CHANNELS if branch == 1 else HEATMAP_CHANNELS
    return _first_stage(branch, out) if stage == 1 else _later_stage(stage, branch, out)


def _block(layers: tuple[Layer, ...], relu_after_last: bool = False) -> nn.Sequential:
    """Convolutions with a ReLU after each but the last (the stage's prediction)."""
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    for index, (name, given, out, kernel) in enumerate(layers):
        if name.startswith("pool"):
            modules[name] = nn.MaxPool2d(kernel_size=kernel, stride=kernel)
            continue
        modules[name] = nn.Conv2d(given, out, kernel, padding=kernel // 2)
        if index < len(layers) - 1 or relu_after_last:
            modules[f"relu_{name}"] = nn.ReLU(inplace=True)
    return nn.Sequential(modules)


class BodyPoseNet(nn.Module):
    """model0 is the trunk; model{s}_1 and model{s}_2 are stage s's PAF and heatmap
    branches (the attribute names are the checkpoint's)."""

    def __init__(self) -> None:
        super().__init__()
        self.model0 = _block(_TRUNK, relu_after_last=True)
        for stage in range(1, STAGES + 1):
            for branch in (1, 2):
                # pytorch-openpose's list of layers without a ReLU names Mconv7_stage6_L1
                # twice and Mconv7_stage6_L2 never, so the last heatmaps pass a ReLU;
                # kept, so that the maps are the ones every other tool makes.
                last_relu = stage == STAGES and branch == 2
                setattr(self, f"model{stage}_{branch}", _block(_stage(stage, branch), last_relu))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(PAFs, heatmaps) at 1/8 of the image's size, of an N x 3 x H x W BGR image
        scaled to [-0.5, 0.5)."""
        trunk = self.model0(image)
        features = trunk
        for stage in range(1, STAGES + 1):
            pafs = getattr(self, f"model{stage}_1")(features)
            heatmaps = getattr(self, f"model{stage}_2")(features)
            features = torch.cat([pafs, heatmaps, trunk], 1)
        return pafs, heatmaps


def load_body_net(path: Path, device: torch.device) -> BodyPoseNet:
    """The network in `path` (.pth or .safetensors), checked, on `device`, in eval mode."""
    path = Path(path)
    state = _read(path)
    with torch.device("meta"):  # shapes only: the file gives the values
        net = BodyPoseNet()
    wanted = net.state_dict()
    weights = _named_as_module(state, wanted)
    problem = _mismatch(weights, wanted)
    if problem:
        raise BadInput(
            f"{path.name} is not the OpenPose body model ({problem}). The openpose "
            "preprocessor needs body_pose_model.pth from lllyasviel/Annotators; choose "
            "that file."
        )
    net.load_state_dict({k: weights[k].float() for k in wanted}, assign=True)  # extras left
    return net.to(device).eval()


def _named_as_module(
    state: Mapping[str, torch.Tensor], wanted: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """The file's tensors under the module's names: the Caffe layer names are unique
    across blocks, so "conv1_1.weight" is "model0.conv1_1.weight"."""
    if any(key in state for key in wanted):
        return dict(state)
    by_layer = {key.split(".", 1)[1]: key for key in wanted}
    return {by_layer.get(key, key): value for key, value in state.items()}


def _mismatch(weights: Mapping[str, object], wanted: Mapping[str, torch.Tensor]) -> str:
    missing = [key for key in wanted if key not in weights]
    if missing:
        return f"it has no {missing[0]}" + (f" and {len(missing) - 1} more" if missing[1:] else "")
    for key, tensor in wanted.items():
        value = weights[key]
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            return f"{key} is not a tensor of weights"
        if value.shape != tensor.shape:
            return f"{key} is {tuple(value.shape)}, not {tuple(tensor.shape)}"
    return ""


def _read(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise BadInput(f"The OpenPose file {path} is not a file; choose body_pose_model.pth.")
    try:
        if path.suffix.lower() == ".safetensors":
            data: object = load_file(str(path), device="cpu")
        else:
            data = torch.load(str(path), map_location="cpu", weights_only=True)
    except PermissionError:
        raise BadInput(
            f"{path.name} cannot be opened: permission denied. Give your user read access."
        ) from None
    except (
        pickle.UnpicklingError,
        SafetensorError,
        OSError,
        EOFError,
        RuntimeError,
        ValueError,
        struct.error,
    ) as exc:
        raise BadInput(
            f"{path.name} cannot be read as weights ({_first_line(exc)}): it is damaged or "
            "not a model file. Download or copy body_pose_model.pth again."
        ) from None
    if not isinstance(data, dict):
        raise BadInput(
            f"{path.name} holds no weights (a {type(data).__name__}); choose body_pose_model.pth."
        )
    return data


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__
