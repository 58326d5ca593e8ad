"""`python main.py --selftest`: every family once, headless, offline: samples from the
bundled VAE, GAN and DDPM, a tiny Stable Diffusion job (its weights built from the
bundled configs and tokenizer), and an upscale by the bundled lite-x2.

It goes through the same client, worker threads, runtime and gallery store as the app,
into a temporary gallery, and checks that each image's metadata reads back to its request.
The frozen bundle runs it too (`dist/LatentStudio/LatentStudio --selftest`): it is the
check that packaging collected everything the app imports at run time.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTimer

from engine.api.events import ENDINGS, DeviceInfo, Finished
from engine.api.kinds import Family
from engine.api.outcomes import ImagesOutcome
from engine.api.parts import ImageRef, ModelRef, Prompt, Sampling, Size
from engine.api.requests import Request, SampleRequest, Txt2ImgRequest, UpscaleRequest
from engine.api.sample_options import DiffusionSampleOptions
from engine.local_engine import LocalEngine
from engine.store import read_metadata

TIMEOUT_S = 600


def _wait(app: QCoreApplication, events: list, job_ids: set[int]) -> None:
    """Run the event loop until every job has ended, or TIMEOUT_S has passed."""
    check = QTimer()
    check.timeout.connect(
        lambda: job_ids <= {e.job_id for e in events if isinstance(e, ENDINGS)} and app.quit()
    )
    check.start(20)
    QTimer.singleShot(TIMEOUT_S * 1000, app.quit)
    app.exec()


def _check(request: Request, event) -> list[str]:
    kind = request.task.value
    if not isinstance(event, Finished) or not isinstance(event.outcome, ImagesOutcome):
        reason = getattr(event, "message", type(event).__name__)
        return [f"{kind} job did not finish: {reason}"]
    problems = []
    images = event.outcome.images
    if len(images) != request.image_count:
        problems.append(f"{kind}: {len(images)} images, expected {request.image_count}")
    for result in images:
        if not result.path or not Path(result.path).is_file():
            problems.append(f"{kind}: image not on disk ({result.save_error})")
            continue
        meta = read_metadata(Path(result.path))
        if meta.request != request or meta.seed != result.seed:
            problems.append(f"{kind}: metadata of {result.path} does not match the request")
        print(result.json_line(), flush=True)
    return problems


def _gradient_png(path: Path) -> Path:
    import numpy as np
    from PIL import Image

    ramp = np.linspace(0, 255, 48, dtype=np.uint8)
    pixels = np.stack(np.broadcast_arrays(ramp[None, :], ramp[:, None], ramp[::-1, None]), -1)
    Image.fromarray(pixels).save(path)
    return path


def run_selftest() -> int:
    from engine.models.sd.tiny import build_tiny_pipeline

    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    work = Path(tempfile.mkdtemp(prefix="latentstudio-selftest-"))
    model = build_tiny_pipeline(work / "tiny-sd")
    photo = _gradient_png(work / "to-upscale.png")
    client = LocalEngine(work / "gallery")
    events: list = []
    client.event.connect(events.append)
    client.start()
    requests = [
        SampleRequest(model=ModelRef(Family.VAE, "vae-digits"), seed=7, count=2),
        SampleRequest(model=ModelRef(Family.GAN, "gan-shapes"), seed=8, count=2),
        SampleRequest(
            model=ModelRef(Family.DDPM, "ddpm-digits"),
            seed=9,
            count=2,
            options=DiffusionSampleOptions(steps=5),
        ),
        UpscaleRequest(model=ModelRef(Family.UPSCALE, "lite-x2"), image=ImageRef(str(photo), "")),
        Txt2ImgRequest(
            model=ModelRef(Family.SD, str(model)),
            prompt=Prompt("a lighthouse", "fog"),
            size=Size(64, 64),
            sampling=Sampling(steps=3, seed=11),
            batch_size=2,
        ),
    ]
    job_ids = {client.submit(r).job_id: r for r in requests}
    _wait(app, events, set(job_ids))
    client.shutdown()
    problems = []
    for job_id, request in job_ids.items():
        ended = [
            e for e in events if getattr(e, "job_id", None) == job_id and isinstance(e, ENDINGS)
        ]
        problems += _check(request, ended[-1]) if ended else [f"{request.task.value}: timed out"]
    device = next((e.description for e in events if isinstance(e, DeviceInfo)), "unknown")
    if problems:
        for problem in problems:
            print(f"selftest: FAILED: {problem}", file=sys.stderr)
        return 1
    print(f"selftest: ok ({device}, gallery {work / 'gallery'})", file=sys.stderr)
    return 0
