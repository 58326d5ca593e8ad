"""Stable Diffusion on the device: the app's speed against bare diffusers (SD 1.5), SDXL
at its own size, and the app's pixels against diffusers' in fp32.

Both sides load the same folder (random weights, bench.gpu_sections.sd_build) with the
same scheduler (the model's own), prompt, size, steps, CFG and CPU generator. Each side
is timed alone (the other's pipeline released first), so its peak VRAM is its own.
`it/s` is denoising steps per second of the whole picture: text encoding and the VAE
decode are inside the time, as a user waits for them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from bench.gpu_sections.harness import Check
from bench.gpu_sections.sd_build import build_sd_folder

PROMPT, NEGATIVE, SEED, CFG = "a lighthouse on a cliff at dusk", "blurry", 3, 7.0


def sd15_speed(check: Check) -> None:
    sizes = check.sizes
    folder = _model(check, "sd15")
    app_s, dtype = _app_speed(check, folder, sizes.sd_side, sizes.sd_steps)
    check.peak("sd15_app")
    check.reset_peak()  # the bare side runs in the precision the app chose
    try:
        bare_s = check.median_s(lambda: _bare(check, folder, sizes.sd_side, sizes.sd_steps, dtype))
        check.peak("sd15_diffusers")
    finally:
        _release_bare()
    check.note(f"sd15: {sizes.sd_side}² x {sizes.sd_steps} steps, {_name(dtype)}")
    check.emit("sd15_app", sizes.sd_steps / app_s, "it/s")
    check.emit("sd15_diffusers", sizes.sd_steps / bare_s, "it/s")
    check.emit("sd15_app_over_diffusers", bare_s / app_s, "x", 3)  # > 1: the app is faster


def sdxl_speed(check: Check) -> None:
    sizes = check.sizes
    app_s, dtype = _app_speed(check, _model(check, "sdxl"), sizes.sdxl_side, sizes.sdxl_steps)
    check.note(f"sdxl: {sizes.sdxl_side}² x {sizes.sdxl_steps} steps, {_name(dtype)}")
    check.emit("sdxl_app", sizes.sdxl_steps / app_s, "it/s")
    check.emit("sdxl_app_picture", app_s, "s")


def sd15_fp32_pixels(check: Check) -> None:
    """The app's picture in fp32 (its runner's dtype set so) against diffusers': equal,
    or how far apart, in grey levels."""
    sizes = check.sizes
    folder = _model(check, "sd15")
    runtime = check.runtime()
    try:
        request = _request(folder, sizes.sd_side, sizes.equal_steps)
        runtime.runner_for(request).dtype = torch.float32
        result = runtime.run(request, _context()).images[0]
        if result.info["dtype"] != "float32":
            raise RuntimeError(f"the app ran in {result.info['dtype']}, not float32")
        app = result.rgb
    finally:
        runtime.close()
    try:
        bare = _bare(check, folder, sizes.sd_side, sizes.equal_steps, torch.float32)[0]
    finally:
        _release_bare()
    diff = np.abs(app.astype(np.int16) - bare.astype(np.int16))
    check.emit("sd15_fp32_max_diff_vs_diffusers", int(diff.max()), "levels", 0)
    check.emit("sd15_fp32_equal_pixels_vs_diffusers", 100 * float((diff == 0).mean()), "%", 3)


# ---------------------------------------------------------------- the two sides


def _model(check: Check, family: str) -> Path:
    folder = check.work / family
    if not folder.is_dir():
        build_sd_folder(family, folder, check.device, check.sizes.tiny)
    return folder


def _request(folder: Path, side: int, steps: int):
    from engine.api.kinds import Family
    from engine.api.parts import ModelRef, Prompt, Sampling, Size
    from engine.api.requests import Txt2ImgRequest

    return Txt2ImgRequest(
        model=ModelRef(Family.SD, str(folder)),
        prompt=Prompt(PROMPT, NEGATIVE),
        size=Size(side, side),
        sampling=Sampling(steps=steps, cfg_scale=CFG, seed=SEED),
        save=False,
    )


def _context():
    from engine.context import JobContext

    return JobContext(0)  # live previews on, as in the app's window


def _app_speed(check: Check, folder: Path, side: int, steps: int) -> tuple[float, torch.dtype]:
    """Seconds a picture through the app, and the precision its recipe says it ran in."""
    runtime = check.runtime()
    try:
        request = _request(folder, side, steps)
        seen: dict = {}
        seconds = check.median_s(
            lambda: seen.update(result=runtime.run(request, _context()).images[0])
        )
    finally:
        runtime.close()
    return seconds, getattr(torch, seen["result"].info["dtype"])


def _bare(check: Check, folder: Path, side: int, steps: int, dtype: torch.dtype) -> np.ndarray:
    from bench.baselines import bare_diffusers_txt2img

    return bare_diffusers_txt2img(
        folder,
        prompt=PROMPT,
        negative_prompt=NEGATIVE,
        width=side,
        height=side,
        steps=steps,
        cfg_scale=CFG,
        seed=SEED,
        device=check.device,
        dtype=dtype,
    )


def _name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _release_bare() -> None:
    from bench.baselines import load_bare_pipeline

    load_bare_pipeline.cache_clear()
