"""The quality meter's figures as the Lab shows them, and the warning they may call for."""

from __future__ import annotations

# A class-conditional model's figures "class:<name>": the share of samples asked for that
# class that the meter reads as it (engine/quality/classes.py).
CLASS_PREFIX = "class:"
# Below this share of realistic samples the other figures describe a few samples only.
LOW_REALISM = 0.5
MOSTLY = 0.5


def quality_warning(values: dict[str, float]) -> str:
    """A sentence when most samples earn nothing: noise, copies or one picture repeated
    ("" when the figures need none). Every figure counts only realistic, fresh samples;
    this says why they are low."""
    if "realism" not in values:
        return ""
    if values.get("copies", 0.0) >= MOSTLY:
        return (
            f"⚠ Most samples are copies of training images ({values['copies']:.0%}): "
            "the model has memorised its data, and copies earn no credit."
        )
    if values.get("repeats", 0.0) >= MOSTLY:
        return (
            f"⚠ Most samples repeat one another ({values['repeats']:.0%}): the model has "
            "collapsed to a few pictures, and repeats earn no credit."
        )
    if values["realism"] < LOW_REALISM:
        return (
            f"⚠ Most samples look like noise or blank images: only {values['realism']:.0%} "
            "lie as near the data as real images do. The other figures count only those."
        )
    return ""


def quality_text(values: dict[str, float]) -> str:
    parts = []
    if "recognisable" in values:
        real = values.get("real_digits_recognisable", values.get("real_shapes_recognisable"))
        scale = f" (real data: {real:.0%})" if real is not None else ""
        parts.append(f"{values['recognisable']:.0%} recognisable{scale}")
    if "classes" in values:
        parts.append(f"{values['classes']:.0f} classes")
    if "kinds" in values:
        parts.append(f"{values['kinds']:.0f} of 4 kinds")
    if "factor_coverage" in values:
        parts.append(f"factor coverage {values['factor_coverage']:.2f}")
    if "diversity" in values:
        parts.append(f"diversity {values['diversity']:.2f}")
    if "realism" in values:
        parts.append(f"{values['realism']:.0%} realistic (as near the data as real images)")
    if "copies" in values:
        parts.append(f"{values['copies']:.1%} copies")
    if "repeats" in values:
        parts.append(f"{values['repeats']:.1%} repeats")
    per_class = [
        f"{name[len(CLASS_PREFIX) :]} {value:.0%}"
        for name, value in values.items()
        if name.startswith(CLASS_PREFIX)
    ]
    if per_class:
        parts.append("drawn as asked: " + ", ".join(per_class))
    if "held_out_neg_elbo" in values:
        parts.append(f"held-out −ELBO {values['held_out_neg_elbo']:.1f}")
    if "held_out_recon_error" in values:
        parts.append(f"reconstruction error {values['held_out_recon_error']:.3f}")
    return "Quality: " + ", ".join(parts) if parts else "Quality: no meter for this data set."
