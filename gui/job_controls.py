"""Cancel, stop, pause and resume from the window (Esc, the queue's buttons, the Lab's
training buttons): the engine is asked, and the queue shows the job as ending at once."""

from __future__ import annotations

from engine.api.kinds import Lane
from engine.interface import Engine
from gui.notices import Notices
from gui.viewmodels.jobs import JobsModel, JobStatus


class JobControls:
    def __init__(self, client: Engine, jobs: JobsModel, notices: Notices) -> None:
        self.client = client
        self.jobs = jobs
        self.notices = notices

    def cancel(self, job_id: int) -> None:
        self.jobs.mark(job_id, JobStatus.CANCELLING)
        self.client.cancel(job_id)

    def stop(self, job_id: int) -> None:
        """Finish a training early, keeping what it has done."""
        self.jobs.mark(job_id, JobStatus.STOPPING)
        self.client.stop(job_id)

    def cancel_running(self) -> None:
        """Esc: cancel what runs on the generate and interactive lanes."""
        for job_id in self.client.cancel_running():
            self.jobs.mark(job_id, JobStatus.CANCELLING)
            self.notices.say("Cancelling…", 0)

    def control_training(self, what: str) -> None:
        """The Lab's Pause (pause or resume) and Stop buttons: the running training."""
        running = [s for s in self.jobs.running() if s.lane is Lane.TRAIN]
        if not running:
            return
        state = running[-1]
        if what == "stop":
            self.stop(state.job_id)
        elif state.status is JobStatus.PAUSED:
            self.client.resume(state.job_id)
        else:
            self.client.pause(state.job_id)
