"""The readers of other tools' pictures against real pictures those tools wrote.

The pictures are other projects' test fixtures (tests/data/foreign/SOURCES.md says
where each came from, under which license). Each expected value is that project's own
test expectation for the same file, copied as a literal (SOURCES.md cites the line);
where it had none, the value was read by hand from the raw chunk text. Never our
reader's output. Sampler names are ours (A1111's); the tool's own words are beside them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from engine.store.foreign import read_picture

DATA = Path(__file__).parent / "data" / "foreign"
CHECKED = (
    "prompt",
    "negative_prompt",
    "seed",
    "steps",
    "cfg_scale",
    "sampler",
    "width",
    "height",
    "model",
)
MIKU = "general, masterpiece, best quality, amazing quality, \n1girl, solo, hatsune miku, "
WAI = "waiIllustriousSDXL_v160"
BAD = "bad quality, worst quality, worst detail, sketch, censor,"
NAI_NEGATIVE = (
    "nsfw, lowres, artistic error, film grain, scan artifacts, worst quality, bad quality, "
    "jpeg artifacts, very displeasing, chromatic aberration, dithering, halftone, "
    "screentone, multiple views, logo, too many watermarks, negative space, blank page"
)
NAI_CURATED_NEGATIVE = (
    "blurry, lowres, upscaled, artistic error, scan artifacts, jpeg artifacts, logo, "
    "too many watermarks, negative space, blank page"
)
NAI1_NEGATIVE = ", ".join(
    2
    * [
        "lowres, bad anatomy, bad hands, text, error, missing fingers, extra digit, "
        "fewer digits, cropped, worst quality, low quality, normal quality, "
        "jpeg artifacts, signature, watermark, username, blurry"
    ]
)
GIRL = (
    "professional full body photo of young woman, hyper long brunette hair, elegant hair, "
    "wearing a bikini top and asymmetric short skirt, curvy body, long legs, "
    "(imperfect skin), detailed skin, intense freckles, super long eye lashes, at night, "
    "outside, city background, 8k ultra detailed, realistic, high quality, film grain, "
    "low contrast"
)


@dataclass(frozen=True)
class Sample:
    path: str
    tool: str
    fields: dict[str, object] = field(default_factory=dict)


def duck(path: str) -> Sample:
    # sd-parsers tests/test_automatic1111.py SAMPLERS (and "Size": "512x400").
    return Sample(
        path,
        "a1111",
        dict(
            prompt="photo of a duck",
            negative_prompt="monochrome",
            seed=235284042,
            steps=15,
            cfg_scale=5.0,
            sampler="UniPC",
            width=512,
            height=400,
            model="realistic_realisticVisionV20_v20",
        ),
    )


def webui(path: str, seed: int, cfg: float, sampler: str, tool: str = "a1111", **more) -> Sample:
    """sd-metadata's sd-webui and Forge pictures: one prompt, one model, 1024x1024."""
    base = dict(prompt=MIKU + "テスト", negative_prompt=BAD, width=1024, height=1024, model=WAI)
    return Sample(path, tool, {**base, "seed": seed, "cfg_scale": cfg, "sampler": sampler, **more})


