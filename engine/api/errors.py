"""Errors a runner raises to tell the user something they can act on.

Anything else that escapes a runner is an internal error; the worker survives both.
"""

from __future__ import annotations

from engine.api.kinds import ErrorKind


class JobCancelled(Exception):  # noqa: N818 - a signal, not a failure
    """Raised inside a runner when the job's cancel token is set."""


class UserFacingError(Exception):
    """An error whose message is a sentence the user can act on."""

    kind = ErrorKind.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(UserFacingError):
    kind = ErrorKind.BAD_INPUT


class UnreadableImage(BadInput):
    """An input image that cannot be used (empty, damaged, too large): in a batch, that
    image is skipped and the others go on."""


class BadModelFile(UserFacingError):
    kind = ErrorKind.BAD_MODEL_FILE


class OutOfMemory(UserFacingError):
    kind = ErrorKind.OUT_OF_MEMORY


def is_out_of_memory(exc: BaseException) -> bool:
    """True for an allocator giving up, on any device; checked without importing torch.

    CUDA raises torch.OutOfMemoryError (a RuntimeError); MPS and some CPU allocators
    raise a plain RuntimeError whose message says so; Python itself raises MemoryError.
    """
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(words in text for words in _OOM_WORDS)


# CUDA/MPS say "out of memory"; the CPU allocator says "can't allocate memory"
# (DefaultCPUAllocator); oneDNN and Windows say "not enough memory".
_OOM_WORDS = ("out of memory", "can't allocate memory", "not enough memory")


def out_of_memory(device: str, doing: str = "working") -> OutOfMemory:
    """The one out-of-memory sentence, for every device and every stage of a job."""
    gpu = device in ("cuda", "mps")
    where = "The GPU" if gpu else "The computer"
    others = "other apps that use the GPU" if gpu else "other programs"
    return OutOfMemory(
        f"{where} ran out of memory while {doing}. Try a smaller width/height or batch "
        f"size, or close {others}."
    )
