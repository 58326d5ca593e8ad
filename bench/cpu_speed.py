"""The CPU's numeric paths on the full-size SD 1.5 architecture (random weights from the
bundled config, so the numbers are about speed and numerical drift, not about pictures).

    python -m bench.cpu_speed            everything (about 9 minutes on an idle 2-core machine)
    python -m bench.cpu_speed unet       one UNet evaluation per path, drift, decoded PSNR
    python -m bench.cpu_speed e2e        a 512² 4-step LCM picture: app default vs bare
                                         diffusers fp32, time and peak resident memory
    python -m bench.cpu_speed fast       fp32 channels-last, torch.compile (inductor, with
                                         and without freezing), OpenVINO: warm-up, median
                                         seconds per evaluation, ratio and relative error
                                         against eager fp32 in the same interpreter
    ... --small                          a narrow UNet and VAE (checks the script itself)
    ... --repeats N                      evaluations per path in `fast` (default 3)

Prints `name: value unit` lines. Each end-to-end side and each fast path runs in its own
interpreter, so each peak resident memory is that job's alone and no path warms
another's caches. `fast` is not part of `all`: torch.compile's warm-up on the full UNet
takes minutes on 2 cores. OpenVINO is not a dependency: a path whose library is missing
is skipped with one line (`PYTHONPATH=<a folder with openvino> python -m ...` runs it).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("LATENTSTUDIO_CACHE_DIR", tempfile.mkdtemp(prefix="bench-cache-"))

SMALL = "--small" in sys.argv
SMALL_WIDTHS = {"unet": [32, 64, 64, 64], "vae": [32, 32, 64, 64]}


def _config(component: str) -> dict:
    from engine.resources import SD_CONFIG_DIR

    config = json.loads((SD_CONFIG_DIR / "sd15" / component / "config.json").read_text())
    if SMALL:
        config["block_out_channels"] = SMALL_WIDTHS[component]
        config["norm_num_groups"] = 16 if component == "vae" else 32
    return config


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _line(name: str, value: float | str, unit: str = "") -> None:
    text = f"{value:.3f}" if isinstance(value, float) else value
    print(f"{name}: {text} {unit}".rstrip(), flush=True)


# ---------------------------------------------------------------- one UNet evaluation


def unet_table() -> None:
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel

    from engine.cpu_path import this_cpu

    cpu, features = this_cpu()
    _line("cpu", f"{cpu} ({features.label}, torch {torch.backends.cpu.get_cpu_capability()})")
    _line("threads", float(torch.get_num_threads()))
    torch.manual_seed(0)
    unet = UNet2DConditionModel.from_config(_config("unet")).eval()
    latents = torch.randn(2, 4, 64, 64)  # 512², batch 2 for classifier-free guidance
    text = torch.randn(2, 77, 768)
    t = torch.tensor(500)

    def evaluate(model, dtype, layout=torch.contiguous_format, autocast=False):
        x = latents.to(dtype).contiguous(memory_format=layout)
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=autocast):
            start = time.perf_counter()
            out = model(x, t, encoder_hidden_states=text.to(dtype)).sample
            return time.perf_counter() - start, out.float()

    seconds, reference = evaluate(unet, torch.float32)
    _line("unet fp32 (bare diffusers)", seconds, "s")
    results = {}
    results["bf16 autocast"] = evaluate(unet, torch.float32, autocast=True)
    results["fp32 channels-last"] = evaluate(
        unet.to(memory_format=torch.channels_last), torch.float32, torch.channels_last
    )
    bf16 = unet.to(torch.bfloat16, memory_format=torch.contiguous_format)
    results["bf16 weights"] = evaluate(bf16, torch.bfloat16)
    results["bf16 weights channels-last"] = evaluate(
        bf16.to(memory_format=torch.channels_last), torch.bfloat16, torch.channels_last
    )
    for name, (took, out) in results.items():
        drift = float((out - reference).norm() / reference.norm())
        _line(f"unet {name}", took, f"s ({seconds / took:.2f}x fp32, rel. error {drift:.2%})")
    _decoded_psnr(AutoencoderKL, latents, reference, results["bf16 weights"][1])


def _decoded_psnr(vae_class, latents, eps_fp32, eps_bf16) -> None:
    """The one-step denoised latents (x0 = x - 0.5 eps) of each path, decoded by that
    path's VAE at 512², compared as 8-bit pictures."""
    import numpy as np
    import torch

    torch.manual_seed(1)
    vae = vae_class.from_config(_config("vae")).eval()
    pictures = []
    for dtype, eps in ((torch.float32, eps_fp32), (torch.bfloat16, eps_bf16)):
        x0 = (latents[:1] - 0.5 * eps[:1]) / vae.config.scaling_factor
        start = time.perf_counter()
        with torch.inference_mode():
            image = vae.to(dtype).decode(x0.to(dtype)).sample.float()
        _line(
            f"vae decode 512² {str(dtype).removeprefix('torch.')}", time.perf_counter() - start, "s"
        )
        pictures.append(((image.clamp(-1, 1) + 1) * 127.5).round().numpy())
    mse = float(np.mean((pictures[0] - pictures[1]) ** 2))
    psnr = 10 * np.log10(255**2 / mse) if mse else float("inf")
    _line("decoded 512² bf16 vs fp32 PSNR", float(psnr), "dB")


# ---------------------------------------------------------------- end to end