SAMPLES = (
    duck("a1111/automatic1111_cropped.png"),
    duck("a1111/automatic1111_cropped.jpg"),
    # sd-metadata: "DPM++ 2M" with scheduler "Karras".
    webui("a1111/sd-webui.png", 3782896554, 7.0, "DPM++ 2M Karras", steps=20),
    webui("a1111/sd-webui.jpg", 3623174757, 5.5, "DPM++ 2M Karras", steps=20),
    webui("forge/forge.png", 747066619, 5.0, "Euler", "forge", steps=25),  # Euler, Karras
    webui("forge/forge-neo.png", 4179307297, 6.0, "Euler a", "forge", steps=24),
    webui("forge/forge-classic.png", 1239240392, 6.0, "DPM++ 2M Karras", "forge", steps=20),
    Sample(
        "comfyui/img2img_cropped.png",
        "comfyui",
        dict(
            prompt="photograph of victorian woman with wings, sky clouds, meadow grass",
            negative_prompt="watermark, text",
            seed=280823642470253,
            steps=20,
            cfg_scale=8.0,
            sampler="DPM++ 2M",  # "sample_dpmpp_2m", scheduler "normal"
            model="v1-5-pruned-emaonly.ckpt",
        ),  # no size: the latent is the encoded source picture's
    ),
    Sample(
        "comfyui/comfyui.png",
        "comfyui",
        dict(
            prompt=MIKU + "テスト, ",
            negative_prompt="bad quality, worst quality, worst detail, sketch, censor, \n",
            seed=422847914351919,
            steps=20,
            cfg_scale=5.0,
            sampler="Euler a",  # "euler_ancestral", scheduler "karras"
            width=1024,
            height=1024,
            model="waiIllustriousSDXL_v160.safetensors",
        ),
    ),
    Sample(
        "fooocus/fooocus1_cropped.png",
        "fooocus",
        dict(
            prompt="a smiling goldfish",  # no negative prompt (negative_prompts=[])
            seed=6952411511246973023,
            steps=30,
            cfg_scale=4.0,
            sampler="DPM++ 2M SDE Karras",  # "dpmpp_2m_sde_gpu", scheduler "karras"
            width=768,
            height=1280,
            model="juggernautXL_v8Rundiffusion",
        ),
    ),
    Sample(
        "invokeai/invokeai.png",
        "invokeai",
        dict(
            prompt=MIKU + "#テスト\n",
            negative_prompt="bad quality, worst quality, worst detail, sketch, censor, \n",
            seed=3951921344,
            steps=24,
            cfg_scale=6.0,
            sampler="Euler a",  # "euler_a"
            width=1024,
            height=1024,
            model=WAI,
        ),
    ),
    Sample(
        "invokeai/invokeai_imeta1.png",
        "invokeai",
        dict(
            prompt="digital artwork, oil painting. painterly brushstrokes, holidays,",
            negative_prompt="grainy+, photo, oversaturated, overexposed, blurry, "
            "compressed jpg+, noisy++, unfocused , black and white",
            seed=3293022630,
            steps=35,
            cfg_scale=8.0,
            sampler="Euler",  # "euler"
            width=1024,
            height=1024,
            model="juggernautXL",
        ),
    ),
    Sample(
        "invokeai/invokeai_sdmeta1.png",
        "invokeai",
        dict(
            prompt=GIRL,
            negative_prompt="rendering, glowing eyes, skinny",
            seed=2980747362,
            steps=50,
            cfg_scale=5.0,
            sampler="LMS",  # "k_lms"
            width=512,
            height=768,
            model="deliberateForInvoke_v08",
        ),
    ),
    Sample(
        "invokeai/invokeai_dream1.png",
        "invokeai",
        dict(
            prompt=GIRL,
            negative_prompt="rendering, glowing eyes, skinny",
            seed=2980747362,
            steps=50,
            cfg_scale=5.0,
            sampler="LMS",  # "k_lms"
            width=512,
            height=768,
        ),  # Dream names no model
    ),
    Sample(
        "novelai/novelai1_cropped.png",
        "novelai",
        dict(
            prompt="masterpiece, best quality,  cat, space, icon",
            negative_prompt=NAI1_NEGATIVE,
            seed=2253955223,
            steps=50,
            cfg_scale=10.0,
            sampler="Euler a",  # "k_euler_ancestral"
            model="Stable Diffusion 1D44365E",  # the Source chunk: name and hash
        ),  # no size in its Comment
    ),
    Sample(
        "novelai/novelai-full.png",
        "novelai",
        dict(
            prompt="1girl, solo, hatsune miku, #テスト, very aesthetic, masterpiece, no text",
            negative_prompt=NAI_NEGATIVE,
            seed=2043807047,
            steps=28,
            cfg_scale=5.0,
            sampler="Euler a",  # "k_euler_ancestral", scheduler "karras"
            width=832,
            height=1216,
            model="NovelAI Diffusion V4.5 4BDE2A90",  # by hand: its Source chunk
        ),
    ),
    Sample(
        "novelai/novelai-curated.webp",
        "novelai",
        dict(
            prompt="1girl, solo, hatsune miku, #テスト, very aesthetic, masterpiece, no text, "
            "-0.8::feet::, rating:general",
            negative_prompt=NAI_CURATED_NEGATIVE,
            seed=880673757,
            steps=23,
            cfg_scale=5.0,
            sampler="Euler a",  # "k_euler_ancestral", scheduler "karras"
            width=1024,
            height=1024,
            model="NovelAI Diffusion V4.5 C02D4F98",  # by hand: its Source
        ),
    ),
    *(
        Sample(
            f"swarmui/{name}",
            "swarmui",
            dict(
                prompt=MIKU + "#テスト",
                negative_prompt=BAD + " ",
                seed=seed,
                steps=20,
                cfg_scale=7.0,
                sampler="Euler a",  # "euler_ancestral", scheduler "karras"
                width=1024,
                height=1024,
                model=WAI,
            ),
        )
        for name, seed in (("swarmui.png", 2083100758), ("swarmui.jpg", 697543491))
    ),
)


def same_words(text: object) -> object:
    """Whitespace at the ends of a prompt's lines is not part of it: A1111 strips each
    line when it reads its own text back (parse_generation_parameters), and so does
    engine.store.a1111; sd-parsers strips ComfyUI's too, sd-metadata keeps it."""
    if not isinstance(text, str):
        return text
    return "\n".join(line.strip() for line in text.strip().splitlines())


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.path)
def test_a_real_picture_reads_as_its_tool_wrote_it(sample: Sample):
    read = read_picture(DATA / sample.path)
    assert read.error == ""
    assert read.tool == sample.tool
    got = {k: same_words(read.fields.get(k)) for k in CHECKED}
    assert got == {k: same_words(sample.fields.get(k)) for k in CHECKED}


def test_a_comfyui_graph_with_two_samplers_is_kept_whole_not_guessed():
    # sd-parsers expects two samplers here (a first pass at 704x1280 and a second over
    # its upscaled latent); which one "made" the picture is not ours to pick.
    read = read_picture(DATA / "comfyui/night_evening_day_morning_cropped.png")
    assert read.tool == "comfyui" and read.fields == {}
    assert '"KSampler"' in read.unmapped["prompt"]
    assert any("2 samplers" in note for note in read.notes)


def test_every_sample_is_listed_in_sources():
    listed = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    pictures = [p for p in DATA.glob("*/*") if p.suffix in (".png", ".jpg", ".webp")]
    assert pictures and all(f"`{p.parent.name}/{p.name}`" in listed for p in pictures)
    assert {s.path for s in SAMPLES} <= {f"{p.parent.name}/{p.name}" for p in pictures}
