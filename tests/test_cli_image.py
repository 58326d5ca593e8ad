"""`generate` from an image on the command line (issue 21): --image, --mask, --outpaint
and --hires-*, checked by the request they build, by the sentences bad input gets, by
--help, and end to end with a tiny model (one PNG and one JSON line per image)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.api.errors import BadInput, UnreadableImage
from engine.api.image_parts import Hires, Mask, Outpaint, SourceImage
from engine.api.kinds import Family
from engine.api.parts import ImageRef, ModelRef, Size
from engine.api.requests import Txt2ImgRequest
from engine.cli_exit import EXIT_BAD_INPUT
from engine.commands import build_parser, generate_request
from engine.local_checks import check_local
from engine.store.metadata import read_metadata
from tests.upscalers import photo_like, write_png


@pytest.fixture
def model(tmp_path) -> Path:
    path = tmp_path / "sd.safetensors"
    path.write_bytes(b"\0" * 16)  # never loaded: these tests stop before a model runs
    return path


def picture(path: Path, size: tuple[int, int], value: int = 128) -> Path:
    Image.new("RGB", size, (value, value, value)).save(path)
    return path


def build(model: Path, *args: str) -> Txt2ImgRequest:
    parsed = build_parser().parse_args(
        ["generate", "--model", str(model), "--prompt", "a fox", "--seed", "1", "--out", "o", *args]
    )
    request = generate_request(parsed)
    assert isinstance(request, Txt2ImgRequest)
    return request


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def in_process(capsys, *args: str) -> subprocess.CompletedProcess:
    import main

    code = main.main(list(args))
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, captured.out, captured.err)


# ---------------------------------------------------------------- the request built


def test_image_to_image_names_the_source_by_absolute_path_and_sha256(
    model, tmp_path, monkeypatch, capsys
):
    source = picture(tmp_path / "fox.png", (512, 768))
    monkeypatch.chdir(tmp_path)  # a relative path on the command line
    made = build(
        model, "--image", "fox.png", "--strength", "0.4", "--resize-mode", "crop-and-resize"
    )
    assert made.source == SourceImage(
        ImageRef(str(source.absolute()), sha256_of(source)), 0.4, "crop-and-resize"
    )
    assert made.size == Size(512, 768)  # the source's own size, a multiple of 8 already
    assert "the output is 512x768, the source's size" in capsys.readouterr().err
    made.validate()


def test_the_source_size_is_rounded_to_a_multiple_of_8_with_a_note(model, tmp_path, capsys):
    source = picture(tmp_path / "odd.png", (500, 333))
    made = build(model, "--image", str(source))
    assert made.size == Size(504, 336)  # nearest multiples of 8: 500 -> 504, 333 -> 336
    note = capsys.readouterr().err
    assert note.startswith("note: the output is 504x336") and "500x333" in note
    assert made.source is not None and made.source.strength == 0.75  # A1111's default


def test_width_and_height_given_win_over_the_source(model, tmp_path, capsys):
    source = picture(tmp_path / "odd.png", (500, 333))
    assert build(model, "--image", str(source), "--width", "768", "--height", "512").size == (
        Size(768, 512)
    )
    assert capsys.readouterr().err == ""  # nothing was chosen for the user: no note
    assert build(model, "--image", str(source), "--width", "768").size == Size(768, 336)


def test_without_an_image_the_size_is_512_as_before(model):
    made = build(model)
    assert made.size == Size(512, 512) and not made.has_parts


def test_inpaint_options_go_into_the_mask_part(model, tmp_path):
    source = picture(tmp_path / "fox.png", (64, 64))
    mask = picture(tmp_path / "mask.png", (64, 64), 255)
    made = build(
        model,
        *("--image", str(source), "--mask", str(mask), "--mask-blur", "8"),
        *("--masked-content", "latent-noise", "--inpaint-area", "masked"),
        *("--padding", "48", "--mask-grow", "-3"),
    )
    assert made.mask == Mask(
        ImageRef(str(mask), sha256_of(mask)),
        blur=8,
        content="latent-noise",
        area="masked",
        padding=48,
        grow=-3,
    )
    made.validate()


def test_a_mask_alone_takes_the_parts_defaults(model, tmp_path):
    source = picture(tmp_path / "fox.png", (64, 64))
    mask = picture(tmp_path / "mask.png", (64, 64), 255)
    made = build(model, "--image", str(source), "--mask", str(mask))
    assert made.mask == Mask(ImageRef(str(mask), sha256_of(mask)))


def test_outpaint_adds_its_sides_to_the_output_size(model, tmp_path, capsys):
    source = picture(tmp_path / "fox.png", (512, 512))
    made = build(model, "--image", str(source), "--outpaint", "0, 64,256,0")
    assert made.outpaint == Outpaint(left=0, top=64, right=256, bottom=0)
    assert made.size == Size(768, 576)
    assert "with the outpaint" in capsys.readouterr().err
    made.validate()


@pytest.mark.parametrize(
    ("args", "upscaler"),
    [
        ((), "lanczos"),
        (("--hires-upscaler", "Latent"), "latent"),
        (("--hires-upscaler", "lite-x2"), "lite-x2"),
    ],
)
def test_hires_options_go_into_the_hires_part(model, args, upscaler):
    made = build(
        model, "--hires-scale", "1.5", "--hires-steps", "12", "--hires-strength", "0.3", *args
    )
    assert made.hires == Hires(1.5, 12, 0.3, ModelRef(Family.UPSCALE, upscaler))
    assert made.size == Size(512, 512)  # the first pass's size
    made.validate()


def test_a_hires_upscaler_file_is_named_by_absolute_path(model, tmp_path, monkeypatch):
    (tmp_path / "4x.pth").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    made = build(model, "--hires-scale", "2", "--hires-upscaler", "4x.pth")
    assert made.hires is not None
    assert made.hires.upscaler.id == str(tmp_path / "4x.pth")


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--strength", "0.5"), "--strength needs --image"),
        (("--resize-mode", "just-resize"), "--resize-mode needs --image"),
        (("--mask", "m.png"), "--mask needs --image"),
        (("--outpaint", "0,0,64,0"), "--outpaint needs --image"),
        (("--image", "x.png", "--mask-blur", "4"), "--mask-blur needs --mask"),
        (("--image", "x.png", "--padding", "4"), "--padding needs --mask"),
        (("--image", "x.png", "--mask-grow", "4"), "--mask-grow needs --mask"),
        (("--image", "x.png", "--masked-content", "fill"), "--masked-content needs --mask"),
        (("--image", "x.png", "--inpaint-area", "masked"), "--inpaint-area needs --mask"),
        (("--hires-steps", "4"), "--hires-steps needs --hires-scale"),
        (("--hires-strength", "0.4"), "--hires-strength needs --hires-scale"),
        (("--hires-upscaler", "latent"), "--hires-upscaler needs --hires-scale"),
        (("--image", "x.png", "--outpaint", "1,2,3"), "is not four whole numbers"),
        (("--image", "x.png", "--outpaint", "a,b,c,d"), "is not four whole numbers"),
    ],
)
def test_an_option_without_the_one_it_needs_is_a_sentence(model, args, words):
    with pytest.raises(BadInput) as refused:
        build(model, *args)
    assert words in refused.value.message and refused.value.message.endswith(".")


def test_a_source_that_is_not_an_image_is_named(model, tmp_path):
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(UnreadableImage, match=r"The source image .*notes.png cannot be read"):
        build(model, "--image", str(tmp_path / "notes.png"))


@pytest.mark.parametrize("missing", ["source", "mask"])
def test_a_missing_source_or_mask_is_named_by_the_local_checks(model, tmp_path, missing):
    source = picture(tmp_path / "fox.png", (64, 64))
    mask = picture(tmp_path / "mask.png", (64, 64))
    gone = {"source": source, "mask": mask}[missing]
    made = build(model, "--image", str(source), "--mask", str(mask))
    gone.unlink()
    what = {"source": "source image", "mask": "mask"}[missing]
    with pytest.raises(BadInput, match=f"The {what} {gone} does not exist"):
        check_local(made)


def test_the_latent_hires_upscaler_passes_the_local_checks(model):
    check_local(build(model, "--hires-scale", "2", "--hires-upscaler", "latent"))
    with pytest.raises(Exception, match="no bundled model called 'nope'"):
        check_local(build(model, "--hires-scale", "2", "--hires-upscaler", "nope"))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--strength", "1.5"), "Strength must be between 0.0 and 1.0"),
        (("--strength", "nan"), "Strength must be a finite number"),
        (("--mask-blur", "-1"), "Mask blur"),
    ],
)
def test_bad_values_exit_as_other_bad_input_with_one_error_line(
    model, tmp_path, capsys, args, words
):
    source = picture(tmp_path / "fox.png", (64, 64))
    extra = ("--mask", str(source)) if args[0] == "--mask-blur" else ()
    out = in_process(
        capsys,
        *("generate", "--model", str(model), "--prompt", "x", "--out", str(tmp_path / "o")),
        *("--image", str(source), *extra, *args),
    )
    assert out.returncode == EXIT_BAD_INPUT
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and words in errors[0], out.stderr
    assert out.stdout == "" and not (tmp_path / "o").exists()


def test_a_needed_option_missing_exits_as_other_bad_input(model, tmp_path, capsys):
    out = in_process(
        capsys,
        *("generate", "--model", str(model), "--prompt", "x", "--out", str(tmp_path / "o")),
        *("--strength", "0.5"),
    )
    assert out.returncode == EXIT_BAD_INPUT
    assert (
        out.stderr.strip()
        == "error: --strength needs --image: it applies to the image the job starts from."
    )


def test_help_documents_every_image_option(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["generate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in (
        "--image PATH",
        "--strength",
        "--resize-mode {just-resize,crop-and-resize,resize-and-fill}",
        "--mask PATH",
        "--mask-blur",
        "--masked-content {original,fill,latent-noise,latent-nothing}",
        "--inpaint-area {whole,masked}",
        "--padding",
        "--mask-grow",
        "--outpaint L,T,R,B",
        "--hires-scale",
        "--hires-steps",
        "--hires-strength",
        "--hires-upscaler NAME",
    ):
        assert option in text, option
    for group in ("Image to image", "Inpaint (with --image)", "Outpaint", "Hires fix"):
        assert group in text


def test_help_documents_the_outpaint_fill_and_overlap(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["generate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--outpaint-fill {edge,mirror,noise}" in text and "--outpaint-overlap N" in text


def test_outpaint_fill_and_overlap_go_into_the_outpaint_part(model, tmp_path):
    source = picture(tmp_path / "fox.png", (64, 64))
    made = build(
        model,
        "--image",
        str(source),
        "--outpaint",
        "8,0,0,0",
        "--outpaint-fill",
        "mirror",
        "--outpaint-overlap",
        "12",
    )
    assert made.outpaint == Outpaint(left=8, fill="mirror", feather=12)
    with pytest.raises(BadInput, match="--outpaint-overlap needs --outpaint"):
        build(model, "--image", str(source), "--outpaint-overlap", "12")


# ---------------------------------------------------------------- end to end, a tiny model


def generate(capsys, model: Path, out: Path, *args: str) -> list[dict]:
    """`generate` in this process with a tiny model: its JSON lines (exit 0 asserted)."""
    done = in_process(
        capsys,
        *("generate", "--model", str(model), "--prompt", "a fox", "--seed", "3"),
        *("--steps", "4", "--batch", "2", "--device", "cpu", "--out", str(out), *args),
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def written(lines: list[dict]) -> list[tuple[int, int, int]]:
    for line in lines:
        assert Path(line["path"]).is_file()
    return [(line["seed"], line["width"], line["height"]) for line in lines]


@pytest.fixture
def fox(tmp_path) -> Path:
    return write_png(tmp_path / "fox.png", photo_like(64, 48, seed=1))


def test_generate_from_an_image_writes_one_png_and_line_per_image(
    tiny_sd_model, fox, tmp_path, capsys
):
    lines = generate(
        capsys, tiny_sd_model, tmp_path / "o", "--image", str(fox), "--strength", "0.5"
    )
    assert written(lines) == [(3, 64, 48), (4, 64, 48)]
    recipe = read_metadata(Path(lines[0]["path"])).recipe
    assert recipe["steps_run"] == 2 and recipe["source"]["sha256"] == sha256_of(fox)


def test_generate_with_a_mask_and_fill_writes_one_png_and_line_per_image(
    tiny_sd_model, fox, tmp_path, capsys
):
    box = np.zeros((48, 64), np.uint8)
    box[8:40, 16:48] = 255
    mask = tmp_path / "mask.png"
    Image.fromarray(box, "L").save(mask)
    lines = generate(
        capsys,
        tiny_sd_model,
        tmp_path / "o",
        "--image",
        str(fox),
        "--mask",
        str(mask),
        "--masked-content",
        "fill",
    )
    assert written(lines) == [(3, 64, 48), (4, 64, 48)]
    meta = read_metadata(Path(lines[1]["path"]))
    assert meta.request.mask == Mask(ImageRef(str(mask), sha256_of(mask)), content="fill")
    assert meta.recipe["mask"]["sha256"] == sha256_of(mask)


def test_generate_with_an_outpaint_gives_the_extended_size(tiny_sd_model, fox, tmp_path, capsys):
    lines = generate(
        capsys,
        tiny_sd_model,
        tmp_path / "o",
        "--image",
        str(fox),
        "--outpaint",
        "0,0,16,8",
        "--outpaint-fill",
        "mirror",
        "--outpaint-overlap",
        "8",
    )
    assert written(lines) == [(3, 80, 56), (4, 80, 56)]


def test_generate_with_hires_gives_the_enlarged_size(tiny_sd_model, tmp_path, capsys):
    lines = generate(
        capsys,
        tiny_sd_model,
        tmp_path / "o",
        "--width",
        "64",
        "--height",
        "48",
        "--hires-scale",
        "1.5",
    )
    assert written(lines) == [(3, 96, 72), (4, 96, 72)]
