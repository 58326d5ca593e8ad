"""Control units in A1111's `parameters` text (issue 22), written and read back.

The oracles are literal texts in the form sd-webui-controlnet writes them
(scripts/infotext.py: `ControlNet N` fields whose value is the unit's `Key: value`
pairs, the field names title-cased, hidden sliders left out) and A1111 quotes them."""

from __future__ import annotations

import numpy as np

from engine.api.a1111_control import control_from_parameters, model_text, preprocessor_of
from engine.api.a1111_request import request_from_parameters
from engine.api.image_parts import ControlUnit, IpAdapter
from engine.api.kinds import Family
from engine.api.outcomes import ResultImage
from engine.api.parts import ImageRef, ModelRef, Prompt, Sampling, Size
from engine.api.requests import Txt2ImgRequest
from engine.store import metadata
from engine.store.a1111 import parse_parameters

SD = ModelRef(Family.SD, "/models/v1-5-pruned-emaonly.safetensors")
CANNY = ModelRef(Family.SD, "/models/ControlNet/control_v11p_sd15_canny.safetensors")
DEPTH = ModelRef(Family.SD, "/models/ControlNet/control_v11f1p_sd15_depth")  # a folder
IP = ModelRef(Family.SD, "/models/ipadapter/ip-adapter_sd15.safetensors")
EDGES = ImageRef("/in/edges.png", "ab" * 32)
NO_IMAGE = ImageRef("", "")
INFO = {"model": SD.id, "model_sha256": "6ce0161689" + "0" * 54}

CANNY_TEXT = (
    "Module: canny, Model: control_v11p_sd15_canny [d14c016b], Weight: 1, "
    "Resize Mode: Crop and Resize, Low Vram: False, Processor Res: 512, Threshold A: 100, "
    "Threshold B: 200, Guidance Start: 0, Guidance End: 1, Pixel Perfect: False, "
    "Control Mode: Balanced"
)
DEPTH_TEXT = (
    "Module: none, Model: control_v11f1p_sd15_depth, Weight: 0.55, Resize Mode: Just Resize, "
    "Low Vram: False, Guidance Start: 0.1, Guidance End: 0.8, Pixel Perfect: False, "
    "Control Mode: My prompt is more important"
)
IP_TEXT = (
    "Module: ip-adapter_clip_h, Model: ip-adapter_sd15, Weight: 0.6, "
    "Resize Mode: Crop and Resize, Low Vram: False, Guidance Start: 0, Guidance End: 1, "
    "Pixel Perfect: False, Control Mode: Balanced"
)
UNITS = (
    ControlUnit(CANNY, EDGES, preprocessor="canny", settings=(("low", 100.0), ("high", 200.0))),
    ControlUnit(
        DEPTH,
        EDGES,
        weight=0.55,
        start=0.1,
        end=0.8,
        mode="prompt",
        resize_mode="just-resize",
    ),
)


def request(**parts: object) -> Txt2ImgRequest:
    return Txt2ImgRequest(
        model=SD,
        prompt=Prompt("a fox in the snow", "blurry"),
        size=Size(512, 512),
        sampling=Sampling(20, 7.0, "Euler a", 42),
        **parts,
    )


def text_of(made: Txt2ImgRequest, info: dict | None = None) -> str:
    image = ResultImage(np.zeros((512, 512, 3), np.uint8), 42, 0, {**INFO, **(info or {})})
    return metadata.build_parameters(image, made)


def test_each_unit_and_the_ip_adapter_is_a_controlnet_field():
    made = request(control=UNITS, ip_adapters=(IpAdapter(IP, EDGES, 0.6),))
    hashes = {CANNY.id: "d14c016b1f0e2a"}
    line = text_of(made, {"control_hashes": hashes}).splitlines()[-1]
    assert (
        f'ControlNet 0: "{CANNY_TEXT}", ControlNet 1: "{DEPTH_TEXT}", ControlNet 2: "{IP_TEXT}"'
        in line
    )


def test_without_control_the_text_is_as_before():
    plain = text_of(request())
    assert "ControlNet" not in plain
    assert text_of(request(), {"control_hashes": {CANNY.id: "d14c016b"}}) == plain


def test_an_a1111_text_reads_back_into_units_with_the_images_missing():
    text = (
        "a fox in the snow\nNegative prompt: blurry\n"
        "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512, "
        f'ControlNet 0: "{CANNY_TEXT}", ControlNet 1: "{DEPTH_TEXT}", '
        f'ControlNet 2: "{IP_TEXT}"'
    )
    read = request_from_parameters(parse_parameters(text))
    assert read.request.control == (
        ControlUnit(
            ModelRef(Family.SD, "control_v11p_sd15_canny"),
            NO_IMAGE,
            preprocessor="canny",
            settings=(("low", 100.0), ("high", 200.0)),
        ),
        ControlUnit(
            ModelRef(Family.SD, "control_v11f1p_sd15_depth"),
            NO_IMAGE,
            weight=0.55,
            start=0.1,
            end=0.8,
            mode="prompt",
            resize_mode="just-resize",
        ),
    )
    assert read.request.ip_adapters == (
        IpAdapter(ModelRef(Family.SD, "ip-adapter_sd15"), NO_IMAGE, 0.6),
    )
    assert read.missing == (
        "control image of unit 1",
        "control image of unit 2",
        "IP-Adapter's image",
    )


def test_the_extensions_variants_and_unknown_modules():
    assert [preprocessor_of(m) for m in ("depth_leres++", "lineart_realistic", "softedge_hed")] == [
        "depth",
        "lineart",
        "softedge",
    ]
    assert preprocessor_of("dw_openpose_full") == "openpose"
    assert preprocessor_of("reference_only") is None
    read = control_from_parameters(
        {
            "controlnet_0": "Module: reference_only, Model: None, Weight: 1",  # unused unit
            "controlnet_1": "Module: mediapipe_face, Model: control_face [1a2b3c4d], Weight: 1",
        }
    )
    assert read.control == (ControlUnit(ModelRef(Family.SD, "control_face"), NO_IMAGE),)
    assert read.notes == (
        "The preprocessor 'mediapipe_face' is not one Latent Studio has: the image is taken "
        "as the map (none); choose another before generating.",
    )


def test_model_names_as_the_extension_lists_them():
    assert (
        model_text("C:\\m\\control_sd15_canny.pth", "d14c016b99") == "control_sd15_canny [d14c016b]"
    )
    assert model_text("/m/controlnet-canny-sdxl-1.0/", None) == "controlnet-canny-sdxl-1.0"
