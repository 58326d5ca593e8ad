"""`generate --control` and `--ip-adapter` (issue 22): the request they build (literal
values; sha256 by hashlib), the one `error:` sentence bad syntax gets (exit 2), and
--help."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from engine.api.errors import BadInput
from engine.api.image_parts import ControlUnit, IpAdapter
from engine.api.kinds import Family
from engine.api.parts import ImageRef, ModelRef
from engine.api.requests import Txt2ImgRequest
from engine.cli_exit import EXIT_BAD_INPUT
from engine.commands import build_parser, generate_request


@pytest.fixture
def files(tmp_path, monkeypatch) -> dict[str, Path]:
    monkeypatch.chdir(tmp_path)
    made = {}
    for name in ("sd.safetensors", "canny.safetensors", "ip.safetensors"):
        made[name] = tmp_path / name
        made[name].write_bytes(b"\0" * 16)
    (tmp_path / "depth").mkdir()  # a diffusers folder
    for name, value in (("edges.png", 10), ("photo.png", 20), ("style.png", 30)):
        made[name] = tmp_path / name
        Image.new("RGB", (64, 64), (value, value, value)).save(made[name])
    return made


def build(*args: str) -> Txt2ImgRequest:
    parsed = build_parser().parse_args(
        ["generate", "--model", "sd.safetensors", "--prompt", "a fox", "--seed", "1"]
        + ["--out", "o", *args]
    )
    request = generate_request(parsed)
    assert isinstance(request, Txt2ImgRequest)
    return request


def ref(path: Path) -> ImageRef:
    return ImageRef(str(path), hashlib.sha256(path.read_bytes()).hexdigest())


def test_a_control_unit_with_every_option(files, tmp_path):
    made = build(
        "--control",
        "canny.safetensors,image=edges.png,pre=canny,low=50,weight=0.8,start=0.1,end=0.7,"
        "mode=prompt,resize=just-resize",
    )
    assert made.control == (
        ControlUnit(
            model=ModelRef(Family.SD, str(tmp_path / "canny.safetensors")),
            image=ref(files["edges.png"]),
            weight=0.8,
            start=0.1,
            end=0.7,
            preprocessor="canny",
            settings=(("low", 50.0), ("high", 200.0)),
            mode="prompt",
            resize_mode="just-resize",
        ),
    )
    made.validate()


def test_units_repeat_and_take_the_source_image_by_default(files, tmp_path):
    made = build(
        "--image", "photo.png", "--control", "depth", "--control", "canny.safetensors,pre=invert"
    )
    photo = ref(files["photo.png"])
    assert made.control == (
        ControlUnit(ModelRef(Family.SD, str(tmp_path / "depth")), photo),
        ControlUnit(
            ModelRef(Family.SD, str(tmp_path / "canny.safetensors")), photo, preprocessor="invert"
        ),
    )
    assert made.source is not None and made.source.image == photo


def test_an_ip_adapter(files, tmp_path):
    made = build("--ip-adapter", "ip.safetensors,image=style.png,weight=0.6")
    assert made.ip_adapters == (
        IpAdapter(
            ModelRef(Family.SD, str(tmp_path / "ip.safetensors")), ref(files["style.png"]), 0.6
        ),
    )
    assert made.control == ()


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (
            ("--control", "canny.safetensors"),
            "--control 'canny.safetensors' has no image: add image=PATH, or give --image to "
            "use its.",
        ),
        (
            ("--control", "image=edges.png"),
            "--control 'image=edges.png' does not start with the model: give its file first.",
        ),
        (
            ("--control", "canny.safetensors,image=edges.png,weight"),
            "--control 'canny.safetensors,image=edges.png,weight': 'weight' is not NAME=VALUE.",
        ),
        (
            ("--control", "canny.safetensors,image=edges.png,weight=big"),
            "--control weight='big' is not a number.",
        ),
        (
            ("--control", "canny.safetensors,image=edges.png,pre=hed"),
            "--control pre='hed' is not one of: none, invert, canny, softedge, lineart, scribble, "
            "color, shuffle, tile, blur, inpaint, depth, openpose, segmentation.",
        ),
        (
            ("--control", "canny.safetensors,image=edges.png,low=3"),
            "--control does not take low=: it takes image, pre, weight, start, end, mode, "
            "resize, annotator.",
        ),
        (
            ("--ip-adapter", "ip.safetensors"),
            "--ip-adapter 'ip.safetensors' has no image: add image=PATH.",
        ),
        (
            ("--ip-adapter", "ip.safetensors,image=style.png,pre=canny"),
            "--ip-adapter does not take pre=: it takes image, weight.",
        ),
    ],
)
def test_bad_syntax_is_one_sentence(files, args, sentence):
    with pytest.raises(BadInput) as raised:
        build(*args)
    assert raised.value.message == sentence


def test_bad_syntax_exits_as_other_bad_input_with_one_error_line(files, tmp_path, capsys):
    import main

    code = main.main(
        ["generate", "--model", "sd.safetensors", "--prompt", "x", "--out", str(tmp_path / "o")]
        + ["--control", "canny.safetensors,image=edges.png,start=0.9,end=0.2"]
    )
    out = subprocess.CompletedProcess([], code, *capsys.readouterr())
    assert out.returncode == EXIT_BAD_INPUT == 2
    assert out.stderr.strip() == (
        "error: A control unit starts at 0.9 and ends at 0.2: it must start before it ends."
    )
    assert out.stdout == "" and not (tmp_path / "o").exists()


def test_help_documents_control_and_ip_adapter(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["generate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert (
        "--control MODEL[,image=PATH][,pre=NAME][,weight=W][,start=S][,end=E][,mode=M][,resize=R]"
        in text
    )
    assert "--ip-adapter MODEL,image=PATH[,weight=W]" in text
    assert "pre=NAME (the preprocessor: none, invert, canny," in text


def controlnet_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"_class_name": "ControlNetModel"}')
    return folder


def test_a_model_by_its_library_name_is_its_folder(files, tmp_path):
    found = controlnet_folder(tmp_path / "models" / "ControlNet" / "my-canny")
    made = build("--lora-dir", "models", "--control", "my-canny,image=edges.png")
    assert made.control[0].model == ModelRef(Family.SD, str(found))
    unknown = build("--lora-dir", "models", "--control", "not-there,image=edges.png")
    assert unknown.control[0].model == ModelRef(Family.SD, "not-there")  # the job says so


def test_an_annotator_preprocessor_takes_the_file_in_the_model_folders(files, tmp_path):
    pose = tmp_path / "models" / "ControlNetPreprocessor" / "openpose" / "body_pose_model.pth"
    pose.parent.mkdir(parents=True)
    pose.write_bytes(b"weights")
    found = build(
        "--lora-dir", "models", "--control", "canny.safetensors,pre=openpose,image=photo.png"
    )
    assert found.control[0].annotator == ModelRef(Family.SD, str(pose))
    given = build("--control", "canny.safetensors,pre=openpose,image=photo.png,annotator=x.pth")
    assert given.control[0].annotator == ModelRef(Family.SD, str(tmp_path / "x.pth"))
    none = build("--lora-dir", "models", "--control", "canny.safetensors,pre=depth,image=photo.png")
    assert none.control[0].annotator is None  # the job's sentence names the file
    plain = build(
        "--lora-dir", "models", "--control", "canny.safetensors,pre=canny,image=photo.png"
    )
    assert plain.control[0].annotator is None
