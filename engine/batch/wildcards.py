"""Wildcards in a prompt, as the sd-dynamic-prompts extension writes them (our own code).

- `{red|green|blue}`: one of the options; `{2$$red|green|blue}`: two different ones,
  joined by ", "; `{1-3$$a|b|c}` between one and three; `{2$$ and $$a|b|c}` joined by
  " and ". Options may hold wildcards of their own (nested).
- `__colours__`: one line of `colours.txt` in the wildcard folder (`__hair/long__` reads
  `hair/long.txt`); the line is expanded in its turn. Empty lines and `#` comments are
  not options.
- `\\{`, `\\}`, `\\|` and `\\_` are the characters themselves.

The choices come from a random stream of their own derived from the picture's seed, so
the same seed makes the same choices (a recipe reproduces them) and the image's noise,
drawn from the seed itself, is untouched. A prompt without wildcards is returned as it
is, backslashes included.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from engine.api.errors import BadInput

# Mixed into the seed so that the choices' stream is not the noise's.
_STREAM_TAG = 0x57494C44  # "WILD"
_MAX_DEPTH = 16  # a wildcard file that names itself stops here, with a sentence
_MAX_FILE_BYTES = 4 * 1024 * 1024
_NAME = re.compile(r"__([A-Za-z0-9_\-./]{1,100}?)__")  # bounded: no scan to the end
_SPECIAL = re.compile(r"(?<!\\)[{}]|\\[{}|_]")


def has_wildcards(text: str) -> bool:
    """Whether `text` holds any wildcard syntax (braces, `__name__`, or their escapes)."""
    return bool(_SPECIAL.search(text) or _NAME.search(text))


def expand(
    text: str,
    seed: int,
    folder: Path | None = None,
    files: Mapping[str, list[str]] | None = None,
) -> str:
    """`text` with every wildcard replaced by the choice the seed makes. `files`, when
    given, holds the folder's files already read (name → options, as
    engine.batch.wildcard_folder reads them): nothing is read from the disk then (the
    window expands with the last listing), and the choices are the same."""
    if not has_wildcards(text):
        return text
    rng = np.random.default_rng([_STREAM_TAG, seed])
    return _Expander(rng, folder, files).text(text, 0)


def wildcard_folder(data_dir: Path) -> Path:
    """The wildcard folder of the app's data folder."""
    return data_dir / "wildcards"


class _Expander:
    def __init__(
        self,
        rng: np.random.Generator,
        folder: Path | None,
        listed: Mapping[str, list[str]] | None = None,
    ) -> None:
        self.rng = rng
        self.folder = folder
        self.listed = listed
        self.files: dict[str, list[str]] = {}

    def text(self, text: str, depth: int) -> str:
        if depth > _MAX_DEPTH:
            raise BadInput(
                f"The wildcards nest more than {_MAX_DEPTH} deep (a wildcard file that "
                "names itself?): break the loop."
            )
        out: list[str] = []
        i = 0
        while i < len(text):
            char = text[i]
            if char == "\\" and i + 1 < len(text) and text[i + 1] in "{}|_":
                out.append(text[i + 1])
                i += 2
            elif char == "{":
                end = _closing_brace(text, i)
                out.append(self.choice(text[i + 1 : end], depth))
                i = end + 1
            elif char == "}":
                raise BadInput(
                    f"The prompt has a }} with no {{ before it: {_around(text, i)}. "
                    "Write \\} for the character itself."
                )
            elif (match := _NAME.match(text, i)) is not None:
                out.append(self.text(self.line_of(match.group(1)), depth + 1))
                i = match.end()
            else:
                out.append(char)
                i += 1
        return "".join(out)

    def choice(self, body: str, depth: int) -> str:
        """One `{…}`: pick its options (by the count it asks for) and expand them."""
        low, high, joiner, options = _parse_choice(body)
        count = int(self.rng.integers(low, high + 1)) if high > low else low
        count = min(count, len(options))
        picked = self.rng.choice(len(options), size=count, replace=False)
        return joiner.join(self.text(options[k], depth + 1) for k in sorted(picked))

    def line_of(self, name: str) -> str:
        lines = self.files.get(name)
        if lines is None:
            lines = self.files[name] = (
                _read_wildcard(self.folder, name)
                if self.listed is None
                else _listed_lines(self.listed, self.folder, name)
            )
        return lines[int(self.rng.integers(len(lines)))]


