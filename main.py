"""Latent Studio: the desktop app, and the same work from a terminal.

    python main.py                      open the app
    python main.py generate ...         Stable Diffusion text-to-image
    python main.py sample ...           samples from a classic model (the bundled VAE)
    python main.py train ...            train a classic model
    python main.py interpolate ...      frames between two seeds of a VAE/GAN, and an animation
    python main.py diffuse ...          a DDPM's reverse process as a filmstrip
    python main.py models ...           the models in model folders, one JSON line each
    python main.py convert FILE.ckpt    a loadable pickled checkpoint as .safetensors
    python main.py gallery ...          list a gallery, --check its index, or --rebuild it
    python main.py --selftest           every family, a tiny SD job, an upscale, offline
    python main.py --quit-when-shown    open the window, exit once it is painted

The command-line paths print one JSON line per image written and exit non-zero with a
one-line error on bad input. The subcommands are the table in engine/commands.py.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before any hugging-face import, always

import sys  # noqa: E402

from engine.commands import build_parser, command  # noqa: E402 - torch-free


def main(argv: list[str] | None = None) -> int:
    args = build_parser(__doc__.split("\n")[0]).parse_args(argv)
    try:
        if args.selftest:
            from engine.selftest import run_selftest

            return run_selftest()
        if args.command is None:
            from gui.app import run_app

            return run_app(quit_when_shown=args.quit_when_shown, cluster=args.app_cluster)
        return command(args.command).run(args)
    except KeyboardInterrupt:  # Ctrl-C while still importing: no traceback either
        print("Cancelled.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
