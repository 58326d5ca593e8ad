"""`gallery --export FOLDER` and `gallery --contact-sheet FILE`: of the PATHs named, or of
the pictures --search finds. One JSON line per picture ({"path", "exported"} or
{"path", "error"}), then one for the sheet; exit 1 when any picture was left out."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.cli_exit import EXIT_BAD_INPUT


def run_export(store, args: argparse.Namespace) -> int:
    if args.star is not None or args.board is not None or args.unboard is not None:
        return _refuse("--export and --contact-sheet do not mix with --star, --board, --unboard.")
    if args.paths and args.search is not None:
        return _refuse("name the pictures (PATH...) or --search QUERY, not both.")
    if args.export is not None and not args.export.strip():
        return _refuse("--export is empty: name the folder to export into.")
    if args.contact_sheet is not None and not args.contact_sheet.strip():
        return _refuse("--contact-sheet is empty: name the PNG file to draw it in.")
    if args.paths:
        paths = [Path(p).expanduser().absolute() for p in args.paths]
    elif args.search is not None:
        paths = [item.path for item in store.search(args.search)]
    else:
        return _refuse("name the pictures (PATH...) or choose them with --search QUERY.")
    if not paths:
        print("nothing matches the search: nothing was exported.", file=sys.stderr)
        return 0
    status = 0
    if args.export is not None:
        status = max(status, _export(paths, args))
    if args.contact_sheet is not None:
        status = max(status, _sheet(store, paths, args))
    return status


def _export(paths: list[Path], args: argparse.Namespace) -> int:
    from engine.store.export import ExportOptions, export

    how = ExportOptions(
        metadata="strip" if args.strip else "keep",
        format=args.format or "",
        quality=ExportOptions.quality if args.quality is None else args.quality,
    )
    report = export(paths, Path(args.export), how)  # BadInput: run_gallery says why
    for item in report.items:
        line = {"path": str(item.source)}
        line.update({"exported": str(item.target)} if item.target else {"error": item.why})
        print(json.dumps(line), flush=True)
    return 1 if report.failed else 0


def _sheet(store, paths: list[Path], args: argparse.Namespace) -> int:
    from engine.store.contact_sheet import SheetOptions, contact_sheet

    stars = {str(p): store.marks(p).stars for p in paths}
    how = SheetOptions(
        columns=SheetOptions.columns if args.sheet_columns is None else args.sheet_columns,
        tile=SheetOptions.tile if args.sheet_tile is None else args.sheet_tile,
    )
    report = contact_sheet(paths, Path(args.contact_sheet), how, stars)
    assert report is not None  # only a cancel gives None, and there is none here
    for source, why in report.left_out:
        print(json.dumps({"path": str(source), "error": f"not on the sheet: {why}"}), flush=True)
    line = {"contact_sheet": str(report.path), "pictures": report.pictures}
    print(json.dumps({**line, "size": list(report.size)}), flush=True)
    return 1 if report.left_out else 0


def _refuse(sentence: str) -> int:
    print(f"error: {sentence}", file=sys.stderr)
    return EXIT_BAD_INPUT
