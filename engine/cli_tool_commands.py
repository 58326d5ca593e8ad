"""The tool commands' argument lists and entry points: upscale, models, convert and
compare. Each runs its own module, imported when the command runs, so that building the
parser stays torch-free (engine.commands lists them in COMMANDS)."""

from __future__ import annotations

import argparse

from engine.cli_args import device_argument, out_argument


def upscale_arguments(parser: argparse.ArgumentParser) -> None:
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
    parser.add_argument(
        "--cluster",
        metavar="ADDRESS",
        default=None,
        help="upscale on a Ray cluster's workers: ray://HOST:10001, HOST:6379 on a node, or "
        "'local' (default: $LATENTSTUDIO_CLUSTER; needs pip install .[cluster])",
    )
    out_argument(parser)
    device_argument(parser)


def run_upscale(args: argparse.Namespace) -> int:
    from engine import cli_upscale

    return cli_upscale.run_upscale(args)


def convert_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a .ckpt/.pt/.pth/.bin file holding plain tensors")
    parser.add_argument(
        "--out", default="", help="folder for the .safetensors file (default: the app's own)"
    )


def run_convert(args: argparse.Namespace) -> int:
    from engine import cli_library

    return cli_library.run_convert(args)


def models_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        action="append",
        default=[],
        help="a folder to list (repeatable); default: the app's model folders. An A1111 or "
        "ComfyUI install, its models folder, or any folder of model files",
    )


def run_models(args: argparse.Namespace) -> int:
    from engine import cli_library

    return cli_library.run_models(args)


def compare_arguments(parser: argparse.ArgumentParser) -> None:
    from engine import cli_compare

    cli_compare.compare_arguments(parser)


def run_compare(args: argparse.Namespace) -> int:
    from engine import cli_compare

    return cli_compare.run_compare(args)
