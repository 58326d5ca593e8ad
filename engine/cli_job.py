"""A subcommand's record, and running one engine job for it here (engine.cli's run_job,
imported when the command runs). `generate`, which may run on a Ray cluster, has its own
runner (engine.cli_generate_job)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from engine.api.requests import Request


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
