"""The command line: a table of subcommands, each an argument list and what it runs.

Torch-free, so `main.py` can build its parser without paying for torch; job commands
turn their arguments into a request and run it through engine.cli, the same runtime as
the app, without Qt. Adding a command is one entry in COMMANDS.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.api import families
from engine.api.catalogue import family_of
from engine.api.kinds import Family, Task
from engine.api.parts import ImageRef, ModelRef, Prompt, Sampling, Size
from engine.api.requests import (
    INTERPOLATION_MODES,
    DiffuseRequest,
    InterpolateRequest,
    LatentWalkRequest,
    Request,
    SampleRequest,
)
from engine.cli_args import device_argument, out_argument, seed_of
from engine.cli_generate import generate_request as generate_request  # tests import it here
from engine.cli_generate_job import generate_job_arguments, run_generate
from engine.cli_help import HelpWithDefaults, give_every_option_help
from engine.cli_info import info_arguments
from engine.cli_job import Command, job
from engine.cli_options import add_sample_options, sample_options
from engine.cli_tool_commands import (
    compare_arguments,
    convert_arguments,
    models_arguments,
    run_compare,
    run_convert,
    run_models,
    run_upscale,
    upscale_arguments,
)
from engine.cli_train import train, train_arguments

# ---------------------------------------------------------------- sample


def _sample_arguments(parser: argparse.ArgumentParser) -> None:
    lab = families.lab_families()
    parser.add_argument(
        "--model",
        default="vae-digits",
        help=f"a {families.titles(lab)} model: a bundled one ({{bundled:{','.join(lab)}}}) "
        "or a model file",
    )
    parser.add_argument("--seed", type=int, default=None, help="default: random")
    parser.add_argument("--count", type=int, default=16)
    add_sample_options(parser)  # each family's own, from its spec
    out_argument(parser)
    device_argument(parser)


def _sample_request(args: argparse.Namespace) -> Request:
    family = family_of(args.model) or Family.VAE
    return SampleRequest(
        model=ModelRef(family, args.model),
        seed=seed_of(args),
        count=args.count,
        options=sample_options(args, family),
    )


# ---------------------------------------------------------------- interpolate


def _interpolate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", default="gan-digits", help="a bundled model ({bundled:vae,gan}) or its file"
    )
    parser.add_argument("--from-seed", type=int, default=0)
    parser.add_argument("--to-seed", type=int, default=1)
    parser.add_argument(
        "--from-image", default="", help="start at this picture's code (a flow or a VAE)"
    )
    parser.add_argument("--to-image", default="", help="end at this picture's code")
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
    out_argument(parser)
    device_argument(parser)


def _interpolate(args: argparse.Namespace) -> int:
    from engine.cli import run_job, write_animations
    from engine.cli_names import resolve_model_name

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
            from_image=ImageRef(args.from_image, "") if args.from_image else None,
            to_image=ImageRef(args.to_image, "") if args.to_image else None,
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
    out_argument(parser)
    device_argument(parser)


def _diffuse_request(args: argparse.Namespace) -> Request:
    return DiffuseRequest(
        model=ModelRef(family_of(args.model) or Family.DDPM, args.model),
        seed=seed_of(args),
        steps=args.steps,
        eta=args.eta,
        label=args.label,
        guidance=args.guidance,
        ancestral=args.ancestral,
        columns=args.columns,
    )


# ---------------------------------------------------------------- gallery


def _gallery_arguments(parser: argparse.ArgumentParser) -> None:
    out_argument(parser)
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--check", action="store_true", help="report what the index and the folder disagree on"
    )
    what.add_argument(
        "--rebuild", action="store_true", help="read every image again into the index"
    )
    what.add_argument(
        "--search",
        metavar="QUERY",
        help='list the matches, e.g. "fox -blurry model:juggernaut seed:1234 stars:>=3" '
        '(words, -word, "phrase", model: seed: stars: starred board: mode: size: after: '
        "before: tool: sampler:)",
    )
    what.add_argument(
        "--star", metavar="N", type=int, help="give the PATHs N stars (0-5; 0 clears them)"
    )
    what.add_argument("--board", metavar="NAME", help="put the PATHs on the board NAME")
    what.add_argument("--unboard", metavar="NAME", help="take the PATHs off the board NAME")
    parser.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="FOLDER",
        help="also list another tool's folder of pictures (repeatable; A1111, ComfyUI, "
        "InvokeAI…): read only, never written; stars on its pictures live in the index",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="pictures for --star/--board/--unboard; the output folder's are written "
        "(one PNG text chunk, pixels untouched), any other folder's are kept in the index only",
    )
    _export_arguments(parser)


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    """gallery --export / --contact-sheet: of the PATHs, or of --search's matches."""
    parser.add_argument(
        "--export", metavar="FOLDER", help="copy the PATHs (or --search's matches) to FOLDER"
    )
    parser.add_argument(
        "--strip", action="store_true", help="--export without metadata (pixels only)"
    )
    parser.add_argument(
        "--format",
        choices=("png", "jpeg", "webp"),
        help="--export as this format (default: each picture's own; JPEG/WebP carry the "
        "A1111 text in EXIF UserComment)",
    )
    parser.add_argument(
        "--quality",
        metavar="N",
        type=int,
        help="JPEG/WebP quality, 1-100 (default 90; WebP 100: lossless)",
    )
    parser.add_argument(
        "--contact-sheet", metavar="FILE", help="draw the PATHs' thumbnails on one PNG, FILE"
    )
    parser.add_argument(
        "--sheet-columns", metavar="N", type=int, help="--contact-sheet columns (default 4)"
    )
    parser.add_argument(
        "--sheet-tile",
        metavar="PX",
        type=int,
        help="--contact-sheet thumbnail size in pixels (default 256)",
    )


