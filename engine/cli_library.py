"""The commands about files rather than jobs: `gallery` (list, check, rebuild), `models`
(what the model folders hold) and `convert` (a pickle as .safetensors). How a model name
or the prompt's LoRA tags become files is engine.cli_names."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.cli_exit import EXIT_BAD_INPUT, exit_code
from engine.cli_names import saved_models_dirs


def run_gallery(args: argparse.Namespace) -> int:
    """List (after bringing the index up to date), --check, or --rebuild a gallery, with
    the --source folders of other tools (read only) listed too."""
    if not args.out.strip():
        print("error: --out is empty: name the gallery folder to read.", file=sys.stderr)
        return EXIT_BAD_INPUT
    if stray := _stray_export_options(args):
        print(f"error: {stray}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.paths and not _marking(args) and not _exporting(args):
        print(
            "error: pictures were named without --star, --board, --unboard, --export or "
            "--contact-sheet; say what to do with them.",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    root = Path(args.out).expanduser()
    if not _is_folder(root):
        print(f"error: {root} is not a folder; there is no gallery there.", file=sys.stderr)
        return EXIT_BAD_INPUT
    return exit_code(lambda: _gallery_command(root, args))


def _gallery_command(root: Path, args: argparse.Namespace) -> int:
    from engine.store import GalleryStore, StoreError

    with GalleryStore(root) as store:
        if store.error:
            raise StoreError(store.error)
        if problems := store.set_source_folders([Path(f).expanduser() for f in args.source]):
            raise StoreError(" ".join(problems))
        if args.check:
            return _print_difference(store)
        if args.rebuild:
            total = store.rebuild(progress=_rebuild_progress)
            print(json.dumps({"rebuilt": total}), flush=True)
            return 0
        store.sync()
        if _exporting(args):
            from engine.cli_export import run_export

            return run_export(store, args)
        if _marking(args):
            return _mark(store, args)
        if args.search is not None:
            return _print_search(store, args.search)
        for item in store.items():
            line = {
                "path": str(item.path),
                "seed": item.seed,
                "kind": item.kind,
                "model": item.model,
            }
            print(json.dumps(line), flush=True)
    return 0


def _marking(args: argparse.Namespace) -> bool:
    return args.star is not None or args.board is not None or args.unboard is not None


def _exporting(args: argparse.Namespace) -> bool:
    return (
        getattr(args, "export", None) is not None
        or getattr(args, "contact_sheet", None) is not None
    )


def _stray_export_options(args: argparse.Namespace) -> str | None:
    """A sentence when an export or sheet option came without what it shapes."""
    stray_export = [
        name
        for name, given in (
            ("--strip", getattr(args, "strip", False)),
            ("--format", getattr(args, "format", None) is not None),
            ("--quality", getattr(args, "quality", None) is not None),
        )
        if given
    ]
    if stray_export and getattr(args, "export", None) is None:
        return f"{', '.join(stray_export)} shape an --export; add --export FOLDER."
    sheet = getattr(args, "sheet_columns", None), getattr(args, "sheet_tile", None)
    if any(v is not None for v in sheet) and getattr(args, "contact_sheet", None) is None:
        return "--sheet-columns and --sheet-tile shape a --contact-sheet; add --contact-sheet FILE."
    return None


def _mark(store, args: argparse.Namespace) -> int:
    """--star / --board / --unboard on the PATHs; one JSON line per picture after."""
    if not args.paths:
        print("error: name the pictures to mark: gallery --star N PATH...", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.star is not None:
        store.set_stars(args.paths, args.star)
    elif args.board is not None:
        store.add_to_board(args.paths, args.board)
    else:
        store.remove_from_board(args.paths, args.unboard)
    for path in args.paths:
        marks = store.marks(path)
        line = {"path": str(path), "stars": marks.stars, "boards": list(marks.boards)}
        print(json.dumps(line), flush=True)
    return 0


def _print_search(store, query: str) -> int:
    """One JSON line per match, newest first."""
    for item in store.search(query):
        marks = store.marks(item.path)
        line = {
            "path": str(item.path),
            "created": item.created.isoformat(),
            "prompt": item.prompt,
            "model": item.model,
            "seed": item.seed,
            "stars": marks.stars,
            "boards": list(marks.boards),
        }
        print(json.dumps(line), flush=True)
    return 0


def _print_difference(store) -> int:
    difference = store.difference()
    for path in difference.missing:
        print(json.dumps({"missing_from_index": path}), flush=True)
    for path in difference.extra:
        print(json.dumps({"not_on_disk": path}), flush=True)
    if difference.consistent:  # silence would look like nothing was checked
        print(json.dumps({"consistent": True, "images": store.count()}), flush=True)
    return 0 if difference.consistent else 1


def _rebuild_progress(done: int, total: int) -> None:
    print(
        f"\rindexed {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True
    )


def run_models(args: argparse.Namespace) -> int:
    """One JSON line per model found in the folders (default: the app's model folders)."""
    from engine.hashing import HASH_DB, HashCache, default_cache_dir
    from engine.library.scan import scan_library

    if any(not d.strip() for d in args.dir):
        print("error: --dir is empty: name a folder of models.", file=sys.stderr)
        return EXIT_BAD_INPUT
    folders = [Path(d).expanduser() for d in args.dir] if args.dir else saved_models_dirs()
    if not folders:
        print(
            "error: no model folders: pass --dir DIR, or add folders in the app's Settings.",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    missing = [str(f) for f in folders if not _is_folder(f)]
    if missing:
        print(f"error: not a folder: {', '.join(missing)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    entries = scan_library(folders)
    if not entries:  # an empty answer must not look like a command that did nothing
        print(f"no models found in {', '.join(map(str, folders))}", file=sys.stderr)
    hashes = HashCache(default_cache_dir() / HASH_DB).known(
        [e.path for e in entries if e.format == "single file"]
    )
    for entry in entries:
        sha = hashes.get(entry.path)
        print(json.dumps(entry.as_json(sha[:10] if sha else None)), flush=True)
    return 0


def run_convert(args: argparse.Namespace) -> int:
    """A loadable pickled checkpoint as .safetensors, in --out or the app's own folder
    (never beside the original: the user's folders are not written to unasked)."""
    from engine.api.catalogue import user_models_dir
    from engine.models.common.convert import convert_to_safetensors

    source = Path(args.checkpoint).expanduser()
    out = Path(args.out).expanduser() if args.out.strip() else user_models_dir() / "converted"
    problem = _convert_problem(source, out)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return exit_code(lambda: _print_converted(convert_to_safetensors(source, out), source))


def _print_converted(target: Path, source: Path) -> int:
    print(json.dumps({"path": str(target), "from": str(source)}), flush=True)
    return 0


def _convert_problem(source: Path, out: Path) -> str:
    """Why `convert` cannot start, as a sentence; "" when it can."""
    if _is_folder(source):
        return f"{source} is a folder; give the checkpoint file inside it to convert."
    if not source.is_file():
        return f"{source} does not exist."
    if out.exists() and not _is_folder(out):
        return f"--out {out} is a file; give the folder the .safetensors file should go into."
    return ""


def _is_folder(path: Path) -> bool:
    """is_dir() that says False for paths the system will not even look at (too long,
    a NUL, no permission) instead of raising: each caller then says why in a sentence."""
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False
