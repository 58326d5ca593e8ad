"""The Upscale batch's journal: a folder upscale stopped halfway (Cancel, a crash, the
app closed) resumes where it stopped when the same images are upscaled again with the
same settings into the same output folder.

It is the command line's journal (engine/batch/batch_journal.py, one per output folder
and model, scale and tile; an entry per input file by its path, size and modification
time), so a batch started with `main.py upscale` resumes here too, and the other way
round. Upscale skips what the journal lists; Upscale Selected makes an image again.
Entries are written off the GUI thread, in order, once an image is saved.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from engine.api.errors import BadInput
from engine.api.requests import UpscaleRequest
from engine.batch.batch_journal import BatchJournal, file_key, upscale_journal_path
from engine.batch.upscale_batch import UpscaleSettings
from gui.viewmodels.upscale import EntryStatus, UpscaleEntry

_Slot = tuple[str, str, float, int]  # image path, model, scale, tile


def _slot(request: UpscaleRequest) -> _Slot:
    return (request.image.path, request.model.id, float(request.scale), int(request.tile))


class ResumeMixin:
    """UpscalePanel's journal (a mixin: the panel owns the entries and the settings)."""

    output_dir: Callable[[], Path | None] = staticmethod(lambda: None)  # the window sets it

    def _init_resume(self) -> None:
        self._writer = ThreadPoolExecutor(max_workers=1)  # entries in order, off the GUI
        self._journaled: dict[_Slot, tuple[BatchJournal, str, int]] = {}

    def _not_made_before(
        self, entries: list[UpscaleEntry], build: Callable[[UpscaleEntry], UpscaleRequest]
    ) -> list[UpscaleRequest]:
        """The requests of the entries the journal does not list; the others are marked
        done. Raises BadInput when every one was made before."""
        out = self.output_dir()
        requests = [build(entry) for entry in entries]
        if out is None or not requests:
            return requests
        first = requests[0]
        settings = UpscaleSettings(first.model, first.scale, first.tile).data()
        journal = BatchJournal(upscale_journal_path(Path(out), settings))
        if journal.warning:
            self.notice.emit(journal.warning)
        todo, before = [], 0
        for number, (entry, request) in enumerate(zip(entries, requests, strict=True), 1):
            try:
                key = file_key(Path(entry.path), settings)
            except OSError:  # gone: the job says so in the row
                todo.append(request)
                continue
            if key in journal.done:
                before += 1
                entry.status, entry.detail = EntryStatus.DONE, "upscaled before, in the gallery"
                self._refresh_row(entry)
                continue
            self._journaled[_slot(request)] = (journal, key, number)
            todo.append(request)
        if before and not todo:
            raise BadInput(
                f"Every image in the list was upscaled before with these settings (in {out}): "
                "change a setting, or use Upscale Selected to make one again."
            )
        if before:
            self.notice.emit(
                f"{before} images were upscaled before with these settings: the batch "
                "resumes after them (Upscale Selected makes one again)."
            )
        return todo

    def _record_made(self, request: UpscaleRequest, path: str) -> None:
        """An image of the batch is saved: note it in the journal (off the GUI thread)."""
        noted = self._journaled.pop(_slot(request), None)
        if noted is not None and path:
            journal, key, number = noted
            self._writer.submit(journal.record, key, number, [path])

    def wait_for_journal(self) -> None:
        """Every journal entry written (tests; closing)."""
        self._writer.submit(lambda: None).result()
