"""`train`: a classic generative model from a bundled data set or a folder of images.

Without --out the model goes where the Lab lists trained models, under a name that never
overwrites an earlier one; --name and the numbers are checked before anything starts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.api import families
from engine.api.catalogue import user_models_dir
from engine.api.kinds import Family
from engine.api.limits import LEARNING_RATE, TRAIN_BATCH, TRAIN_STEPS
from engine.api.model_names import check_model_name
from engine.api.parts import DatasetRef, Training
from engine.api.requests import Request, TrainRequest
from engine.api.train_settings import parse_pairs
from engine.cli_args import device_argument
from engine.cli_exit import EXIT_BAD_INPUT
from engine.cli_job import job
from engine.cli_sweep import run_sweep_command, sweep_arguments

BUNDLED_DATA = ("digits", "shapes", "emoji")


def train_arguments(parser: argparse.ArgumentParser) -> None:
    # The families whose specs say they train: a new family needs no line here.
    trainable = [str(f) for f in families.trainable_families()]
    parser.add_argument("--model", default="vae", choices=trainable, help="family")
    parser.add_argument("--data", default="digits", help="digits, shapes, emoji, or a folder")
    parser.add_argument("--size", type=int, default=0, help="image side for a folder (16/32/64)")
    parser.add_argument("--steps", type=int, help="default: the preset's")
    parser.add_argument("--batch", type=int, help="default: the preset's")
    parser.add_argument("--lr", type=float, help="default: the preset's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--resume", default=None, help="a checkpoint (or its .train.safetensors state) to continue"
    )
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        metavar="NAME=VALUE",
        help="one of the family's own settings over its preset's (GMM: covariance=lowrank, "
        "rank=8, components=20); repeat for more",
    )
    parser.add_argument("--name", default=None, help="file name (default: <family>-<data>)")
    parser.add_argument(
        "--out",
        default="",
        help="folder for the model (default: the app's models folder, where the Lab lists it)",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=500,
        metavar="STEPS",
        help="steps between checkpoints a stopped training continues from (default 500)",
    )
    device_argument(parser)
    sweep_arguments(parser)


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
        settings=parse_pairs(args.settings),
    )


def train(args: argparse.Namespace) -> int:
    # Without --out, models go where the Lab lists trained models.
    args.out = args.out.strip() or str(user_models_dir())
    if args.sweep is not None:
        return run_sweep_command(args, _train_request)
    if args.cluster:  # LATENTSTUDIO_CLUSTER alone leaves a single training here
        print(
            "error: --cluster trains a sweep's runs on a cluster; a single training runs on "
            "this computer: add --sweep NAME=RANGE, or leave --cluster out.",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    del args.cluster  # job() would send it to the cluster named by LATENTSTUDIO_CLUSTER
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
        args.steps or 0,
        args.batch or 0,
        args.lr or 0.0,
        args.seed,
        checkpoint_every=args.checkpoint_every,
    )
