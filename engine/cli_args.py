"""The arguments most commands take (--seed, --device, --out). Plain argparse: a batch
file's reader and the GUI's batch dialog use them without the job runner (engine.cli_job)."""

from __future__ import annotations

import argparse

from engine.api.limits import random_seed

DEVICES = ("auto", "cuda", "mps", "cpu")
PRECISIONS = ("auto", "fp32", "bf16")  # engine.cpu_path.PRECISION_CHOICES (no torch here)


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


def out_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="output (gallery) folder")
