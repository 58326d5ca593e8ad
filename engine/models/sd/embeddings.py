"""Textual-inversion embeddings named in a prompt, added for one job and removed after it.

A1111 files: `.safetensors` with `emb_params` (SD 1.x/2.x) or `clip_l` + `clip_g`
(SDXL, one per text encoder), or a `.pt` holding `string_to_param['*']` (read with
torch.load(weights_only=True): nothing in it runs). The token is the file's name, as
in A1111. The vectors go in through diffusers' own `load_textual_inversion`, and
`unload_textual_inversion` takes them out again, so the cached pipeline's tokenizer and
embedding table are what they were.
"""

from __future__ import annotations

import contextlib
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from engine.api.errors import BadInput, BadModelFile
from engine.library.header import would_run_code


def embedding_vectors(path: Path) -> dict[str, torch.Tensor]:
    """{'clip_l': vectors} for SD 1.x/2.x files; {'clip_l', 'clip_g'} for SDXL ones."""
    try:
        if path.suffix.lower() == ".safetensors":
            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise BadModelFile(would_run_code(path)) from exc
    except Exception as exc:
        raise BadModelFile(f"{path.name} cannot be read as an embedding ({exc}).") from exc
    if "clip_l" in state and "clip_g" in state:
        return {"clip_l": state["clip_l"], "clip_g": state["clip_g"]}
    if "emb_params" in state:
        return {"clip_l": state["emb_params"]}
    param = state.get("string_to_param") if isinstance(state, dict) else None
    if isinstance(param, dict) and isinstance(param.get("*"), torch.Tensor):
        return {"clip_l": param["*"]}
    raise BadModelFile(f"{path.name} is not a textual-inversion embedding A1111 would read.")


@contextlib.contextmanager
def applied_embeddings(pipe: Any, paths: tuple[str, ...]) -> Iterator[None]:
    if not paths:
        yield
        return
    encoders = [(pipe.tokenizer, pipe.text_encoder, "clip_l")]
    if getattr(pipe, "text_encoder_2", None) is not None:
        encoders.append((pipe.tokenizer_2, pipe.text_encoder_2, "clip_g"))
    planned = [(Path(p).stem, embedding_vectors(Path(p)), Path(p)) for p in paths]
    for name, vectors, path in planned:
        _check_fits(name, vectors, encoders, path)
    loaded: list[tuple[list[str], Any, Any]] = []
    try:
        for name, vectors, _ in planned:
            for tokenizer, encoder, key in encoders:
                tensor = vectors[key].to(encoder.dtype)
                pipe.load_textual_inversion(
                    tensor, token=name, tokenizer=tokenizer, text_encoder=encoder
                )
                loaded.append((_tokens(name, tensor), tokenizer, encoder))
        yield
    finally:
        for tokens, tokenizer, encoder in reversed(loaded):
            pipe.unload_textual_inversion(tokens, tokenizer=tokenizer, text_encoder=encoder)


def _tokens(name: str, vectors: torch.Tensor) -> list[str]:
    """The tokens diffusers adds for an embedding: name, then name_1, name_2... for
    each further vector."""
    count = vectors.shape[0] if vectors.ndim > 1 else 1
    return [name] + [f"{name}_{i}" for i in range(1, count)]


def _check_fits(name: str, vectors: dict, encoders: list, path: Path) -> None:
    for _tokenizer, encoder, key in encoders:
        if key not in vectors:
            raise BadInput(
                f"The embedding {path.name} was made for SD 1.x/2.x; this SDXL model needs one "
                "with vectors for both of its text encoders."
            )
        width = int(vectors[key].shape[-1])
        expected = int(encoder.get_input_embeddings().weight.shape[-1])
        if width != expected:
            raise BadInput(
                f"The embedding {path.name} holds vectors {width} wide and this model's text "
                f"encoder takes {expected}: it was made for another kind of model."
            )
