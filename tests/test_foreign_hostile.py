"""Hostile pictures (issue 24): zlib bombs, oversized or damaged chunks, text that is
not the UTF-8 it claims, JSON nested 10,000 deep, impossible values and JSON of every
shape in every tool's place. The reader refuses with notes and never raises."""

from __future__ import annotations

import json
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.store.foreign import read_picture, read_texts
from tests.foreign_pictures import (
    A1111_TEXT,
    chunk,
    png_with_chunks,
    read_png,
)

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
