"""The Upscale batch's journal: a folder upscale stopped halfway (Cancel, a crash, the
app closed) resumes where it stopped when the same images are upscaled again with the
same settings into the same output folder.

It is the command line's journal (engine/batch/batch_journal.py, one per output folder
and model, scale and tile; an entry per input file by its path, size and modification
time), so a batch started with `main.py upscale` resumes here too, and the other way
round. Upscale skips what the journal lists; Upscale Selected makes an image again.
The journal and each input's key (its size and modification time) are read off the GUI
thread when Upscale is pressed, and the jobs start when the answer comes; entries are
written off the GUI thread too, in order, once an image is saved.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from engine.api.requests import UpscaleRequest
from engine.batch.batch_journal import BatchJournal, file_key, upscale_journal_path
from engine.batch.upscale_batch import UpscaleSettings
from gui.store_reads import StoreReader
from gui.viewmodels.upscale import EntryStatus, UpscaleEntry

_Slot = tuple[str, str, float, int]  # image path, model, scale, tile


def _slot(request: UpscaleRequest) -> _Slot:
    return (request.image.path, request.model.id, float(request.scale), int(request.tile))


def _journal_and_keys(
    out: Path, upscale: UpscaleSettings, paths: list[str]
) -> tuple[BatchJournal, list[str | None]]:
    """The batch's journal and each input's key (None: the file is gone, and its job
    will say so in its row). On the reader's thread: it reads and stats files (the
    model's too: a model file is named in the journal by its size and time)."""
    settings = upscale.data()
    journal = BatchJournal(upscale_journal_path(out, settings))
    keys: list[str | None] = []
    for path in paths:
        try:
            keys.append(file_key(Path(path), settings))
        except OSError:
            keys.append(None)
    return journal, keys


class ResumeMixin:
    """UpscalePanel's journal (a mixin: the panel owns the entries and the settings)."""

    output_dir: Callable[[], Path | None] = staticmethod(lambda: None)  # the window sets it

    def _init_resume(self) -> None:
        self._writer = ThreadPoolExecutor(max_workers=1)  # entries in order, off the GUI
        self._journaled: dict[_Slot, tuple[BatchJournal, str, int]] = {}
        self._journal_reader = StoreReader(self)  # the journal and the keys, off the GUI
        self._checking: set[str] = set()  # inputs whose journal look is under way

    def _start_not_made_before(
        self, entries: list[UpscaleEntry], build: Callable[[UpscaleEntry], UpscaleRequest]
    ) -> list[UpscaleRequest]:
        """Without an output folder, the entries' requests. Else none now: the journal is
        read off the GUI thread, then the requests of the entries it does not list are
        submitted (`submit_requested`) and the others marked done. A bad setting raises
        BadInput here, before anything is read."""
        out = self.output_dir()
        requests = [build(entry) for entry in entries]
        if out is None or not requests:
            return requests
        first = requests[0]
        settings = UpscaleSettings(first.model, first.scale, first.tile)
        paths = [entry.path for entry in entries]
        self._checking.update(paths)
        self._journal_reader.read(
            lambda: _journal_and_keys(Path(out), settings, paths),
            lambda found: self._journal_read(entries, requests, found, out),
            None,  # the journal could not be read: every image is made
        )
        return []

    def _journal_read(
        self,
        entries: list[UpscaleEntry],
        requests: list[UpscaleRequest],
        found: tuple[BatchJournal, list[str | None]] | None,
        out: Path,
    ) -> None:
        """Back on the GUI thread: mark what was made before, submit the rest."""
        self._checking.difference_update(entry.path for entry in entries)
        journal, keys = found if found is not None else (None, [None] * len(entries))
        if journal is not None and journal.warning:
            self.notice.emit(journal.warning)
        todo, before = [], 0
        rows = zip(entries, requests, keys, strict=True)
        for number, (entry, request, key) in enumerate(rows, 1):
            if self.inputs.get(entry.path) is not entry:
                continue  # removed from the list while the journal was read
            if journal is None or key is None:  # gone: the job says so in the row
                todo.append(request)
            elif key in journal.done:
                before += 1
                entry.status, entry.detail = EntryStatus.DONE, "upscaled before, in the gallery"
                self._refresh_row(entry)
            else:
                self._journaled[_slot(request)] = (journal, key, number)
                todo.append(request)
        if before and not todo:
            self.notice.emit(
                f"Every image in the list was upscaled before with these settings (in {out}): "
                "change a setting, or use Upscale Selected to make one again."
            )
        elif before:
            self.notice.emit(
                f"{before} images were upscaled before with these settings: the batch "
                "resumes after them (Upscale Selected makes one again)."
            )
        for request in todo:
            self.submit_requested.emit(request)

    def _record_made(self, request: UpscaleRequest, path: str) -> None:
        """An image of the batch is saved: note it in the journal (off the GUI thread)."""
        noted = self._journaled.pop(_slot(request), None)
        if noted is not None and path:
            journal, key, number = noted
            self._writer.submit(journal.record, key, number, [path])

    def wait_for_journal(self) -> None:
        """Every journal read answered and every entry written (tests; closing)."""
        self._journal_reader.wait()
        self._writer.submit(lambda: None).result()
