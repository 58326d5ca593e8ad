"""One side of bench.single_file's full-size load, in its own interpreter.

    python -m bench.single_file_full write PATH   a random SD 1.5 single file (fp16)
    python -m bench.single_file_full bare PATH [bf16]  diffusers' from_single_file; prints "s GB"
    python -m bench.single_file_full app PATH [bf16]   the app's loader; prints "s GB"

GB is the peak resident memory the load added: one float32 copy of SD 1.5 is 4.3 GB.
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("LATENTSTUDIO_CACHE_DIR", tempfile.mkdtemp(prefix="bench-cache-"))


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux


def write(path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    from tests.sd_original_layout import _Meta, _meta_components, _original_names

    generator = torch.Generator().manual_seed(0)
    shapes = _original_names(_Meta(_meta_components("sd15")))
    tensors = {
        name: (torch.randn(tuple(t.shape), generator=generator) * 0.02).half()
        for name, t in shapes.items()
    }
    save_file(tensors, str(path))


def bare(path: Path, precision: str = "fp32") -> None:
    import torch
    from diffusers import StableDiffusionPipeline

    from engine.resources import CLIP_TOKENIZER_DIR, SD_CONFIG_DIR

    config = Path(tempfile.mkdtemp()) / "sd15"
    shutil.copytree(SD_CONFIG_DIR / "sd15", config)
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(CLIP_TOKENIZER_DIR / name, config / "tokenizer" / name)
    before = _peak_gb()
    started = time.perf_counter()
    StableDiffusionPipeline.from_single_file(
        str(path),
        config=str(config),
        local_files_only=True,
        dtype={"fp32": torch.float32, "bf16": torch.bfloat16}[precision],
        safety_checker=None,
        requires_safety_checker=False,
    )
    print(f"{time.perf_counter() - started:.3f} {_peak_gb() - before:.3f}")


def app(path: Path, precision: str = "fp32") -> None:
    import torch
    from diffusers import StableDiffusionPipeline  # noqa: F401 - imported, as the bare side does

    from engine.models.sd.loading import load_sd_pipeline

    before = _peak_gb()
    started = time.perf_counter()
    load_sd_pipeline(path, "cpu", {"fp32": torch.float32, "bf16": torch.bfloat16}[precision])
    print(f"{time.perf_counter() - started:.3f} {_peak_gb() - before:.3f}")


if __name__ == "__main__":
    {"write": write, "bare": bare, "app": app}[sys.argv[1]](Path(sys.argv[2]), *sys.argv[3:])
