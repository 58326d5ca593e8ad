"""What every subcommand shares: the Command record, running one job, and the arguments
most commands take (--seed, --device, --out)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from engine.api.limits import random_seed
from engine.api.requests import Request

DEVICES = ("auto", "cuda", "mps", "cpu")
PRECISIONS = ("auto", "fp32", "bf16")  # engine.cpu_path.PRECISION_CHOICES (no torch here)


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def job(
    build_request: Callable[[argparse.Namespace], Request],
) -> Callable[[argparse.Namespace], int]:
    """A command that runs one engine job."""

    def run(args: argparse.Namespace) -> int:
        from engine.cli import run_job

        return run_job(lambda: build_request(args), args)

    return run


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
