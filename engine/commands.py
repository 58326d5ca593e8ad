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
from pathlib import Path

from engine.api.catalogue import family_of, user_models_dir
from engine.api.kinds import Family
from engine.api.limits import LEARNING_RATE, TRAIN_BATCH, TRAIN_STEPS, random_seed
from engine.api.model_names import check_model_name
from engine.api.parts import DatasetRef, ModelRef, Prompt, Sampling, Size, Training
from engine.api.requests import (
    INTERPOLATION_MODES,
    DiffuseRequest,
    InterpolateRequest,
    LatentWalkRequest,
    Request,
    SampleRequest,
    TrainRequest,
    Txt2ImgRequest,
)
from engine.cli_help import HelpWithDefaults, give_every_option_help

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
    parser.add_argument(
        "--device", default="auto", choices=DEVICES, help="where to run (auto: CUDA if present)"
    )


def _out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="output (gallery) folder")


# ---------------------------------------------------------------- generate


def _generate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        required=True,
        help="a checkpoint file (.safetensors/.ckpt), a diffusers folder, or the name of a "
        "model in the app's model folders",
    )
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--negative", default="")
    parser.add_argument("--seed", type=int, default=None, help="default: random")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--cfg", type=float, default=7.0)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--height", type=int, default=512)
    parser.add_argument("--sampler", default=None, help="default: the model's own scheduler")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--vae", default="", help="a VAE file to use instead of the model's own")
    parser.add_argument("--variation-seed", type=int, default=0)
    parser.add_argument(
        "--variation-strength",
        type=float,
        default=0.0,
        help="0-1: how far each image's noise moves towards the variation seed's (A1111's)",
    )
    parser.add_argument(
        "--prediction",
        choices=("epsilon", "v"),
        default="",
        help="what the model predicts, when its file does not say (SD 2.x 768 models: v)",
    )
    parser.add_argument(
        "--clip-skip", type=int, default=1, help="1: the text encoder's last layer (A1111's count)"
    )
    parser.add_argument(
        "--lora-dir",
        action="append",
        default=[],
        help="where LoRAs and embeddings the prompt names are looked up (repeatable; "
        "default: the model folders)",
    )
    _out(parser)
    _device(parser)


def _generate_request(args: argparse.Namespace) -> Request:
    from engine.cli import resolve_model_name, resolve_prompt_refs

    loras, embeddings = resolve_prompt_refs(f"{args.prompt} {args.negative}", args.lora_dir)
    return Txt2ImgRequest(
        model=ModelRef(Family.SD, resolve_model_name(args.model)),
        loras=loras,
        embeddings=embeddings,
        vae=args.vae,
        prediction=args.prediction,
        variation_seed=args.variation_seed,
        variation_strength=args.variation_strength,
        clip_skip=args.clip_skip,
        prompt=Prompt(args.prompt, args.negative),
        size=Size(args.width, args.height),
        sampling=Sampling(args.steps, args.cfg, args.sampler, _seed(args)),
        batch_size=args.batch,
    )


# ---------------------------------------------------------------- sample


def _sample_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default="vae-digits",
        help="a bundled model ({bundled:vae,gan,ddpm}) or a model file",
    )
    parser.add_argument("--seed", type=int, default=None, help="default: random")
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--steps", type=int, default=50, help="denoising steps (DDPM)")
    parser.add_argument("--label", type=int, default=None, help="the class to draw (DDPM)")
    parser.add_argument(
        "--guidance", type=float, help="guidance scale (DDPM; default: the model's own)"
    )
    _out(parser)
    _device(parser)


def _sample_request(args: argparse.Namespace) -> Request:
    family = family_of(args.model) or Family.VAE
    return SampleRequest(
        model=ModelRef(family, args.model),
        seed=_seed(args),
        count=args.count,
        steps=args.steps,
        label=args.label,
        guidance=args.guidance,
    )


# ---------------------------------------------------------------- interpolate


