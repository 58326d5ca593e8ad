"""ControlNet and T2I-Adapter units in a Stable Diffusion job: the control maps, and the
diffusers pipeline that takes them, built by its constructor from the cached pipeline's
components (nothing loaded twice, no from_pipe: see img2img.img2img_pipeline).

A `Guide` is made once per job from the request's units and their loaded models. The
text-to-image, image-to-image and inpaint paths ask it for their pipeline
(`pipeline(pipe, task)`) and for the call's extra arguments (`arguments(task, size)`):

- ControlNet: StableDiffusion[XL]ControlNet{,Img2Img,Inpaint}Pipeline; several units
  are one MultiControlNetModel. `image` (text) or `control_image` (from an image), the
  weights as `controlnet_conditioning_scale`, start/end as `control_guidance_start/end`.
- T2I-Adapter: StableDiffusion[XL]AdapterPipeline (text to image only: diffusers has no
  adapter img2img or inpaint pipeline); several units are one MultiAdapter. Weights as
  `adapter_conditioning_scale`. The SD 1.x adapter pipeline applies the adapter on
  every step (a unit must span 0–1); SDXL's takes `adapter_conditioning_factor`: the
  unit's end, from a start of 0.

Control modes, as sd-webui-controlnet has them (its "soft injection" and "cfg
injection"):
- "balanced": the residuals at the unit's weight on both halves of CFG (diffusers' plain
  call).
- "control" (ControlNet is more important): diffusers' `guess_mode`: the ControlNet sees
  only the conditional half, and its 13 residuals are scaled by logspace(-1, 0, 13) —
  A1111's 0.825^(12 - i) to within 0.1 % (SDXL's 10 residuals: logspace(-1, 0, 10),
  where A1111 takes the first 10 of its 13). guess_mode is one flag per diffusers call,
  so a request cannot mix "control" with another mode.
- "prompt" (My prompt is more important): the same soft scales on both halves. diffusers
  has no switch for it; for the one call, each such unit's ControlNet is called with
  guess_mode=True (its soft scales) while the pipeline runs without it.
- T2I-Adapters: "prompt" and "control" scale the adapter's features by A1111's (0.25,
  0.62, 0.825, 1.0); the conditional-only part of "control" has no diffusers
  equivalent and is said in a note.

Maps: the unit's image read and checked by source.load_source (sha256, notes) and fitted
to the output size by the unit's resize mode (with a note), then its preprocessor.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import diffusers
import numpy as np
from PIL import Image

from engine.api.catalogue import model_path
from engine.api.errors import BadInput
from engine.api.image_parts import ControlUnit
from engine.api.outcomes import CONTROL_MAPS_KEY as MAPS_KEY
from engine.api.parts import Size
from engine.models.sd.control.annotators import annotated_map, needs_annotator
from engine.models.sd.control.preprocessors import preprocess
from engine.models.sd.sibling_pipeline import sibling_pipeline
from engine.models.sd.source import FittedSource, load_source
from engine.registry import RunnerEnv

CONTROLNET = "controlnet"
ADAPTER = "t2i-adapter"
TASKS = ("txt2img", "img2img", "inpaint")
PIPELINES = {
    (CONTROLNET, False): (
        "StableDiffusionControlNetPipeline",
        "StableDiffusionControlNetImg2ImgPipeline",
        "StableDiffusionControlNetInpaintPipeline",
    ),
    (CONTROLNET, True): (
        "StableDiffusionXLControlNetPipeline",
        "StableDiffusionXLControlNetImg2ImgPipeline",
        "StableDiffusionXLControlNetInpaintPipeline",
    ),
    (ADAPTER, False): ("StableDiffusionAdapterPipeline", None, None),
    (ADAPTER, True): ("StableDiffusionXLAdapterPipeline", None, None),
}
ADAPTER_SOFT_SCALES = (0.25, 0.62, 0.825, 1.0)  # sd-webui-controlnet's, per feature level
TASK_WORDS = {"img2img": "image to image", "inpaint": "inpainting or outpainting"}


@dataclass(frozen=True)
class LoadedControl:
    """A unit's model as the control-file loader gives it (its kind and the module)."""

    kind: str  # CONTROLNET or ADAPTER
    model: Any  # a diffusers ControlNetModel or T2IAdapter


