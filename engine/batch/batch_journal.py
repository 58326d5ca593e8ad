"""A batch's journal: what it has made, so that a batch stopped halfway resumes where it
stopped, making nothing twice and skipping nothing.

The journal is a JSON-lines file in the output folder's `.batches` folder, named after
the batch file. Its first line holds the batch's own seed (lines that set no seed draw
theirs from it, so a re-run asks for the same pictures); each later line is one job
done: its line number and a key, the hash of the job's whole request. A job whose key is
in the journal is not run again; a line changed since (another prompt, another seed) has
another key and is run. Each entry is appended and fsync'd once the job's pictures are
saved; a crash between the two makes that one job again.

A folder upscale (engine/batch/upscale_batch.py) keeps its journal here too: one per output
folder and upscale settings, each entry keyed by an input file (its path, size and
modification time) and those settings, so that a changed file or setting is made again.

A Lab sweep (engine.batch.lab_sweep) keeps one too, with the same entries, and one more
kind: `"started": true` when a training run begins, so that a run stopped halfway
continues from its checkpoint while a file the journal never saw begin is not trusted.

A journal that cannot be read (damaged, someone else's file, too large) is set aside
with a sentence and the batch starts over.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from engine.api import untrusted_json
from engine.api.limits import random_seed
from engine.atomic import write_bytes_atomic

JOURNALS = ".batches"
_MAGIC = "latent-studio batch journal"
_MAX_BYTES = 64 * 1024 * 1024
_KEY = re.compile(r"[0-9a-f]{64}")


def journal_path(out: Path, batch_file: Path) -> Path:
    """One journal per batch file (by its full path) and output folder."""
    return _journal_file(out, batch_file.stem, str(batch_file.resolve()))


def sweep_journal_path(out: Path, run_base: str, setting: str) -> Path:
    """One journal per Lab sweep: its runs' base name and the setting it varies (a
    sweep widened later keeps the runs it made)."""
    return _journal_file(out, f"sweep-{run_base}-{setting}", f"sweep\n{run_base}\n{setting}")


def _journal_file(out: Path, stem: str, identity: str) -> Path:
    where = hashlib.sha256(identity.encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9_-]", "_", stem)[:40] or "batch"
    return out / JOURNALS / f"{name}-{where}.jsonl"


def request_key(request_data: object, line: int, index: int) -> str:
    """The hash that says a job is done: its line, its place in the line (a matrix makes
    several), and its whole request as plain data."""
    text = json.dumps([line, index, request_data], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def upscale_journal_path(out: Path, settings: object) -> Path:
    """One journal per output folder and upscale settings (model, scale, tile): another
    setting is another batch."""
    text = json.dumps(["upscale", settings], sort_keys=True, separators=(",", ":"))
    return _journal_file(out, "upscale", text)


def file_key(path: Path, settings: object) -> str:
    """The hash that says an input file was upscaled with these settings: its resolved
    path, size and modification time (an edited or replaced file is made again)."""
    resolved = path.resolve()
    stat = resolved.stat()
    identity = [str(resolved), stat.st_size, stat.st_mtime_ns]
    text = json.dumps(["upscale", identity, settings], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class BatchJournal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.batch_seed = random_seed()
        self.done: set[str] = set()
        self.started: set[str] = set()  # jobs begun, not done: a sweep's run resumes
        self.warning = ""  # a sentence when an unreadable journal was set aside
        self._started = False
        if path.exists() or path.is_symlink():
            self._read()

    def record(self, key: str, line: int, paths: list[str]) -> None:
        """Note one job as done, durably, before the next one starts."""
        self._append({"line": line, "key": key, "paths": paths})
        self.done.add(key)

    def record_started(self, key: str, line: int) -> None:
        """Note a job as begun (a Lab sweep's training, whose checkpoints may then be
        continued): only a run the journal saw begin is resumed from the file it names."""
        self._append({"line": line, "key": key, "started": True})
        self.started.add(key)

    def _append(self, entry: dict) -> None:
        if not self._started:
            self._start()
        with open(self.path, "a", encoding="utf-8") as file:
            file.write(json.dumps(entry) + "\n")
            file.flush()
            os.fsync(file.fileno())

    def _start(self) -> None:
        """Write the header (the batch seed) the first time something is done: a batch
        that makes nothing leaves no journal."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        header = {"journal": _MAGIC, "version": 1, "batch_seed": self.batch_seed}
        write_bytes_atomic(self.path, (json.dumps(header) + "\n").encode())
        self._started = True

    def _read(self) -> None:
        try:
            if self.path.is_symlink() or not self.path.is_file():
                raise ValueError("it is not a plain file")
            if self.path.stat().st_size > _MAX_BYTES:
                raise ValueError("it is over 64 MB")
            lines = self.path.read_bytes().decode("utf-8").splitlines()
            self.batch_seed = _header_seed(lines[0] if lines else "")
        except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
            self._set_aside(str(exc))
            return
        self._started = True
        for line in lines[1:]:
            if entry := _entry(line):
                key, started = entry
                (self.started if started else self.done).add(key)

    def _set_aside(self, why: str) -> None:
        aside = self.path.with_name(self.path.name + ".unreadable")
        try:
            os.replace(self.path, aside)
            kept = f" It is kept as {aside.name}."
        except OSError:
            kept = ""
        self.warning = (
            f"The batch's journal {self.path} could not be read ({why}); the batch "
            f"starts over from its first line.{kept}"
        )


def _header_seed(line: str) -> int:
    header = untrusted_json.loads(line)
    if not isinstance(header, dict) or header.get("journal") != _MAGIC:
        raise ValueError("it is not a Latent Studio batch journal")
    seed = header.get("batch_seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise ValueError("its batch seed is not a seed")
    return seed


def _entry(line: str) -> tuple[str, bool] | None:
    """An entry's key, and whether it says begun (not done); None for a line that is not
    one (a line cut short by a crash)."""
    try:
        entry = untrusted_json.loads(line)
    except ValueError:
        return None
    key = entry.get("key") if isinstance(entry, dict) else None
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        return None
    return key, entry.get("started") is True
