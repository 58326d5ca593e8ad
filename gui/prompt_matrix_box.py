"""Create's prompt matrix (A1111's script): `base|a|b` makes every combination of the
optional parts (base; base, a; base, b; base, a, b), in A1111's order, as one X/Y/Z
plot on the Prompt axis: a labelled grid and every combination as its own picture, all
from the same seed, the grid's recipe making the whole matrix again."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import QCheckBox, QWidget

from engine.api.errors import BadInput
from engine.api.requests import LatentWalkRequest, Txt2ImgRequest, XyzAxis, XyzPlotRequest
from engine.api.requests.xyz import with_seeds_drawn
from engine.api.requests.xyz_axes import csv_text
from engine.batch.prompt_matrix import matrix_prompts


class PromptMatrixBox(QCheckBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Prompt matrix", parent)
        self.setToolTip(
            "A1111's prompt matrix: separate optional parts with | (a cat|red|wearing a "
            "hat) and Generate makes every combination of them, one grid, each picture "
            "from the same seed. A | inside {…} stays a wildcard's."
        )

    def plot(self, request: Txt2ImgRequest) -> XyzPlotRequest:
        """The form's request (wildcards already chosen) as the matrix's plot."""
        if isinstance(request, LatentWalkRequest):
            raise BadInput(
                "A prompt matrix makes single pictures, not a latent walk: turn one off."
            )
        prompts = matrix_prompts(request.prompt.positive)
        if len(prompts) < 2:
            raise BadInput(
                "The prompt matrix needs optional parts after the prompt, separated by |: "
                "a cat|red|wearing a hat. Add one, or turn the matrix off."
            )
        written = request.prompt_template or request.prompt.positive  # the | text as typed
        base = replace(
            request,
            prompt=replace(request.prompt, positive=prompts[0]),
            prompt_template=written,
        )
        axis = XyzAxis("prompt", csv_text(prompts))
        return with_seeds_drawn(XyzPlotRequest(base=base, axes=(axis,)))
