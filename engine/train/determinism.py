"""Bitwise-reproducible training on the CPU, for the scripts that make bundled weights.

Only the reproduction script uses this: it changes process-wide torch settings (threads,
deterministic kernels), which the app must never do on a thread it shares with others.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

REPRODUCIBLE_THREADS = 2  # a fixed count: sums then add up in the same order every run


@contextmanager
def deterministic_cpu(seed: int, threads: int = REPRODUCIBLE_THREADS) -> Iterator[None]:
    """Seed torch, force deterministic kernels and a fixed thread count, then restore the
    caller's settings."""
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    was_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    callers_threads = torch.get_num_threads()
    torch.use_deterministic_algorithms(True)
    # A fixed count: the order of floating-point sums then does not depend on the machine.
    torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(callers_threads)
        torch.use_deterministic_algorithms(was_deterministic, warn_only=was_warn_only)
