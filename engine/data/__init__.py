"""The bundled data sets (digits, shapes, emoji) and users' folders, as arrays."""

from engine.data.digits import SOURCE_MAX

BYTE_LEVELS = 256  # 8-bit images: shapes, emoji, a user's folder


def pixel_levels(dataset: str) -> int:
    """How many values a pixel of the data set takes: what a likelihood over pixel levels
    (a discretised decoder, a softmax, dequantisation) is over."""
    return SOURCE_MAX + 1 if dataset == "digits" else BYTE_LEVELS
