"""Reproduce the bundled weights, bitwise, on the CPU.

    python -m engine.train vae --preset digits [--epochs N] [--seed S] [--out PATH]

The bundled weights in resources/models are produced by this command; rerunning it with
the same torch version on the same kind of CPU gives the same bytes.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from engine.models.vae.files import save_vae
from engine.models.vae.training import VAE_PRESETS, train_vae
from engine.resources import BUNDLED_MODELS_DIR


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m engine.train", description=__doc__.split("\n")[0]
    )
    families = parser.add_subparsers(dest="family", required=True)
    vae = families.add_parser("vae", help="train a variational autoencoder")
    vae.add_argument("--preset", choices=sorted(VAE_PRESETS), default="digits")
    vae.add_argument("--epochs", type=int, help="default: the preset's")
    vae.add_argument("--seed", type=int, help="default: the preset's")
    vae.add_argument("--out", type=Path, help="a .safetensors path (default: resources/models/)")
    return parser.parse_args(argv)


def _print_progress(epoch: int, epochs: int, losses: dict[str, float]) -> None:
    if epoch == 1 or epoch % 25 == 0 or epoch == epochs:
        parts = " ".join(f"{k}={v:.3f}" for k, v in losses.items())
        print(f"epoch {epoch:4d}/{epochs}  {parts}", flush=True)


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    preset = VAE_PRESETS[args.preset]
    epochs = preset.epochs if args.epochs is None else args.epochs
    seed = preset.seed if args.seed is None else args.seed
    out = args.out or BUNDLED_MODELS_DIR / preset.out_name
    started = time.perf_counter()
    model, meta = train_vae(preset.config, epochs, seed, preset.settings, _print_progress)
    save_vae(out, model, preset.config, {"preset": args.preset, **meta})
    elapsed = time.perf_counter() - started
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB) in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
