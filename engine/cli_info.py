"""`main.py info FILE...`: what was read from each picture, one JSON line per file.

The same reader as the gallery (engine.store.foreign): the tool that wrote the picture,
its parameters in our words, what could not be mapped and notes on what was refused.
A file that cannot be read gives a line with an `error` sentence; the exit status is 0
unless no file at all could be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_NOTHING_READ = 1


def info_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="pictures (PNG, JPEG, WebP)")


def run_info(args: argparse.Namespace) -> int:
    from engine.store.foreign import read_picture

    any_read = False
    for name in args.files:
        read = read_picture(Path(name))
        any_read = any_read or not read.error
        line = {"path": name, **read.as_json()}
        # ensure_ascii: a file name that is not valid UTF-8 (a lone surrogate) still prints
        print(json.dumps(line, ensure_ascii=True), flush=True)
    if not any_read:
        print("error: none of the files could be read as a picture.", file=sys.stderr)
        return EXIT_NOTHING_READ
    return 0
