"""The pose map as sd-webui-controlnet and controlnet_aux draw a body (the picture every
OpenPose ControlNet was trained on): black, each limb a filled ellipse in its palette
colour at 60 %, each keypoint a disc in its full palette colour, drawn person by person.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from engine.models.sd.control.annotator_nets.openpose_skeleton import LIMBS, Keypoints

# OpenPose's 18 colours (RGB): keypoint k and limb k share colour k.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)  # fmt: skip
DRAWN_LIMBS = 17  # the ear-shoulder limbs help to find people but are not drawn
LIMB_SHADE = 0.6
# Stick half-width and keypoint radius on the 512-pixel map the other tools draw, then
# resize to the image: scaled with the map's short side here (one pixel at least).
STICK = 4
RADIUS = 4
REFERENCE_SIDE = 512


def draw_people(height: int, width: int, people: list[Keypoints]) -> np.ndarray:
    """The H x W x 3 uint8 map of the people (keypoints in this map's pixels)."""
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    scale = min(height, width) / REFERENCE_SIDE
    stick, radius = max(round(STICK * scale), 1), max(round(RADIUS * scale), 1)
    for person in people:
        for limb in range(DRAWN_LIMBS):
            a, b = LIMBS[limb]
            if person[a] is not None and person[b] is not None:
                _limb(canvas, person[a], person[b], stick, PALETTE[limb])
        for part, point in enumerate(person):
            if point is not None:
                centre = (int(point[0]), int(point[1]))
                cv2.circle(canvas, centre, radius, PALETTE[part], thickness=-1)
    return canvas


def _limb(
    canvas: np.ndarray,
    start: tuple[float, float],
    end: tuple[float, float],
    stick: int,
    colour: tuple[int, int, int],
) -> None:
    (x0, y0), (x1, y1) = start, end
    centre = (int((x0 + x1) / 2), int((y0 + y1) / 2))
    length = math.hypot(x1 - x0, y1 - y0)
    angle = int(math.degrees(math.atan2(y0 - y1, x0 - x1)))
    polygon = cv2.ellipse2Poly(centre, (int(length / 2), stick), angle, 0, 360, 1)
    shade = [int(c * LIMB_SHADE) for c in colour]
    cv2.fillConvexPoly(canvas, polygon, shade)
