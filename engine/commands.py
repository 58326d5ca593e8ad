"""The command line: a table of subcommands, each an argument list and what it runs.

Torch-free, so `main.py` can build its parser without paying for torch; job commands
turn their arguments into a request and run it through engine.cli, the same runtime as
the app, without Qt. Adding a command is one entry in COMMANDS.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass

from engine.api.catalogue import family_of
from engine.api.kinds import Family
from engine.api.limits import random_seed
from engine.api.parts import DatasetRef, ModelRef, Prompt, Sampling, Size, Training
from engine.api.requests import Request, SampleRequest, TrainRequest, Txt2ImgRequest

DEVICES = ("auto", "cuda", "mps", "cpu")


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


def _seed(args: argparse.Namespace) -> int:
    return random_seed() if args.seed is None else args.seed


def _device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", choices=DEVICES)


def _out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="output (gallery) folder")


# ---------------------------------------------------------------- generate


def _generate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="a diffusers model folder")
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--negative", default="")
    parser.add_argument("--seed", type=int, default=None, help="default: random")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--cfg", type=float, default=7.0)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--height", type=int, default=512)
    parser.add_argument("--sampler", default=None, help="default: the model's own scheduler")
    parser.add_argument("--batch", type=int, default=1)
    _out(parser)
    _device(parser)


def _generate_request(args: argparse.Namespace) -> Request:
    return Txt2ImgRequest(
        model=ModelRef(Family.SD, args.model),
        prompt=Prompt(args.prompt, args.negative),
        size=Size(args.width, args.height),
        sampling=Sampling(args.steps, args.cfg, args.sampler, _seed(args)),
        batch_size=args.batch,
    )


# ---------------------------------------------------------------- sample


def _sample_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="vae-digits", help="a bundled name or a model file")
    parser.add_argument("--seed", type=int, default=None, help="default: random")
    parser.add_argument("--count", type=int, default=16)
    _out(parser)
    _device(parser)


def _sample_request(args: argparse.Namespace) -> Request:
    family = family_of(args.model) or Family.VAE
    return SampleRequest(model=ModelRef(family, args.model), seed=_seed(args), count=args.count)


# ---------------------------------------------------------------- train


def _train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="vae", choices=("vae",), help="the family to train")
    parser.add_argument("--data", default="digits", help="a bundled data set")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default=None, help="file name (default: <family>-<data>)")
    _out(parser)
    _device(parser)


def _train_request(args: argparse.Namespace) -> Request:
    name = args.name or f"{args.model}-{args.data}-trained"
    output = f"{args.out.rstrip('/')}/{name}.safetensors" if args.out.strip() else ""
    return TrainRequest(
        family=Family(args.model),
        preset=args.data,
        dataset=DatasetRef(args.data),
        training=Training(args.steps, args.batch, args.lr, args.seed, checkpoint_every=500),
        output=output,
    )


# ---------------------------------------------------------------- gallery


def _gallery_arguments(parser: argparse.ArgumentParser) -> None:
    _out(parser)
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--check", action="store_true", help="report what the index and the folder disagree on"
    )
    what.add_argument(
        "--rebuild", action="store_true", help="read every image again into the index"
    )


def _gallery(args: argparse.Namespace) -> int:
    from engine.cli import run_gallery

    return run_gallery(args)


COMMANDS: tuple[Command, ...] = (
    Command(
        "generate", "Stable Diffusion text-to-image", _generate_arguments, job(_generate_request)
    ),
    Command(
        "sample", "samples from a classic generative model", _sample_arguments, job(_sample_request)
    ),
    Command("train", "train a classic generative model", _train_arguments, job(_train_request)),
    Command(
        "gallery", "list the gallery, check its index, or rebuild it", _gallery_arguments, _gallery
    ),
)


class OneLineErrors(argparse.ArgumentParser):
    """argparse, but a usage error is one `error: …` line (with the command to get help)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def build_parser(description: str = "") -> argparse.ArgumentParser:
    parser = OneLineErrors(prog="latent-studio", description=description)
    parser.add_argument("--selftest", action="store_true", help="run the offline self-test")
    sub = parser.add_subparsers(dest="command", parser_class=OneLineErrors)
    for command in COMMANDS:
        command.add_arguments(sub.add_parser(command.name, help=command.help))
    return parser


def command(name: str) -> Command:
    return next(c for c in COMMANDS if c.name == name)
