"""The control map preview's runner (ControlMapRequest): a unit's image read, fitted to
the output size by its resize mode and preprocessed, by the same function a job's map
is made with (guided.control_map), so the preview is the map the model will be given.
No model is opened and nothing is saved."""

from __future__ import annotations

from engine.api.kinds import Family, Task
from engine.api.outcomes import ImagesOutcome, ResultImage
from engine.api.parts import Size
from engine.api.requests import ControlMapRequest
from engine.context import JobContext
from engine.models.sd.control.guided import control_map
from engine.registry import RunnerEnv, runner


@runner(task=Task.CONTROL_MAP, family=Family.SD)
class ControlMapRunner:
    def __init__(self, env: RunnerEnv) -> None:
        self.env = env

    def run(self, request: ControlMapRequest, ctx: JobContext) -> ImagesOutcome:
        ctx.phase = "making the control map"
        ctx.check_cancelled()
        fitted, pixels = control_map(request.unit, Size(request.width, request.height), self.env)
        info = {"preprocessor": request.unit.preprocessor, "image": fitted.info}
        if fitted.notes:
            info["notes"] = list(fitted.notes)
        return ImagesOutcome((ResultImage(pixels, None, 0, info),))

    def unload(self) -> None:
        pass
