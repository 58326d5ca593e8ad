"""Bitwise-reproducible training on the CPU, for the scripts that make bundled weights.

Only the reproduction script uses this: it changes process-wide torch settings (threads,
deterministic kernels), which the app must never do on a thread it shares with others.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def deterministic_cpu(seed: int) -> Iterator[None]:
    """Seed torch and force single-threaded deterministic kernels, then restore the caller's
    settings."""
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    was_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    threads = torch.get_num_threads()
    torch.use_deterministic_algorithms(True)
    # One thread: the order of floating-point sums then does not depend on the core count.
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(was_deterministic, warn_only=was_warn_only)
