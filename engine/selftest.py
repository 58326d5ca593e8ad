"""`python main.py --selftest`: one classic and one tiny Stable Diffusion job, headless, offline.

It goes through the same client, worker thread, runtime and gallery store as the app,
into a temporary gallery, and checks that each image's metadata reads back to its request.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTimer

from engine.client import EngineClient
from engine.jobs import (
    Cancelled,
    DeviceInfo,
    Failed,
    Finished,
    Request,
    SampleRequest,
    Txt2ImgRequest,
)
from engine.store import read_metadata

TIMEOUT_S = 600


def _wait(app: QCoreApplication, events: list, job_ids: set[int]) -> None:
    """Run the event loop until every job has ended, or TIMEOUT_S has passed."""
    ended = (Finished, Cancelled, Failed)
    check = QTimer()
    check.timeout.connect(
        lambda: job_ids <= {e.job_id for e in events if isinstance(e, ended)} and app.quit()
    )
    check.start(20)
    QTimer.singleShot(TIMEOUT_S * 1000, app.quit)
    app.exec()


def _check(request: Request, event) -> list[str]:
    if not isinstance(event, Finished):
        reason = getattr(event, "message", type(event).__name__)
        return [f"{request.kind} job did not finish: {reason}"]
    problems = []
    if len(event.results) != request.image_count:
        problems.append(
            f"{request.kind}: {len(event.results)} images, expected {request.image_count}"
        )
    for result in event.results:
        if not result.path or not Path(result.path).is_file():
            problems.append(f"{request.kind}: image not on disk ({result.save_error})")
            continue
        meta = read_metadata(Path(result.path))
        if meta.request != request or meta.seed != result.seed:
            problems.append(f"{request.kind}: metadata of {result.path} does not match the request")
        print(result.json_line(), flush=True)
    return problems


def run_selftest() -> int:
    from engine.models.tiny_sd import build_tiny_pipeline

    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    work = Path(tempfile.mkdtemp(prefix="latentstudio-selftest-"))
    model = build_tiny_pipeline(work / "tiny-sd")
    client = EngineClient(work / "gallery")
    events: list = []
    client.event.connect(events.append)
    client.start()
    requests = [
        SampleRequest(model="vae-digits", seed=7, count=2),
        Txt2ImgRequest(
            model=str(model),
            prompt="a lighthouse",
            negative_prompt="fog",
            width=64,
            height=64,
            steps=3,
            seed=11,
            batch_size=2,
        ),
    ]
    job_ids = {client.submit(r): r for r in requests}
    _wait(app, events, set(job_ids))
    client.shutdown()
    problems = []
    for job_id, request in job_ids.items():
        ended = [
            e
            for e in events
            if getattr(e, "job_id", None) == job_id and isinstance(e, (Finished, Cancelled, Failed))
        ]
        problems += _check(request, ended[-1]) if ended else [f"{request.kind}: timed out"]
    device = next((e.description for e in events if isinstance(e, DeviceInfo)), "unknown")
    if problems:
        for problem in problems:
            print(f"selftest: FAILED: {problem}", file=sys.stderr)
        return 1
    print(f"selftest: ok ({device}, gallery {work / 'gallery'})", file=sys.stderr)
    return 0
