"""The queue numbers the jobs the user sees, one after another, and follows new ones.

Live requests (slider moves, forward-process scrubbing) are jobs on the interactive lane
but are not listed: they must not use up the numbers (issue 19: "#15 → #25").
"""

from __future__ import annotations

from engine.api.events import Queued
from engine.api.kinds import Family
from engine.api.parts import ModelRef
from engine.api.requests import ForwardNoiseRequest, SampleRequest
from gui.queue_dock import QueueDock
from gui.viewmodels.jobs import JobsModel

DIGITS = ModelRef(Family.VAE, "vae-digits")
SHAPES = ModelRef(Family.DDPM, "ddpm-shapes")


def queue(jobs: JobsModel, job_id: int, request) -> None:
    jobs.apply(Queued(job_id, request, request.lane))


def test_live_requests_between_two_jobs_do_not_make_the_numbers_jump(qtbot):
    jobs = JobsModel()
    dock = QueueDock(jobs)
    qtbot.addWidget(dock)
    queue(jobs, 1, SampleRequest(model=DIGITS, seed=1, count=4))
    for job_id, t in enumerate(range(10, 110, 10), start=2):  # dragging t
        queue(jobs, job_id, ForwardNoiseRequest(model=SHAPES, t=t))
    queue(jobs, 12, SampleRequest(model=DIGITS, seed=2, count=4))
    texts = [dock.tree.topLevelItem(i).text(0) for i in range(dock.tree.topLevelItemCount())]
    assert [t.split()[0] for t in texts] == ["#1", "#2"], texts


def test_the_queue_scrolls_to_a_new_job(qtbot):
    jobs = JobsModel()
    dock = QueueDock(jobs)
    qtbot.addWidget(dock)
    dock.resize(320, 240)
    dock.show()
    qtbot.waitExposed(dock)
    for job_id in range(1, 41):
        queue(jobs, job_id, SampleRequest(model=DIGITS, seed=job_id, count=4))
    qtbot.wait(50)
    tree = dock.tree
    last = tree.topLevelItem(tree.topLevelItemCount() - 1)
    assert tree.viewport().rect().contains(tree.visualItemRect(last))
