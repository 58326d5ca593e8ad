"""Recipes saved by an earlier release still reopen, meaning what they meant.

tests/data/recipes/<task>.json holds the PNG text chunks that release 0.1.0 (issue 19)
wrote for one request of every type, with non-default values. They are never
regenerated: a change to the request classes must keep reading them. The table below is
the oracle: what each recipe says, written out by hand from the files. When a field
moves (into a part, say), its path here changes; its value never does.
"""

from __future__ import annotations

import json
from functools import reduce
from pathlib import Path

import pytest

from engine.api.requests import request_from_dict, request_to_dict
from engine.store.metadata import metadata_from_text

RECIPES = Path(__file__).parent / "data" / "recipes"

MEANING: dict[str, dict[str, object]] = {
    "txt2img": {
        "model.id": "/models/Stable-diffusion/dreamshaper_8.safetensors",
        "prompt.positive": "a red fox in (snow:1.2), <lora:ink:0.7>",
        "prompt.negative": "blurry",
        "size.width": 640,
        "size.height": 448,
        "sampling.steps": 28,
        "sampling.cfg_scale": 6.5,
        "sampling.sampler": "dpmpp_2m_karras",
        "sampling.seed": 1234,
        "batch_size": 2,
        "loras.0.path": "/models/Lora/ink.safetensors",
        "loras.0.weight": 0.7,
        "clip_skip": 2,
        "embeddings.0": "/models/embeddings/easyneg.pt",
        "vae": "/models/VAE/ft-mse.safetensors",
        "prediction": "epsilon",
        "variation_seed": 99,
        "variation_strength": 0.25,
    },
    "latent_walk": {
        "prompt.positive": "a red fox in (snow:1.2), <lora:ink:0.7>",
        "sampling.seed": 1234,
        "to_seed": 77,
        "to_prompt": "a grey wolf",
        "frames": 6,
        "mode": "lerp",
        "grid": True,
    },
    "sample": {
        "model.id": "ddpm-shapes",
        "seed": 7,
        "count": 9,
        "grid": True,
        "options.steps": 40,
        "options.label": 2,
        "options.guidance": 3.0,
        "options.eta": 0.5,
    },
    "decode": {"model.id": "vae-digits", "latents.vectors": ((0.5, -1.25), (0.0, 2.0))},
    "interpolate": {
        "model.id": "gan-shapes",
        "from_seed": 3,
        "to_seed": 8,
        "frames": 5,
        "mode": "lerp",
        "to_latent": (0.25, 0.25, 0.25, 0.25),
        "from_latent": None,
    },
    "diffuse": {
        "model.id": "ddpm-shapes",
        "seed": 5,
        "steps": 30,
        "eta": 1.0,
        "label": 1,
        "guidance": 2.0,
        "columns": 10,
    },
    "latent_axes": {"model.id": "gan-shapes"},
    "seed_latent": {"model.id": "vae-digits", "seed": 42},
    "arithmetic": {"model.id": "vae-digits", "a": 4, "b": 5, "c": 6},
    "reconstruct": {"model.id": "vae-digits", "image.path": "2026-12-01/00001-a-red-fox.png"},
    "forward_noise": {"model.id": "ddpm-shapes", "t": 250, "image_index": 3, "noise_seed": 11},
    "train": {
        "family": "gan",
        "preset": "gan-small",
        "dataset.name": "shapes",
        "training.steps": 4000,
        "training.batch_size": 64,
        "training.learning_rate": 0.0002,
        "training.seed": 3,
        "training.checkpoint_every": 250,
        "output": "/home/me/models/gan-shapes-2.safetensors",
        "image_size": 32,
    },
    "score": {"model.id": "gan-shapes", "count": 200},
    "upscale": {
        "model.id": "/models/ESRGAN/4x-UltraSharp.pth",
        "image.path": "2026-12-01/00001-a-red-fox.png",
        "scale": 2.5,
        "tile": 256,
        "allow_large": True,
    },
    "describe": {"model.id": "/models/ESRGAN/4x-UltraSharp.pth"},
}


def _at(obj: object, path: str) -> object:
    def step(value: object, name: str) -> object:
        return value[int(name)] if name.isdigit() else getattr(value, name)

    return reduce(step, path.split("."), obj)


def test_every_request_type_has_a_saved_recipe() -> None:
    assert {p.stem for p in RECIPES.glob("*.json")} == set(MEANING)


@pytest.mark.parametrize("task", sorted(MEANING))
def test_an_old_recipe_reopens_meaning_what_it_meant(task: str) -> None:
    chunks = json.loads((RECIPES / f"{task}.json").read_text(encoding="utf-8"))
    meta = metadata_from_text(chunks, 8, 8)
    assert meta.request is not None, f"the {task} recipe of release 0.1.0 no longer opens"
    assert meta.kind == task
    for path, expected in MEANING[task].items():
        value = _at(meta.request, path)
        assert value == expected or getattr(value, "value", None) == expected, path
    # …and saved again by this version, it reads back as the same request.
    assert request_from_dict(json.loads(json.dumps(request_to_dict(meta.request)))) == meta.request
