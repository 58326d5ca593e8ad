"""The upscale runner: read the image, the model's pass tile by tile, then the exact size.

The model's pass enlarges by its own factor; any other factor is reached with a Lanczos
resize of its output (×3 with an ×4 model: the ×4 pass, then down to ×3). Transparency
does not go through the model: the alpha channel is resized with Lanczos. Out of memory
halves the tile and tries again, down to 32 pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from engine.api.catalogue import RESAMPLERS, is_resampler, model_path
from engine.api.errors import BadInput, is_out_of_memory, out_of_memory
from engine.api.events import Progress
from engine.api.kinds import Family, Task
from engine.api.outcomes import ImagesOutcome, ResultImage, VectorsOutcome
from engine.api.requests import DescribeModelRequest, UpscaleRequest
from engine.cache import CacheKey, FileIdentity
from engine.context import JobContext
from engine.device import available_bytes, dtype_name, inference_dtype, release_cached_memory
from engine.models.common.source_image import SourceImage, read_source
from engine.models.upscale.files import Upscaler, check_scale, load_upscaler
from engine.models.upscale.tiling import CPU_TILE, tile_count, upscale_tiled
from engine.registry import RunnerEnv, runner

MIN_TILE = 32
_RESAMPLE = {"lanczos": Image.Resampling.LANCZOS, "bicubic": Image.Resampling.BICUBIC}


@dataclass(frozen=True)
class Pass:
    """What the model's pass did, for the recipe."""

    rgb: np.ndarray
    tile: int  # the tile size that worked (0: whole image)


@runner(task=Task.UPSCALE, family=Family.UPSCALE)
class UpscaleRunner:
    def __init__(self, env: RunnerEnv) -> None:
        self.env = env
        self.dtype = inference_dtype(env.device, Family.UPSCALE)

    def run(self, request: UpscaleRequest, ctx: JobContext) -> ImagesOutcome:
        ctx.phase = "reading the image"
        ctx.report(0, 1, message="Reading the image…")
        source = read_source(Path(request.image.path).expanduser(), request.allow_large)
        if request.image.sha256 and request.image.sha256 != source.sha256:
            raise BadInput(
                f"{Path(request.image.path).name} has changed since this recipe was made "
                "(its contents differ), so the result would not be the same image."
            )
        ctx.check_cancelled()
        if is_resampler(request.model):
            rgb, info = self._resample(request, source)
        else:
            rgb, info = self._model_pass(request, source, ctx)
        ctx.check_cancelled()
        rgba = _with_alpha(rgb, source.alpha)
        info |= {
            "parent": {"path": request.image.path, "sha256": source.sha256},
            "source_size": [source.width, source.height],
            "notes": list(source.notes),
        }
        return ImagesOutcome((ResultImage(rgba, seed=None, info=info),))

    # ------------------------------------------------------------ plain resampling

    def _resample(self, request: UpscaleRequest, source: SourceImage):
        name = request.model.id
        if not request.scale:
            raise BadInput(f"{RESAMPLERS[name]} has no factor of its own: choose ×2, ×4 or any.")
        size = target_size(source, request.scale)
        rgb = np.asarray(Image.fromarray(source.rgb).resize(size, _RESAMPLE[name]))
        info = {"model": name, "family": Family.UPSCALE.value, "scale": request.scale}
        return rgb, info

    # ------------------------------------------------------------ a model's pass

    def _model_pass(self, request: UpscaleRequest, source: SourceImage, ctx: JobContext):
        upscaler, path = self._load(request, ctx)
        check_scale(upscaler, request.scale, request.model.name)
        scale = request.scale or upscaler.scale
        ctx.restart_clock()
        ctx.phase = "upscaling"
        done = self._run_tiles(upscaler, source, self._first_tile(request, upscaler), ctx)
        rgb = done.rgb
        if scale != upscaler.scale:
            rgb = np.asarray(Image.fromarray(rgb).resize(target_size(source, scale), _LANCZOS))
        info = self._info(request, path, ctx) | {
            "architecture": upscaler.architecture,
            "model_scale": upscaler.scale,
            "scale": scale,
            "tile": done.tile,
        }
        return rgb, info

    def _load(self, request: UpscaleRequest, ctx: JobContext) -> tuple[Upscaler, Path]:
        return load_cached(self.env, request.model, ctx, self.dtype)

    def _first_tile(self, request: UpscaleRequest, upscaler: Upscaler) -> int:
        if request.tile >= 0:
            return request.tile
        if upscaler.tiling_discouraged:
            return 0  # the architecture needs the whole image (spandrel says so)
        return auto_tile(self.env.device.device, self.env.device)

    def _run_tiles(
        self, upscaler: Upscaler, source: SourceImage, tile: int, ctx: JobContext
    ) -> Pass:
        height, width = source.height, source.width
        while True:
            try:
                return Pass(self._pass(upscaler, source, tile, ctx), tile)
            except Exception as exc:
                if not is_out_of_memory(exc):
                    raise
            # Out here the exception's frames (which pin tensors) are gone.
            release_cached_memory(self.env.device.device)
            tile = (tile or max(height, width)) // 2
            if tile < MIN_TILE:
                raise out_of_memory(self.env.device.device, "upscaling, even in small tiles")
            ctx.emit(
                Progress(ctx.job_id, 0, 1, message=f"Out of memory: trying tiles of {tile} px…")
            )

    def _pass(self, upscaler: Upscaler, source: SourceImage, tile: int, ctx: JobContext):
        model = upscaler.model
        device, dtype = self.env.device.device, _model_dtype(upscaler)
        image = torch.from_numpy(source.rgb.copy()).permute(2, 0, 1)[None]
        image = image.to(device=device, dtype=dtype).div_(255)
        total = tile_count(source.height, source.width, tile)

        def on_tile(done: int, _total: int) -> None:
            ctx.report(done, total, message=f"tile {done} of {total}")

        with torch.inference_mode():
            out = upscale_tiled(model, image, upscaler.scale, tile, on_tile=on_tile)
            return to_uint8(out)

    def _info(self, request: UpscaleRequest, path: Path, ctx: JobContext) -> dict[str, Any]:
        model_hash = self.env.hashes.wait(
            self.env.hashes.request(path), lambda: ctx.control.cancelled
        )
        return {
            "model": request.model.id,
            "model_path": str(path),
            "model_sha256": model_hash.sha256,
            "model_hash_kind": model_hash.kind,
            "family": Family.UPSCALE.value,
            "device": self.env.device.device,
            "dtype": dtype_name(self.dtype),
            "torch": torch.__version__,
        }

    def unload(self) -> None:
        pass