def _interpolate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", default="gan-digits", help="a bundled model ({bundled:vae,gan}) or its file"
    )
    parser.add_argument("--from-seed", type=int, required=True)
    parser.add_argument("--to-seed", type=int, required=True)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--mode", choices=INTERPOLATION_MODES, default="slerp")
    parser.add_argument("--fps", type=float, default=8.0, help="of the animation")
    sd = parser.add_argument_group("Stable Diffusion (a latent walk)")
    sd.add_argument("--prompt", default="", help="the prompt of every frame")
    sd.add_argument("--to-prompt", default="", help="a second prompt the walk moves to")
    sd.add_argument("--negative", default="")
    sd.add_argument("--steps", type=int, default=20)
    sd.add_argument("--cfg", type=float, default=7.0)
    sd.add_argument("--width", type=int, default=512)
    sd.add_argument("--height", type=int, default=512)
    sd.add_argument("--sampler", default=None)
    _out(parser)
    _device(parser)


def _interpolate(args: argparse.Namespace) -> int:
    from engine.cli import resolve_model_name, run_job, write_animations

    def request() -> Request:
        family = family_of(args.model)
        if family is None and Path(resolve_model_name(args.model)).exists():
            return LatentWalkRequest(
                model=ModelRef(Family.SD, resolve_model_name(args.model)),
                prompt=Prompt(args.prompt, args.negative),
                to_prompt=args.to_prompt,
                size=Size(args.width, args.height),
                sampling=Sampling(args.steps, args.cfg, args.sampler, args.from_seed),
                to_seed=args.to_seed,
                frames=args.frames,
                mode=args.mode,
            )
        return InterpolateRequest(
            model=ModelRef(family or Family.GAN, args.model),
            from_seed=args.from_seed,
            to_seed=args.to_seed,
            frames=args.frames,
            mode=args.mode,
        )

    if not 0.1 <= args.fps <= 60:
        print("error: --fps must be between 0.1 and 60.", file=sys.stderr)
        return 2
    return run_job(request, args, more_files=lambda outcome: write_animations(outcome, args.fps))


# ---------------------------------------------------------------- diffuse


def _diffuse_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", default="ddpm-digits", help="a bundled DDPM ({bundled:ddpm}) or its file"
    )
    parser.add_argument("--seed", type=int, default=None, help="default: random")
    parser.add_argument("--steps", type=int, default=50, help="DDIM steps")
    parser.add_argument("--eta", type=float, default=0.0, help="DDIM's eta (0: deterministic)")
    parser.add_argument("--label", type=int, default=None, help="the class to draw")
    parser.add_argument("--guidance", type=float, default=None)
    parser.add_argument(
        "--ancestral", action="store_true", help="DDPM's own sampler over all T steps"
    )
    parser.add_argument("--columns", type=int, default=25, help="steps shown in the filmstrip")
    _out(parser)
    _device(parser)


def _diffuse_request(args: argparse.Namespace) -> Request:
    return DiffuseRequest(
        model=ModelRef(family_of(args.model) or Family.DDPM, args.model),
        seed=_seed(args),
        steps=args.steps,
        eta=args.eta,
        label=args.label,
        guidance=args.guidance,
        ancestral=args.ancestral,
        columns=args.columns,
    )


# ---------------------------------------------------------------- train


BUNDLED_DATA = ("digits", "shapes", "emoji")


def _train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="vae", choices=("vae", "gan", "ddpm"), help="family")
    parser.add_argument("--data", default="digits", help="digits, shapes, emoji, or a folder")
    parser.add_argument("--size", type=int, default=0, help="image side for a folder (16/32/64)")
    parser.add_argument("--steps", type=int, help="default: the preset's")
    parser.add_argument("--batch", type=int, help="default: the preset's")
    parser.add_argument("--lr", type=float, help="default: the preset's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--resume", default=None, help="a checkpoint (or its .train.safetensors state) to continue"
    )
    parser.add_argument("--name", default=None, help="file name (default: <family>-<data>)")
    parser.add_argument(
        "--out",
        default="",
        help="folder for the model (default: the app's models folder, where the Lab lists it)",
    )
    _device(parser)


def _train_request(args: argparse.Namespace) -> Request:
    data = args.data.rstrip("/")
    base = data if data in BUNDLED_DATA else data.replace("\\", "/").split("/")[-1] or "folder"
    if args.name is not None:  # a path here would write outside --out
        check_model_name(args.name)
    name = args.name or _free_name(Path(args.out), f"{args.model}-{base}")
    output = f"{args.out.rstrip('/')}/{name}.safetensors"
    return TrainRequest(
        family=Family(args.model),
        preset=data if data in BUNDLED_DATA else "custom",
        dataset=DatasetRef(data),
        training=_training(args),
        output=output,
        image_size=args.size,
        resume_from=args.resume,
    )


