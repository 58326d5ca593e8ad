"""The shared canvas and the details dock: what they show, and what it is.

A job's previews while it runs, its result when it finishes (any job's: the results
view-model decides which is shown), or an image opened from the gallery. The details
always describe what the canvas shows; a cancelled job's last preview says it was not
saved. This listens to every job (the engine's global signal), like the queue does.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from engine.api.events import Cancelled, Finished, Preview
from engine.api.grid import GridLayout, image_grid
from engine.api.outcomes import ModelOutcome, ResultImage
from engine.api.requests import SampleRequest
from engine.interface import Engine
from engine.store import ImageMetadata, metadata_from_text
from engine.store.marks import Marks
from gui.canvas import ImageCanvas
from gui.details_panel import DetailsPanel
from gui.images import rgb_to_qimage
from gui.notices import Notices
from gui.picture_info import ForeignReader, PictureInfo
from gui.picture_opener import PictureOpener
from gui.store_reads import StoreReader
from gui.viewmodels.jobs import JobState
from gui.viewmodels.lab import sample_request
from gui.viewmodels.results import ResultsModel, ShownResult

READING = "Reading this picture's details…"
NOT_STARRABLE = "Add its folder as a source folder to star it (File → Add Source Folder…)."


def inside_any(path: str, folders: tuple[Path, ...]) -> bool:
    """Whether `path` is in one of `folders`, links resolved (reads the disk)."""
    resolved = Path(path).expanduser().resolve()
    return any(resolved.is_relative_to(Path(f).expanduser().resolve()) for f in folders)


class ResultView(QObject):
    changed = Signal()  # what the canvas shows changed (the window's actions follow it)
    saved = Signal()  # a result's images went into the gallery
    sample_clicked = Signal(object)  # a SampleRequest for one sample of a shown sheet

    def __init__(
        self,
        client: Engine,
        canvas: ImageCanvas,
        details: DetailsPanel,
        results: ResultsModel,
        notices: Notices,
    ) -> None:
        super().__init__(canvas)
        self.client, self.canvas, self.details = client, canvas, details
        self.results, self.notices = results, notices
        self.shown_file: str | None = None  # the file on the canvas, if it came from disk
        self.preview_job: int | None = None  # the job whose preview is on the canvas
        self.foreign = ForeignReader(self)  # other tools' metadata of gallery pictures
        self.foreign.read.connect(self._foreign_read)
        self.reader = StoreReader(self)  # stars and boards, read off the GUI thread
        self.opener = PictureOpener(self)  # gallery pictures, read off the GUI thread
        self.opener.opened.connect(self._opened)
        self.opener.failed.connect(self._open_failed)
        self._describing: tuple[str | None, int] = (None, -1)  # a result file being read
        results.shown_changed.connect(self.show_result)
        results.model_written.connect(self._model_written)
        canvas.cell_clicked.connect(self._cell_clicked)

    def job_event(self, event: object, state: JobState | None) -> None:
        """Any job's event; `state` is the job as it was before this event."""
        if isinstance(event, Preview):
            if state is None or not state.request.shows_own_outcome:  # not a thumbnail's
                self._show_preview(event, state)
        elif isinstance(event, Finished) and state is not None:
            self.results.add(event.job_id, state.request, event.outcome)
        elif isinstance(event, Cancelled):
            self.notices.say("Cancelled: nothing was saved.", 10_000)
            if self.preview_job == event.job_id:  # the noisy preview is not a result: say so
                step = f" at step {state.step}/{state.total}" if state and state.total else ""
                self.canvas.set_banner(f"Cancelled{step}: this preview was not saved")
                self.details.show_metadata(
                    None, f"A cancelled job's last preview{step}: not saved."
                )

    def _show_preview(self, event: Preview, state: JobState | None) -> None:
        self.opener.cancel()  # what is shown last wins, as when opening was at once
        self.canvas.set_image(rgb_to_qimage(event.rgb), keep_view=True, smooth=True)
        self.shown_file = None
        if self.preview_job != event.job_id:  # the details describe the canvas
            what = state.label if state else "a job"
            self.details.show_metadata(None, f"A preview of {what}, in progress: not saved.")
        self.preview_job = event.job_id
        self.changed.emit()

    def show_result(self) -> None:
        shown = self._draw_result()
        if shown is not None:
            self._say_saved(shown.images)
        self.changed.emit()

    def show_last_result(self) -> None:
        """The shown result again, or the placeholder, without its "Saved" notices (what
        the canvas showed instead went away: Create's source was cleared)."""
        self._draw_result()
        self.changed.emit()

    def _draw_result(self) -> ShownResult | None:
        """The results' shown one on the canvas and in the details; returns it."""
        shown = self.results.shown
        self.preview_job = None
        self.opener.cancel()
        if shown is None:
            self.canvas.set_image(None)
            self.shown_file = None
            self.details.show_metadata(None)
            return None
        pixels = shown.pixels
        if pixels and len({p.shape for p in pixels}) > 1:
            # Images of different sizes (a filmstrip and its sample) cannot share a grid:
            # the first, the one the job is about, is shown.
            self.canvas.set_image(rgb_to_qimage(pixels[0]))
        elif pixels:
            self.canvas.set_image(rgb_to_qimage(image_grid(pixels)))
            self._set_canvas_grid(shown, pixels)
        images = shown.images
        self.shown_file = images[0].path if len(images) == 1 else None
        self._show_details_of_result()
        return shown

    def _say_saved(self, images: tuple[ResultImage, ...]) -> None:
        saved = [r for r in images if r.path]
        failed = [r for r in images if r.save_error]
        if saved:
            folder = Path(saved[0].path).parent
            self.notices.say(f"Saved {len(saved)} image(s) to {folder}", 10_000)
            self.saved.emit()
        if failed:
            self.notices.error(
                "Not saved",
                f"{failed[0].save_error}\n\nUse File → Save Image As… to keep it elsewhere.",
            )

    def _set_canvas_grid(self, shown, pixels) -> None:
        images = shown.images
        layout = images[0].info.get("grid") if len(images) == 1 else None
        if layout:
            self.canvas.set_grid(
                layout["columns"],
                layout["rows"],
                layout["cell_width"],
                layout["cell_height"],
                layout["gap"],
            )
        elif len(pixels) > 1:
            grid = GridLayout.for_images(len(pixels), pixels[0].shape[1], pixels[0].shape[0])
            self.canvas.set_grid(
                grid.columns, grid.rows, grid.cell_width, grid.cell_height, grid.gap
            )

    def _cell_clicked(self, column: int, row: int) -> None:
        """A sample of a Lab sheet was clicked: select it, to keep it on its own."""
        shown = self.results.shown
        if shown is None or not isinstance(shown.request, SampleRequest) or len(shown.images) != 1:
            return
        info = shown.images[0].info
        seeds, layout = info.get("seeds"), info.get("grid")
        if not seeds or not layout:
            return
        index = row * layout["columns"] + column
        if index < len(seeds):
            sample = sample_request(shown.request.model, seeds[index])
            self.sample_clicked.emit(sample)
            self.notices.say(
                f"Sample with seed {seeds[index]} selected: Keep sample saves it alone.", 8_000
            )

    def _model_written(self, outcome: ModelOutcome) -> None:
        how = "stopped early; kept" if outcome.stopped_early else "finished;"
        self.notices.say(f"Training {how} step {outcome.step} in {outcome.path}")

    # ------------------------------------------------------------ files

    def open_image(self, path: str) -> None:
        """Open a file: its pixels and its details are read off the GUI thread and shown
        together (gui/picture_opener.py). Until they arrive the canvas and the details
        keep the previous picture, which they both still describe: no blank flash and no
        "Loading…" flicker on each arrow key, and never one picture's recipe under
        another's pixels. A picture walked past before its reads landed is never shown."""
        gallery = self.client.gallery
        self.opener.open(path, gallery.metadata)

    @property
    def opening(self) -> str | None:
        """The file being opened, while its reads are under way (tests wait on it)."""
        return self.opener.pending

    def _opened(self, path: str, image: QImage, meta: ImageMetadata | None) -> None:
        self.canvas.set_image(image)
        self.shown_file = path
        self.preview_job = None
        self._show_details_read(path, meta)
        self.changed.emit()

    def _open_failed(self, path: str) -> None:
        self.notices.error("Cannot open image", f"{path} could not be read as an image.")

    def show_dropped(self, info: PictureInfo, image: QImage) -> None:
        """A picture dropped from anywhere (read off the GUI thread): on the canvas, its
        parameters in the details. Nothing else changes (PNG Info)."""
        if image.isNull():
            self.notices.error("Cannot open image", f"{info.path} could not be read as an image.")
            return
        self.opener.cancel()
        self.canvas.set_image(image)
        self.shown_file = str(info.path)
        self.preview_job = None
        self.details.show_metadata(info.meta, foreign=info.foreign, on_disk=True)  # read
        if info.meta is not None:
            self._read_dropped_marks(str(info.path))
        self.changed.emit()

    def _read_dropped_marks(self, path: str) -> None:
        """A dropped picture's Stars row: its stars when it is in the gallery (the output
        folder or a source folder), else shown disabled, saying how to star it. Where
        it is is looked up off the GUI thread (resolving a path reads the disk)."""
        gallery = self.client.gallery
        folders = (gallery.root, *gallery.source_folders)
        self.reader.read(
            lambda: gallery.marks(Path(path)) if inside_any(path, folders) else NOT_STARRABLE,
            lambda marks: self._dropped_marks(path, marks),
            NOT_STARRABLE,
        )

    def _dropped_marks(self, path: str, marks: Marks | str) -> None:
        meta = self.details.meta
        if meta is None or self.shown_file != path or self.details.marks is not None:
            return  # another picture is shown now
        if isinstance(marks, Marks):
            self._marks(path, marks)
            return
        self.details.show_metadata(
            meta, foreign=self.details.foreign, marks=Marks(), on_disk=True, locked=marks
        )

    def show_picture(self, image: QImage, note: str) -> None:
        """Pixels that are neither a result nor a gallery file (Create's source)."""
        self.opener.cancel()
        self.canvas.set_image(image)
        self.shown_file = None
        self.preview_job = None
        self.details.show_metadata(None, note)
        self.changed.emit()

    def files_gone(self, paths: set[str]) -> None:
        """Files left the gallery: if one is shown, it leaves the canvas too."""
        if self.opener.pending in paths:
            self.opener.cancel()
        if self.shown_file in paths:
            self.canvas.set_image(None)
            self.shown_file = None
            self.details.show_metadata(None)
            self.changed.emit()

    # ------------------------------------------------------------ details

    def _show_details_of_result(self) -> None:
        shown = self.results.shown
        images = shown.images if shown else ()
        if shown is None or not images or not (images[0].path or images[0].png_text):
            # Frames (a forward process…) or pixels without a recipe: say what they are,
            # never leave the previous image's details under them.
            unsaved = f"{shown.request.describe()}: shown, not saved." if shown else ""
            self.details.show_metadata(None, *([unsaved] if unsaved else []))
            return
        image = images[0]
        if image.path:
            self._show_details_of_file(image.path)
        elif image.png_text:
            self.details.show_metadata(
                metadata_from_text(image.png_text, image.width, image.height)
            )

    def marks_changed(self) -> None:
        """Stars or boards were set: the details of the shown file follow."""
        if self.shown_file and self.details.meta is not None:
            self._read_marks(self.shown_file)

    def marked_paths(self) -> list[str]:
        """The picture the canvas and the details show, for keys 0-5 and B there."""
        shown = self.shown_file and self.details.meta is not None and not self.details.locked
        return [self.shown_file] if shown and self.shown_file else []

    def _read_marks(self, path: str) -> None:
        """The file's stars and boards, read from the index off the GUI thread."""
        gallery = self.client.gallery
        self.reader.read(lambda: gallery.marks(Path(path)), lambda m: self._marks(path, m), None)

    def _marks(self, path: str, marks: Marks | None) -> None:
        meta = self.details.meta
        if marks is not None and meta is not None and self.shown_file == path:
            self.details.show_metadata(
                meta, foreign=self.details.foreign, marks=marks, on_disk=self.details.on_disk
            )

    def _show_details_of_file(self, path: str) -> None:
        """A saved result's details: its pixels are on the canvas already, its file's
        metadata is read off the GUI thread (a finished job never makes the GUI thread
        wait on the disk). Until it lands the dock says so, never describing the
        previous picture; an answer for a canvas since replaced is dropped."""
        gallery, ticket = self.client.gallery, self.opener.ticket
        self._describing = (path, ticket)
        self.details.show_metadata(None, READING)
        self.reader.read(
            lambda: gallery.metadata(Path(path)),  # StoreError (outside the gallery): None
            lambda meta: self._result_file_read(path, ticket, meta),
            None,
        )

    @property
    def describing(self) -> str | None:
        """The result file whose details are being read (tests wait on it)."""
        path, ticket = self._describing
        return path if ticket == self.opener.ticket else None

    def _result_file_read(self, path: str, ticket: int, meta: ImageMetadata | None) -> None:
        if ticket == self.opener.ticket and self._describing == (path, ticket):
            self._describing = (None, -1)
            self._show_details_read(path, meta)

    def _show_details_read(self, path: str, meta: ImageMetadata | None) -> None:
        """A file's metadata as read (None: outside the gallery), in the details."""
        if meta is None:
            self.details.show_metadata(None)
            self.foreign.open(Path(path))
            return
        self.details.show_metadata(meta, on_disk=True)  # it was just read from the file
        self._read_marks(path)
        if meta.recipe is None and meta.path is not None:
            # Another tool's picture: what its own metadata says (ComfyUI's graph,
            # InvokeAI's JSON…) follows, read off the GUI thread.
            self.foreign.open(meta.path)

    def _foreign_read(self, info: PictureInfo) -> None:
        """The picture's own read, if it is still the one shown."""
        meta = self.details.meta
        if meta is not None and meta.path == info.path and self.details.foreign is None:
            self.details.show_metadata(
                meta, foreign=info.foreign, marks=self.details.marks, on_disk=self.details.on_disk
            )
        elif meta is None and self.shown_file == str(info.path):
            self.details.show_metadata(info.meta, foreign=info.foreign)
