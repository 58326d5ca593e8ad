"""Other tools' pictures, read (issue 24): A1111, Forge, Krita AI Diffusion and ComfyUI
PNGs, JPEGs and WebPs built here in each tool's documented format, checked field by
field against the literal values written; our own A1111 text read back (hypothesis);
the chunk walker against Pillow; a read turned into a request.

The formats come from each tool's own saving code: A1111's create_infotext, Forge's
version string, Krita AI Diffusion's ai_diffusion/text.py create_img_metadata, ComfyUI's
SaveImage (nodes.py) and WebP EXIF (comfy_api/latest/_ui.py). The JSON tools are in
test_foreign_json_tools.py, hostile files in test_foreign_hostile.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from engine.api.a1111_request import request_from_parameters
from engine.api.kinds import Family
from engine.api.outcomes import ResultImage
from engine.api.parts import ModelRef, Prompt, Sampling, Size
from engine.api.requests import Txt2ImgRequest
from engine.api.samplers import SAMPLER_NAMES
from engine.store.a1111 import parse_parameters
from engine.store.foreign import Lora, png_chunks, read_picture, read_texts
from engine.store.foreign.as_a1111 import a1111_params
from engine.store.metadata import build_parameters
from tests.foreign_pictures import (
    A1111_TEXT,
    COMFY_FIELDS,
    comfy_graph,
    piexif_user_comment,
    read_png,
    with_exif,
)

# ---------------------------------------------------------------- A1111 and its kin


@pytest.mark.parametrize("how", ["tEXt", "zTXt", "iTXt", "iTXt-zip"])
def test_a1111_text_in_every_png_text_chunk_reads_field_by_field(tmp_path, how):
    read = read_png(tmp_path, {"parameters": A1111_TEXT}, how)
    assert read.tool == "a1111" and not read.error
    assert read.fields == {
        "prompt": "a fox in the snow <lora:fluffy:0.7>",
        "negative_prompt": "blurry, lowres",
        "steps": 28,
        "sampler": "DPM++ 2M Karras",
        "scheduler": "karras",
        "cfg_scale": 6.5,
        "seed": 1234,
        "width": 512,
        "height": 768,
        "model_hash": "6ce0161689",
        "model": "v1-5-pruned-emaonly",
        "vae": "vae-ft-mse",
        "denoising_strength": 0.45,
        "clip_skip": 2,
    }
    assert read.loras == (Lora("fluffy", 0.7),)
    assert read.unmapped == {"lora_hashes": "fluffy: abcdef123456", "version": "v1.10.1"}
    assert read.pixels == (16, 8)


def test_forge_is_told_from_a1111_by_its_version(tmp_path):
    text = A1111_TEXT.replace("v1.10.1", "f2.0.1v1.10.1-previous-669-gdfdcbab6")
    assert read_png(tmp_path, {"parameters": text}).tool == "forge"


def test_krita_ai_diffusion_text_reads_with_its_lora_tags(tmp_path):
    # ai_diffusion/text.py create_img_metadata, written as an iTXt (save_png_w_itxt).
    text = (
        "castle on a hill <lora:ink-style:0.8>\n"
        "Negative prompt: watermark\n"
        "Steps: 20, Sampler: DPM++ 2M, CFG scale: 5.0, Seed: 77, Size: 1024x1024, "
        "Model hash: unknown, Model: juggernautXL, Denoising strength: 0.6"
    )
    read = read_png(tmp_path, {"parameters": text}, "iTXt")
    assert read.tool == "krita-ai-diffusion"
    assert read.loras == (Lora("ink-style", 0.8),)
    expected = {"steps": 20, "seed": 77, "cfg_scale": 5.0, "width": 1024, "height": 1024}
    assert {k: read.fields[k] for k in expected} == expected
    assert read.fields["model"] == "juggernautXL" and "model_hash" not in read.fields
    assert read.fields["denoising_strength"] == 0.6


def test_a1111_jpeg_and_webp_user_comment_in_utf16_big_endian(tmp_path):
    text = A1111_TEXT.replace("a fox", "a renard à Noël")  # outside ASCII and latin-1 ☃
    for fmt in ("JPEG", "WEBP"):
        path = with_exif(tmp_path / f"p.{fmt.lower()}", piexif_user_comment(text), fmt)
        read = read_picture(path)
        assert read.tool == "a1111", read.notes
        assert read.fields["prompt"] == "a renard à Noël in the snow <lora:fluffy:0.7>"
        assert read.fields["seed"] == 1234


def test_a_user_comment_in_utf16_little_endian_or_ascii_reads_too(tmp_path):
    for body in (
        b"UNICODE\0" + A1111_TEXT.encode("utf-16-le"),
        b"UNICODE\0" + A1111_TEXT.encode("utf-16"),  # with a byte-order mark
        b"ASCII\0\0\0" + A1111_TEXT.encode("ascii"),
    ):
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9286] = body
        read = read_picture(with_exif(tmp_path / "p.jpg", exif, "JPEG"))
        assert read.fields["negative_prompt"] == "blurry, lowres", body[:12]


# ---------------------------------------------------------------- our own text, back


samplers = st.sampled_from(SAMPLER_NAMES)
text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=40
).filter(lambda s: s.strip() == s and not s.startswith("Negative prompt:"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prompt=text,
    negative=st.one_of(st.just(""), text),
    steps=st.integers(1, 150),
    cfg=st.floats(0, 30).map(lambda x: round(x, 1)),
    seed=st.integers(0, 2**32 - 1),
    width=st.integers(1, 256).map(lambda x: x * 8),
    height=st.integers(1, 256).map(lambda x: x * 8),
    sampler=samplers,
    clip_skip=st.integers(1, 12),
    sha256=st.text("0123456789abcdef", min_size=64, max_size=64),
)
def test_our_a1111_text_reads_back_every_field_it_carries(
    prompt, negative, steps, cfg, seed, width, height, sampler, clip_skip, sha256
):
    request = Txt2ImgRequest(
        model=ModelRef(Family.SD, "/models/any.safetensors"),
        prompt=Prompt(prompt, negative),
        size=Size(width, height),
        sampling=Sampling(steps, cfg, sampler, seed),
        clip_skip=clip_skip,
    )
    info = {"model": "/models/any.safetensors", "model_sha256": sha256}
    image = ResultImage(np.zeros((height, width, 3), np.uint8), seed, 0, info)
    read = read_texts({"parameters": build_parameters(image, request)})
    assert read.tool == "latent-studio" and read.notes == ()
    assert read.fields["prompt"] == prompt
    assert read.fields.get("negative_prompt", "") == negative
    assert (read.fields["steps"], read.fields["cfg_scale"]) == (steps, cfg)
    assert (read.fields["seed"], read.fields["sampler"]) == (seed, sampler)
    assert (read.fields["width"], read.fields["height"]) == (width, height)
    assert (read.fields["model"], read.fields["model_hash"]) == ("any", sha256[:10])
    assert read.fields.get("clip_skip", 1) == clip_skip  # A1111 leaves out its default, 1


def test_the_chunk_walker_reads_what_pillow_reads(tmp_path):
    """Pillow's PngImagePlugin is the oracle for tEXt, zTXt and iTXt (plain and zipped)."""
    info = PngImagePlugin.PngInfo()
    info.add_text("plain", "latin-1 only: café")
    info.add_text("zipped", "compressed " * 50, zip=True)
    info.add_itxt("intl", "雪の中の狐 ☃", lang="ja", tkey="fox")
    info.add_itxt("intl-zip", "雪 " * 100, zip=True)
    info.add_text("unicode", "written as iTXt by Pillow: ✓")
    path = tmp_path / "all.png"
    Image.new("RGB", (5, 3)).save(path, "PNG", pnginfo=info)
    with open(path, "rb") as stream:
        stream.read(8)
        found = png_chunks.read_png_text(stream)
    with Image.open(path) as image:
        assert found.texts == {k: str(v) for k, v in image.text.items()}
        assert found.size == image.size and found.notes == []


