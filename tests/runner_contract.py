"""The contract every registered runner keeps, as a mixin its test class inherits.

In the style of diffusers' PipelineTesterMixin: a test class per runner sets `task`
and `family` and says how to make a small request; the checks here are shared:

- the outcome is the kind its request class declares;
- a cancel takes effect within one step (and a job cancelled before it starts does
  nothing at all);
- where it has seeds: image i of a job with seed s is the single job with seed s + i;
- a damaged model file is a BadModelFile with a sentence, and the runner works on.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from engine.api.errors import BadModelFile, JobCancelled
from engine.api.events import Progress
from engine.api.kinds import Family, Task
from engine.api.outcomes import FramesOutcome, ImagesOutcome
from engine.api.requests import REQUEST_TYPES, Request
from engine.context import JobContext, JobControl


def pixels_of(outcome) -> list[np.ndarray]:
    if isinstance(outcome, ImagesOutcome):
        return [image.rgb for image in outcome.images]
    if isinstance(outcome, FramesOutcome):
        return list(outcome.frames)
    return []


class RunnerContract:
    task: ClassVar[Task]
    family: ClassVar[Family]
    has_seeds: ClassVar[bool] = True
    reports_steps: ClassVar[bool] = True  # False for one-shot jobs (decoding a latent)
    # Image i of a batch may differ from the single run by this many grey levels
    # (batched CPU kernels, see test_sd.py); 0 means bitwise equal.
    seed_tolerance: ClassVar[int] = 0

    def make_request(self, tmp_path: Path, seed: int = 0, count: int = 2) -> Request:
        raise NotImplementedError

    def damaged_model_request(self, tmp_path: Path) -> Request | None:
        """A request whose model file is damaged; None where a job opens no model file."""
        return None

    # ------------------------------------------------------------ the contract

    def test_the_outcome_is_the_kind_its_request_declares(self, cpu_runtime, tmp_path):
        request = self.make_request(tmp_path)
        assert REQUEST_TYPES[self.task] is type(request)
        assert (request.task, request.family) == (self.task, self.family)
        outcome = cpu_runtime.run(request, JobContext(1))
        assert isinstance(outcome, type(request).outcome)

    def test_a_job_cancelled_before_it_starts_does_nothing(self, cpu_runtime, tmp_path):
        control = JobControl()
        control.cancel()
        events: list = []
        with pytest.raises(JobCancelled):
            cpu_runtime.run(self.make_request(tmp_path), JobContext(1, events.append, control))
        assert not [e for e in events if isinstance(e, Progress) and e.step > 0]

    def test_a_cancel_takes_effect_within_one_step(self, cpu_runtime, tmp_path):
        if not self.reports_steps:
            pytest.skip("a one-shot job: cancelled before it starts, or not at all")
        control = JobControl()
        steps: list[int] = []

        def cancel_at_first_step(event):
            if isinstance(event, Progress) and event.step > 0:
                steps.append(event.step)
                control.cancel()

        ctx = JobContext(1, cancel_at_first_step, control)
        ctx._progress.interval_s = 0  # report every step, so "one step" is measurable
        with pytest.raises(JobCancelled):
            cpu_runtime.run(self.make_request(tmp_path, count=3), ctx)
        assert len(steps) == 1

    @pytest.mark.reproducibility
    def test_image_i_of_a_job_is_the_job_with_seed_plus_i(self, cpu_runtime, tmp_path):
        if not self.has_seeds:
            pytest.skip("no seeds")
        batch = pixels_of(
            cpu_runtime.run(self.make_request(tmp_path, seed=40, count=3), JobContext(1))
        )
        assert len(batch) == 3
        for i, image in enumerate(batch):
            single = pixels_of(
                cpu_runtime.run(self.make_request(tmp_path, seed=40 + i, count=1), JobContext(1))
            )[0]
            diff = np.abs(image.astype(int) - single.astype(int))
            assert diff.max() <= self.seed_tolerance
        assert not np.array_equal(batch[0], batch[1])

    def test_a_damaged_model_file_is_a_sentence_and_the_runner_works_on(
        self, cpu_runtime, tmp_path
    ):
        request = self.damaged_model_request(tmp_path)
        if request is None:
            pytest.skip("this job opens no model file")
        with pytest.raises(BadModelFile) as caught:
            cpu_runtime.run(request, JobContext(1))
        assert caught.value.message.endswith(".") and len(caught.value.message) > 40
        assert isinstance(
            cpu_runtime.run(self.make_request(tmp_path), JobContext(2)), type(request).outcome
        )
