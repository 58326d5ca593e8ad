"""A subcommand's record, and running one engine job for it: on the Ray cluster named by
--cluster or LATENTSTUDIO_CLUSTER (engine.cluster.cli), else here (engine.cli's run_job).
Both are imported when a command runs; neither imports the other."""

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
        if hasattr(args, "cluster"):  # a command that takes --cluster (generate)
            from engine.cluster.connect import chosen_address

            if address := chosen_address(args.cluster):  # or LATENTSTUDIO_CLUSTER
                from engine.cluster.cli import run_on_cluster

                return run_on_cluster(lambda: build_request(args), args, address)
        from engine.cli import run_job

        return run_job(lambda: build_request(args), args)

    return run
