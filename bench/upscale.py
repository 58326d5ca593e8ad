"""Upscaling on this CPU: quality on photos the models never saw, tiling, throughput.

- `psnr_gain_<model>_x<s>`: Y-channel PSNR (border of `s` pixels cropped) of the model's
  upscale of a photo downscaled with Pillow's bicubic resize, minus the PSNR of Pillow's
  bicubic upscale of the same input, averaged over the evaluation photos (scikit-learn's
  china and flower: never used in training or tuning); `ssim_<model>_x<s>` likewise;
  lanczos as a baseline;
- `psnr_y_<model>` (dB) and `hf_energy_ratio_<model>`, at ×4: for bicubic, lite-x4 and
  lite-x4-gan, the Y-PSNR itself and the energy (mean square) of the Laplacian of Y of
  the result over the ground truth's, averaged over the same photos: a PSNR-trained
  upscaler stays well under 1 (soft), the adversarial one is meant to come closer to it.
  (lite-x4-gan's loss weights were chosen by these two figures, so for it the photos
  are held out of training but not of tuning);
- `tiled_max_diff_<model>` (grey levels, of 255) and `tiling_overhead_<model>` (time
  ratio): the same image tiled (256 px, 32 px overlap) and whole;
- `throughput_<model>`: output megapixels per second through the runtime, default tiles;
- `engine_overhead_<model>`: time through the runtime against spandrel's own call on the
  same image (whole, so both do the same work), interleaved runs, median ratio.

`python -m bench.upscale [quality] [detail] [tiling] [speed]` runs only those parts.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PARTS = ("quality", "detail", "tiling", "speed")
BUNDLED = ("lite-x2", "lite-x4", "lite-x4-gan")
ADVERSARIAL = "lite-x4-gan"  # compared with lite-x4 and bicubic on detail as well
RUNS = 5


def evaluation_photos() -> dict[str, np.ndarray]:
    from sklearn.datasets import load_sample_image

    return {name: load_sample_image(f"{name}.jpg") for name in ("china", "flower")}


def luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 Y in [16, 235], as super-resolution papers measure PSNR."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    return 16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0


def psnr_y(result: np.ndarray, truth: np.ndarray, border: int) -> float:
    a, b = luma(result), luma(truth)
    if border:
        a, b = a[border:-border, border:-border], b[border:-border, border:-border]
    mse = np.mean((a - b) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def ssim_y(result: np.ndarray, truth: np.ndarray, border: int) -> float:
    from skimage.metrics import structural_similarity

    a, b = luma(result), luma(truth)
    if border:
        a, b = a[border:-border, border:-border], b[border:-border, border:-border]
    return float(structural_similarity(a, b, data_range=255.0))


def hf_energy(rgb: np.ndarray, border: int) -> float:
    """Mean square of the Laplacian of Y: how much fine detail an image has."""
    from scipy.ndimage import laplace

    band = laplace(luma(rgb))
    if border:
        band = band[border:-border, border:-border]
    return float(np.mean(band**2))


def lowres_pair(photo: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    height, width = photo.shape[0] // scale * scale, photo.shape[1] // scale * scale
    truth = photo[:height, :width]
    low = Image.fromarray(truth).resize((width // scale, height // scale), Image.Resampling.BICUBIC)
    return np.asarray(low), truth


def _upscale(runtime, model: str, image: Path, scale: float, tile: int = -1):
    from engine.api.kinds import Family
    from engine.api.parts import ImageRef, ModelRef
    from engine.api.requests import UpscaleRequest
    from engine.context import JobContext

    request = UpscaleRequest(
        model=ModelRef(Family.UPSCALE, model),
        image=ImageRef(str(image), ""),
        scale=scale,
        tile=tile,
        save=False,
    )
    return runtime.run(request, JobContext(0, previews=False)).images[0]


def quality(runtime, work: Path) -> None:
    photos = evaluation_photos()
    for scale in (2, 4):
        models = (f"lite-x{scale}", *([ADVERSARIAL] if scale == 4 else []), "lanczos")
        for model in models:
            gains, ssims = [], []
            for name, photo in photos.items():
                low, truth = lowres_pair(photo, scale)
                path = work / f"{name}-x{scale}.png"
                Image.fromarray(low).save(path)
                bicubic = np.asarray(
                    Image.fromarray(low).resize(truth.shape[1::-1], Image.Resampling.BICUBIC)
                )
                result = _upscale(runtime, model, path, scale).rgb
                gains.append(psnr_y(result, truth, scale) - psnr_y(bicubic, truth, scale))
                ssims.append(ssim_y(result, truth, scale) - ssim_y(bicubic, truth, scale))
            label = _label(model, scale)
            print(f"psnr_gain_{label}: {statistics.mean(gains):+.2f} dB", flush=True)
            print(f"ssim_gain_{label}: {statistics.mean(ssims):+.4f}", flush=True)


def _label(model: str, scale: int) -> str:
    if model in ("lanczos", "bicubic"):
        return f"{model}_x{scale}"
    return model.replace("-", "_")  # lite_x4, lite_x4_gan


def detail(runtime, work: Path) -> None:
    """Y-PSNR and high-frequency energy against the truth: bicubic, lite-x4, lite-x4-gan."""
    scale, psnrs, ratios = 4, {}, {}
    for name, photo in evaluation_photos().items():
        low, truth = lowres_pair(photo, scale)
        path = work / f"{name}-x{scale}.png"
        Image.fromarray(low).save(path)
        results = {
            "bicubic": np.asarray(
                Image.fromarray(low).resize(truth.shape[1::-1], Image.Resampling.BICUBIC)
            ),
            **{m: _upscale(runtime, m, path, scale).rgb for m in ("lite-x4", ADVERSARIAL)},
        }
        truth_energy = hf_energy(truth, scale)
        for model, result in results.items():
            psnrs.setdefault(model, []).append(psnr_y(result, truth, scale))
            ratios.setdefault(model, []).append(hf_energy(result, scale) / truth_energy)
    for model in psnrs:
        label = _label(model, scale)
        print(f"psnr_y_{label}: {statistics.mean(psnrs[model]):.2f} dB", flush=True)
        print(f"hf_energy_ratio_{label}: {statistics.mean(ratios[model]):.3f} x", flush=True)
    loss = statistics.mean(psnrs["lite-x4"]) - statistics.mean(psnrs[ADVERSARIAL])
    print(f"psnr_y_loss_{_label(ADVERSARIAL, scale)}: {loss:.2f} dB", flush=True)


def tiling(runtime, work: Path) -> None:
    photo = evaluation_photos()["china"]  # 640 x 427: several 256 px tiles
    path = work / "china.png"
    Image.fromarray(photo).save(path)
    for model in BUNDLED:
        whole_s, tiled_s = [], []
        for _ in range(RUNS):
            started = time.perf_counter()
            whole = _upscale(runtime, model, path, 0, tile=0).rgb
            whole_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            tiled = _upscale(runtime, model, path, 0, tile=256).rgb
            tiled_s.append(time.perf_counter() - started)
        diff = int(np.abs(whole.astype(int) - tiled.astype(int)).max())
        ratio = statistics.median(tiled_s) / statistics.median(whole_s)
        print(f"tiled_max_diff_{model}: {diff} levels", flush=True)
        print(f"tiling_overhead_{model}: {ratio:.3f} x", flush=True)


def speed(runtime, work: Path) -> None:
    import torch
    from spandrel import ModelLoader

    from engine.models.upscale.runners import to_uint8
    from engine.resources import BUNDLED_MODELS_DIR

    photo = evaluation_photos()["flower"]  # 640 x 427, a typical small photo
    path = work / "flower.png"
    Image.fromarray(photo).save(path)
    for model in BUNDLED:
        file = BUNDLED_MODELS_DIR / f"{model}.safetensors"
        descriptor = ModelLoader("cpu").load_from_file(str(file)).eval()
        _upscale(runtime, model, path, 0, tile=0)  # warm: the model is cached from here
        tiled_s, app_s, bare_s = [], [], []
        for _ in range(RUNS):
            started = time.perf_counter()
            result = _upscale(runtime, model, path, 0)  # the default: tiles of 256 px
            tiled_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            _upscale(runtime, model, path, 0, tile=0)
            app_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            tensor = torch.from_numpy(np.array(Image.open(path).convert("RGB")))
            with torch.inference_mode():
                to_uint8(descriptor(tensor.permute(2, 0, 1)[None].float() / 255))
            bare_s.append(time.perf_counter() - started)
        megapixels = result.width * result.height / 1e6
        print(f"throughput_{model}: {megapixels / statistics.median(tiled_s):.2f} MP/s", flush=True)
        ratio = statistics.median(app_s) / statistics.median(bare_s)
        print(f"engine_overhead_{model}: {ratio:.3f} x", flush=True)


def main(parts: list[str]) -> None:
    from engine.hashing import HashCache, HashService
    from engine.runtime import Runtime

    work = Path(tempfile.mkdtemp())
    runtime = Runtime(device_preference="cpu", hashes=HashService(HashCache(work / "h.db")))
    try:
        for part in PARTS:
            if part in parts:
                globals()[part](runtime, work)
    finally:
        runtime.close()


if __name__ == "__main__":
    main(sys.argv[1:] or list(PARTS))
