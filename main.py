"""Latent Studio: the desktop app, and the same work from a terminal.

    python main.py                      open the app
    python main.py generate ...         Stable Diffusion text-to-image
    python main.py sample ...           samples from a classic model (the bundled VAE)
    python main.py --selftest           one classic and one tiny Stable Diffusion job, offline

The command-line paths print one JSON line per image written and exit non-zero with a
one-line error on bad input.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before any hugging-face import, always

import argparse  # noqa: E402
import sys  # noqa: E402


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="latent-studio", description=__doc__.split("\n")[0])
    parser.add_argument("--selftest", action="store_true", help="run the offline self-test")
    sub = parser.add_subparsers(dest="command")

    gen = sub.add_parser("generate", help="Stable Diffusion text-to-image")
    gen.add_argument("--model", required=True, help="a diffusers model folder")
    gen.add_argument("--prompt", required=True)
    gen.add_argument("--negative", default="")
    gen.add_argument("--seed", type=int, default=None, help="default: random")
    gen.add_argument("--steps", type=int, default=20)
    gen.add_argument("--cfg", type=float, default=7.0)
    gen.add_argument("--width", type=int, default=512)
    gen.add_argument("--height", type=int, default=512)
    gen.add_argument("--sampler", default=None, help="default: the model's own scheduler")
    gen.add_argument("--batch", type=int, default=1)
    gen.add_argument("--out", required=True, help="output (gallery) folder")
    gen.add_argument("--device", default="auto", choices=("auto", "cuda", "mps", "cpu"))

    sample = sub.add_parser("sample", help="samples from a classic generative model")
    sample.add_argument("--model", default="vae-digits")
    sample.add_argument("--seed", type=int, default=None, help="default: random")
    sample.add_argument("--count", type=int, default=16)
    sample.add_argument("--out", required=True, help="output (gallery) folder")
    sample.add_argument("--device", default="auto", choices=("auto", "cuda", "mps", "cpu"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.selftest:
        from engine.selftest import run_selftest

        return run_selftest()
    if args.command is None:
        from gui.app import run_app

        return run_app()
    from engine.cli import run_command

    return run_command(args)


if __name__ == "__main__":
    sys.exit(main())