# ---------------------------------------------------------------- ComfyUI


@pytest.mark.parametrize("sampler", ["KSampler", "KSamplerAdvanced"])
@pytest.mark.parametrize("how", ["tEXt", "zTXt"])
def test_comfyui_graph_follows_links_from_the_sampler(tmp_path, sampler, how):
    texts = {"prompt": json.dumps(comfy_graph(sampler)), "workflow": json.dumps({"nodes": []})}
    read = read_png(tmp_path, texts, how)
    assert read.tool == "comfyui"
    assert read.fields == COMFY_FIELDS
    # In the order applied to the checkpoint; strength_model is the weight.
    assert read.loras == (Lora("first.safetensors", 0.8), Lora("second.safetensors", 0.35))
    assert read.unmapped == {}  # mapped: the graphs are not repeated raw


def test_comfyui_webp_keeps_its_graph_in_exif_model_and_make(tmp_path):
    exif = Image.Exif()
    exif[0x0110] = "prompt:" + json.dumps(comfy_graph())
    exif[0x010F] = "workflow:" + json.dumps({"nodes": []})
    read = read_picture(with_exif(tmp_path / "c.webp", exif, "WEBP"))
    assert read.tool == "comfyui" and read.fields == COMFY_FIELDS


def test_a_comfyui_graph_of_another_shape_is_kept_raw_with_a_note(tmp_path):
    graph = comfy_graph()
    graph["12"] = {**graph["3"]}  # two samplers: which one made the picture is unclear
    raw = json.dumps(graph)
    read = read_png(tmp_path, {"prompt": raw, "workflow": '{"nodes": []}'})
    assert read.tool == "comfyui" and read.fields == {}
    assert read.unmapped == {"prompt": raw, "workflow": '{"nodes": []}'}
    assert any("2 samplers" in note for note in read.notes)


