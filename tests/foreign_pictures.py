"""Pictures as other tools write them, built with Pillow (and by hand where a tool or a
hostile file writes chunks Pillow would not)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from PIL import Image, PngImagePlugin

from engine.store.foreign import ForeignRead, read_picture

SIGNATURE_AND_IHDR = 8 + 25  # a PNG's signature and its IHDR chunk, in bytes


def png(path: Path, texts: dict[str, str] | None = None, how: str = "tEXt") -> Path:
    """A 16x8 PNG whose texts are written as tEXt, zTXt (compressed latin-1) or iTXt."""
    info = PngImagePlugin.PngInfo()
    for key, value in (texts or {}).items():
        if how == "iTXt":
            info.add_itxt(key, value, zip=False)
        elif how == "iTXt-zip":
            info.add_itxt(key, value, zip=True)
        else:
            info.add_text(key, value, zip=how == "zTXt")
    Image.new("RGB", (16, 8), "gray").save(path, "PNG", pnginfo=info)
    return path


def chunk(kind: bytes, data: bytes, length: int | None = None) -> bytes:
    size = len(data) if length is None else length
    return struct.pack(">I", size) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_chunks(path: Path, *chunks: bytes, texts: dict[str, str] | None = None) -> Path:
    """A PNG (with `texts` as tEXt) and raw `chunks` inserted right after its IHDR."""
    png(path, texts)
    data = path.read_bytes()
    path.write_bytes(data[:SIGNATURE_AND_IHDR] + b"".join(chunks) + data[SIGNATURE_AND_IHDR:])
    return path


def with_exif(path: Path, exif: Image.Exif, fmt: str) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 8), "gray").save(buffer, fmt, exif=exif)
    path.write_bytes(buffer.getvalue())
    return path


def piexif_user_comment(text: str) -> Image.Exif:
    """As A1111 writes a JPEG: piexif.helper.UserComment.dump(text, encoding="unicode")
    in the Exif IFD: b"UNICODE\\0" and UTF-16 big-endian."""
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + text.encode("utf-16-be")
    return exif


# ---------------------------------------------------------------- shared pictures

A1111_TEXT = (
    "a fox in the snow <lora:fluffy:0.7>\n"
    "Negative prompt: blurry, lowres\n"
    "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 1234, "
    "Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, VAE: vae-ft-mse, "
    "Denoising strength: 0.45, Clip skip: 2, "
    'Lora hashes: "fluffy: abcdef123456", Version: v1.10.1'
)


def read_png(tmp_path: Path, texts: dict[str, str], how: str = "tEXt") -> ForeignRead:
    return read_picture(png(tmp_path / "p.png", texts, how))


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
