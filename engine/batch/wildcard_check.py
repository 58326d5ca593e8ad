"""Checking a prompt's wildcards before any picture is made: every `{…}` reads, and every
`__name__` it names (in any option, chosen or not) is a file of the wildcard folder's
listing. The sentence is the one expanding would raise (engine.batch.wildcards), so
the window can show it under the prompt as the user types, and refuse Generate with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from engine.api.errors import BadInput
from engine.batch.wildcards import expand, has_wildcards, missing_sentence

_NAME = re.compile(r"(?<!\\)__([A-Za-z0-9_\-./]{1,100}?)__")


class _AnyName(Mapping[str, list[str]]):
    """A listing that has every name: expanding with it checks the braces alone."""

    def __getitem__(self, name: str) -> list[str]:
        return ["x"]

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0


def names_in(text: str) -> list[str]:
    """The `__name__`s the text names, in order (escaped ones are text, not names)."""
    return [match.group(1) for match in _NAME.finditer(text)]


def check_wildcards(text: str, folder: Path | None, listed: Mapping[str, list[str]]) -> None:
    """Raise BadInput with the sentence for the first problem the text's wildcards have."""
    if not has_wildcards(text):
        return
    expand(text, 0, folder, _AnyName())  # the braces: the same parse a picture makes
    for name in names_in(text):
        if name not in listed:
            raise BadInput(missing_sentence(name, folder))


def wildcard_problem(text: str, folder: Path | None, listed: Mapping[str, list[str]]) -> str:
    """The sentence for the text's first wildcard problem, "" when there is none."""
    try:
        check_wildcards(text, folder, listed)
    except BadInput as exc:
        return exc.message
    return ""
