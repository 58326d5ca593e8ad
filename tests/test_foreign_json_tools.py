"""Other tools' JSON metadata (issue 24): InvokeAI, Fooocus, SwarmUI, NovelAI and Draw
Things pictures built here in each tool's documented format, checked field by field
(the sources are named in each reader's docstring, engine/store/foreign/)."""

from __future__ import annotations

import json

from PIL import Image

from engine.store.foreign import Lora, read_picture
from tests.foreign_pictures import (
    A1111_TEXT,
    read_png,
    with_exif,
)

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
