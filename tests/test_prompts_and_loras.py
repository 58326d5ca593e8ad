"""A1111 prompt syntax, long prompts, clip skip and LoRAs.

Oracles: A1111's documented parser examples (copied as a table), diffusers' own
`encode_prompt` for plain prompts pushed through the app's encoder, and diffusers' own
`load_lora_weights` + `set_adapters` on a bare pipeline for LoRAs.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.parts import LoraSpec, ModelRef, Prompt, Sampling, Size
from engine.api.prompt_syntax import lora_tags, parse_attention, unbalanced, without_lora_tags
from engine.api.requests import Txt2ImgRequest
from engine.context import JobContext
from engine.models.sd.loading import load_sd_pipeline
from engine.models.sd.prompt_encoding import CHUNK_TOKENS, chunks_of, prompt_embeddings
from engine.store import read_metadata
from tests.sd_original_layout import (
    bare_image,
    bare_pipeline,
    save_folder,
    save_single_file,
    tiny_pipeline,
)
from tests.tiny_loras import lora_state, save_diffusers_lora, save_kohya_lora

# ---------------------------------------------------------------- the parser

# The examples in the docstring of A1111's modules/prompt_parser.py parse_prompt_attention.
A1111_EXAMPLES = [
    ("normal text", [("normal text", 1.0)]),
    ("an (important) word", [("an ", 1.0), ("important", 1.1), (" word", 1.0)]),
    ("(unbalanced", [("unbalanced", 1.1)]),
    ("\\(literal\\]", [("(literal]", 1.0)]),
    ("(unnecessary)(parens)", [("unnecessaryparens", 1.1)]),
    (
        "a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
        [
            ("a ", 1.0),
            ("house", 1.5730000000000004),
            (" ", 1.1),
            ("on", 1.0),
            (" a ", 1.1),
            ("hill", 0.55),
            (", sun, ", 1.1),
            ("sky", 1.4641000000000006),
            (".", 1.1),
        ],
    ),
]


@pytest.mark.parametrize(("text", "expected"), A1111_EXAMPLES)
def test_the_parser_reads_a1111s_documented_examples(text, expected):
    assert parse_attention(text) == expected


def test_break_and_lora_tags():
    assert parse_attention("a cat BREAK a dog") == [("a cat", 1.0), ("BREAK", -1.0), ("a dog", 1.0)]
    tags = lora_tags("castle <lora:ink_style:0.6>, <lora:detail>")
    assert [(t.name, t.weight) for t in tags] == [("ink_style", 0.6), ("detail", 1.0)]
    assert without_lora_tags("castle <lora:ink_style:0.6>, night") == "castle , night"


@pytest.mark.parametrize(
    ("text", "words"),
    [("(a cat", "never closed"), ("a cat)", "closes nothing"), ("[a (cat:1.2)]", None)],
)
def test_unbalanced_brackets_are_named(text, words):
    problem = unbalanced(text)
    assert (problem is None) if words is None else (words in problem)


# ---------------------------------------------------------------- encoding


@pytest.fixture(scope="module")
def sd1(tmp_path_factory) -> Path:
    return save_folder(tiny_pipeline("sd1", seed=5), tmp_path_factory.mktemp("sd1") / "tiny-sd1")


@pytest.fixture(scope="module")
def runtime(sd_runtime):
    return sd_runtime


@pytest.mark.parametrize("family", ["sd1", "sd2", "sdxl"])
def test_a_plain_prompt_through_the_apps_encoder_equals_diffusers_encoding(family):
    pipe = tiny_pipeline(family, seed=2)
    ours = prompt_embeddings(pipe, "a red apple, on a table", "blurry", 1)
    kwargs = {"prompt": "a red apple, on a table", "negative_prompt": "blurry", "device": "cpu"}
    encoded = pipe.encode_prompt(
        num_images_per_prompt=1, do_classifier_free_guidance=True, **kwargs
    )
    names = ["prompt_embeds", "negative_prompt_embeds"]
    if family == "sdxl":
        names += ["pooled_prompt_embeds", "negative_pooled_prompt_embeds"]
    for name, theirs in zip(names, encoded, strict=True):
        assert torch.allclose(ours[name], theirs, atol=1e-6), name


def _clip_skip_2(encoder, tokenizer, text: str, norm: bool) -> torch.Tensor:
    """Clip skip 2 as A1111 and diffusers document it: the penultimate layer's states
    (SDXL, which already reads the penultimate one: the layer before that), through
    the final layer norm in SD 1.x/2.x."""
    ids = tokenizer(text, padding="max_length", max_length=77, return_tensors="pt").input_ids
    hidden = encoder(ids, output_hidden_states=True).hidden_states[-2 if norm else -3]
    return getattr(encoder, "text_model", encoder).final_layer_norm(hidden) if norm else hidden


@pytest.mark.parametrize("family", ["sd1", "sd2", "sdxl"])
def test_clip_skip_2_reads_the_layer_before_for_both_prompts(family):
    pipe = tiny_pipeline(family, seed=2)
    ours = prompt_embeddings(pipe, "a red apple", "blurry", 2)
    for name, text in (("prompt_embeds", "a red apple"), ("negative_prompt_embeds", "blurry")):
        expected = _clip_skip_2(pipe.text_encoder, pipe.tokenizer, text, family != "sdxl")
        assert torch.allclose(ours[name][..., : expected.shape[-1]], expected, atol=1e-6)


def test_weights_scale_their_tokens_and_keep_the_chunk_mean():
    pipe = tiny_pipeline("sd1", seed=2)
    plain = prompt_embeddings(pipe, "a red apple", "", 1)["prompt_embeds"]
    weighted = prompt_embeddings(pipe, "a (red:1.5) apple", "", 1)["prompt_embeds"]
    assert torch.allclose(weighted.mean(), plain.mean(), atol=1e-6)
    ratio = weighted[0, 2] / plain[0, 2]  # token 2 is "red" (0 is the start token)
    other = weighted[0, 1] / plain[0, 1]
    assert torch.allclose(ratio / other, torch.full_like(ratio, 1.5), atol=1e-4)


def test_long_prompts_are_chunked_not_truncated(sd1, runtime):
    pipe = tiny_pipeline("sd1")
    words = ", ".join(f"word{i}" for i in range(60))  # well over 75 tokens
    chunks = chunks_of(pipe.tokenizer, words)
    assert len(chunks) >= 2 and all(len(c.ids) <= CHUNK_TOKENS for c in chunks)
    # a full chunk breaks after a comma when one is near its end
    assert chunks[0].ids[-1] == pipe.tokenizer.convert_tokens_to_ids(",</w>")
    assert sum(len(c.ids) for c in chunks) == len(
        pipe.tokenizer(words, add_special_tokens=False).input_ids
    )
    embeds = prompt_embeddings(pipe, words, "", 1)
    assert embeds["prompt_embeds"].shape[1] == 77 * len(chunks)
    assert embeds["negative_prompt_embeds"].shape == embeds["prompt_embeds"].shape
    long = image(runtime, request(sd1, words + ", a red apple"))
    other = image(runtime, request(sd1, words + ", a blue whale"))
    assert not np.array_equal(long, other)  # the words past token 75 count


def test_break_starts_a_new_chunk():
    pipe = tiny_pipeline("sd1")
    assert len(chunks_of(pipe.tokenizer, "a cat BREAK a dog")) == 2


def request(model: Path, prompt: str, **fields) -> Txt2ImgRequest:
    return Txt2ImgRequest(
        model=ModelRef(Family.SD, str(model)),
        prompt=Prompt(prompt, fields.pop("negative", "")),
        size=Size(64, 64),
        sampling=Sampling(steps=3, cfg_scale=6.0, sampler=None, seed=11),
        **fields,
    )


def image(runtime, req: Txt2ImgRequest) -> np.ndarray:
    return runtime.run(req, JobContext(1)).images[0].rgb


@pytest.mark.parametrize(
    "prompt", ["", "x" * 10_000, "((((a cat", "a cat)))) [[", "(cat:abc) :) :"]
)
def test_hostile_prompts_still_make_an_image(sd1, runtime, prompt):
    assert image(runtime, request(sd1, prompt)).shape == (64, 64, 3)


# ---------------------------------------------------------------- LoRAs


@pytest.fixture(scope="module")
def loras(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("loras")
    state = lora_state(tiny_pipeline("sd1", seed=5).unet, seed=1)
    return {
        "diffusers": save_diffusers_lora(state, folder / "ink-diffusers.safetensors"),
        "kohya": save_kohya_lora(state, folder / "ink-kohya.safetensors"),
    }


def bare_with_lora(folder: Path, lora: Path, weight: float) -> np.ndarray:
    pipe = bare_pipeline(folder)
    pipe.load_lora_weights(str(lora), adapter_name="x")
    pipe.set_adapters(["x"], adapter_weights=[weight])
    images = bare_image(pipe, "a castle", seed=11)
    return images


@pytest.mark.parametrize("layout", ["diffusers", "kohya"])
def test_a_lora_gives_diffusers_own_image_and_is_removed_after_the_job(sd1, runtime, loras, layout):
    before = image(runtime, request(sd1, "a castle"))
    spec = LoraSpec(str(loras[layout]), 0.7)
    with_lora = image(runtime, request(sd1, "a castle <lora:ink:0.7>", loras=(spec,)))
    assert np.array_equal(with_lora, bare_with_lora(sd1, loras["diffusers"], 0.7))
    assert not np.array_equal(with_lora, before)
    assert np.array_equal(image(runtime, request(sd1, "a castle")), before)


def test_a_lora_job_records_its_hash_in_a1111s_words(sd1, runtime, loras):
    spec = LoraSpec(str(loras["kohya"]), 0.5)
    result = runtime.run(request(sd1, "a castle", loras=(spec,), clip_skip=2), JobContext(1))
    saved = read_metadata(Path(result.images[0].path))
    # A1111's parser of this line is the store's own: it must read back what A1111 writes.
    assert saved.parameters["clip_skip"] == 2
    name, _, short = saved.parameters["lora_hashes"].partition(": ")
    assert name == "ink-kohya" and len(short) == 12
    data = loras["kohya"].read_bytes()
    header = 8 + int.from_bytes(data[:8], "little")
    assert short == hashlib.sha256(data[header:]).hexdigest()[:12]


def test_a_lora_for_another_family_is_refused_with_a_sentence(sd1, runtime, tmp_path):
    from safetensors.torch import save_file

    xl = tmp_path / "xl-style.safetensors"
    name = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k"
    save_file(
        {
            f"{name}.lora_down.weight": torch.zeros(4, 2048),
            f"{name}.lora_up.weight": torch.zeros(64, 4),
        },
        str(xl),
    )
    with pytest.raises(BadInput) as caught:
        runtime.run(request(sd1, "a castle", loras=(LoraSpec(str(xl), 1.0),)), JobContext(1))
    assert "LoRA for SDXL" in caught.value.message
    assert image(runtime, request(sd1, "a castle")).shape == (64, 64, 3)  # the worker goes on


def test_a_lora_works_on_a_single_file_checkpoint_too(tmp_path, runtime, loras):
    single = save_single_file(tiny_pipeline("sd1", seed=5), tmp_path / "tiny.safetensors")
    spec = LoraSpec(str(loras["kohya"]), 0.7)
    pipe = load_sd_pipeline(single, "cpu", torch.float32)
    assert image(runtime, request(single, "a castle", loras=(spec,))).shape == (64, 64, 3)
    assert not getattr(pipe.unet, "peft_config", None)


# ---------------------------------------------------------------- command line


def _generate(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "main.py", "generate", *args, "--out", str(tmp_path / "out")],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "LATENTSTUDIO_CACHE_DIR": str(tmp_path / "cache")},
    )


def test_generate_applies_a_lora_named_in_the_prompt(tmp_path, loras):
    single = save_single_file(tiny_pipeline("sd1", seed=5), tmp_path / "tiny.safetensors")
    common = ["--model", str(single), "--width", "64", "--height", "64", "--steps", "2"]
    result = _generate(
        *common,
        "--prompt",
        "a castle <lora:ink-kohya:0.5>",
        "--lora-dir",
        str(loras["kohya"].parent),
        "--clip-skip",
        "2",
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout.splitlines()[-1])
    saved = read_metadata(Path(line["path"]))
    assert saved.parameters["lora_hashes"].startswith("ink-kohya: ")
    unknown = _generate(
        *common,
        "--prompt",
        "a castle <lora:nowhere:1>",
        "--lora-dir",
        str(tmp_path),
        tmp_path=tmp_path,
    )
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: No LoRA named 'nowhere'")
    assert not (tmp_path / "out" / "nowhere").exists()


# ---------------------------------------------------------------- embeddings


def test_an_embedding_named_in_the_prompt_gives_diffusers_own_image_and_leaves(
    sd1, runtime, tmp_path
):
    from safetensors.torch import save_file

    from engine.library.prompt_refs import embeddings_named
    from engine.library.scan import scan_library

    folder = tmp_path / "embeddings"
    folder.mkdir()
    vectors = torch.randn(2, 32, generator=torch.Generator().manual_seed(3))
    save_file({"emb_params": vectors}, str(folder / "inkstyle.safetensors"))
    found = embeddings_named("a castle, inkstyle, (inkstyle-free:1.2)", scan_library([folder]))
    assert found == (str(folder / "inkstyle.safetensors"),)
    before = image(runtime, request(sd1, "a castle"))
    ours = image(runtime, request(sd1, "a inkstyle castle", embeddings=found))

    bare = bare_pipeline(sd1)
    bare.load_textual_inversion(vectors, token="inkstyle")
    expected = bare_image(bare, "a inkstyle castle", seed=11)
    assert np.array_equal(ours, expected)
    assert np.array_equal(image(runtime, request(sd1, "a castle")), before)
    saved = read_metadata(
        Path(
            runtime.run(request(sd1, "a inkstyle castle", embeddings=found), JobContext(3))
            .images[0]
            .path
        )
    )
    assert saved.parameters["ti_hashes"].startswith("inkstyle: ")
    # the weighted path reads the multi-vector embedding as diffusers does
    weighted = image(runtime, request(sd1, "a (inkstyle:1.0001) castle", embeddings=found))
    assert not np.array_equal(weighted, before)


def test_an_embedding_of_another_width_is_refused(sd1, runtime, tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "wide.safetensors"
    save_file({"emb_params": torch.zeros(1, 768)}, str(path))
    with pytest.raises(BadInput, match="another kind of model"):
        runtime.run(request(sd1, "a wide castle", embeddings=(str(path),)), JobContext(1))


def test_out_of_memory_while_loading_is_a_sentence_and_the_worker_goes_on(tmp_path, monkeypatch):
    from engine.hashing import HashCache, HashService
    from engine.models.sd import loading
    from engine.runtime import Runtime

    single = save_single_file(tiny_pipeline("sd1", seed=4), tmp_path / "oom.safetensors")
    runtime = Runtime(device_preference="cpu", hashes=HashService(HashCache(tmp_path / "h.db")))
    real = loading.load_single_file

    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    try:
        monkeypatch.setattr(loading, "load_single_file", out_of_memory)
        with pytest.raises(Exception) as caught:
            runtime.run(request(single, "a castle"), JobContext(1))
        message = getattr(caught.value, "message", "")
        assert "memory" in message.lower() and type(caught.value).__name__ == "OutOfMemory"
        monkeypatch.setattr(loading, "load_single_file", real)
        assert runtime.run(request(single, "a castle"), JobContext(2)).images[0].rgb.shape == (
            64,
            64,
            3,
        )
    finally:
        runtime.close()


# ---------------------------------------------------------------- VAE files


@pytest.mark.parametrize("layout", ["original", "diffusers"])
def test_a_vae_file_replaces_the_models_own_for_one_job(runtime, tmp_path, layout):
    from safetensors.torch import save_file

    from tests.sd_original_layout import vae_to_original

    model = tiny_pipeline("sd1", seed=5)
    other = tiny_pipeline("sd1", seed=9)
    single = save_single_file(model, tmp_path / "model.safetensors")
    state = other.vae.state_dict()
    if layout == "original":
        state = vae_to_original(state, other.vae.config)
    vae_file = tmp_path / "other-vae.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(vae_file))

    before = image(runtime, request(single, "a castle"))
    result = runtime.run(request(single, "a castle", vae=str(vae_file)), JobContext(1))
    model.vae = other.vae  # the oracle: diffusers with the other VAE put in by hand
    expected = bare_image(model, "a castle", seed=11)
    assert np.array_equal(result.images[0].rgb, expected)
    assert np.array_equal(image(runtime, request(single, "a castle")), before)
    saved = read_metadata(Path(result.images[0].path))
    assert saved.parameters["vae"] == "other-vae.safetensors"
    assert saved.parameters["vae_hash"] == hashlib.sha256(vae_file.read_bytes()).hexdigest()[:10]


def test_a_vae_of_another_latent_width_is_refused(runtime, tmp_path):
    from diffusers import AutoencoderKL
    from safetensors.torch import save_file

    from tests.sd_original_layout import vae_to_original

    single = save_single_file(tiny_pipeline("sd1", seed=5), tmp_path / "model.safetensors")
    wide = AutoencoderKL(
        block_out_channels=(32, 32, 32, 32),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=16,
        layers_per_block=1,
    )
    path = tmp_path / "flux-vae.safetensors"
    state = vae_to_original(wide.state_dict(), wide.config)
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    with pytest.raises(BadInput, match="VAE for another kind of model"):
        runtime.run(request(single, "a castle", vae=str(path)), JobContext(1))
