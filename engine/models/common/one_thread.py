"""Torch on one thread while a job of tiny products runs.

An RBM's Gibbs step multiplies a 64-pixel vector by a 100 x 64 matrix; annealed
importance sampling does 14,500 of them in a row. A second intra-op thread has nothing to
share but a wait for the first, and on a machine whose cores are busy that wait is long:
measured on 2 busy cores, AIS took 12.4 s on one thread and 244 s on two, 64 Gibbs chains
1.0 s and 16.5 s. Torch's thread count is the process's, so nested or concurrent users
are counted: the first one in sets one thread, the last one out restores the count.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch

_lock = threading.Lock()
_users = 0
_saved = 0


@contextmanager
def one_torch_thread() -> Iterator[None]:
    global _users, _saved
    with _lock:
        if _users == 0:
            _saved = torch.get_num_threads()
            torch.set_num_threads(1)
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                torch.set_num_threads(_saved)
