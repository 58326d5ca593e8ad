"""Other tools' pictures, read (issue 24): PNGs, JPEGs and WebPs built here in each
tool's documented format, checked field by field against the literal values written.

The formats come from each tool's own saving code: A1111's create_infotext, Forge's
version string, Krita AI Diffusion's ai_diffusion/text.py create_img_metadata, ComfyUI's
SaveImage (nodes.py) and WebP EXIF (comfy_api/latest/_ui.py), InvokeAI's
CoreMetadataInvocation, Fooocus's meta_parser/private_logger, SwarmUI's
T2IParamInput.GenFullMetadataObject, NovelAI's and Draw Things' as
stable-diffusion-prompt-reader reads them. Hostile files must give notes, never raise.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

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
    chunk,
    piexif_user_comment,
    png,
    png_with_chunks,
    with_exif,
)

A1111_TEXT = (
    "a fox in the snow <lora:fluffy:0.7>\n"
    "Negative prompt: blurry, lowres\n"
    "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 1234, "
    "Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, VAE: vae-ft-mse, "
    "Denoising strength: 0.45, Clip skip: 2, "
    'Lora hashes: "fluffy: abcdef123456", Version: v1.10.1'
)


def read_png(tmp_path: Path, texts: dict[str, str], how: str = "tEXt"):
    return read_picture(png(tmp_path / "p.png", texts, how))


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


def comfy_graph(sampler: str = "KSampler") -> dict:
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl.safetensors"}},
        "10": {
            "class_type": "LoraLoader",
            "inputs": {
                "model": ["4", 0],
                "clip": ["4", 1],
                "lora_name": "first.safetensors",
                "strength_model": 0.8,
                "strength_clip": 1.0,
            },
        },
        "11": {
            "class_type": "LoraLoader",
            "inputs": {
                "model": ["10", 0],
                "clip": ["10", 1],
                "lora_name": "second.safetensors",
                "strength_model": 0.35,
                "strength_clip": 0.5,
            },
        },
        "5": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": 832, "height": 1216, "batch_size": 1},
        },
        "6": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "a lighthouse", "clip": ["11", 1]},
        },
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "fog", "clip": ["11", 1]}},
        "3": {
            "class_type": sampler,
            "inputs": {
                "seed": 987654321012,
                "noise_seed": 987654321012,
                "steps": 30,
                "cfg": 4.5,
                "sampler_name": "dpmpp_2m_sde_gpu",
                "scheduler": "karras",
                "denoise": 1.0,
                "model": ["11", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0]}},
    }


COMFY_FIELDS = {
    "prompt": "a lighthouse",
    "negative_prompt": "fog",
    "seed": 987654321012,
    "steps": 30,
    "cfg_scale": 4.5,
    "sampler": "DPM++ 2M SDE Karras",
    "scheduler": "karras",
    "model": "sdxl.safetensors",
    "width": 832,
    "height": 1216,
}


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


# ---------------------------------------------------------------- JSON tools


def test_invokeai_metadata_reads_field_by_field(tmp_path):
    ident = {
        "key": "k1",
        "hash": "blake3:ab12",
        "name": "Juggernaut XL",
        "base": "sdxl",
        "type": "main",
    }
    meta = {
        "generation_mode": "txt2img",
        "positive_prompt": "red panda",
        "negative_prompt": "dull",
        "width": 1024,
        "height": 768,
        "seed": 31337,
        "rand_device": "cpu",
        "cfg_scale": 6.0,
        "cfg_rescale_multiplier": 0,
        "steps": 35,
        "scheduler": "dpmpp_2m_k",
        "clip_skip": 1,
        "model": ident,
        "vae": {**ident, "name": "sdxl-vae-fp16", "type": "vae"},
        "loras": [{"model": {**ident, "name": "detail-tweaker", "type": "lora"}, "weight": 0.6}],
        "app_version": "5.6.0",
    }
    read = read_png(tmp_path, {"invokeai_metadata": json.dumps(meta)})
    assert read.tool == "invokeai"
    assert read.fields == {
        "prompt": "red panda",
        "negative_prompt": "dull",
        "width": 1024,
        "height": 768,
        "seed": 31337,
        "cfg_scale": 6.0,
        "steps": 35,
        "scheduler": "dpmpp_2m_k",
        "sampler": "DPM++ 2M Karras",
        "model": "Juggernaut XL",
        "model_hash": "blake3:ab12",
        "vae": "sdxl-vae-fp16",
        "clip_skip": 2,  # one layer skipped is A1111's 2
    }
    assert read.loras == (Lora("detail-tweaker", 0.6),)
    assert set(read.unmapped) == {
        "generation_mode",
        "rand_device",
        "cfg_rescale_multiplier",
        "app_version",
    }


def test_invokeai_3_model_and_lora_shapes(tmp_path):
    meta = {
        "positive_prompt": "x",
        "model": {"model_name": "sd-1.5", "base_model": "sd-1"},
        "loras": [{"lora": {"model_name": "ink", "base_model": "sd-1"}, "weight": 0.9}],
    }
    read = read_png(tmp_path, {"invokeai_metadata": json.dumps(meta)})
    assert read.fields["model"] == "sd-1.5" and read.loras == (Lora("ink", 0.9),)


FOOOCUS = {
    "adm_guidance": "(1.5, 0.8, 0.3)",
    "base_model": "juggernautXL_v8Rundiffusion",
    "base_model_hash": "aeb7e9e689",
    "full_negative_prompt": ["bad"],
    "full_prompt": ["cat"],
    "guidance_scale": 4.0,
    "lora_combined_1": "sd_xl_offset_example-lora_1.0 : 0.1",
    "loras": [["sd_xl_offset_example-lora_1.0", 0.1, "4852686128"]],
    "metadata_scheme": "fooocus",
    "negative_prompt": "bad",
    "performance": "Speed",
    "prompt": "cat",
    "prompt_expansion": "cat, glowing",
    "refiner_model": "None",
    "refiner_switch": 0.5,
    "resolution": "(1152, 896)",
    "sampler": "dpmpp_2m_sde_gpu",
    "scheduler": "karras",
    "seed": "1234567890123",
    "sharpness": 2.0,
    "steps": 30,
    "styles": "['Fooocus V2']",
    "vae": "Default (model)",
    "version": "Fooocus v2.5.5",
}
FOOOCUS_FIELDS = {
    "prompt": "cat",
    "negative_prompt": "bad",
    "steps": 30,
    "cfg_scale": 4.0,
    "seed": 1234567890123,
    "model": "juggernautXL_v8Rundiffusion",
    "model_hash": "aeb7e9e689",
    "width": 1152,
    "height": 896,
    "sampler": "DPM++ 2M SDE Karras",
    "scheduler": "karras",
}


def test_fooocus_png_reads_its_json_scheme(tmp_path):
    texts = {"parameters": json.dumps(FOOOCUS), "fooocus_scheme": "fooocus"}
    read = read_png(tmp_path, texts)
    assert read.tool == "fooocus" and read.fields == FOOOCUS_FIELDS
    assert read.loras == (Lora("sd_xl_offset_example-lora_1.0", 0.1),)
    assert "lora_combined_1" not in read.unmapped and "sharpness" in read.unmapped


def test_fooocus_jpeg_as_its_get_exif_writes_it(tmp_path):
    exif = Image.Exif()  # modules/meta_parser.py get_exif: first IFD, plain text
    exif[0x9286] = json.dumps(FOOOCUS)
    exif[0x0131] = "Fooocus v2.5.5"
    exif[0x927C] = "fooocus"
    read = read_picture(with_exif(tmp_path / "f.jpg", exif, "JPEG"))
    assert read.tool == "fooocus" and read.fields == FOOOCUS_FIELDS


def test_fooocus_a1111_scheme_is_a1111_text_from_fooocus(tmp_path):
    read = read_png(tmp_path, {"parameters": A1111_TEXT, "fooocus_scheme": "a1111"})
    assert read.tool == "fooocus" and read.fields["seed"] == 1234


SWARM = {
    "sui_image_params": {
        "prompt": "a glass city",
        "negativeprompt": "noise",
        "model": "Flux/flux1-dev-fp8",
        "seed": 2042464333,
        "steps": 25,
        "cfgscale": 1.0,
        "aspectratio": "Custom",
        "width": 512,
        "height": 768,
        "sampler": "euler",
        "scheduler": "normal",
        "vae": "ae.sft",
        "loras": ["glass", "city/neon"],
        "loraweights": ["0.8", "0.5"],
        "clipstopatlayer": -2,
        "swarm_version": "0.9.1.1",
    },
    "sui_models": [
        {"name": "Flux/flux1-dev-fp8.safetensors", "param": "model", "hash": "0x1be5a4"}
    ],
}
SWARM_FIELDS = {
    "prompt": "a glass city",
    "negative_prompt": "noise",
    "model": "Flux/flux1-dev-fp8",
    "seed": 2042464333,
    "steps": 25,
    "cfg_scale": 1.0,
    "width": 512,
    "height": 768,
    "sampler": "Euler",
    "scheduler": "normal",
    "vae": "ae.sft",
    "clip_skip": 2,
    "model_hash": "0x1be5a4",
}


def test_swarmui_png_and_jpeg(tmp_path):
    text = json.dumps(SWARM, indent=2)
    read = read_png(tmp_path, {"parameters": text})
    assert read.tool == "swarmui" and read.fields == SWARM_FIELDS
    assert read.loras == (Lora("glass", 0.8), Lora("city/neon", 0.5))
    assert set(read.unmapped) == {"aspectratio", "swarm_version"}
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + text.encode("utf-16-le")
    jpeg = read_picture(with_exif(tmp_path / "s.jpg", exif, "JPEG"))
    assert jpeg.tool == "swarmui" and jpeg.fields == SWARM_FIELDS


def test_novelai_comment_json(tmp_path):
    comment = {
        "prompt": "1girl, library",
        "steps": 28,
        "height": 1216,
        "width": 832,
        "scale": 5.0,
        "uncond_scale": 1.0,
        "cfg_rescale": 0.0,
        "seed": 1581093498,
        "n_samples": 1,
        "noise_schedule": "karras",
        "sampler": "k_euler_ancestral",
        "uc": "lowres, bad anatomy",
    }
    texts = {
        "Title": "NovelAI generated image",
        "Description": "1girl, library",
        "Software": "NovelAI",
        "Source": "NovelAI Diffusion V4.5 4BDE2A90",
        "Comment": json.dumps(comment),
    }
    read = read_png(tmp_path, texts)
    assert read.tool == "novelai"
    assert read.fields == {
        "prompt": "1girl, library",
        "negative_prompt": "lowres, bad anatomy",
        "steps": 28,
        "height": 1216,
        "width": 832,
        "cfg_scale": 5.0,
        "seed": 1581093498,
        "sampler": "Euler a",
        "scheduler": "karras",
        "model": "NovelAI Diffusion V4.5 4BDE2A90",
    }
    assert set(read.unmapped) == {"uncond_scale", "cfg_rescale", "n_samples"}


def test_draw_things_xmp_user_comment(tmp_path):
    data = {
        "c": "a koi pond & lilies",
        "uc": "text",
        "seed": 3829106,
        "steps": 20,
        "scale": 7.5,
        "sampler": "DPM++ 2M Karras",
        "size": "768x512",
        "model": "sd_xl_base_1.0_f16.ckpt",
        "strength": 1.0,
        "seed_mode": "Scale Alike",
        "lora": [{"file": "ink_lora_f16.ckpt", "weight": 0.6}],
    }
    comment = json.dumps(data).replace("&", "&amp;").replace("<", "&lt;")
    xmp = (
        "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/"
        "22-rdf-syntax-ns#'><rdf:Description rdf:about='' xmlns:exif='http://ns.adobe.com/"
        "exif/1.0/' xmlns:xmp='http://ns.adobe.com/xap/1.0/' xmp:CreatorTool='Draw Things'>"
        f"<exif:UserComment><rdf:Alt><rdf:li xml:lang='x-default'>{comment}</rdf:li>"
        "</rdf:Alt></exif:UserComment></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    read = read_png(tmp_path, {"XML:com.adobe.xmp": xmp}, "iTXt")
    assert read.tool == "draw-things"
    assert read.fields == {
        "prompt": "a koi pond & lilies",
        "negative_prompt": "text",
        "seed": 3829106,
        "steps": 20,
        "cfg_scale": 7.5,
        "sampler": "DPM++ 2M Karras",
        "width": 768,
        "height": 512,
        "model": "sd_xl_base_1.0_f16.ckpt",
        "denoising_strength": 1.0,
    }
    assert read.loras == (Lora("ink_lora_f16.ckpt", 0.6),)
    assert read.unmapped == {"seed_mode": "Scale Alike"}


def test_a_picture_with_no_known_metadata_says_so(tmp_path):
    read = read_png(tmp_path, {"Software": "GIMP"})
    assert read.tool == "" and read.fields == {} and read.unmapped == {"Software": "GIMP"}
    assert read.notes


# ---------------------------------------------------------------- hostile pictures


def test_a_ztxt_bomb_is_refused_and_the_rest_still_read(tmp_path):
    bomb = zlib.compress(b"A" * (64 * 1024 * 1024), 9)  # 64 MiB in ~64 KiB
    path = png_with_chunks(
        tmp_path / "bomb.png",
        chunk(b"zTXt", b"workflow\0\0" + bomb),
        chunk(b"iTXt", b"prompt\0\1\0\0\0" + bomb),
        texts={"parameters": A1111_TEXT},
    )
    read = read_picture(path)
    assert read.tool == "a1111" and read.fields["seed"] == 1234
    assert sum("inflates to over" in note for note in read.notes) == 2


def test_a_chunk_claiming_a_huge_size_is_skipped(tmp_path):
    path = png_with_chunks(tmp_path / "huge.png", chunk(b"tEXt", b"parameters\0x", 2**31))
    read = read_picture(path)
    assert not read.error and any("too large" in note for note in read.notes)


def test_an_itxt_that_is_not_utf8_is_refused_with_a_note(tmp_path):
    bad = chunk(b"iTXt", b"parameters\0\0\0\0\0" + b"\xff\xfe\xc3(")
    read = read_picture(png_with_chunks(tmp_path / "bad.png", bad))
    assert read.tool == "" and any("not valid UTF-8" in note for note in read.notes)


def test_json_nested_10000_deep_is_a_note(tmp_path):
    deep = '{"positive_prompt": ' + "[" * 10_000 + "]" * 10_000 + "}"
    for key in ("invokeai_metadata", "prompt"):
        read = read_png(tmp_path, {key: deep})
        assert any("nested too deeply" in note for note in read.notes), key


def test_a_field_of_the_wrong_type_is_refused_by_field(tmp_path):
    meta = {"positive_prompt": [[["x"]]], "steps": 20}
    read = read_png(tmp_path, {"invokeai_metadata": json.dumps(meta)})
    assert read.fields == {"steps": 20} and any("not text" in n for n in read.notes)


def test_impossible_values_are_refused_one_by_one(tmp_path):
    text = "fox\nSteps: -5, Sampler: Euler, CFG scale: nan, Seed: 7, Size: 1000000000x512"
    read = read_png(tmp_path, {"parameters": text})
    assert read.fields == {"prompt": "fox", "sampler": "Euler", "seed": 7, "height": 512}
    said = " ".join(read.notes)
    assert "Steps is -5" in said and "CFG scale is nan" in said and "Width is 1000000000" in said


@pytest.mark.parametrize(
    "meta",
    [
        '{"steps": 1e999, "cfg_scale": NaN, "width": -8, "seed": true}',
        '{"steps": "twenty", "cfg_scale": Infinity, "height": 1e9, "seed": -1}',
    ],
)
def test_impossible_json_values_are_refused(tmp_path, meta):
    read = read_png(tmp_path, {"invokeai_metadata": meta})
    assert read.fields == {} and len(read.notes) == 4


def test_damaged_json_and_files_that_are_not_pictures(tmp_path):
    read = read_png(tmp_path, {"invokeai_metadata": '{"steps": 20'})
    assert read.tool == "invokeai" and "not valid JSON" in read.notes[0]
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\xff" * 5)  # cut short after the signature
    assert not read_picture(junk).error
    noise = tmp_path / "noise.jpg"
    noise.write_bytes(bytes(range(256)) * 4)
    assert "not a picture" in read_picture(noise).error
    assert "does not exist" in read_picture(tmp_path / "missing.png").error
    assert "folder" in read_picture(tmp_path).error


def test_a_graph_with_wrong_types_everywhere_reads_without_raising(tmp_path):
    graph = {
        "1": {
            "class_type": "KSampler",
            "inputs": {"model": ["2", 0], "positive": [7, 0], "steps": [], "seed": {}},
        },
        "2": {"class_type": "LoraLoader", "inputs": {"model": "nope", "lora_name": 5}},
        "3": None,
        "4": [1, 2],
    }
    read = read_png(tmp_path, {"prompt": json.dumps(graph)})
    assert read.tool == "comfyui" and read.loras == ()


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


def test_a_damaged_chunk_is_refused_by_its_checksum(tmp_path):
    good = chunk(b"tEXt", b"parameters\0" + A1111_TEXT.encode())
    bad = good[:-1] + bytes([good[-1] ^ 1])
    read = read_picture(png_with_chunks(tmp_path / "crc.png", bad))
    assert read.tool == "" and any("checksum" in note for note in read.notes)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "prompt",
        "steps",
        "seed",
        "width",
        "model",
        "loras",
        "lora",
        "inputs",
        "class_type",
        "sampler",
        "scheduler",
        "resolution",
        "clipstopatlayer",
        "loraweights",
        "c",
        "uc",
        "size",
        "v4_prompt",
        "sui_models",
        "positive_prompt",
        "clip_skip",
        "scale",
        "noise_schedule",
    ]
)
objects = st.dictionaries(KEYS | st.text(max_size=4), json_values, max_size=8)


@settings(max_examples=50, deadline=None)
@given(data=objects, node=objects)
def test_any_json_in_any_tools_place_reads_without_a_reader_error(data, node):
    """Every reader meets wrong types everywhere: refusals are notes, never exceptions."""
    graph = {
        "1": {"class_type": "KSampler", "inputs": {**node, "model": ["2", 0]}},
        "2": {"class_type": "LoraLoader", "inputs": data},
    }
    swarm = {"sui_image_params": data, "sui_models": node.get("sui_models")}
    xmp = "<exif:UserComment>" + json.dumps(data).replace("&", "&amp;").replace("<", "&lt;")
    for texts in (
        {"invokeai_metadata": json.dumps(data)},
        {"parameters": json.dumps(data), "fooocus_scheme": "fooocus"},
        {"parameters": json.dumps(swarm)},
        {"Software": "NovelAI", "Comment": json.dumps(data)},
        {"XML:com.adobe.xmp": xmp + ' "uc" </exif:UserComment>'},
        {"prompt": json.dumps(graph)},
    ):
        read = read_texts(texts)
        assert not any("reader error" in note for note in read.notes), (texts, read.notes)
        json.dumps(read.as_json())  # and what it says can be printed
