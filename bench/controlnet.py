"""ControlNet units on Stable Diffusion against bare diffusers (issue 22).

- `controlnet_overhead_ratio`: the app's text-to-image job with one ControlNet unit (a
  256² control image, preprocessor "none", 20 steps; image read and checked, the
  ControlNet pipeline built from the cached pipeline's components, the result saved)
  against a bare StableDiffusionControlNetPipeline call on the same tiny SD 1.x folder
  and ControlNet, interleaved, ratio of medians. Should be at most 1.05.
- `controlnet_unit_2_cost`, `controlnet_unit_3_cost`: each extra unit's time over one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("LATENTSTUDIO_CACHE_DIR", tempfile.mkdtemp(prefix="bench-cache-"))

RUNS = 5
SIDE, STEPS = 256, 20


def main() -> None:
    import time

    import torch
    from diffusers import ControlNetModel, StableDiffusionControlNetPipeline
    from PIL import Image

    from bench.timing import interleaved_medians
    from engine.api.image_parts import ControlUnit
    from engine.api.kinds import Family
    from engine.api.parts import ImageRef, ModelRef, Prompt, Sampling, Size
    from engine.api.requests import Txt2ImgRequest
    from engine.context import JobContext
    from engine.runtime import Runtime
    from engine.store import GalleryStore
    from tests.sd_original_layout import save_folder, tiny_pipeline
    from tests.upscalers import photo_like, write_png

    work = Path(tempfile.mkdtemp(prefix="bench-controlnet-"))
    pipe = tiny_pipeline("sd1", seed=0)
    folder = save_folder(pipe, work / "tiny-sd1")
    nets = []
    for i in range(3):
        torch.manual_seed(i)
        net = work / f"cn-{i}"
        ControlNetModel.from_unet(pipe.unet).save_pretrained(str(net))
        nets.append(net)
    image = write_png(work / "map.png", photo_like(SIDE, SIDE))
    controlnet = ControlNetModel.from_pretrained(str(nets[0]))
    bare = StableDiffusionControlNetPipeline.from_pretrained(str(folder), controlnet=controlnet)
    bare.set_progress_bar_config(disable=True)
    store = GalleryStore(work / "out")
    runtime = Runtime(store=lambda: store, device_preference="cpu")

    def request(count: int) -> Txt2ImgRequest:
        units = tuple(
            ControlUnit(ModelRef(Family.SD, str(net)), ImageRef(str(image), ""))
            for net in nets[:count]
        )
        return Txt2ImgRequest(
            model=ModelRef(Family.SD, str(folder)),
            prompt=Prompt("a lighthouse at dusk"),
            size=Size(SIDE, SIDE),
            sampling=Sampling(steps=STEPS, seed=3),
            control=units,
        )

    picture = Image.open(image).convert("RGB")

    def bare_job() -> None:
        bare(
            prompt="a lighthouse at dusk",
            image=picture,
            width=SIDE,
            height=SIDE,
            num_inference_steps=STEPS,
            guidance_scale=7.0,
            generator=[torch.Generator("cpu").manual_seed(3)],
            output_type="np",
        )

    try:
        one = request(1)
        app, plain = interleaved_medians(lambda: runtime.run(one, JobContext(1)), bare_job, RUNS)
        print(f"controlnet_app_job: {app:.3f} s")
        print(f"controlnet_bare_diffusers: {plain:.3f} s")
        print(f"controlnet_overhead_ratio: {app / plain:.3f} x", flush=True)
        for count in (2, 3):
            runtime.run(request(count), JobContext(count))  # load the extra unit first
            started = time.perf_counter()
            runtime.run(request(count), JobContext(count))
            extra = (time.perf_counter() - started - app) / (count - 1)
            print(f"controlnet_unit_{count}_cost: {extra:.3f} s", flush=True)
    finally:
        runtime.close()


if __name__ == "__main__":
    main()
