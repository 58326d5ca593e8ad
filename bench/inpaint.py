"""Inpainting: "only masked" against "whole picture" on a large source (issue 21).

A 2048² source with a 256² mask, drawn at the model's size (512²) both ways with the tiny
SD 1.x model (engine/models/sd/tiny.py), interleaved, medians:
- `inpaint_only_masked`: the mask's box plus 32 px padding cropped, drawn at 512², pasted
  back; `inpaint_only_masked_unet_side` is the UNet's latent side it ran at.
- `inpaint_whole_picture`: the whole 2048² source resized to 512², drawn, resized back.
- `inpaint_masked_vs_whole_ratio`: their ratio. Only masked must never run the UNet on
  the 2048² image (its latent side would be 256): the UNet side printed shows it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("LATENTSTUDIO_CACHE_DIR", tempfile.mkdtemp(prefix="bench-cache-"))

SOURCE_SIDE = 2048
MASK_SIDE = 256
MODEL_SIDE = 512
STEPS = 10
RUNS = 3


def main() -> None:
    import numpy as np
    import torch

    from bench.timing import interleaved_medians
    from engine.api.image_parts import Mask
    from engine.api.parts import ImageRef
    from engine.models.sd import inpaint
    from engine.models.sd.loading import load_sd_pipeline, locate_sd_model
    from engine.models.sd.tiny import build_tiny_pipeline

    folder = build_tiny_pipeline(Path(tempfile.mkdtemp(prefix="bench-inpaint-")) / "tiny")
    pipe = load_sd_pipeline(locate_sd_model(folder), "cpu", torch.float32)
    rng = np.random.default_rng(0)
    source = rng.integers(0, 256, (SOURCE_SIDE, SOURCE_SIDE, 3), dtype=np.uint8)
    mask = np.zeros((SOURCE_SIDE, SOURCE_SIDE), dtype=np.uint8)
    corner = (SOURCE_SIDE - MASK_SIDE) // 2
    mask[corner : corner + MASK_SIDE, corner : corner + MASK_SIDE] = 255
    sides: dict[str, set[int]] = {"masked": set(), "whole": set()}
    current = {"area": "masked"}
    pipe.unet.register_forward_pre_hook(
        lambda _m, args: sides[current["area"]].add(int(args[0].shape[-1]))
    )

    def job(area: str):
        def run() -> None:
            current["area"] = area
            denoise = inpaint.Denoise(
                prompt={"prompt": "a photo of a cat"},
                width=MODEL_SIDE,
                height=MODEL_SIDE,
                steps=STEPS,
                cfg_scale=7.0,
                strength=0.75,
                generators=[torch.Generator("cpu").manual_seed(1)],
                seed=1,
            )
            options = Mask(ImageRef("/mask.png", ""), area=area, padding=32)
            inpaint.inpaint(pipe, source, mask, options, denoise)

        return run

    masked, whole = interleaved_medians(job("masked"), job("whole"), RUNS)
    print(f"inpaint_only_masked: {masked:.3f} s")
    print(f"inpaint_only_masked_unet_side: {max(sides['masked'])} latent px")
    print(f"inpaint_whole_picture: {whole:.3f} s")
    print(f"inpaint_whole_picture_unet_side: {max(sides['whole'])} latent px")
    print(f"inpaint_masked_vs_whole_ratio: {masked / whole:.3f} x", flush=True)


if __name__ == "__main__":
    main()
