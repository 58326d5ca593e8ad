"""The arguments most commands take (--seed, --device, --out). Plain argparse: a batch
file's reader and the GUI's batch dialog use them without the job runner (engine.cli_job)."""

from __future__ import annotations

import argparse

from engine.api.limits import random_seed

DEVICES = ("auto", "cuda", "mps", "cpu")
PRECISIONS = ("auto", "fp32", "bf16")  # engine.cpu_path.PRECISION_CHOICES (no torch here)
OFFLOADS = ("auto", "none", "model", "sequential")  # engine.models.sd.offload.OFFLOAD_CHOICES


def seed_of(args: argparse.Namespace) -> int:
    return random_seed() if args.seed is None else args.seed


def device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device", default="auto", choices=DEVICES, help="where to run (auto: CUDA if present)"
    )
    parser.add_argument(
        "--precision",
        default=None,
        choices=PRECISIONS,
        help="Stable Diffusion's numbers: auto (bf16 where this CPU computes it faster), "
        "fp32 (full precision, reproducible across CPUs) or bf16",
    )
    parser.add_argument(
        "--offload",
        default="auto",
        choices=OFFLOADS,
        help="CUDA: keep Stable Diffusion's weights on the GPU (none) or offload them to "
        "the CPU one model (model) or one layer (sequential) at a time; auto: from the "
        "GPU's free memory. The same pixels, slower",
    )
    parser.add_argument(
        "--compile",
        action="store_true",
        help="CPU: compile Stable Diffusion's UNet with torch.compile (about 1.4x faster "
        "per step on the CPU measured; the first picture waits minutes for the compile, "
        "kept in the cache folder for later starts; within float rounding of uncompiled)",
    )


def out_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="output (gallery) folder")
