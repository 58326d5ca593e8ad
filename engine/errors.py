"""Errors a runner raises to tell the user something they can act on.

Anything else that escapes a runner is an internal error; the worker survives both.
"""

from __future__ import annotations


class JobCancelled(Exception):  # noqa: N818 - a signal, not a failure
    """Raised inside a runner when the job's cancel token is set."""


class UserFacingError(Exception):
    """An error whose message is a sentence the user can act on."""

    kind = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(UserFacingError):
    kind = "bad_input"


class BadModelFile(UserFacingError):
    kind = "bad_model_file"


class OutOfMemory(UserFacingError):
    kind = "out_of_memory"


def is_out_of_memory(exc: BaseException) -> bool:
    """True for an allocator giving up, on any device; checked without importing torch.

    CUDA raises torch.OutOfMemoryError (a RuntimeError); MPS and some CPU allocators
    raise a plain RuntimeError whose message says so; Python itself raises MemoryError.
    """
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