def _closing_brace(text: str, start: int) -> int:
    depth = 0
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return i
        i += 1
    raise BadInput(
        f"The prompt has a {{ that is never closed: {_around(text, start)}. "
        "Close it with }, or write \\{ for the character itself."
    )


def _parse_choice(body: str) -> tuple[int, int, str, list[str]]:
    """`{2$$ and $$a|b}` → (2, 2, " and ", ["a", "b"]); `{a|b}` → (1, 1, ", ", …)."""
    parts = split_top_level(body, "$$")
    low = high = 1
    joiner = ", "
    if len(parts) >= 2 and re.fullmatch(r"\s*\d+(\s*-\s*\d+)?\s*", parts[0]):
        numbers = [int(n) for n in re.findall(r"\d+", parts[0])]
        low, high = numbers[0], numbers[-1]
        if low > high:
            raise BadInput(f"The wildcard {{{body}}} asks for {low}-{high} options: swap them.")
        parts = parts[1:]
        if len(parts) == 2:
            joiner, parts = parts[0], parts[1:]
    if len(parts) != 1:
        raise BadInput(f"The wildcard {{{body}}} has too many $$: write {{N$$a|b}}.")
    return low, high, joiner, split_top_level(parts[0], "|")


def split_top_level(text: str, separator: str) -> list[str]:
    """`text` split at each `separator` outside braces, escapes kept as they are."""
    pieces, depth, start, i = [], 0, 0, 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] in "{}":
            depth += 1 if text[i] == "{" else -1
        elif depth == 0 and text.startswith(separator, i):
            pieces.append(text[start:i])
            start = i = i + len(separator)
            continue
        i += 1
    pieces.append(text[start:])
    return pieces


def _listed_lines(listed: Mapping[str, list[str]], folder: Path | None, name: str) -> list[str]:
    """A file's options from a listing of the folder, with the sentences a read gives."""
    lines = listed.get(name)
    if lines is None:
        raise BadInput(missing_sentence(name, folder))
    if not lines:
        raise BadInput(f"The wildcard file {name}.txt has no options: write one a line.")
    return lines


def missing_sentence(name: str, folder: Path | None) -> str:
    if folder is None:
        return f"__{name}__ names a wildcard file, but no wildcard folder is set."
    return (
        f"There is no wildcard file {name}.txt in {folder}: add it there, or write "
        f"\\_\\_{name}\\_\\_ for the text itself."
    )


def options_of(text: str) -> list[str]:
    """A wildcard file's options: its lines, stripped, without empty ones and # comments."""
    lines = [line.strip() for line in text.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def _read_wildcard(folder: Path | None, name: str) -> list[str]:
    path = _wildcard_path(folder, name)
    try:
        if path.stat().st_size > _MAX_FILE_BYTES:
            raise BadInput(f"The wildcard file {path} is over 4 MB: split it.")
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise BadInput(missing_sentence(name, folder)) from None
    except OSError as exc:
        raise BadInput(f"The wildcard file {path} could not be read: {exc.strerror}.") from None
    lines = options_of(text)
    if not lines:
        raise BadInput(f"The wildcard file {path} has no options: write one a line.")
    return lines


def _wildcard_path(folder: Path | None, name: str) -> Path:
    """name.txt inside the folder; a name that would leave it is refused."""
    if folder is None:
        raise BadInput(f"__{name}__ names a wildcard file, but no wildcard folder is set.")
    parts = name.split("/")
    if name.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise BadInput(
            f"The wildcard name {name!r} is not a file name inside the wildcard folder: "
            "use letters, digits, - and _, and / for a subfolder."
        )
    root = folder.resolve()
    path = (root / Path(*parts)).with_name(parts[-1] + ".txt").resolve()
    if not path.is_relative_to(root):  # a link that points out of the folder
        raise BadInput(f"The wildcard file for {name!r} lies outside {folder}: it is not read.")
    return path


def _around(text: str, at: int) -> str:
    """The place in the prompt, for the sentence: a few characters either side."""
    start = max(0, at - 12)
    return f"…{text[start : at + 12]}…" if len(text) > 24 else repr(text)
