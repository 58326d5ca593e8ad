"""Upscaling a large image on the device: the bundled lite-x4 and a full-size ESRGAN
(RRDBNet: 64 filters, 23 blocks, ×4, random weights), through the app in its tiles and
precision (fp16 on CUDA), against spandrel's own call on the whole image.

- `upscale_<model>_tiled`: output megapixels per second through the app, its own tiles;
- `upscale_<model>_app_over_spandrel`: spandrel's time over the app's, whole image on
  both sides (the same work; > 1: the app is faster);
- `upscale_<model>_max_diff_vs_spandrel`: the two whole-image results, in grey levels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

from bench.gpu_sections.harness import Check


def lite_x4(check: Check) -> None:
    from engine.resources import BUNDLED_MODELS_DIR

    _compare(check, "lite_x4", "lite-x4", BUNDLED_MODELS_DIR / "lite-x4.safetensors")


def esrgan(check: Check) -> None:
    from spandrel.architectures.ESRGAN import ESRGAN

    filters, blocks = (8, 1) if check.sizes.tiny else (64, 23)
    torch.manual_seed(0)
    net = ESRGAN(num_filters=filters, num_blocks=blocks, scale=4)
    file = check.work / "esrgan-x4.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(file))
    _compare(check, "esrgan", str(file), file)


def _compare(check: Check, label: str, model: str, file: Path) -> None:
    image = _test_image(check)
    runtime = check.runtime()
    try:
        tiled_s = check.median_s(lambda: _app(runtime, model, image, check.sizes.upscale_tile))
        out = _app(runtime, model, image, check.sizes.upscale_tile)
        check.emit(f"upscale_{label}_tiled", out.shape[0] * out.shape[1] / 1e6 / tiled_s, "MP/s")
        app_s = check.median_s(lambda: _app(runtime, model, image, 0))
        app = _app(runtime, model, image, 0)
    finally:
        runtime.close()
    spandrel = _spandrel(check, file)
    bare_s = check.median_s(lambda: spandrel(image))
    diff = np.abs(app.astype(np.int16) - spandrel(image).astype(np.int16)).max()
    check.emit(f"upscale_{label}_app_over_spandrel", bare_s / app_s, "x", 3)
    check.emit(f"upscale_{label}_max_diff_vs_spandrel", int(diff), "levels", 0)


def _test_image(check: Check) -> Path:
    """Gradients, edges and noise: something for an upscaler to work on."""
    path = check.work / "upscale-input.png"
    if not path.exists():
        side = check.sizes.upscale_side
        y, x = np.mgrid[0:side, 0:side]
        base = np.stack(
            [128 + 100 * np.sin(x / 9.0), 128 + 100 * np.cos(y / 13.0), (x + y) % 256], 2
        )
        noisy = base + np.random.default_rng(0).normal(0, 12, base.shape)
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(path)
    return path


def _app(runtime, model: str, image: Path, tile: int) -> np.ndarray:
    from engine.api.kinds import Family
    from engine.api.parts import ImageRef, ModelRef
    from engine.api.requests import UpscaleRequest
    from engine.context import JobContext

    request = UpscaleRequest(
        model=ModelRef(Family.UPSCALE, model),
        image=ImageRef(str(image), ""),
        scale=0,
        tile=tile,
        save=False,
    )
    return runtime.run(request, JobContext(0)).images[0].rgb


def _spandrel(check: Check, file: Path):
    """spandrel's model called as its README shows: the whole image, one call; in fp16
    on CUDA, as the app runs it."""
    from spandrel import ModelLoader

    descriptor = ModelLoader(check.device).load_from_file(str(file)).eval()
    if check.cuda and descriptor.supports_half:
        descriptor.half()
    dtype = next(descriptor.model.parameters()).dtype

    def upscale(path: Path) -> np.ndarray:
        pixels = torch.from_numpy(np.array(Image.open(path).convert("RGB")))
        tensor = pixels.permute(2, 0, 1)[None].to(check.device, dtype) / 255
        with torch.inference_mode():
            out = descriptor(tensor)[0].float().clamp(0, 1).mul(255).round().to(torch.uint8)
        return out.permute(1, 2, 0).cpu().numpy()

    return upscale