def _train(args: argparse.Namespace) -> int:
    # Without --out, models go where the Lab lists trained models.
    args.out = args.out.strip() or str(user_models_dir())
    return job(_train_request)(args)


def _free_name(folder: Path, base: str) -> str:
    """`base`, or `base-2`, `base-3`… when a model of that name is already there: a
    default name never overwrites an earlier training."""
    name, n = base, 1
    try:
        while (folder / f"{name}.safetensors").exists():
            n += 1
            name = f"{base}-{n}"
    except OSError:  # a folder the system refuses to look at: the output check says why
        return base
    return name


def _training(args: argparse.Namespace) -> Training:
    """Omitted means the preset's (0 in a Training); a number given, 0 included, must be
    in range like every other number."""
    given = ((args.steps, TRAIN_STEPS), (args.batch, TRAIN_BATCH), (args.lr, LEARNING_RATE))
    for value, limit in given:
        if value is not None:
            limit.check(value)
    return Training(
        args.steps or 0, args.batch or 0, args.lr or 0.0, args.seed, checkpoint_every=500
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


def _score_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", required=True, help="a bundled model ({bundled:vae,gan,ddpm}) or a model file"
    )
    parser.add_argument("--count", type=int, default=500, help="samples to measure")
    _device(parser)


def _score(args: argparse.Namespace) -> int:
    from engine.cli import run_score

    return run_score(args)


# ---------------------------------------------------------------- upscale


def _upscale_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        required=True,
        help="a bundled upscaler ({bundled:upscale}), lanczos, bicubic, or an upscaler file",
    )
    parser.add_argument(
        "--scale", type=float, default=0.0, help="factor (default: the model's own)"
    )
    parser.add_argument(
        "--tile",
        type=int,
        default=-1,
        help="tile side in pixels; 0: the whole image at once; default: automatic (256 on "
        "the CPU, from the free memory on CUDA)",
    )
    parser.add_argument(
        "--allow-large", action="store_true", help="upscale images over 40 megapixels"
    )
    parser.add_argument("inputs", nargs="+", metavar="IN", help="images or folders of images")
    _out(parser)
    _device(parser)


def _upscale(args: argparse.Namespace) -> int:
    from engine.cli import run_upscale

    return run_upscale(args)


def _convert_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a .ckpt/.pt/.pth/.bin file holding plain tensors")
    parser.add_argument(
        "--out", default="", help="folder for the .safetensors file (default: the app's own)"
    )


def _convert(args: argparse.Namespace) -> int:
    from engine.cli import run_convert

    return run_convert(args)


def _models_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        action="append",
        default=[],
        help="a folder to list (repeatable); default: the app's model folders. An A1111 or "
        "ComfyUI install, its models folder, or any folder of model files",
    )


def _models(args: argparse.Namespace) -> int:
    from engine.cli import run_models

    return run_models(args)


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
    Command("train", "train a classic generative model", _train_arguments, _train),
    Command(
        "diffuse",
        "a DDPM's reverse process as a filmstrip, and its final sample",
        _diffuse_arguments,
        job(_diffuse_request),
    ),
    Command(
        "interpolate",
        "frames between two seeds of a VAE or GAN, and an animation",
        _interpolate_arguments,
        _interpolate,
    ),
    Command(
        "gallery", "list the gallery, check its index, or rebuild it", _gallery_arguments, _gallery
    ),
    Command("score", "measure a classic model's samples (quality meter)", _score_arguments, _score),
    Command("upscale", "super-resolution of images or folders", _upscale_arguments, _upscale),
    Command("models", "list the models in model folders", _models_arguments, _models),
    Command(
        "convert", "rewrite a pickled checkpoint as .safetensors", _convert_arguments, _convert
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
    parser.add_argument(
        "--quit-when-shown",
        action="store_true",
        help="open the main window and exit 0 once it is first painted (start-up checks)",
    )
    sub = parser.add_subparsers(dest="command", parser_class=OneLineErrors)
    for command in COMMANDS:
        subparser = sub.add_parser(
            command.name, help=command.help, formatter_class=HelpWithDefaults
        )
        command.add_arguments(subparser)
        give_every_option_help(subparser)
    return parser


def command(name: str) -> Command:
    return next(c for c in COMMANDS if c.name == name)
