"""Image to image's source and steps (issue 21): bad input is a sentence and nothing is
written; odd sources are converted with a note; A1111's resize modes; progress counts
the steps that run; cancel stops within one step. Against diffusers: test_sd_img2img.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.api.errors import BadInput, JobCancelled, UnreadableImage
from engine.api.events import Progress
from engine.api.image_parts import Hires, SourceImage
from engine.api.kinds import Family
from engine.api.parts import ImageRef, ModelRef, Prompt, Sampling, Size
from engine.api.requests import Txt2ImgRequest
from engine.context import JobContext
from engine.local_checks import check_model
from tests.upscalers import photo_like, write_png

pytestmark = [
    pytest.mark.filterwarnings("ignore:__array_wrap__ must accept context:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def gallery(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gallery")


@pytest.fixture(scope="module")
def runtime(gallery, tmp_path_factory):
    """A CPU runtime that saves into `gallery`, so a test can see nothing was written."""
    from engine.hashing import HashCache, HashService
    from engine.runtime import Runtime
    from engine.store import GalleryStore

    store = GalleryStore(gallery)
    folder = tmp_path_factory.mktemp("hashes")
    runtime = Runtime(
        store=lambda: store, device_preference="cpu", hashes=HashService(HashCache(folder / "h"))
    )
    yield runtime
    runtime.close()


def request(model: Path, path: Path, strength=0.5, sha256="", **overrides) -> Txt2ImgRequest:
    mode = overrides.pop("resize_mode", "just-resize")
    return Txt2ImgRequest(
        model=ModelRef(Family.SD, str(model)),
        prompt=Prompt("a photo of a cat", "blurry"),
        size=overrides.pop("size", Size(64, 64)),
        sampling=Sampling(
            steps=overrides.pop("steps", 2),
            cfg_scale=7.0,
            sampler=overrides.pop("sampler", None),
            seed=7,
        ),
        source=SourceImage(ImageRef(str(path), sha256), strength, mode),
        **overrides,
    )


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def picture(tmp_path) -> Path:
    return write_png(tmp_path / "source.png", photo_like(64, 64, seed=2))


# ---------------------------------------------------------------- refused, with a sentence


@pytest.mark.parametrize("strength", [1.01, -0.1, float("nan"), float("inf")])
def test_strength_outside_0_to_1_or_not_finite_is_refused_by_validate(tmp_path, strength):
    with pytest.raises(BadInput, match="Strength must be"):
        request(tmp_path / "m", tmp_path / "s.png", strength).validate()


def test_a_missing_source_is_named_and_nothing_is_written(runtime, tiny_model, tmp_path, gallery):
    before = files_in(gallery)
    # The local checks name it first (engine.local_checks), before any model loads.
    with pytest.raises(BadInput, match="gone.png does not exist"):
        runtime.run(request(tiny_model, tmp_path / "gone.png"), JobContext(1))
    assert files_in(gallery) == before


def test_a_source_changed_since_the_recipe_is_refused(runtime, tiny_model, picture, gallery):
    before = files_in(gallery)
    with pytest.raises(BadInput, match="source.png has changed since this recipe was made"):
        runtime.run(request(tiny_model, picture, sha256="0" * 64), JobContext(1))
    assert files_in(gallery) == before
    same = hashlib.sha256(picture.read_bytes()).hexdigest()
    result = runtime.run(request(tiny_model, picture, sha256=same), JobContext(1)).images[0]
    assert result.info["source"]["sha256"] == same


def test_a_source_over_the_size_limit_is_refused_before_it_is_decoded(
    runtime, tiny_model, tmp_path
):
    huge = tmp_path / "huge.png"
    Image.new("L", (5000, 4000)).save(huge)  # 20 megapixels, a few kB
    with pytest.raises(UnreadableImage, match=r"huge.png is 5000×4000 pixels; .* at most 16.8"):
        runtime.run(request(tiny_model, huge), JobContext(1))


# ---------------------------------------------------------------- converted, with a note


def _grey(path: Path) -> None:
    Image.fromarray(photo_like(64, 64)[:, :, 0]).save(path)


def _sixteen_bit(path: Path) -> None:
    Image.fromarray(photo_like(64, 64)[:, :, 1].astype(np.uint16) * 257).save(path)


def _cmyk(path: Path) -> None:
    Image.fromarray(photo_like(64, 64)).convert("CMYK").save(path, "JPEG")


def _palette(path: Path) -> None:
    Image.fromarray(photo_like(64, 64)).convert("P").save(path)


def _transparent(path: Path) -> None:
    rgba = np.dstack([photo_like(64, 64), np.full((64, 64), 128, np.uint8)])
    Image.fromarray(rgba).save(path)


@pytest.mark.parametrize(
    ("make", "name", "note"),
    [
        (_grey, "grey.png", "a grey image"),
        (_sixteen_bit, "deep.png", "a 16-bit image"),
        (_cmyk, "cmyk.jpg", "a CMYK image: converted to RGB"),
        (_palette, "palette.png", "a palette image: converted to full colour"),
        (_transparent, "alpha.png", "its transparency was dropped"),
    ],
)
def test_odd_sources_are_converted_with_a_note(runtime, tiny_model, tmp_path, make, name, note):
    path = tmp_path / name
    make(path)
    result = runtime.run(request(tiny_model, path), JobContext(1)).images[0]
    assert result.rgb.shape == (64, 64, 3)
    assert any(n.startswith(note) for n in result.info["notes"]), result.info["notes"]


def test_an_animated_source_uses_its_first_frame_with_a_note(runtime, tiny_model, tmp_path):
    frames = [Image.new("RGB", (64, 64), colour) for colour in ((200, 40, 40), (40, 40, 200))]
    path = tmp_path / "moving.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    result = runtime.run(request(tiny_model, path, strength=0.0), JobContext(1)).images[0]
    assert "an animated image: its first frame is used" in result.info["notes"]
    assert tuple(result.rgb[0, 0]) == (200, 40, 40)


# ---------------------------------------------------------------- strength 0, resize modes


def test_strength_0_runs_no_step_and_gives_the_source_back(runtime, tiny_model, picture):
    events = []
    results = runtime.run(
        request(tiny_model, picture, strength=0.0, batch_size=2), JobContext(1, emit=events.append)
    ).images
    for result in results:
        np.testing.assert_array_equal(result.rgb, np.asarray(Image.open(picture)))
        assert result.info["steps_run"] == 0
    assert "runs no step" in results[0].info["notes"][-1]
    assert [e.step for e in events if isinstance(e, Progress) and e.step] == []


def _fitted(runtime, model, path: Path, mode: str) -> tuple[np.ndarray, list[str]]:
    result = runtime.run(request(model, path, 0.0, resize_mode=mode), JobContext(1)).images[0]
    return result.rgb, result.info["notes"]


def test_just_resize_stretches_with_lanczos(runtime, tiny_model, tmp_path):
    wide = write_png(tmp_path / "wide.png", photo_like(96, 64))
    rgb, notes = _fitted(runtime, tiny_model, wide, "just-resize")
    expected = Image.open(wide).resize((64, 64), Image.Resampling.LANCZOS)
    np.testing.assert_array_equal(rgb, np.asarray(expected))
    assert notes[0] == "resized from 96×64 to 64×64: stretched to it (just resize)"


def test_crop_and_resize_covers_then_crops_the_centre(runtime, tiny_model, tmp_path):
    wide = write_png(tmp_path / "wide.png", photo_like(192, 64))
    rgb, notes = _fitted(runtime, tiny_model, wide, "crop-and-resize")
    np.testing.assert_array_equal(rgb, photo_like(192, 64)[:, 64:128])  # no scaling needed
    assert "centre-cropped" in notes[0]


def test_resize_and_fill_fits_and_stretches_the_edges_into_the_bands(runtime, tiny_model, tmp_path):
    tall = write_png(tmp_path / "tall.png", photo_like(32, 64))
    rgb, notes = _fitted(runtime, tiny_model, tall, "resize-and-fill")
    np.testing.assert_array_equal(rgb[:, 16:48], photo_like(32, 64))  # fits: no scaling
    # Each band is one column stretched: the edge resampled over a zero-width box, as
    # A1111 does (Lanczos there weighs in the next few columns a little).
    for band, edge in ((rgb[:, :16], rgb[:, 16]), (rgb[:, 48:], rgb[:, 47])):
        assert (band == band[:, :1]).all()
        assert np.abs(band[:, 0].astype(int) - edge).mean() < 24
    assert "the bands filled from its edges" in notes[0]


# ---------------------------------------------------------------- progress and cancel


def steps_of(events) -> list[Progress]:
    return [e for e in events if isinstance(e, Progress)]


def test_progress_counts_the_steps_that_run(runtime, tiny_model, picture):
    events = []
    req = request(tiny_model, picture, strength=0.35, steps=10, sampler="Euler")
    result = runtime.run(req, JobContext(1, emit=events.append)).images[0]
    progress = steps_of(events)
    assert {e.total for e in progress} == {3}  # int(10 × 0.35)
    assert [e.step for e in progress if e.step] == [1, 2, 3]
    assert result.info["steps_run"] == 3


def test_hires_progress_counts_both_passes(runtime, tiny_model):
    events = []
    req = Txt2ImgRequest(
        model=ModelRef(Family.SD, str(tiny_model)),
        prompt=Prompt("a cat"),
        size=Size(64, 64),
        sampling=Sampling(steps=4, cfg_scale=7.0, sampler="Euler", seed=1),
        hires=Hires(scale=1.5, steps=6, denoise=0.5),
    )
    runtime.run(req, JobContext(1, emit=events.append))
    progress = steps_of(events)
    assert {e.total for e in progress} == {7}  # 4 + int(6 × 0.5)
    assert [e.step for e in progress if e.step] == [1, 2, 3, 4, 5, 6, 7]


def test_cancel_stops_within_one_step_and_the_next_job_is_the_same(runtime, tiny_model, picture):
    req = request(tiny_model, picture, strength=0.6, steps=10, sampler="Euler")
    reference = runtime.run(req, JobContext(1)).images[0].rgb
    ctx = JobContext(2)

    def emit(event):
        if isinstance(event, Progress) and event.step == 2:
            ctx.control.cancel()

    ctx.emit = emit
    key = [k for k in runtime.cache.lru_keys() if k.family is Family.SD][-1]
    calls = []
    hook = runtime.cache.peek(key).pipe.unet.register_forward_hook(lambda *a: calls.append(1))
    try:
        with pytest.raises(JobCancelled):
            runtime.run(req, ctx)
    finally:
        hook.remove()
    assert len(calls) <= 3  # two steps, and at most the one in flight
    np.testing.assert_array_equal(runtime.run(req, JobContext(3)).images[0].rgb, reference)


def test_the_latent_upscaler_needs_no_file():
    check_model(ModelRef(Family.UPSCALE, "latent"))  # no sentence
