"""The edge and line preprocessors, by classic filters: no network, no weights.

canny is OpenCV's own detector. softedge stands in for HED / PiDiNet (soft, grey edges)
with a difference of Gaussians; lineart stands in for the line-art annotator with an
extended difference of Gaussians (XDoG, Winnemoeller et al. 2012); scribble makes the
thick strokes the scribble ControlNet was trained on from a drawing. Every map is white
on black, as the ControlNets take them.
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

# sd-webui-controlnet's defaults for canny's hysteresis thresholds.
CANNY_LOW = 100.0
CANNY_HIGH = 200.0
# The ratio of the two Gaussians' sigmas: 1.6 approximates a Laplacian of Gaussian (Marr
# and Hildreth), the value XDoG's paper uses.
DOG_K = 1.6
SOFTEDGE_SIGMA = 1.0
# A DoG response up to this (a quarter of a grey level) is no edge: a flat picture's map
# is black, not its rounding noise stretched to white.
SOFTEDGE_FLOOR = 1e-3
LINEART_SIGMA = 0.8
# XDoG's tau (how much of the wider blur is taken away), epsilon (the level below which
# a pixel is a line) and phi (how sharply a line's edge falls off), for grey in 0..1.
LINEART_TAU = 0.98
LINEART_EPSILON = -0.005
LINEART_PHI = 200.0
SCRIBBLE_THRESHOLD = 127.0
SCRIBBLE_THICKNESS = 3.0
# Gaussian kernels reach 4 sigma each side, as scipy.ndimage.gaussian_filter's do.
TRUNCATE = 4.0


def grey(rgb: np.ndarray) -> np.ndarray:
    """Luma (ITU-R 601, OpenCV's weights) as uint8."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def gaussian(image: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur in float32 over the first two axes: scipy.ndimage.gaussian_filter's
    kernel (radius int(4 sigma + 0.5)) and border (mirrored, the edge pixel repeated), by
    OpenCV's separable filter, which is several times faster on a 1024² picture."""
    image = np.asarray(image, dtype=np.float32)
    if sigma <= 0:
        return image
    radius = max(1, int(TRUNCATE * sigma + 0.5))
    kernel = cv2.getGaussianKernel(2 * radius + 1, sigma, cv2.CV_32F)
    if min(image.shape[:2]) <= radius:
        # OpenCV reflects once; scipy keeps reflecting when the kernel is wider than the
        # picture. Pad as scipy does, then filter the padded picture.
        pad = [(radius, radius), (radius, radius)] + [(0, 0)] * (image.ndim - 2)
        padded = np.pad(image, pad, mode="symmetric")
        out = cv2.sepFilter2D(padded, cv2.CV_32F, kernel, kernel, borderType=cv2.BORDER_REFLECT)
        return out[radius:-radius, radius:-radius]
    return cv2.sepFilter2D(image, cv2.CV_32F, kernel, kernel, borderType=cv2.BORDER_REFLECT)


def _rgb(channel: np.ndarray) -> np.ndarray:
    return np.repeat(channel[:, :, None], 3, axis=2)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def canny(rgb: np.ndarray, settings: Mapping[str, float]) -> np.ndarray:
    """OpenCV's Canny edges of the grey picture: white one-pixel edges on black. Settings
    "low" and "high": the hysteresis thresholds (sd-webui-controlnet's 100 and 200)."""
    low = float(settings.get("low", CANNY_LOW))
    high = float(settings.get("high", CANNY_HIGH))
    return _rgb(cv2.Canny(grey(rgb), min(low, high), max(low, high)))


def dog(grey_01: np.ndarray, sigma: float, k: float = DOG_K, tau: float = 1.0) -> np.ndarray:
    """G_sigma(I) - tau * G_(k sigma)(I): a difference of Gaussians (tau 1) or XDoG's."""
    return gaussian(grey_01, sigma) - tau * gaussian(grey_01, k * sigma)


def softedge(rgb: np.ndarray, settings: Mapping[str, float]) -> np.ndarray:
    """Soft edges, white on black, from the DoG D of the grey picture: with
    E = max(|D| - 1e-3, 0), the map is 255 sqrt(E / max E), stretched to the strongest
    edge (HED's maps are per-picture probabilities too) and square-rooted so faint edges
    show as in HED's soft maps. Setting "sigma"."""
    sigma = float(settings.get("sigma", SOFTEDGE_SIGMA))
    edges = np.abs(dog(grey(rgb).astype(np.float32) / 255.0, sigma)) - SOFTEDGE_FLOOR
    edges = np.maximum(edges, 0.0)
    top = float(edges.max())
    return _rgb(_to_uint8(255.0 * np.sqrt(edges / top) if top > 0 else edges))


def xdog(grey_01: np.ndarray, sigma: float, tau: float, epsilon: float, phi: float) -> np.ndarray:
    """XDoG's soft threshold, 0..1: 1 (paper) where D >= epsilon, else 1 + tanh(phi (D - e)),
    dark lines on white."""
    d = dog(grey_01, sigma, DOG_K, tau)
    return np.where(d >= epsilon, 1.0, 1.0 + np.tanh(phi * (d - epsilon))).astype(np.float32)


def lineart(rgb: np.ndarray, settings: Mapping[str, float]) -> np.ndarray:
    """Line art: XDoG's dark lines on white, inverted to the white lines on black the
    lineart ControlNet takes. Settings "sigma", "tau", "epsilon", "phi"."""
    lines = xdog(
        grey(rgb).astype(np.float32) / 255.0,
        float(settings.get("sigma", LINEART_SIGMA)),
        float(settings.get("tau", LINEART_TAU)),
        float(settings.get("epsilon", LINEART_EPSILON)),
        float(settings.get("phi", LINEART_PHI)),
    )
    return _rgb(_to_uint8(255.0 * (1.0 - lines)))


def disk(radius: int) -> np.ndarray:
    """A filled disk of `radius` (0: one pixel), uint8, for dilation."""
    y, x = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    return (x * x + y * y <= radius * radius).astype(np.uint8)


def scribble(rgb: np.ndarray, settings: Mapping[str, float]) -> np.ndarray:
    """A drawing's strokes as thick white strokes on black. A stroke is a pixel on the far
    side of "threshold" from the background: darker on a light page (mean grey above the
    middle), lighter on a dark one. Strokes grow by a disk of radius "thickness"."""
    g = grey(rgb)
    threshold = float(settings.get("threshold", SCRIBBLE_THRESHOLD))
    strokes = g < threshold if g.mean() > 127.5 else g > threshold
    radius = max(0, int(round(float(settings.get("thickness", SCRIBBLE_THICKNESS)))))
    grown = cv2.dilate(strokes.astype(np.uint8), disk(radius)) if radius else strokes
    return _rgb(grown.astype(np.uint8) * 255)
