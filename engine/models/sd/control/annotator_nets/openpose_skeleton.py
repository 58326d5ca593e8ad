"""People from OpenPose's maps: keypoint peaks in the heatmaps, limbs scored along the
part affinity fields, limbs joined into people (Cao et al. 2017's greedy parsing, with
pytorch-openpose's thresholds so that the skeletons are the ones other tools find).

Keypoints are COCO's 18: 0 nose, 1 neck, 2-4 right shoulder, elbow, wrist, 5-7 left
shoulder, elbow, wrist, 8-10 right hip, knee, ankle, 11-13 left hip, knee, ankle, 14 right
eye, 15 left eye, 16 right ear, 17 left ear.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter, maximum_filter

KEYPOINTS = 18

# Each limb's two keypoints and the PAF channels of its x and y vector, in the order the
# people are assembled (the network's channel order is not this one).
LIMBS: tuple[tuple[int, int], ...] = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11),
    (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17),
)  # fmt: skip
LIMB_PAFS: tuple[tuple[int, int], ...] = (
    (12, 13), (20, 21), (14, 15), (16, 17), (22, 23), (24, 25), (0, 1), (2, 3), (4, 5),
    (6, 7), (8, 9), (10, 11), (28, 29), (30, 31), (34, 35), (32, 33), (36, 37), (18, 19),
    (26, 27),
)  # fmt: skip
# The ear-shoulder limbs only confirm a person: none starts one.
STARTING_LIMBS = 17

PEAK_THRESHOLD = 0.1  # heatmap value of a keypoint
PAF_THRESHOLD = 0.05  # alignment of one sample along a limb
SAMPLES = 10  # points sampled along a candidate limb
SAMPLES_ALIGNED = 0.8  # share of them that must pass PAF_THRESHOLD
PEAK_SIGMA = 3.0  # smoothing before the local maxima
MIN_PARTS = 4
MIN_MEAN_SCORE = 0.4


@dataclass(frozen=True)
class Peak:
    x: int
    y: int
    score: float


@dataclass(eq=False)  # people are told apart by identity (parts is an array)
class Person:
    """Peak ids (index into the flat peak list; -1 where the keypoint is not seen)."""

    parts: np.ndarray = field(default_factory=lambda: np.full(KEYPOINTS, -1, dtype=int))
    score: float = 0.0
    count: int = 0


Keypoints = list[tuple[float, float] | None]  # one person's 18, x and y in pixels


def find_peaks(heatmaps: np.ndarray) -> list[list[Peak]]:
    """The local maxima of each keypoint's heatmap (H x W x >= 18) above the threshold."""
    cross = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=bool)
    peaks = []
    for part in range(KEYPOINTS):
        raw = heatmaps[:, :, part]
        smooth = gaussian_filter(raw, sigma=PEAK_SIGMA)
        # A peak is at least its four neighbours (outside the map counts as zero).
        highest = maximum_filter(smooth, footprint=cross, mode="constant", cval=0.0)
        ys, xs = np.nonzero((smooth >= highest) & (smooth > PEAK_THRESHOLD))
        peaks.append([Peak(int(x), int(y), float(raw[y, x])) for x, y in zip(xs, ys, strict=True)])
    return peaks


def connect_limb(
    starts: list[Peak], ends: list[Peak], pafs: np.ndarray, height: int
) -> list[tuple[int, int, float]]:
    """(start index, end index, score) of the limbs the field (H x W x 2) supports, best
    first, each peak in one limb at most."""
    candidates = []
    for i, start in enumerate(starts):
        for j, end in enumerate(ends):
            score = _limb_score(start, end, pafs, height)
            if score is not None:
                candidates.append((score, i, j))
    candidates.sort(key=lambda c: c[0], reverse=True)
    chosen: list[tuple[int, int, float]] = []
    used_starts: set[int] = set()
    used_ends: set[int] = set()
    for score, i, j in candidates:
        if i in used_starts or j in used_ends:
            continue
        chosen.append((i, j, score))
        used_starts.add(i)
        used_ends.add(j)
        if len(chosen) >= min(len(starts), len(ends)):
            break
    return chosen


def _limb_score(start: Peak, end: Peak, pafs: np.ndarray, height: int) -> float | None:
    """The mean alignment of the field with the segment, less a penalty for limbs longer
    than half the image; None when the field does not support it."""
    vector = np.array([end.x - start.x, end.y - start.y], dtype=np.float64)
    length = max(float(np.hypot(*vector)), 1e-3)
    xs = np.rint(np.linspace(start.x, end.x, SAMPLES)).astype(int)
    ys = np.rint(np.linspace(start.y, end.y, SAMPLES)).astype(int)
    aligned = pafs[ys, xs] @ (vector / length)
    score = float(aligned.mean()) + min(0.5 * height / length - 1.0, 0.0)
    if np.count_nonzero(aligned > PAF_THRESHOLD) > SAMPLES_ALIGNED * SAMPLES and score > 0:
        return score
    return None


def find_people(heatmaps: np.ndarray, pafs: np.ndarray) -> list[Keypoints]:
    """Each person's 18 keypoints (pixels; None where not seen) from the maps at the
    image's size: heatmaps H x W x >= 18, PAFs H x W x 38."""
    peaks = find_peaks(heatmaps)
    flat = [peak for part in peaks for peak in part]
    offsets = np.cumsum([0] + [len(part) for part in peaks])
    people: list[Person] = []
    for limb, ((a, b), (px, py)) in enumerate(zip(LIMBS, LIMB_PAFS, strict=True)):
        if not peaks[a] or not peaks[b]:
            continue
        field = pafs[:, :, [px, py]]
        for i, j, score in connect_limb(peaks[a], peaks[b], field, heatmaps.shape[0]):
            start, end = int(offsets[a] + i), int(offsets[b] + j)
            _add_limb(people, flat, limb, start, end, score)
    kept = [p for p in people if p.count >= MIN_PARTS and p.score / p.count >= MIN_MEAN_SCORE]
    return [_keypoints(person, flat) for person in kept]


def _add_limb(
    people: list[Person], flat: list[Peak], limb: int, start: int, end: int, score: float
) -> None:
    """Join the limb to the person who has one of its keypoints; join two people it links
    when they share no keypoint; start a person when nobody has it."""
    a, b = LIMBS[limb]
    owners = [p for p in people if p.parts[a] == start or p.parts[b] == end][:2]
    if len(owners) == 2 and not np.any((owners[0].parts >= 0) & (owners[1].parts >= 0)):
        first, second = owners
        first.parts = np.where(second.parts >= 0, second.parts, first.parts)
        first.score += second.score + score
        first.count += second.count
        people.remove(second)
    elif owners:
        person = owners[0]
        if person.parts[b] != end:
            person.parts[b] = end
            person.count += 1
            person.score += flat[end].score + score
    elif limb < STARTING_LIMBS:
        person = Person()
        person.parts[a], person.parts[b] = start, end
        person.count = 2
        person.score = flat[start].score + flat[end].score + score
        people.append(person)


def _keypoints(person: Person, flat: list[Peak]) -> Keypoints:
    return [
        None if index < 0 else (float(flat[index].x), float(flat[index].y))
        for index in person.parts
    ]
