"""A command's exit code, and the one place a command's failure becomes one.

A UserFacingError (bad input, a damaged file, a gallery that cannot be written) prints
its sentence on stderr as `error: …` and exits 2; Ctrl-C, or a job cancelled, prints
"Cancelled." and exits 130, as a shell's SIGINT would. Light on purpose: a command's
parser imports it before torch is loaded.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from engine.api.errors import JobCancelled, UserFacingError

EXIT_BAD_INPUT = 2
EXIT_CANCELLED = 130


def exit_code(work: Callable[[], int], cancelled_note: str = "Cancelled.") -> int:
    """`work`'s own exit code, or the one its failure or cancellation stands for."""
    try:
        return work()
    except UserFacingError as exc:  # StoreError included
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (JobCancelled, KeyboardInterrupt):
        print(cancelled_note, file=sys.stderr)
        return EXIT_CANCELLED
