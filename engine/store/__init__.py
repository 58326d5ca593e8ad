"""Gallery storage: PNG files on disk are the truth, a SQLite index makes listing fast.

Stdlib, numpy, Pillow and send2trash only: the GUI thread reads the gallery through
this package, so it must never pull in torch.
"""

from engine.atomic import write_atomic, write_bytes_atomic
from engine.store.a1111 import format_parameters, parse_parameters
from engine.store.errors import StoreError
from engine.store.gallery import INDEX_NAME, GalleryStore
from engine.store.gallery_items import Difference, GalleryItem
from engine.store.index import GalleryIndex, OpenState
from engine.store.index_rows import IndexRecord
from engine.store.layout import image_slug, reserve, slugify
from engine.store.metadata import ImageMetadata, metadata_from_text, png_text, read_metadata
from engine.store.output_folder import check_output_folder
from engine.store.png import encode_png, save_png_copy
from engine.store.trash import Trashed, can_undo_delete

__all__ = [
    "INDEX_NAME",
    "Difference",
    "GalleryIndex",
    "GalleryItem",
    "GalleryStore",
    "ImageMetadata",
    "IndexRecord",
    "OpenState",
    "StoreError",
    "Trashed",
    "can_undo_delete",
    "check_output_folder",
    "encode_png",
    "format_parameters",
    "image_slug",
    "parse_parameters",
    "png_text",
    "metadata_from_text",
    "read_metadata",
    "reserve",
    "save_png_copy",
    "slugify",
    "write_atomic",
    "write_bytes_atomic",
]
