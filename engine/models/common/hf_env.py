"""Hugging Face libraries set up for an offline desktop app.

Import this module before diffusers, transformers or huggingface_hub: huggingface_hub
reads HF_HUB_OFFLINE once, when it is first imported, so setting it later does nothing.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing is ever downloaded; a hub call is a bug
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# transformers warns at import that image processors (which SD never uses) want
# torchvision; a one-line CLI error should stay one line.
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
# A windowed app may have no stderr at all, and tqdm bars there are noise at best.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def silence_progress_bars() -> None:
    """diffusers ignores HF_HUB_DISABLE_PROGRESS_BARS for its own bars ("Loading pipeline
    components"), so switch those off by hand."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
