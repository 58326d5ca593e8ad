"""A form's request whose prompt or negative prompt holds wildcards, as the pictures it
makes: each picture's choice drawn from its own seed (engine.batch.wildcards), as
sd-dynamic-prompts does for a batch.

A batch of n from seed s is n requests of one picture, seeds s … s+n-1: image i of a
batch already uses seed + i, so the pictures are the ones the batch would make, each
with its own prompt, and each picture's recipe (prompt as chosen, template as written)
makes that picture again on its own. An option may name a LoRA or an embedding, so each
chosen prompt's networks are looked up again (`with_networks`, for Create and the CLI).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from engine.api.parts import Prompt
from engine.api.requests import Txt2ImgRequest
from engine.batch.wildcards import expand, has_wildcards
from engine.library.prompt_refs import embeddings_named, resolve_lora_tags
from engine.library.scan import LibraryEntry

Listing = Mapping[str, list[str]]


def uses_wildcards(request: Txt2ImgRequest) -> bool:
    return has_wildcards(request.prompt.positive) or has_wildcards(request.prompt.negative)


def chosen_for_seed(
    request: Txt2ImgRequest, seed: int, folder: Path | None, listed: Listing | None = None
) -> Txt2ImgRequest:
    """`request` with both prompts as `seed` chooses them, and the templates kept."""
    positive, negative = request.prompt.positive, request.prompt.negative
    chosen = Prompt(expand(positive, seed, folder, listed), expand(negative, seed, folder, listed))
    return replace(
        request,
        prompt=chosen,
        prompt_template=positive if chosen.positive != positive else "",
        negative_template=negative if chosen.negative != negative else "",
    )


def picture_requests(
    request: Txt2ImgRequest, folder: Path | None, listed: Listing | None = None
) -> list[Txt2ImgRequest]:
    """One request per picture when a prompt has wildcards; else the request itself."""
    if not uses_wildcards(request):
        return [request]
    first = request.sampling.seed
    return [
        chosen_for_seed(
            replace(request, batch_size=1, sampling=replace(request.sampling, seed=first + i)),
            first + i,
            folder,
            listed,
        )
        for i in range(request.batch_size)
    ]


def with_networks(request: Txt2ImgRequest, entries: Iterable[LibraryEntry]) -> Txt2ImgRequest:
    """`request` with the LoRAs and embeddings its prompts name as chosen, from the
    library's `entries` (no disk read). Raises BadInput for a LoRA tag no file answers."""
    entries = list(entries)  # read twice
    both = f"{request.prompt.positive} {request.prompt.negative}"
    return replace(
        request,
        loras=resolve_lora_tags(both, entries),
        embeddings=embeddings_named(both, entries),
    )