def test_a_comfyui_seed_from_another_node_is_said_not_guessed(tmp_path):
    graph = comfy_graph()
    graph["20"] = {"class_type": "Seed (rgthree)", "inputs": {"seed": 5}}
    graph["3"]["inputs"]["seed"] = ["20", 0]
    del graph["3"]["inputs"]["noise_seed"]  # KSamplerAdvanced's name for it
    read = read_png(tmp_path, {"prompt": json.dumps(graph)})
    assert "seed" not in read.fields and "The sampler's seed comes from another node" in str(
        read.notes
    )


def test_a_comfyui_link_cycle_ends(tmp_path):
    graph = comfy_graph()
    graph["10"]["inputs"]["model"] = ["11", 0]  # two LoRA loaders feeding each other
    read = read_png(tmp_path, {"prompt": json.dumps(graph)})
    assert read.fields["prompt"] == "a lighthouse" and "model" not in read.fields
    assert len(read.loras) == 2 and any("loops" in note for note in read.notes)


# ---------------------------------------------------------------- to a request


def test_a_comfyui_read_becomes_the_request_its_values_describe(tmp_path):
    read = read_png(tmp_path, {"prompt": json.dumps(comfy_graph())})
    made = request_from_parameters(a1111_params(read))
    assert made.request.prompt == Prompt("a lighthouse", "fog")
    assert made.request.size == Size(832, 1216)
    assert made.request.sampling == Sampling(30, 4.5, "DPM++ 2M SDE Karras", 987654321012)
    assert made.request.model.id == "sdxl.safetensors" and made.missing == ()


def test_a1111_text_gives_the_same_request_through_the_reader_as_directly(tmp_path):
    text = A1111_TEXT.replace("Denoising strength: 0.45, ", "")
    direct = request_from_parameters(parse_parameters(text))
    through = request_from_parameters(a1111_params(read_texts({"parameters": text})))
    assert through.request == direct.request


def test_a_denoising_strength_names_the_source_image_as_missing(tmp_path):
    graph = comfy_graph()
    graph["3"]["inputs"]["denoise"] = 0.55
    read = read_png(tmp_path, {"prompt": json.dumps(graph)})
    assert read.fields["denoising_strength"] == 0.55
    assert request_from_parameters(a1111_params(read)).missing == ("source image",)


def test_a_prompt_that_starts_with_a_brace_is_still_a1111_text():
    """Wildcard prompts ("{red|blue} fox") start with a brace; only a JSON object is not
    A1111 text (hypothesis found the prompt "{")."""
    for prompt in ("{", "{red|blue} fox", '{"a": 1'):
        text = f"{prompt}\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 5, Size: 512x512"
        read = read_texts({"parameters": text})
        assert (read.tool, read.fields["prompt"], read.fields["seed"]) == ("a1111", prompt, 5)
    assert read_texts({"parameters": '{"sui_image_params": {"seed": 3}}'}).tool == "swarmui"