@runner(task=Task.DESCRIBE, family=Family.UPSCALE)
class UpscaleDescribeRunner:
    """An upscaler file's architecture and factor; the model stays cached for the job
    that usually follows."""

    def __init__(self, env: RunnerEnv) -> None:
        self.env = env
        self.dtype = inference_dtype(env.device, Family.UPSCALE)

    def run(self, request: DescribeModelRequest, ctx: JobContext) -> VectorsOutcome:
        if is_resampler(request.model):
            raise BadInput(f"{RESAMPLERS[request.model.id]} is not a model file.")
        upscaler, _path = load_cached(self.env, request.model, ctx, self.dtype)
        return VectorsOutcome(((float(upscaler.scale),),), (upscaler.architecture,))

    def unload(self) -> None:
        pass


def load_cached(env: RunnerEnv, ref, ctx: JobContext, dtype: torch.dtype) -> tuple[Upscaler, Path]:
    """The upscaler of `ref` from the model cache (one copy per file version and device)."""
    path = model_path(ref)
    half = dtype == torch.float16
    ctx.phase = "loading the model"
    ctx.report(0, 1, message="Loading model…")
    if not path.is_file():  # missing or a folder: the loader says which
        return load_upscaler(path, env.device.device, half), path
    key = CacheKey(Family.UPSCALE, FileIdentity.of(path), env.device.device, dtype_name(dtype))
    return env.cache.get(key, lambda: load_upscaler(path, env.device.device, half)), path


_LANCZOS = Image.Resampling.LANCZOS


def _model_dtype(upscaler: Upscaler) -> torch.dtype:
    return next(upscaler.model.model.parameters()).dtype


def auto_tile(device: str, choice) -> int:
    """Input pixels a side of a tile: from the free memory on CUDA, a fixed size that
    keeps an ESRGAN-sized model within a few GB on the CPU."""
    if device != "cuda":
        return CPU_TILE
    free = available_bytes(choice)
    for tile, needs in ((768, 12e9), (512, 6e9), (384, 3e9)):
        if free >= needs:
            return tile
    return 256


def target_size(source: SourceImage, scale: float) -> tuple[int, int]:
    return max(1, round(source.width * scale)), max(1, round(source.height * scale))


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) in [0, 1] to H x W x 3 uint8, rounded (not truncated)."""
    pixels = image[0].float().clamp(0, 1).mul(255).round().to(torch.uint8)
    return pixels.permute(1, 2, 0).contiguous().cpu().numpy()  # H x W x 3, as images are


def _with_alpha(rgb: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    if alpha is None:
        return np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    resized = np.asarray(Image.fromarray(alpha).resize((width, height), _LANCZOS))
    return np.ascontiguousarray(np.dstack([rgb, resized]))
