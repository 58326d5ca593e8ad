"""From a batch file's lines to the jobs it makes: each line's options over the command
line's, its seed, its prompt matrix and its wildcards, as generate's request.

A line that sets no seed takes the command line's; with none there, it takes the batch
seed plus its line number, so that every line differs and a resumed batch asks for
the same pictures (the journal keeps the batch seed).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path

from engine.api import limits
from engine.api.errors import BadInput, UserFacingError
from engine.api.requests import Txt2ImgRequest
from engine.api.serialize import to_data
from engine.batch.batch_file import BadLine, BatchLine
from engine.batch.batch_journal import request_key
from engine.batch.prompt_matrix import matrix_prompts
from engine.batch.wildcards import expand

# Room under the largest seed for a batch of 16 (image i of a job uses seed + i).
_SEED_SPAN = int(limits.SEED.high) - int(limits.SD_BATCH.high) + 1


@dataclass(frozen=True)
class BatchJob:
    line: int
    index: int  # its place among the line's jobs (a prompt matrix makes several)
    request: Txt2ImgRequest
    key: str  # what the journal knows it by


@dataclass(frozen=True)
class BatchSettings:
    """What the command line sets for the whole batch."""

    defaults: argparse.Namespace  # generate's options: every line's, unless it sets its own
    batch_seed: int
    wildcards: Path | None = None
    matrix: bool = False
    matrix_at_start: bool = False


def plan_batch(
    lines: list[BatchLine], settings: BatchSettings, check=None
) -> tuple[list[BatchJob], list[BadLine]]:
    """Every line's jobs, and the lines that cannot make one (each with its sentence).
    `check(request)` may refuse a request too (a model that is not there)."""
    jobs: list[BatchJob] = []
    bad: list[BadLine] = []
    for line in lines:
        try:
            made = line_jobs(line, settings)
            for job in made:
                job.request.validate()
                if check is not None:
                    check(job.request)
        except UserFacingError as exc:  # BadInput, and a model file that is not there
            bad.append(BadLine(line.number, exc.message))
            continue
        jobs += made
    return jobs, bad


def line_jobs(line: BatchLine, settings: BatchSettings) -> list[BatchJob]:
    from engine.cli_generate import generate_request

    args = argparse.Namespace(**{**vars(settings.defaults), **line.options})
    if not args.model:
        raise BadInput("No model: set --model on the line or on the command line.")
    if not args.prompt:
        raise BadInput("No prompt: a line needs one (or --prompt on the command line).")
    if args.seed is None:
        args.seed = (settings.batch_seed + line.number) % _SEED_SPAN
    templates = (
        matrix_prompts(args.prompt, settings.matrix_at_start) if settings.matrix else [args.prompt]
    )
    jobs = []
    for index, template in enumerate(templates):
        prompt = expand(template, args.seed, settings.wildcards)
        request = generate_request(argparse.Namespace(**{**vars(args), "prompt": prompt}))
        if prompt != template:
            request = replace(request, prompt_template=template)
        key = request_key(to_data(request), line.number, index)
        jobs.append(BatchJob(line.number, index, request, key))
    return jobs


def defaults_from_request(request: Txt2ImgRequest, out: str) -> argparse.Namespace:
    """What the command line would say for a Create form's request: the defaults of a
    batch run from the window. The seed is left unset, so that every line differs."""
    from engine.cli_generate import generate_arguments

    sampling = request.sampling
    argv = ["--model", request.model.id, "--prompt", "", "--out", out]
    argv += ["--negative", request.prompt.negative, "--steps", str(sampling.steps)]
    argv += ["--cfg", str(sampling.cfg_scale), "--width", str(request.size.width)]
    argv += ["--height", str(request.size.height), "--clip-skip", str(request.clip_skip)]
    if sampling.sampler:
        argv += ["--sampler", sampling.sampler]
    if request.vae:
        argv += ["--vae", request.vae]
    if request.prediction:
        argv += ["--prediction", request.prediction]
    parser = argparse.ArgumentParser()
    generate_arguments(parser)
    return parser.parse_args(argv)
