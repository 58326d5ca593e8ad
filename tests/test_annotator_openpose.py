"""The OpenPose body annotator: the network has body_pose_model.pth's layout (a literal
table of the original pytorch-openpose model's layers), loads a file of that layout,
decodes synthetic maps made the way OpenPose's training labels are (a gaussian per
keypoint, a unit vector along each limb) back into the people drawn in them, draws them
in OpenPose's palette, and refuses files that are not this network."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.parts import ModelRef
from engine.models.sd.control.annotator_nets import openpose
from engine.models.sd.control.annotator_nets.openpose_draw import draw_people
from engine.models.sd.control.annotator_nets.openpose_net import BodyPoseNet
from engine.models.sd.control.annotator_nets.openpose_skeleton import find_peaks, find_people
from engine.models.sd.control.annotators import annotated_map

# pytorch-openpose's bodypose_model (model.py): a few layers' shapes, and the number of
# tensors body_pose_model.pth holds (92 convolutions, a weight and a bias each).
LAYERS = {
    "model0.conv1_1.weight": (64, 3, 3, 3),
    "model0.conv4_4_CPM.weight": (128, 256, 3, 3),
    "model1_1.conv5_5_CPM_L1.weight": (38, 512, 1, 1),
    "model1_2.conv5_5_CPM_L2.weight": (19, 512, 1, 1),
    "model2_1.Mconv1_stage2_L1.weight": (128, 185, 7, 7),
    "model6_1.Mconv7_stage6_L1.weight": (38, 128, 1, 1),
    "model6_2.Mconv7_stage6_L2.bias": (19,),
}
TENSORS = 184

# OpenPose's 18 keypoint colours (RGB), in COCO's keypoint order.
PALETTE = [
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
]  # fmt: skip
# COCO's body-18 limbs (keypoint pairs) and their PAF channels in the network's output,
# from OpenPose's documentation (poseParameters.cpp, POSE_COCO_*).
LIMBS = [
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11),
    (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17),
]  # fmt: skip
PAF_CHANNELS = [
    (12, 13), (20, 21), (14, 15), (16, 17), (22, 23), (24, 25), (0, 1), (2, 3), (4, 5),
    (6, 7), (8, 9), (10, 11), (28, 29), (30, 31), (34, 35), (32, 33), (36, 37), (18, 19),
    (26, 27),
]  # fmt: skip
# One standing person, x and y in pixels: nose, neck, right arm, left arm, right leg,
# left leg, eyes, ears.
PERSON = [
    (30, 12), (30, 24), (20, 24), (14, 38), (10, 52), (40, 24), (46, 38), (50, 52),
    (24, 56), (22, 74), (22, 92), (36, 56), (38, 74), (38, 92), (27, 9), (33, 9),
    (23, 11), (37, 11),
]  # fmt: skip


def layout() -> dict[str, torch.Tensor]:
    """Our network's tensors, shapes only (no memory, no initialisation)."""
    with torch.device("meta"):
        return BodyPoseNet().state_dict()


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A random body_pose_model.pth in the original file's layout (Caffe layer names)."""
    torch.manual_seed(0)
    state = BodyPoseNet().state_dict()
    path = tmp_path_factory.mktemp("openpose") / "body_pose_model.pth"
    torch.save({key.split(".", 1)[1]: value for key, value in state.items()}, path)
    return path


def test_the_network_has_the_original_layout():
    state = layout()
    assert len(state) == TENSORS
    for key, shape in LAYERS.items():
        assert tuple(state[key].shape) == shape


def test_a_file_of_that_layout_loads_and_runs(weights):
    loaded = torch.load(weights, weights_only=True)
    assert len(loaded) == TENSORS and "conv1_1.weight" in loaded
    net = openpose.load(weights, torch.device("cpu"))
    assert torch.equal(net.state_dict()["model0.conv1_1.weight"], loaded["conv1_1.weight"])
    with torch.inference_mode():
        pafs, heatmaps = net(torch.zeros(1, 3, 64, 48))
    assert pafs.shape == (1, 38, 8, 6) and heatmaps.shape == (1, 19, 8, 6)


def test_the_preprocessor_runs_a_module_state_dict_in_safetensors(tmp_path):
    """End to end through the runner, from the other layout: the PyTorch module's names,
    half precision, .safetensors."""
    torch.manual_seed(1)
    state = {k: v.half().contiguous() for k, v in BodyPoseNet().state_dict().items()}
    path = tmp_path / "body_pose_model.safetensors"
    save_file(state, path)
    rgb = np.random.default_rng(0).integers(0, 256, (72, 56, 3), dtype=np.uint8)
    pose_map = annotated_map("openpose", rgb, {}, ModelRef(Family.SD, str(path)))
    assert pose_map.shape == (72, 56, 3) and pose_map.dtype == np.uint8


