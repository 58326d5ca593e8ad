"""The one error the store raises: a sentence saying what went wrong and what to do."""

from __future__ import annotations

import errno
from pathlib import Path

from engine.api.errors import UserFacingError

_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOSPC: "the disk is full",
    errno.EROFS: "the disk is read-only",
    errno.ENOTDIR: "part of that path is a file, not a folder",
    errno.EEXIST: "a file is in the way where a folder should be",
    errno.ENOENT: "no such file or folder",
    errno.ENAMETOOLONG: "the path is too long",
    errno.EIO: "the disk reported an input/output error",
}

# EDQUOT does not exist on every platform.
_EDQUOT = getattr(errno, "EDQUOT", errno.ENOSPC)
_REASONS.setdefault(_EDQUOT, "the disk quota is used up")
FULL_DISK_ERRORS = frozenset({errno.ENOSPC, _EDQUOT})

STILL_OPEN = "the image is still open and can be saved elsewhere."


class StoreError(UserFacingError):
    """Saving or deleting failed for a reason the user can fix (folder, disk, permissions)."""

    kind = "bad_input"


def reason(exc: OSError) -> str:
    """A short lowercase phrase for an OS error, fit to follow a colon."""
    if exc.errno in _REASONS:
        return _REASONS[exc.errno]
    text = exc.strerror or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]


def save_failed(target: Path, exc: OSError, *, in_gallery: bool = True) -> StoreError:
    """The error for a failed save; the advice depends on what the user can change."""
    if exc.errno in FULL_DISK_ERRORS:
        advice = "Free some space or choose another output folder in Settings"
    elif in_gallery:
        advice = "Choose another output folder in Settings"
    else:
        advice = "Choose another folder"
    if not in_gallery:
        return StoreError(f"Could not save to {target}: {reason(exc)}. {advice}.")
    return StoreError(f"Could not save to {target}: {reason(exc)}. {advice}; {STILL_OPEN}")
