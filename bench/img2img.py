"""Image to image on Stable Diffusion against bare diffusers (issue 21).

- `img2img_overhead_ratio`: the app's img2img job (a 256² source, strength 0.5 of 20
  steps, so 10 run; source read and checked, the img2img pipeline built from the cached
  pipeline's components, the result saved to a gallery) against a bare diffusers
  StableDiffusionImg2ImgPipeline call on the same tiny SD 1.x folder with the same
  arguments, interleaved, ratio of medians. Should be at most 1.05.
- `hires_job`: a hires-fix job (256² → ×1.5 Lanczos, 10 of 20 steps) for reference.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("LATENTSTUDIO_CACHE_DIR", tempfile.mkdtemp(prefix="bench-cache-"))

RUNS = 5
SIDE, STEPS, STRENGTH = 256, 20, 0.5


def main() -> None:
    import time

    import torch
    from diffusers import StableDiffusionImg2ImgPipeline
    from PIL import Image

    from bench.timing import interleaved_medians
    from engine.api.image_parts import Hires, SourceImage
    from engine.api.kinds import Family
    from engine.api.parts import ImageRef, ModelRef, Prompt, Sampling, Size
    from engine.api.requests import Txt2ImgRequest
    from engine.context import JobContext
    from engine.runtime import Runtime
    from engine.store import GalleryStore
    from tests.sd_original_layout import save_folder, tiny_pipeline
    from tests.upscalers import photo_like, write_png

    work = Path(tempfile.mkdtemp(prefix="bench-img2img-"))
    folder = save_folder(tiny_pipeline("sd1", seed=0), work / "tiny-sd1")
    source = write_png(work / "source.png", photo_like(SIDE, SIDE))
    bare = StableDiffusionImg2ImgPipeline.from_pretrained(str(folder), local_files_only=True)
    bare.set_progress_bar_config(disable=True)
    store = GalleryStore(work / "out")
    runtime = Runtime(store=lambda: store, device_preference="cpu")
    request = Txt2ImgRequest(
        model=ModelRef(Family.SD, str(folder)),
        prompt=Prompt("a lighthouse at dusk"),
        size=Size(SIDE, SIDE),
        sampling=Sampling(steps=STEPS, seed=3),
        source=SourceImage(ImageRef(str(source), ""), STRENGTH),
    )
    picture = Image.open(source).convert("RGB")

    def app_job() -> None:
        runtime.run(request, JobContext(1))

    def bare_job() -> None:
        bare(
            prompt="a lighthouse at dusk",
            image=picture,
            strength=STRENGTH,
            num_inference_steps=STEPS,
            guidance_scale=7.0,
            generator=[torch.Generator("cpu").manual_seed(3)],
            output_type="np",
        )

    try:
        app, plain = interleaved_medians(app_job, bare_job, RUNS)
        print(f"img2img_app_job: {app:.3f} s")
        print(f"img2img_bare_diffusers: {plain:.3f} s")
        print(f"img2img_overhead_ratio: {app / plain:.3f} x", flush=True)
        hires = Txt2ImgRequest(
            model=request.model,
            prompt=request.prompt,
            size=request.size,
            sampling=request.sampling,
            hires=Hires(scale=1.5, steps=STEPS, denoise=0.5),
        )
        started = time.perf_counter()
        runtime.run(hires, JobContext(2))
        print(f"hires_job: {time.perf_counter() - started:.3f} s", flush=True)
    finally:
        runtime.close()


if __name__ == "__main__":
    main()
