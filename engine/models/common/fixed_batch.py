"""Running a network in micro-batches of one fixed shape, so that a row's result never
depends on how many rows share the pass.

On the CPU, MKL and oneDNN choose their kernels (and so the order in which a dot product
is summed) by the shapes they are given: with AVX-512, image 0 of a batch of 5 came out
one grey level off the batch-of-one in a few pixels. Every pass here has exactly ROWS
rows (the last chunk is padded with zeros and the padding dropped), so one sample alone
and the same sample inside a batch go through the same kernels. A row's result does not
depend on its position in the pass or on its neighbours (measured on AVX-512 and AVX2
kernels: tests/test_reproducibility.py); networks must be in eval mode, where no layer
mixes rows.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

# Rows per pass: the Lab draws 64 samples as four passes; one sample costs a pass of 16,
# still a few milliseconds on the bundled models.
ROWS = 16


def in_fixed_batches(
    forward: Callable[[torch.Tensor], torch.Tensor], rows: torch.Tensor
) -> torch.Tensor:
    """forward(rows), computed ROWS rows at a time whatever len(rows) is."""
    outputs = []
    for chunk in rows.split(ROWS):
        padding = chunk.new_zeros((ROWS - len(chunk), *chunk.shape[1:]))
        outputs.append(forward(torch.cat([chunk, padding]))[: len(chunk)])
    return torch.cat(outputs)
