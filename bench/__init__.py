"""Benchmarks. Each prints `name: value unit` lines; `make bench` runs them all.

Every benchmark uses a temporary hash cache, config and gallery: it never touches the
user's own folders.
"""

import os
import tempfile

os.environ.setdefault("LATENTSTUDIO_CACHE_DIR", tempfile.mkdtemp(prefix="latentstudio-bench-"))
