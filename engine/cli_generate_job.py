"""`generate`'s job: its options with --xyz, --cluster and --wildcards, the requests of
its pictures, and running them here or on a Ray cluster. Torch-free.

A prompt with wildcards (`{red|green|blue}`, `__colours__`) is expanded exactly as the
Create tab expands it (engine.batch.wildcard_requests): a batch of n from seed s is n
pictures of seeds s … s+n-1, each choosing from its own seed, each recipe keeping the
template and the prompt as chosen; a plot chooses once, from its seed. The folder is
read once and every name the prompts use, chosen or not, must be a file of it (the
sentence Create shows under the prompt).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.api.outcomes import ImagesOutcome
from engine.api.requests import Request
from engine.cli_exit import exit_code
from engine.cli_generate import (
    generate_arguments,
    generate_request,
    wildcards_argument,
    wildcards_folder,
)
from engine.cli_xyz import add_xyz_arguments, xyz_request


def generate_job_arguments(parser: argparse.ArgumentParser) -> None:
    """generate's options, --wildcards, --xyz and --cluster (not a batch file line's: a
    line is one job, and the folder is the whole batch's)."""
    generate_arguments(parser)
    wildcards_argument(parser)
    add_xyz_arguments(parser)
    parser.add_argument(
        "--cluster",
        metavar="ADDRESS",
        default=None,
        help="run on a Ray cluster: ray://HOST:10001, HOST:6379 on a node, or 'local' "
        "(default: $LATENTSTUDIO_CLUSTER; needs pip install .[cluster])",
    )


def generate_job_requests(args: argparse.Namespace) -> list[Request]:
    """The jobs of one `generate`: one request, or one per picture with wildcards."""
    from engine.batch.wildcard_check import check_wildcards
    from engine.batch.wildcard_listing import read_wildcard_folder
    from engine.batch.wildcard_requests import (
        chosen_for_seed,
        picture_requests,
        uses_wildcards,
        with_networks,
    )
    from engine.cli_names import library_entries

    request = generate_request(args)
    if not uses_wildcards(request):
        return [xyz_request(args, request) if args.xyz else request]
    folder = wildcards_folder(args)
    listed = read_wildcard_folder(folder)
    for text in (request.prompt.positive, request.prompt.negative):
        check_wildcards(text, folder, listed)
    entries = library_entries(args.lora_dir)  # scanned once for every picture
    if args.xyz:  # the plot's pictures share the prompt, as Create's do
        chosen = chosen_for_seed(request, request.sampling.seed, folder, listed)
        return [xyz_request(args, with_networks(chosen, entries))]
    return [with_networks(each, entries) for each in picture_requests(request, folder, listed)]


def run_generate(args: argparse.Namespace) -> int:
    """The jobs on the cluster --cluster or LATENTSTUDIO_CLUSTER names, else here."""
    return exit_code(lambda: _run_requests(generate_job_requests(args), args))


def _run_requests(requests: list[Request], args: argparse.Namespace) -> int:
    from engine.cluster.connect import chosen_address

    if address := chosen_address(args.cluster):  # or LATENTSTUDIO_CLUSTER
        return _on_cluster(requests, args, address)
    from engine.cli import run_jobs

    return run_jobs(lambda: requests, args)


def _on_cluster(requests: list[Request], args: argparse.Namespace, address: str) -> int:
    """One job: engine.cluster.cli's run (its batch split over the workers). A wildcard
    batch's pictures, each its own job: all at once over the workers, each printed as it
    lands, as that run prints them."""
    from engine.cluster.cli import run_on_cluster

    if len(requests) == 1:
        return run_on_cluster(lambda: requests[0], args, address)
    return _print_cluster_pictures(requests, args, address)


def _print_cluster_pictures(requests: list[Request], args: argparse.Namespace, address: str) -> int:
    from engine.batch.cli_progress import cluster_endings
    from engine.local_checks import check_local
    from engine.store import check_output_folder

    failures: list[str] = []
    for request in requests:
        request.validate()
        check_local(request)  # the model is sent from here: it must be here
    check_output_folder(Path(args.out))
    for _index, outcome, message in cluster_endings(requests, address, args):
        images = outcome.images if isinstance(outcome, ImagesOutcome) else []
        failures += [message] if outcome is None else []
        failures += [image.save_error for image in images if image.save_error]
        for image in images:
            if not image.save_error:
                print(image.json_line(), flush=True)
    if failures:
        print(f"error: {failures[0]}", file=sys.stderr)
        return 1
    return 0