def _score_arguments(parser: argparse.ArgumentParser) -> None:
    scored = ",".join(families.families_for(Task.SCORE))  # from the specs, as sample's
    parser.add_argument(
        "--model", required=True, help=f"a bundled model ({{bundled:{scored}}}) or a model file"
    )
    parser.add_argument("--count", type=int, default=500, help="samples to measure")
    device_argument(parser)


def _score(args: argparse.Namespace) -> int:
    from engine.cli import run_score

    return run_score(args)


def _batch_arguments(parser: argparse.ArgumentParser) -> None:
    from engine.cli_batch import batch_arguments

    batch_arguments(parser)


def _batch(args: argparse.Namespace) -> int:
    from engine.cli_batch import run_batch

    return run_batch(args)


def _info(args: argparse.Namespace) -> int:
    from engine.cli_info import run_info

    return run_info(args)


def _gallery(args: argparse.Namespace) -> int:
    from engine.cli_library import run_gallery

    return run_gallery(args)


COMMANDS: tuple[Command, ...] = (
    Command(
        "generate",
        "Stable Diffusion: text to image, image to image, inpaint, outpaint, hires fix",
        generate_job_arguments,
        run_generate,
    ),
    Command(
        "batch",
        "a file of prompts (text, CSV or JSONL), a generate job a line; resumes if stopped",
        _batch_arguments,
        _batch,
    ),
    Command(
        "sample", "samples from a classic generative model", _sample_arguments, job(_sample_request)
    ),
    Command("train", "train a classic generative model", train_arguments, train),
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
    Command("info", "what other tools' parameters a picture carries", info_arguments, _info),
    Command("score", "measure a classic model's samples (quality meter)", _score_arguments, _score),
    Command(
        "compare",
        "the Lab timeline: every family's figures on the same held-out data",
        compare_arguments,
        run_compare,
    ),
    Command("upscale", "super-resolution of images or folders", upscale_arguments, run_upscale),
    Command("models", "list the models in model folders", models_arguments, run_models),
    Command(
        "convert", "rewrite a pickled checkpoint as .safetensors", convert_arguments, run_convert
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
    parser.add_argument(
        "--cluster",
        dest="app_cluster",
        metavar="ADDRESS",
        default=None,
        help="the app's engine on a Ray cluster (default: $LATENTSTUDIO_CLUSTER, then "
        "Settings → Engine)",
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