def maps_of(people, height, width, sigma=2.0, reach=2.0):
    """OpenPose's training labels: a gaussian per keypoint, and each limb's unit vector
    within `reach` pixels of it."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    heatmaps = np.zeros((height, width, 19), np.float32)
    pafs = np.zeros((height, width, 38), np.float32)
    for person in people:
        for part, (x, y) in enumerate(person):
            blob = np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma**2))
            heatmaps[:, :, part] = np.maximum(heatmaps[:, :, part], blob)
        for (a, b), (cx, cy) in zip(LIMBS, PAF_CHANNELS, strict=True):
            start, end = np.array(person[a], float), np.array(person[b], float)
            unit = (end - start) / np.linalg.norm(end - start)
            along = (xs - start[0]) * unit[0] + (ys - start[1]) * unit[1]
            across = np.abs((xs - start[0]) * unit[1] - (ys - start[1]) * unit[0])
            near = (along >= -1) & (along <= np.linalg.norm(end - start) + 1) & (across <= reach)
            pafs[near, cx], pafs[near, cy] = unit[0], unit[1]
    return heatmaps, pafs


def shifted(person, dx, dy=0):
    return [(x + dx, y + dy) for x, y in person]


def test_one_person_decodes_to_their_keypoints():
    heatmaps, pafs = maps_of([shifted(PERSON, 10, 2)], 100, 80)
    people = find_people(heatmaps, pafs)
    assert people == [[(float(x), float(y)) for x, y in shifted(PERSON, 10, 2)]]


def test_two_people_stay_two_people():
    left, right = shifted(PERSON, 5), shifted(PERSON, 75, 4)
    heatmaps, pafs = maps_of([left, right], 110, 140)
    found = sorted(find_people(heatmaps, pafs), key=lambda p: p[1][0])
    assert found == [[(float(x), float(y)) for x, y in p] for p in (left, right)]


def test_pieces_of_one_person_are_joined_and_stray_legs_dropped():
    """Without a neck the arms and the face start apart and the ear-shoulder limbs join
    them; each leg (hip, knee, ankle: three keypoints) is too little to be a person."""
    heatmaps, pafs = maps_of([shifted(PERSON, 10, 2)], 110, 80)
    heatmaps[:, :, 1] = 0
    unseen = {1, 8, 9, 10, 11, 12, 13}
    expected = [
        None if k in unseen else (float(x), float(y))
        for k, (x, y) in enumerate(shifted(PERSON, 10, 2))
    ]
    assert find_people(heatmaps, pafs) == [expected]


def test_a_limb_the_fields_do_not_support_joins_nobody():
    heatmaps, pafs = maps_of([shifted(PERSON, 10)], 100, 80)
    pafs[:] = 0  # keypoints without limbs: nobody
    assert find_people(heatmaps, pafs) == []


def test_few_keypoints_are_not_a_person():
    heatmaps, pafs = maps_of([shifted(PERSON, 10)], 100, 80)
    heatmaps[:, :, 3:18] = 0  # nose, neck and right shoulder only: three keypoints
    assert find_people(heatmaps, pafs) == []


def test_peaks_at_the_network_stride_land_within_a_pixel():
    height, width, stride = 96, 128, 8
    points = [(20, 30), (61, 47), (100, 70)]
    ys, xs = np.mgrid[0 : height // stride, 0 : width // stride].astype(np.float64)
    low = np.zeros((height // stride, width // stride, 19), np.float32)
    for part, (x, y) in enumerate(points):
        # A pixel centre in the image is at (x + 0.5) / stride - 0.5 in the maps.
        cx, cy = (x + 0.5) / stride - 0.5, (y + 0.5) / stride - 0.5
        low[:, :, part] = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * 1.5**2))
    peaks = find_peaks(openpose.upsample(low, height, width))
    for part, (x, y) in enumerate(points):
        assert len(peaks[part]) == 1
        assert abs(peaks[part][0].x - x) <= 1 and abs(peaks[part][0].y - y) <= 1


def segment_distance(xs, ys, start, end):
    start, end = np.array(start, float), np.array(end, float)
    direction = end - start
    t = ((xs - start[0]) * direction[0] + (ys - start[1]) * direction[1]) / (direction @ direction)
    t = np.clip(t, 0, 1)
    return np.hypot(xs - start[0] - t * direction[0], ys - start[1] - t * direction[1])


def test_the_map_is_the_palette_on_black():
    person = [(4 * x + 100, 4 * y + 60) for x, y in PERSON]
    person[7] = None  # the left wrist unseen
    canvas = draw_people(512, 400, [person])
    assert canvas.shape == (512, 400, 3) and canvas.dtype == np.uint8
    for part, point in enumerate(person):
        if point is not None:
            assert tuple(canvas[point[1], point[0]]) == PALETTE[part]
    neck, shoulder = person[1], person[2]  # limb 0 at 60 % of its colour
    middle = ((neck[0] + shoulder[0]) // 2, (neck[1] + shoulder[1]) // 2)
    assert tuple(canvas[middle[1], middle[0]]) == (153, 0, 0)
    ys, xs = np.mgrid[0:512, 0:400].astype(np.float64)
    near = np.zeros((512, 400), bool)
    for a, b in LIMBS[:17]:  # the ear-shoulder limbs are not drawn
        if person[a] is not None and person[b] is not None:
            near |= segment_distance(xs, ys, person[a], person[b]) <= 6
    for point in person:
        if point is not None:
            near |= np.hypot(xs - point[0], ys - point[1]) <= 6
    assert not canvas[~near].any()
    assert canvas[near].any(axis=1).mean() > 0.3


def test_nobody_is_a_black_map():
    assert not draw_people(64, 48, []).any()


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"PK\x03\x04 not really a zip",
        "truncated",
        {"conv1_1.weight": torch.zeros(64, 3, 3, 3)},  # part of the trunk only
        {"conv6_2_CPM.weight": torch.zeros(22, 512, 1, 1)},  # the hand model
        "wrong shape",
        [torch.zeros(3)],  # no state dict
    ],
)
def test_other_files_are_refused_naming_the_file(weights, tmp_path, content):
    path = tmp_path / "pose.pth"
    if content == "truncated":
        path.write_bytes(weights.read_bytes()[:5000])
    elif content == "wrong shape":  # every name, not one shape right
        torch.save({key: torch.zeros(1) for key in layout()}, path)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    with pytest.raises(BadInput, match="pose.pth"):
        openpose.load(path, torch.device("cpu"))
