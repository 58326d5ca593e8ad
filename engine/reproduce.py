"""Reproduce the bundled models, bitwise, on the CPU.

    python -m engine.train FAMILY --preset digits|shapes|emoji [--steps N] [--out PATH]
        (FAMILY: gmm, rbm, nade, vae, gan, realnvp, pixelcnn, ddpm)
    python -m engine.train sr --scale 2|4 [--steps N] [--out PATH]
    python -m engine.train sr --scale 4 --gan [--steps N] [--out PATH]   (lite-x4-gan)

Each bundled model in resources/models is made by this command: the preset's data set,
network and hyper-parameters, its seed, deterministic kernels on a fixed number of
threads. Rerun on the same kind of machine with the same torch, it writes the same bytes.
It is the app's own training job (the same runner), run without the GUI. It lives here,
above engine.train, because it also runs the quality meter (engine.quality);
engine/train/__main__.py only hands `python -m engine.train` to it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from engine.api import families
from engine.api.errors import BadInput
from engine.api.events import Event, Metrics
from engine.api.kinds import Family
from engine.api.parts import DatasetRef, Training
from engine.api.requests import TrainRequest
from engine.api.train_settings import parse_pairs
from engine.context import JobContext
from engine.resources import BUNDLED_MODELS_DIR
from engine.train.determinism import deterministic_cpu
from engine.train.state import state_path

UPSCALER = "sr"  # the bundled upscalers: their own loop, not a family's training job
PRESETS = ("digits", "shapes", "emoji")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m engine.train", description=__doc__.split("\n")[0]
    )
    parser.add_argument("family", choices=[*families.trainable_families(), UPSCALER])
    parser.add_argument("--preset", choices=PRESETS, default="digits")
    parser.add_argument("--scale", type=int, choices=(2, 4), default=4, help="sr: the factor")
    parser.add_argument(
        "--gan",
        action="store_true",
        help="sr: fine-tune lite-x4 adversarially into lite-x4-gan (×4 only)",
    )
    parser.add_argument("--steps", type=int, default=0, help="default: the preset's")
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        metavar="NAME=VALUE",
        help="a setting over the preset's (GMM: covariance=lowrank, rank=8); give --out too",
    )
    parser.add_argument("--out", type=Path, help="a .safetensors path (default: resources/models/)")
    parser.add_argument(
        "--no-score",
        dest="score",
        action="store_false",
        help="skip the quality meter afterwards (it writes <name>.quality.json)",
    )
    return parser.parse_args(argv)


def _pairs(words: list[str] | None) -> tuple[tuple[str, str], ...]:
    try:
        return parse_pairs(words)
    except BadInput as exc:
        raise SystemExit(str(exc)) from None


def _print_metrics(event: Event) -> None:
    if isinstance(event, Metrics):
        print(
            json.dumps({"step": event.step, **{k: round(v, 5) for k, v in event.values.items()}}),
            flush=True,
        )


def main(argv: list[str] | None = None) -> None:
    from engine.runtime import Runtime

    args = _parse_args(argv)
    if args.family == UPSCALER:
        _train_upscaler(args)
        return
    if args.settings and args.out is None:  # the bundled file is the preset's alone
        raise SystemExit("--set makes a model other than the bundled one: give --out PATH too.")
    out = args.out or BUNDLED_MODELS_DIR / f"{args.family}-{args.preset}.safetensors"
    preset = families.spec_of(args.family).preset(args.preset)
    seed = preset.seed
    request = TrainRequest(
        family=Family(args.family),
        preset=args.preset,
        dataset=DatasetRef(args.preset),
        training=Training(steps=args.steps, seed=seed, checkpoint_every=10_000_000),
        output=str(out),
        settings=_pairs(args.settings),
    )
    started = time.perf_counter()
    runtime = Runtime(device_preference="cpu")
    ctx = JobContext(0, emit=_print_metrics, previews=False)
    ctx._progress.interval_s = 5.0  # a line every few seconds is plenty here
    try:
        with deterministic_cpu(seed, preset.threads):
            outcome = runtime.run(request, ctx)
    finally:
        runtime.close()
    state_path(out).unlink(missing_ok=True)  # bundled models ship without a training state
    elapsed = time.perf_counter() - started
    print(
        f"wrote {outcome.path} ({out.stat().st_size / 1024:.0f} KiB, {outcome.step} steps) "
        f"in {elapsed:.1f} s"
    )
    if args.score:
        _score(Family(args.family), out, elapsed)


def _train_upscaler(args: argparse.Namespace) -> None:
    """The bundled upscalers: their own loop (engine.models.upscale.training), or with
    --gan the adversarial fine-tuning of lite-x4 (engine.models.upscale.gan_training)."""
    if args.gan and args.scale != 4:
        raise SystemExit("--gan makes lite-x4-gan from lite-x4: use it with --scale 4.")
    started = time.perf_counter()
    if args.gan:
        from engine.models.upscale.gan_training import GAN_PRESET, train_sr_gan

        out = args.out or BUNDLED_MODELS_DIR / "lite-x4-gan.safetensors"
        written = train_sr_gan(GAN_PRESET, out, args.steps)
    else:
        from engine.models.upscale.training import SR_PRESETS, train_sr

        out = args.out or BUNDLED_MODELS_DIR / f"lite-x{args.scale}.safetensors"
        written = train_sr(SR_PRESETS[args.scale], out, args.steps)
    elapsed = time.perf_counter() - started
    print(f"wrote {written} ({written.stat().st_size / 1024:.0f} KiB) in {elapsed:.1f} s")


def _score(family: Family, out: Path, training_seconds: float) -> None:
    """Measure the new model and keep the figures beside it, with the time its training
    took (the Lab and its timeline show them; the model file itself stays the same for
    the same seed, so the time is not in it)."""
    from engine.api.parts import ModelRef
    from engine.api.requests import ScoreRequest
    from engine.quality.record import save_quality
    from engine.quality.score import score_lines
    from engine.runtime import Runtime

    request = ScoreRequest(model=ModelRef(family, str(out)))
    runtime = Runtime(device_preference="cpu")
    try:
        outcome = runtime.run(request, JobContext(0, previews=False))
    finally:
        runtime.close()
    values = {name: v[0] for name, v in zip(outcome.labels, outcome.vectors, strict=True)}
    values["training_seconds"] = round(training_seconds, 1)
    save_quality(out, values, request.count)
    print("\n".join(score_lines(values)))


if __name__ == "__main__":
    main()
