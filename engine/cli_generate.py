"""`generate`'s options and its request: shared by `generate` itself and by `batch`,
whose every line takes what generate's command line takes. Torch-free."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.api.kinds import Family
from engine.api.parts import ModelRef, Prompt, Sampling
from engine.api.requests import Txt2ImgRequest
from engine.cli_args import device_argument, out_argument, seed_of
from engine.cli_control import add_control_arguments, control_parts
from engine.cli_image import add_image_arguments, image_parts


def generate_arguments(parser: argparse.ArgumentParser) -> None:
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
    parser.add_argument("--width", type=int, default=None, help="default: 512, or the image's")
    parser.add_argument("--height", type=int, default=None, help="default: 512, or the image's")
    parser.add_argument("--sampler", default=None, help="default: the model's own scheduler")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--vae", default="", help="a VAE file to use instead of the model's own")
    parser.add_argument(
        "--spacing",
        choices=("leading", "trailing", "linspace"),
        default="",
        help="timestep spacing (default: the model's); few-step models want trailing",
    )
    parser.add_argument(
        "--tiny-vae", default="", help="a TAESD decoder file or folder, for --fast-decode"
    )
    parser.add_argument(
        "--fast-decode", action="store_true", help="decode the picture with --tiny-vae"
    )
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
    add_image_arguments(parser)
    add_control_arguments(parser)
    out_argument(parser)
    device_argument(parser)


def wildcards_argument(parser: argparse._ActionsContainer) -> None:
    """--wildcards: generate's and batch's (not a batch line's: the folder is the run's)."""
    parser.add_argument(
        "--wildcards",
        metavar="FOLDER",
        default=None,
        help="where __name__ finds name.txt (default: the wildcards folder of the app's "
        "data folder)",
    )


def wildcards_folder(args: argparse.Namespace) -> Path:
    """--wildcards, else the folder Create and batch use: the app's data folder's."""
    from engine.api.catalogue import user_data_dir
    from engine.batch.wildcards import wildcard_folder

    return Path(args.wildcards) if args.wildcards else wildcard_folder(user_data_dir())


def generate_request(args: argparse.Namespace) -> Txt2ImgRequest:
    from engine.cli_names import resolve_model_name, resolve_prompt_refs

    loras, embeddings = resolve_prompt_refs(f"{args.prompt} {args.negative}", args.lora_dir)
    parts = image_parts(args)
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
        size=parts.size,
        sampling=Sampling(args.steps, args.cfg, args.sampler, seed_of(args), args.spacing),
        tiny_vae=args.tiny_vae,
        fast_decode=args.fast_decode,
        batch_size=args.batch,
        source=parts.source,
        mask=parts.mask,
        outpaint=parts.outpaint,
        hires=parts.hires,
        **control_parts(args),
    )
