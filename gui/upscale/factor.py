"""Which factors an upscaler may be asked for, said before a run rather than after.

A model's pass enlarges by its own factor; a smaller factor is refused by the engine
(README: "a factor below the model's own is refused"). The panel therefore greys out the
presets below the model's factor, raises the Other box's minimum to it, and refuses a
request below it before any job starts, so no image fails for it.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDoubleSpinBox, QRadioButton

from engine.api import limits


def below_own(own: int | None, scale: float) -> bool:
    """Whether `scale` (0: the model's own) is below the model's factor."""
    return bool(own and scale and scale < own)


def refusal(name: str, own: int, scale: float) -> str:
    return (
        f"{name} enlarges ×{own}, more than the ×{scale:g} asked for. "
        f"Choose ×{own} or more, or a model made for ×{scale:g} (or Lanczos)."
    )


def limit_choices(
    own: int | None,
    presets: dict[float, QRadioButton],
    own_button: QRadioButton,
    factor: QDoubleSpinBox,
) -> None:
    """Grey out the presets below `own` (moving a checked one to the model's own) and
    keep the Other factor at `own` or more; `own` None (unknown, or a resampler) frees all."""
    for value, button in presets.items():
        allowed = not below_own(own, value)
        button.setEnabled(allowed)
        button.setToolTip("" if allowed else f"This model enlarges ×{own}: ×{value:g} is below it")
        if not allowed and button.isChecked():
            own_button.setChecked(True)
    factor.setMinimum(float(own) if own else limits.UPSCALE_FACTOR.low)
