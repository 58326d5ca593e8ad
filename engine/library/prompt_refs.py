"""What a prompt names from the model library, resolved to files as A1111 resolves them:
<lora:NAME:WEIGHT> tags by file name without extension (case-insensitive), and
textual-inversion embeddings by their file name written as a word of the prompt."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from engine.api.errors import BadInput
from engine.api.parts import LoraSpec
from engine.api.prompt_syntax import lora_tags
from engine.library.detect import ModelKind
from engine.library.scan import LibraryEntry


def loras_by_name(entries: Iterable[LibraryEntry]) -> dict[str, LibraryEntry]:
    """The usable LoRA files, by the lower-case name a tag gives them."""
    return {e.name.lower(): e for e in entries if e.kind is ModelKind.LORA and not e.problem}


def missing_loras(prompt: str, entries: Iterable[LibraryEntry]) -> list[str]:
    """The names of the prompt's <lora:...> tags that no usable file answers."""
    known = loras_by_name(entries)
    return [tag.name for tag in lora_tags(prompt) if tag.name.lower() not in known]


def resolve_lora_tags(prompt: str, entries: Iterable[LibraryEntry]) -> tuple[LoraSpec, ...]:
    by_name = loras_by_name(entries)
    specs = []
    for tag in lora_tags(prompt):
        if not math.isfinite(tag.weight):
            raise BadInput(
                f"<lora:{tag.name}:…> has a weight that is not a number. Write it as "
                f"<lora:{tag.name}:0.8>."
            )
        entry = by_name.get(tag.name.lower())
        if entry is None:
            known = ", ".join(sorted(e.name for e in by_name.values())[:8]) or "none"
            raise BadInput(
                f"No LoRA named '{tag.name}' in the model folders (found: {known}). Check "
                "the name, or add its folder in Settings → Models folders."
            )
        specs.append(LoraSpec(str(entry.path), tag.weight))
    return tuple(specs)


def embeddings_named(prompt: str, entries: Iterable[LibraryEntry]) -> tuple[str, ...]:
    """The embedding files whose names appear in the prompt as words, longest first (so
    'style-v2' wins over 'style')."""
    found = []
    text = prompt
    candidates = [e for e in entries if e.kind is ModelKind.EMBEDDING and not e.problem]
    for entry in sorted(candidates, key=lambda e: -len(e.name)):
        pattern = rf"(?<![\w-]){re.escape(entry.name)}(?![\w-])"
        if re.search(pattern, text):
            found.append(str(entry.path))
            text = re.sub(pattern, " ", text)
    return tuple(sorted(found))
