"""Reading a batch file: one job a line, with every option `generate` takes.

- Text (.txt and anything else): a plain line is a prompt; a line that starts with `--`
  is options, split as a shell would (A1111's "Prompts from file" syntax): `--prompt a
  red fox --seed 5 --steps 20`. A1111's names are understood (`--negative_prompt`,
  `--cfg_scale`, `--sampler_name`, `--batch_size`, `--subseed`…). Blank lines and lines
  that start with `#` are skipped.
- CSV: the header names the options (`prompt,seed,steps`); an empty cell is not set.
- JSONL: one object a line, `{"prompt": "a red fox", "seed": 5}`.

Each line is parsed by generate's own argument parser, so a line takes exactly what the
command line takes. A line that cannot be read is a BadLine with its number and a
sentence; the others are read on.
"""

from __future__ import annotations

import argparse
import csv
import io
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.api import untrusted_json
from engine.api.errors import BadInput

MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_LINES = 100_000
# A1111's "Prompts from file" names, and the options that are set once for the batch.
_A1111_NAMES = {
    "negative_prompt": "negative",
    "cfg_scale": "cfg",
    "sampler_name": "sampler",
    "batch_size": "batch",
    "subseed": "variation-seed",
    "subseed_strength": "variation-strength",
    "sd_model": "model",
}
_TEXT_OPTIONS = ("--prompt", "--negative")  # A1111 joins their unquoted words
_BATCH_ONLY = {"out": "--out", "device": "--device"}


@dataclass(frozen=True)
class BatchLine:
    number: int  # in the file, from 1
    options: dict[str, Any]  # generate's argument names (dests) this line sets


@dataclass(frozen=True)
class BadLine:
    number: int
    message: str

    def __str__(self) -> str:
        return f"line {self.number}: {self.message}"


class _LineParser(argparse.ArgumentParser):
    """generate's parser, for one line: nothing required, nothing set unless given, and a
    mistake is a BadInput, not an exit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise BadInput(message[0].upper() + message[1:] + ".")


def line_parser() -> argparse.ArgumentParser:
    from engine.cli_generate import generate_arguments

    parser = _LineParser(prog="batch line", add_help=False, allow_abbrev=False)
    generate_arguments(parser)
    for action in parser._actions:
        action.required = False
        action.default = argparse.SUPPRESS
    return parser


def read_batch(path: Path) -> tuple[list[BatchLine], list[BadLine]]:
    """The file's lines and the ones that could not be read; BadInput if the file
    itself cannot be read."""
    text = _read_text(path)
    parser = line_parser()
    suffix = path.suffix.lower()
    rows = (
        _csv_rows(text)
        if suffix == ".csv"
        else _jsonl_rows(text)
        if suffix in (".jsonl", ".ndjson")
        else _text_rows(text)
    )
    lines: list[BatchLine] = []
    bad: list[BadLine] = []
    for number, tokens in rows:
        try:
            if isinstance(tokens, BadInput):
                raise tokens
            lines.append(BatchLine(number, parse_tokens(parser, tokens)))
        except BadInput as exc:
            bad.append(BadLine(number, exc.message))
    if len(lines) + len(bad) > MAX_LINES:
        raise BadInput(f"{path} has over {MAX_LINES} lines: split it into smaller batches.")
    return lines, bad


def parse_tokens(parser: argparse.ArgumentParser, tokens: list[str]) -> dict[str, Any]:
    options = vars(parser.parse_args(_a1111_tokens(tokens)))
    for dest, flag in _BATCH_ONLY.items():
        if dest in options:
            raise BadInput(f"{flag} is set once for the whole batch, on the command line.")
    return options


def _read_text(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise BadInput(f"{path} is over 32 MB: split it into smaller batches.")
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise BadInput(f"There is no batch file {path}.") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8.") from None
    except OSError as exc:
        raise BadInput(f"{path} could not be read: {exc.strerror or exc}.") from None


Rows = list[tuple[int, "list[str] | BadInput"]]


def _text_rows(text: str) -> Rows:
    rows: Rows = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith("--"):
            rows.append((number, ["--prompt", line]))
            continue
        try:
            rows.append((number, shlex.split(line)))
        except ValueError as exc:  # an unclosed quote
            rows.append((number, BadInput(f"The line cannot be split into options: {exc}.")))
    return rows


def _csv_rows(text: str) -> Rows:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        return []
    names = [cell.strip() for cell in header]
    rows: Rows = []
    start = reader.line_num + 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append((start, _pairs_tokens(_csv_pairs(names, cells))))
            start = reader.line_num + 1
    except csv.Error as exc:
        rows.append((start, BadInput(f"The CSV cannot be read from here on: {exc}.")))
    return rows


def _csv_pairs(names: list[str], cells: list[str]) -> list[tuple[str, Any]] | BadInput:
    if len(cells) > len(names):
        return BadInput(f"The row has {len(cells)} cells but the header names {len(names)}.")
    return [(name, cell) for name, cell in zip(names, cells, strict=False) if cell.strip()]


def _jsonl_rows(text: str) -> Rows:
    rows: Rows = []
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            value = untrusted_json.loads(raw)
        except ValueError as exc:
            rows.append((number, BadInput(f"The line is not JSON: {exc}.")))
            continue
        if not isinstance(value, dict):
            rows.append((number, BadInput('The line is not a JSON object ({"prompt": …}).')))
            continue
        rows.append((number, _pairs_tokens(list(value.items()))))
    return rows


def _pairs_tokens(pairs: list[tuple[str, Any]] | BadInput) -> list[str] | BadInput:
    """Named values (a CSV row, a JSON object) as the tokens a command line would have."""
    if isinstance(pairs, BadInput):
        return pairs
    flags = _flag_options()
    tokens: list[str] = []
    for name, value in pairs:
        option = "--" + name.strip().lstrip("-")
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            if isinstance(item, dict | list):
                return BadInput(f"{option}'s value is not a number, a word or true/false.")
            if _option_name(option) in flags:
                if str(item).strip().lower() in ("true", "1", "yes"):
                    tokens.append(option)
                continue
            tokens += [option, str(item).lower() if isinstance(item, bool) else str(item)]
    return tokens


def _flag_options() -> set[str]:
    parser = line_parser()
    return {o for o, a in parser._option_string_actions.items() if a.nargs == 0}


def _option_name(option: str) -> str:
    """`--cfg_scale` → `--cfg`, `--clip_skip` → `--clip-skip`."""
    name = option[2:]
    return "--" + _A1111_NAMES.get(name, name).replace("_", "-")


def _a1111_tokens(tokens: list[str]) -> list[str]:
    """A1111's names as ours, and the unquoted words after --prompt joined as it joins
    them."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        option = _option_name(token) if token.startswith("--") else token
        out.append(option)
        i += 1
        if option in _TEXT_OPTIONS:
            words = []
            while i < len(tokens) and not tokens[i].startswith("--"):
                words.append(tokens[i])
                i += 1
            if words:
                out.append(" ".join(words))
    return out
