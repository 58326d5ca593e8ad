"""Classifications shared by requests, the registry, the lanes and the GUI."""

from __future__ import annotations

from enum import Enum


class Task(str, Enum):
    """What a request asks for. Each task has one request class (engine.api.requests)."""

    TXT2IMG = "txt2img"
    SAMPLE = "sample"
    DECODE = "decode"
    TRAIN = "train"
    SCORE = "score"
    UPSCALE = "upscale"
    DESCRIBE = "describe"
    INTERPOLATE = "interpolate"
    DIFFUSE = "diffuse"
    LATENT_WALK = "latent_walk"
    LATENT_AXES = "latent_axes"
    SEED_LATENT = "seed_latent"
    ARITHMETIC = "arithmetic"
    RECONSTRUCT = "reconstruct"
    FORWARD_NOISE = "forward_noise"


class Family(str, Enum):
    """A family of models: one package under engine/models/ of the same name."""

    SD = "sd"
    VAE = "vae"
    GAN = "gan"
    DDPM = "ddpm"
    UPSCALE = "upscale"

    @property
    def title(self) -> str:
        return _FAMILY_TITLES[self]


_FAMILY_TITLES = {
    Family.SD: "Stable Diffusion",
    Family.VAE: "VAE",
    Family.GAN: "GAN",
    Family.DDPM: "DDPM",
    Family.UPSCALE: "Upscaler",
}


class Lane(str, Enum):
    """Where a job waits and runs; each lane has its own long-lived engine thread.

    INTERACTIVE: short jobs a user waits for with the mouse down (a newer request with
    the same key replaces a pending one). GENERATE: Stable Diffusion and upscaling.
    TRAIN: one training at a time, for minutes, with pause/resume/stop.
    """

    INTERACTIVE = "interactive"
    GENERATE = "generate"
    TRAIN = "train"


class ErrorKind(str, Enum):
    OUT_OF_MEMORY = "out_of_memory"
    BAD_MODEL_FILE = "bad_model_file"
    BAD_INPUT = "bad_input"
    INTERNAL = "internal"
