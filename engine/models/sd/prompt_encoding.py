"""Prompts as AUTOMATIC1111 encodes them: weighted, BREAK-able, and longer than 77 tokens.

The prompt is split into runs of equal weight (engine/api/prompt_syntax.py); their tokens
are laid into chunks of 75, each closed by the start and end tokens and padded to 77 as
the pipeline's own tokenizer pads. A full chunk breaks after its last comma when that
comma is within the last 20 tokens, so a phrase is not cut in two. Each chunk goes
through the text encoder on its own; its hidden states are multiplied by the tokens'
weights and rescaled to the chunk's original mean (so weighting shifts emphasis, not
overall magnitude), and the chunks are concatenated along the sequence.

A prompt without weights, BREAK or a second chunk is not encoded here: the pipeline
encodes the plain text itself, exactly as a bare diffusers call does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from engine.api.prompt_syntax import (
    layout_chunks,
    needs_weighting,
    parse_attention,
    without_lora_tags,
)

CHUNK_TOKENS = 75
COMMA_BACKTRACK = 20
MEAN_EPSILON = 1e-4


@dataclass
class Chunk:
    ids: list[int] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)


def chunks_of(tokenizer: Any, text: str) -> list[Chunk]:
    """The prompt's tokens in chunks of at most 75, with a weight per token."""
    runs = parse_attention(without_lora_tags(text))
    laid = layout_chunks(
        runs,
        lambda run: tokenizer(run, add_special_tokens=False, truncation=False).input_ids,
        comma=tokenizer.convert_tokens_to_ids(",</w>"),
        size=CHUNK_TOKENS,
        backtrack=COMMA_BACKTRACK,
    )
    return [Chunk([t for t, _ in chunk], [w for _, w in chunk]) for chunk in laid]


def needs_own_encoding(tokenizer: Any, positive: str, negative: str) -> bool:
    return any(
        needs_weighting(text) or len(chunks_of(tokenizer, text)) > 1
        for text in (positive, negative)
    )


def _token_tensor(tokenizer: Any, chunk: Chunk, device: Any) -> tuple[torch.Tensor, torch.Tensor]:
    length = CHUNK_TOKENS + 2
    ids = [tokenizer.bos_token_id, *chunk.ids, tokenizer.eos_token_id]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    ids += [pad] * (length - len(ids))
    weights = [1.0, *chunk.weights] + [1.0] * (length - 1 - len(chunk.weights))
    return torch.tensor([ids], device=device), torch.tensor(weights, device=device)


def encode_chunks(
    tokenizer: Any,
    text_encoder: Any,
    chunks: list[Chunk],
    layer: int | None,
    final_norm: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(hidden states of every chunk, concatenated; the first chunk's pooled output).

    `layer` None: the encoder's last output (after its final layer norm), as SD 1.x/2.x
    pipelines use; else hidden_states[layer] (SDXL: -2; clip skip: further back).
    """
    device = text_encoder.device
    hidden_chunks, pooled = [], None
    for chunk in chunks:
        ids, weights = _token_tensor(tokenizer, chunk, device)
        output = text_encoder(ids, output_hidden_states=True)
        hidden = output[0] if layer is None else output.hidden_states[layer]
        if final_norm:  # clip skip in SD 1.x/2.x: an earlier layer, then the final norm
            hidden = getattr(text_encoder, "text_model", text_encoder).final_layer_norm(hidden)
        if pooled is None:
            pooled = (
                output[0] if getattr(output, "text_embeds", None) is None else output.text_embeds
            )
        hidden_chunks.append(_weighted(hidden, weights.to(hidden.dtype)))
    return torch.cat(hidden_chunks, dim=1), pooled


def _weighted(hidden: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Each token's states times its weight, rescaled to the chunk's original mean. A
    mean near zero (an untrained layer norm's) has nothing to restore and would only
    blow the states up, so it is left as it is."""
    if bool((weights == 1.0).all()):
        return hidden
    original_mean = hidden.mean()
    weighted = hidden * weights[None, :, None]
    new_mean = weighted.mean()
    if min(abs(float(original_mean)), abs(float(new_mean))) > MEAN_EPSILON:
        weighted = weighted * (original_mean / new_mean)
    return weighted


def same_length(a: list[Chunk], b: list[Chunk]) -> tuple[list[Chunk], list[Chunk]]:
    """Positive and negative must have as many chunks: the shorter gets empty ones."""
    n = max(len(a), len(b))
    return a + [Chunk() for _ in range(n - len(a))], b + [Chunk() for _ in range(n - len(b))]


@torch.no_grad()
def prompt_embeddings(pipe: Any, positive: str, negative: str, clip_skip: int) -> dict[str, Any]:
    """The keyword arguments that replace `prompt`/`negative_prompt` in the pipeline call.

    clip_skip counts as A1111's does: 1 is the last layer, 2 the one before it.
    """
    # A multi-vector embedding's name becomes its tokens name, name_1, ... (diffusers' own
    # rewriting, which a bare call makes too).
    positive, negative = (
        pipe.maybe_convert_prompt(t, pipe.tokenizer) for t in (positive, negative)
    )
    pos, neg = same_length(chunks_of(pipe.tokenizer, positive), chunks_of(pipe.tokenizer, negative))
    if getattr(pipe, "text_encoder_2", None) is None:
        layer = None if clip_skip <= 1 else -clip_skip
        embeds = []
        for chunks in (pos, neg):
            hidden, _ = encode_chunks(
                pipe.tokenizer, pipe.text_encoder, chunks, layer, final_norm=layer is not None
            )
            embeds.append(hidden)
        return {"prompt_embeds": embeds[0], "negative_prompt_embeds": embeds[1]}
    return _sdxl_embeddings(pipe, pos, neg, clip_skip)


def _sdxl_embeddings(
    pipe: Any, pos: list[Chunk], neg: list[Chunk], clip_skip: int
) -> dict[str, Any]:
    # SDXL reads the penultimate layer of both encoders (diffusers: hidden_states[-2]),
    # concatenated along the features, and text_encoder_2's pooled projection.
    layer = -1 - max(1, clip_skip)
    out: dict[str, Any] = {}
    for name, chunks in (("prompt_embeds", pos), ("negative_prompt_embeds", neg)):
        parts, pooled = [], None
        for tokenizer, encoder in (
            (pipe.tokenizer, pipe.text_encoder),
            (pipe.tokenizer_2, pipe.text_encoder_2),
        ):
            hidden, pooled = encode_chunks(tokenizer, encoder, chunks, layer)
            parts.append(hidden)
        out[name] = torch.cat(parts, dim=-1)
        out[name.replace("prompt_embeds", "pooled_prompt_embeds")] = pooled
    return out