def write_model(folder: Path) -> None:
    """A full-size SD 1.5 diffusers folder with random weights and an LCM scheduler."""
    import torch
    from diffusers import AutoencoderKL, LCMScheduler, StableDiffusionPipeline
    from diffusers import UNet2DConditionModel as Unet
    from transformers import CLIPTextConfig, CLIPTextModel

    from engine.models.sd.tiny import load_clip_tokenizer
    from engine.resources import SD_CONFIG_DIR

    torch.manual_seed(0)
    sd15 = SD_CONFIG_DIR / "sd15"
    scheduler = json.loads((sd15 / "scheduler" / "scheduler_config.json").read_text())
    text = CLIPTextConfig.from_pretrained(sd15 / "text_encoder")
    pipe = StableDiffusionPipeline(
        vae=AutoencoderKL.from_config(_config("vae")),
        text_encoder=CLIPTextModel(text),
        tokenizer=load_clip_tokenizer(),
        unet=Unet.from_config(_config("unet")),
        scheduler=LCMScheduler.from_config(scheduler),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder, safe_serialization=True)
    for name in ("vocab.json", "merges.txt"):
        from engine.resources import CLIP_TOKENIZER_DIR

        shutil.copyfile(CLIP_TOKENIZER_DIR / name, folder / "tokenizer" / name)


STEPS, SIDE, PROMPT = 4, 512, "a lighthouse at dusk"


def side_app(folder: Path) -> None:
    from engine.api.kinds import Family
    from engine.api.parts import ModelRef, Prompt, Sampling, Size
    from engine.api.requests import Txt2ImgRequest
    from engine.context import JobContext
    from engine.runtime import Runtime

    start = time.perf_counter()
    runtime = Runtime(device_preference="cpu", precision="auto")
    request = Txt2ImgRequest(
        model=ModelRef(Family.SD, str(folder)),
        prompt=Prompt(PROMPT, ""),
        size=Size(SIDE, SIDE),
        sampling=Sampling(steps=STEPS, cfg_scale=1.0, sampler=None, seed=1),
    )
    image = runtime.run(request, JobContext(1, previews=False)).images[0]
    print(json.dumps([time.perf_counter() - start, _peak_mb(), image.info["precision"]]))


def side_bare(folder: Path) -> None:
    import torch
    from diffusers import StableDiffusionPipeline

    start = time.perf_counter()
    pipe = StableDiffusionPipeline.from_pretrained(
        str(folder), dtype=torch.float32, safety_checker=None, requires_safety_checker=False
    )
    pipe.set_progress_bar_config(disable=True)
    pipe(
        PROMPT,
        width=SIDE,
        height=SIDE,
        num_inference_steps=STEPS,
        guidance_scale=1.0,
        generator=torch.Generator().manual_seed(1),
        output_type="np",
    )
    print(json.dumps([time.perf_counter() - start, _peak_mb(), "fp32"]))


def end_to_end() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-sd15-")) / "model"
    try:
        subprocess.run(_command("write", folder), check=True)
        runs = {}
        # The app's second run finds the model's sha256 (for the recipe) in its cache.
        for name, side in (("bare", "bare"), ("app", "app"), ("app again", "app")):
            run = subprocess.run(_command(side, folder), check=True, capture_output=True, text=True)
            runs[name] = json.loads(run.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)
    (bare_s, bare_mb, _), (app_s, app_mb, precision) = runs["bare"], runs["app"]
    what = f"{SIDE}² {STEPS}-step LCM, load included"
    _line(f"e2e bare diffusers fp32 ({what})", bare_s, "s")
    _line(f"e2e app default, {precision} ({what})", app_s, f"s ({bare_s / app_s:.2f}x bare)")
    again_s, again_mb, _ = runs["app again"]
    ratio = f"s ({bare_s / again_s:.2f}x bare)"
    _line(f"e2e app default, {precision}, model hash already cached", again_s, ratio)
    _line("e2e peak resident memory bare diffusers", bare_mb, "MB")
    _line("e2e peak resident memory app", app_mb, "MB")
    _line("e2e peak resident memory app, hash cached", again_mb, "MB")


def _command(part: str, argument: Path | str) -> list[str]:
    small = ["--small"] if SMALL else []
    return [sys.executable, "-m", "bench.cpu_speed", part, str(argument), *small, *_repeats()]


def _repeats() -> list[str]:
    at = sys.argv.index("--repeats") if "--repeats" in sys.argv else -1
    return sys.argv[at : at + 2] if at >= 0 else []


def _repeat_count() -> int:
    given = _repeats()
    return int(given[1]) if len(given) == 2 else 3


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--") and not a.isdigit()]
    what = args[0] if args else "all"
    if what in ("write", "app", "bare"):
        {"write": write_model, "app": side_app, "bare": side_bare}[what](Path(args[1]))
        return
    if what == "path":
        from bench.cpu_fast_paths import one_path

        one_path(args[1], _config("unet"), _repeat_count())
        return
    _line("load average (1 min)", os.getloadavg()[0])
    if what in ("all", "unet"):
        unet_table()
    if what in ("all", "e2e"):
        end_to_end()
    if what == "fast":
        from bench.cpu_fast_paths import PATHS

        # A fresh inductor cache: "compile" pays the whole warm-up, "compile again" finds
        # its graphs on disk (as the app's second run would); none is another run's.
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-inductor-")
        for path in PATHS:
            subprocess.run(_command("path", path), check=True)
    _line("load average (1 min), at the end", os.getloadavg()[0])


if __name__ == "__main__":
    main()