@dataclass
class Guide:
    units: tuple[ControlUnit, ...]
    models: list[LoadedControl]
    _maps: dict[tuple[int, int], list[Image.Image]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    map_info: list[dict[str, Any]] = field(default_factory=list)
    map_pixels: list[np.ndarray] = field(default_factory=list)  # kept with the result
    xl: bool = False  # set by check(): the base pipeline is SDXL
    env: RunnerEnv | None = None  # where annotator networks run

    @property
    def kind(self) -> str:
        return self.models[0].kind

    def check(self, pipe: Any, task: str) -> None:
        """A sentence for what cannot be drawn, before any step runs."""
        self.xl = _is_xl(pipe)
        kinds = {model.kind for model in self.models}
        if len(kinds) > 1:
            raise BadInput(
                "ControlNets and T2I-Adapters cannot guide one picture together (diffusers "
                "has no pipeline for both); keep units of one kind."
            )
        modes = {unit.mode for unit in self.units}
        if "control" in modes and len(modes) > 1:
            raise BadInput(
                "Control mode 'ControlNet is more important' applies to every unit of a "
                "picture; give all the units that mode, or none of them."
            )
        if self.kind == ADAPTER:
            self._check_adapter(pipe, task)
        for number, (unit, model) in enumerate(zip(self.units, self.models, strict=True), 1):
            _check_family(pipe, model, unit, number)

    def _check_adapter(self, pipe: Any, task: str) -> None:
        if task != "txt2img":
            raise BadInput(
                f"T2I-Adapters guide text to image only (diffusers has no adapter pipeline "
                f"for {TASK_WORDS[task]}); use a ControlNet, or clear the source."
            )
        xl = _is_xl(pipe)
        for number, unit in enumerate(self.units, 1):
            if unit.start > 0 or (not xl and unit.end < 1):
                span = "from the start" if xl else "over all the steps (start 0, end 1)"
                raise BadInput(
                    f"Control unit {number} is a T2I-Adapter, which diffusers applies "
                    f"{span}; set its start to 0{'' if xl else ' and end to 1'}."
                )
        if xl and len({unit.end for unit in self.units}) > 1:
            raise BadInput("T2I-Adapter units on SDXL share one end; give them the same end.")
        if any(unit.mode == "control" for unit in self.units):
            self.notes.append(
                "T2I-Adapter in 'ControlNet is more important' mode: its features are scaled "
                "as A1111 does, but applied to both halves of CFG (diffusers cannot do "
                "otherwise)"
            )

    def maps(self, size: Size) -> list[Image.Image]:
        """Each unit's control map at `size` (made once per size)."""
        key = (size.width, size.height)
        if key not in self._maps:
            first = not self._maps
            self._maps[key] = [self._map(i, unit, size, first) for i, unit in enumerate(self.units)]
        return self._maps[key]

    def _map(self, index: int, unit: ControlUnit, size: Size, record: bool) -> Image.Image:
        fitted, pixels = control_map(unit, size, self.env)
        if record:
            self.notes += [f"control unit {index + 1}: {note}" for note in fitted.notes]
            self.map_info.append(
                {
                    "image": fitted.info,
                    "preprocessor": unit.preprocessor,
                    "settings": dict(unit.settings),
                    "size": [size.width, size.height],
                    "sha256": hashlib.sha256(np.ascontiguousarray(pixels)).hexdigest(),
                    **({"annotator": unit.annotator.id} if unit.annotator else {}),
                }
            )
            self.map_pixels.append(pixels)
        if pixels.ndim == 3 and self._reads_one_channel(index):
            # A 1-channel adapter (TencentARC's canny, sketch) is fed the map's first
            # channel, as sd-webui-controlnet does; its maps are grey anyway.
            return Image.fromarray(np.ascontiguousarray(pixels[..., 0]))
        return Image.fromarray(pixels)

    def _reads_one_channel(self, index: int) -> bool:
        model = self.models[index]
        return model.kind == ADAPTER and getattr(model.model.config, "in_channels", 3) == 1

    def pipeline(self, pipe: Any, task: str) -> Any:
        """The diffusers pipeline for `task` with `pipe`'s components and the units' models."""
        name = PIPELINES[(self.kind, _is_xl(pipe))][TASKS.index(task)]
        cls = getattr(diffusers, name)
        nets = [model.model for model in self.models]
        module = nets[0] if len(nets) == 1 else _multi(self.kind, nets)
        key = "controlnet" if self.kind == CONTROLNET else "adapter"
        return sibling_pipeline(cls, pipe, **{key: module})

    def arguments(self, task: str, size: Size, crop: Callable | None = None) -> dict[str, Any]:
        """The call's control arguments; `crop` cuts each map as the picture was cut
        ("only masked" inpainting) and resizes it to `size`."""
        maps = self.maps(size)
        if crop is not None:
            maps = [crop(image) for image in maps]
        many = len(maps) > 1

        def one_or_all(values: Sequence[Any]) -> Any:
            return list(values) if many else values[0]

        weights = [unit.weight for unit in self.units]
        if self.kind == ADAPTER:
            extra: dict[str, Any] = {"image": one_or_all(maps)}
            extra["adapter_conditioning_scale"] = one_or_all(weights)
            if self.xl:
                extra["adapter_conditioning_factor"] = self.units[0].end
            return extra
        return {
            ("image" if task == "txt2img" else "control_image"): one_or_all(maps),
            "controlnet_conditioning_scale": one_or_all(weights),
            "control_guidance_start": one_or_all([unit.start for unit in self.units]),
            "control_guidance_end": one_or_all([unit.end for unit in self.units]),
            "guess_mode": self.units[0].mode == "control",
        }

    @contextmanager
    def soft(self) -> Iterator[None]:
        """For one call, "prompt" mode's soft scales (and an adapter's in "control")."""
        with ExitStack() as stack:
            for unit, model in zip(self.units, self.models, strict=True):
                if model.kind == CONTROLNET and unit.mode == "prompt":
                    stack.enter_context(_patched(model.model, _guessing))
                elif model.kind == ADAPTER and unit.mode != "balanced":
                    stack.enter_context(_patched(model.model, _soft_features))
            yield

    def info(self) -> dict[str, Any]:
        """What the recipe records of the units; each map by its preprocessor, settings
        and pixels' sha256 (the map is a pure function of the image and those)."""
        units = []
        for unit, maps in zip(self.units, self.map_info, strict=True):
            units.append(
                {
                    "model": str(model_path(unit.model)),
                    "kind": self.kind,
                    "weight": unit.weight,
                    "start": unit.start,
                    "end": unit.end,
                    "mode": unit.mode,
                    "resize_mode": unit.resize_mode,
                    "map": maps,
                }
            )
        # The maps' pixels go to finishing under a private key: it keeps each as a PNG
        # in the gallery's inputs/ and names it in the recipe ("control_maps").
        return {"control": units, MAPS_KEY: list(self.map_pixels)}


def control_map(
    unit: ControlUnit, size: Size, env: RunnerEnv | None = None
) -> tuple[FittedSource, np.ndarray]:
    """The unit's image read, fitted to `size` by its resize mode, and its map (H x W x 3
    uint8) by its preprocessor: what a job gives the model, and what the preview shows.
    `env` runs an annotator network on its device, through its cache."""
    fitted = load_source(unit.image, size, unit.resize_mode)
    rgb, settings = np.asarray(fitted.image), dict(unit.settings)
    if needs_annotator(unit.preprocessor):
        return fitted, annotated_map(unit.preprocessor, rgb, settings, unit.annotator, env)
    return fitted, preprocess(unit.preprocessor, rgb, settings)


def _is_xl(pipe: Any) -> bool:
    return "text_encoder_2" in pipe.components


def _multi(kind: str, nets: list[Any]) -> Any:
    if kind == CONTROLNET:
        return diffusers.MultiControlNetModel(nets)
    return diffusers.MultiAdapter(nets)


def _check_family(pipe: Any, model: LoadedControl, unit: ControlUnit, number: int) -> None:
    """A ControlNet reads the prompt embeddings the UNet reads; an adapter's features
    must have the UNet's widths. A unit made for another family differs there."""
    unet = pipe.unet.config
    if model.kind == CONTROLNET:
        theirs, ours = model.model.config.cross_attention_dim, unet.cross_attention_dim
    else:
        theirs = list(model.model.config.channels)[0]
        ours = list(unet.block_out_channels)[0]
    if theirs != ours:
        raise BadInput(
            f"Control unit {number}'s model ({model_path(unit.model)}) was made for another Stable "
            "Diffusion family than this checkpoint (SD 1.x, 2.x and SDXL each need their "
            "own); choose one made for this checkpoint's family."
        )


@contextmanager
def _patched(module: Any, wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Iterator:
    """`module.forward` wrapped for one call; the cached module is left as it was."""
    module.forward = wrap(type(module).forward.__get__(module))
    try:
        yield
    finally:
        del module.forward


def _guessing(forward: Callable[..., Any]) -> Callable[..., Any]:
    def soft(*args: Any, **kwargs: Any) -> Any:
        return forward(*args, **(kwargs | {"guess_mode": True}))

    return soft


def _soft_features(forward: Callable[..., Any]) -> Callable[..., Any]:
    def soft(*args: Any, **kwargs: Any) -> Any:
        features = forward(*args, **kwargs)
        extra = max(0, len(features) - len(ADAPTER_SOFT_SCALES))
        scales = (ADAPTER_SOFT_SCALES[0],) * extra + ADAPTER_SOFT_SCALES[-len(features) :]
        return [feature * scale for feature, scale in zip(features, scales, strict=True)]

    return soft
