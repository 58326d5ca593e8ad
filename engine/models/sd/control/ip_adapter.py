"""IP-Adapter: a picture guides the style or content, through diffusers' own loader.

`applied_ip_adapters` loads the job's adapters onto the cached pipeline with
`pipe.load_ip_adapter` (state dicts read here, so nothing is looked up online), with the
CLIP vision encoder found in the user's folders registered as the pipeline's
image_encoder, sets each adapter's weight as its scale, and unloads them after the job
(`pipe.unload_ip_adapter`), so the next job draws as if they had never been there.
`ip_adapter_arguments` is the pipeline call's `ip_adapter_image`.

The encoder is looked for in the folders ComfyUI and A1111 keep it in (`clip_vision`,
`image_encoder`, beside the adapter or up to three folders above it): a transformers
folder (config.json) or a single file of transformers' `vision_model.*` layout, whose
config is read from its shapes. Among several, the one whose width the adapter's
projection reads is taken.
"""

from __future__ import annotations

from engine.models.common import hf_env  # isort: skip  (must run before any hugging-face import)

import contextlib
import math
import pickle
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open

from engine.api.catalogue import model_path
from engine.api.errors import BadInput, BadModelFile
from engine.api.image_parts import IpAdapter
from engine.api.kinds import Family
from engine.api.requests import Txt2ImgRequest
from engine.cache import CacheKey, FileIdentity, ModelCache
from engine.device import dtype_name
from engine.library.control import (
    CLIP_VISION,
    IP_ADAPTER,
    KIND_TITLES,
    VISION_NAMES,
    detect_control,
    detect_control_folder,
)
from engine.library.detect import SdFamily
from engine.library.header import CheckpointHeader, read_header, would_run_code
from engine.models.common.construction import building_models
from engine.models.sd.source import load_picture

ENCODER_FOLDERS = ("clip_vision", "image_encoder")
SEARCH_LEVELS = 3  # models/ipadapter/<file> -> models/clip_vision
MODEL_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
# OpenCLIP ViT-L/H/bigG vision towers all have 16 heads; shapes cannot show it.
VISION_HEADS = 16
ENCODER_FILE_NAMES = {
    1280: "CLIP-ViT-H-14-laion2B-s32B-b79K.safetensors",
    1664: "CLIP-ViT-bigG-14-laion2B-39B-b160k.safetensors",
}


@dataclass(frozen=True)
class AdapterFile:
    path: Path
    family: SdFamily
    variant: str
    header: CheckpointHeader

    @property
    def wants(self) -> tuple[str, int] | None:
        """What width of the encoder the adapter's projection reads: ("hidden", n) for a
        Resampler (plus), ("projection", n) for a linear projection; None: any."""
        for name, what in (("proj_in.weight", "hidden"), ("proj.weight", "projection")):
            shape = self.header.shape("image_proj." + name)
            if shape and len(shape) == 2:
                return (what, shape[1])
        return None


@dataclass(frozen=True)
class Encoder:
    path: Path
    hidden: int
    projection: int
    header: CheckpointHeader | None  # a single file's; None for a folder


@contextlib.contextmanager
def applied_ip_adapters(
    pipe: Any, adapters: Sequence[IpAdapter], family: SdFamily, cache: ModelCache | None = None
) -> Iterator[None]:
    """The job's IP-Adapters loaded onto `pipe` for the `with` block, then unloaded. The
    CLIP vision encoder is kept in `cache` (the runner's model cache) between jobs."""
    if not adapters:
        yield
        return
    files, encoder = check_ip_adapters(adapters, family)
    assert encoder is not None
    _check_widths(files, pipe.unet.config.cross_attention_dim)
    states = [_adapter_state(f.path) for f in files]
    hf_env.silence_progress_bars()
    device, dtype = pipe.device, pipe.unet.dtype
    if cache is None:
        image_encoder = load_encoder(encoder, device, dtype)
    else:
        key = CacheKey(
            Family.SD, FileIdentity.of(encoder.path), str(device), dtype_name(dtype), "clip-vision"
        )
        image_encoder = cache.get(key, lambda: load_encoder(encoder, device, dtype))
    pipe.register_modules(image_encoder=image_encoder)
    extractor = getattr(pipe, "feature_extractor", None)
    size = image_encoder.config.image_size
    if extractor is not None and _crop_side(extractor) != size:
        # A folder's extractor is the safety checker's (224 px); it must match the encoder.
        from transformers import CLIPImageProcessor

        pipe.register_modules(feature_extractor=CLIPImageProcessor(size=size, crop_size=size))
    try:
        pipe.load_ip_adapter(
            states,
            subfolder=[""] * len(files),
            weight_name=[f.path.name for f in files],
            image_encoder_folder=None,
        )
        pipe.set_ip_adapter_scale([a.weight for a in adapters])
        yield
    finally:
        pipe.unload_ip_adapter()
        if hasattr(pipe, "feature_extractor"):
            pipe.register_modules(feature_extractor=extractor)


def _check_widths(files: Sequence[AdapterFile], width: int) -> None:
    """Each adapter's keys and values read the UNet's text embeddings: a sentence for one
    of another width (what the family says, exactly, and all a file of no official width
    can be held to)."""
    for adapter in files:
        name = adapter.header.first(r"ip_adapter\..*to_k_ip\.weight")
        shape = adapter.header.shape(name) if name else None
        if shape and shape[1] != width:
            raise BadInput(
                f"{adapter.path.name} is an IP-Adapter for text embeddings {shape[1]} wide, "
                f"and this checkpoint's are {width}: it was made for another Stable Diffusion "
                "family. Choose an IP-Adapter made for this checkpoint's family."
            )


def _crop_side(extractor: Any) -> int | None:
    crop = getattr(extractor, "crop_size", None)
    return crop.get("height") if isinstance(crop, dict) else crop


def check_ip_adapters(
    adapters: Sequence[IpAdapter], family: SdFamily
) -> tuple[list[AdapterFile], Encoder | None]:
    """From headers alone (before any model is loaded): each adapter is an IP-Adapter of
    `family`, and a CLIP vision encoder that fits them all is in the user's folders."""
    if not adapters:
        return [], None
    files = [read_adapter(Path(model_path(a.model)), family) for a in adapters]
    return files, find_encoder(files)


def ip_adapter_arguments(request: Txt2ImgRequest) -> dict[str, Any]:
    """The pipeline call's IP-Adapter argument: one picture per adapter."""
    if not request.ip_adapters:
        return {}
    pictures = [load_picture(a.image, "IP-Adapter image") for a in request.ip_adapters]
    return {"ip_adapter_image": pictures}


# ---------------------------------------------------------------- the adapter


def read_adapter(path: Path, family: SdFamily) -> AdapterFile:
    """The IP-Adapter file, checked by its header; a sentence when it is missing,
    damaged, not an IP-Adapter, or made for another family."""
    if not path.is_file():
        raise BadModelFile(
            f"The IP-Adapter {path} does not exist. Put it in models/ipadapter (ComfyUI) or "
            "models/ControlNet (A1111), or check its name."
        )
    header = read_header(path)
    info = detect_control(header)
    if info is None or info.kind != IP_ADAPTER:
        what = KIND_TITLES.get(info.kind, "") if info else ""
        raise BadInput(
            f"{path.name} is {'a ' + what if what else 'not an IP-Adapter'}"
            f"{', not an IP-Adapter' if what else ''}. Choose an IP-Adapter file "
            "(ip-adapter_sd15.safetensors, ip-adapter-plus_sdxl_vit-h.safetensors...)."
        )
    made_for = SdFamily(info.family) if info.family else None  # None: its width does not say
    if made_for is not None and made_for is not family:
        raise BadInput(
            f"{path.name} is an IP-Adapter for {made_for.title}, and the checkpoint is "
            f"{family.title}. "
            f"Choose an IP-Adapter made for {family.title}."
        )
    return AdapterFile(path, family, info.variant, header)


def _adapter_state(path: Path) -> dict[str, dict[str, torch.Tensor]]:
    state: dict[str, dict[str, torch.Tensor]] = {"image_proj": {}, "ip_adapter": {}}
    try:
        if path.suffix == ".safetensors":
            with safe_open(str(path), framework="pt", device="cpu") as f:
                for key in f.keys():  # noqa: SIM118  (safe_open has no __iter__)
                    part, _, name = key.partition(".")
                    if part in state:
                        state[part][name] = f.get_tensor(key)
        else:
            loaded = torch.load(path, map_location="cpu", weights_only=True)
            for part in state:
                state[part] = dict(loaded[part])
    except pickle.UnpicklingError as exc:
        raise BadModelFile(would_run_code(path)) from exc
    except (SafetensorError, OSError, RuntimeError, KeyError, TypeError) as exc:
        raise BadModelFile(
            f"The IP-Adapter {path} is damaged or incomplete ({exc}). Download or copy it again."
        ) from exc
    return state


# ---------------------------------------------------------------- the CLIP vision encoder


def find_encoder(files: Sequence[AdapterFile]) -> Encoder:
    """The CLIP vision encoder in the user's folders that fits every adapter."""
    found = [e for e in _candidates(files) if all(_fits(e, f) for f in files)]
    if found:
        return found[0]
    wants = next((f.wants for f in files if f.wants), None)
    width = _vision_width(wants)
    name = ENCODER_FILE_NAMES.get(width, "the CLIP vision encoder the adapter was trained with")
    where = files[0].path.parent.parent / "clip_vision"
    raise BadInput(
        f"{files[0].path.name} needs a CLIP vision encoder"
        f"{' (' + VISION_NAMES[width] + ')' if width in VISION_NAMES else ''}, and none "
        f"that fits is in the models folders. Put {name} in {where} (ComfyUI's "
        "models/clip_vision), then generate again."
    )


def _vision_width(wants: tuple[str, int] | None) -> int:
    if wants is None:
        return 1280
    what, width = wants
    if what == "hidden":
        return width
    return {1024: 1280, 1280: 1664}.get(width, 0)  # ViT-H projects to 1024, bigG to 1280


def _fits(encoder: Encoder, adapter: AdapterFile) -> bool:
    wants = adapter.wants
    if wants is None:
        return True
    what, width = wants
    return (encoder.hidden if what == "hidden" else encoder.projection) == width


def _candidates(files: Sequence[AdapterFile]) -> Iterator[Encoder]:
    seen: set[Path] = set()
    for adapter in files:
        folder = adapter.path.parent
        for _ in range(SEARCH_LEVELS + 1):
            for place in _encoder_places(folder):
                if place.resolve() not in seen:
                    seen.add(place.resolve())
                    encoder = _encoder_at(place)
                    if encoder is not None:
                        yield encoder
            folder = folder.parent


def _encoder_places(folder: Path) -> Iterator[Path]:
    try:
        children = sorted(folder.iterdir())
    except OSError:
        return
    for child in children:
        if child.is_dir() and child.name.lower() in ENCODER_FOLDERS:
            yield child  # a transformers folder itself, or a folder of encoders
            try:
                yield from sorted(child.iterdir())
            except OSError:
                continue


def _encoder_at(path: Path) -> Encoder | None:
    try:
        if path.is_dir():
            info = detect_control_folder(path)
            if info is None or info.kind != CLIP_VISION:
                return None
            from transformers import CLIPVisionConfig

            config = CLIPVisionConfig.from_pretrained(str(path), local_files_only=True)
            return Encoder(path, config.hidden_size, config.projection_dim, None)
        if path.suffix.lower() not in MODEL_SUFFIXES:
            return None
        header = read_header(path)
        info = detect_control(header)
        if info is None or info.kind != CLIP_VISION:
            return None
        hidden = header.shape("vision_model.embeddings.patch_embedding.weight")[0]
        projection = (header.shape("visual_projection.weight") or (0,))[0]
        return Encoder(path, hidden, projection, header)
    except (BadModelFile, OSError, ValueError, TypeError):
        return None  # a damaged file among the candidates is not the one to use


def load_encoder(encoder: Encoder, device: Any, dtype: torch.dtype) -> Any:
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    try:
        if encoder.header is None:
            model = CLIPVisionModelWithProjection.from_pretrained(
                str(encoder.path), dtype=dtype, local_files_only=True
            )
        else:
            with building_models:
                model = CLIPVisionModelWithProjection(
                    CLIPVisionConfig(**vision_config(encoder.header))
                )
            _load_strict(model, encoder.path)
            model = model.to(dtype)
    except pickle.UnpicklingError as exc:
        raise BadModelFile(would_run_code(encoder.path)) from exc
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise BadModelFile(
            f"The CLIP vision encoder {encoder.path} could not be loaded ({exc}). Download "
            "or copy it again."
        ) from exc
    return model.to(device).eval()


def vision_config(header: CheckpointHeader) -> dict[str, Any]:
    """A transformers-layout CLIP vision file's config, from its shapes."""
    prefix = "vision_model."
    hidden, _, patch, _ = header.shape(prefix + "embeddings.patch_embedding.weight")
    positions = header.shape(prefix + "embeddings.position_embedding.weight")[0]
    layers = 0
    while f"{prefix}encoder.layers.{layers}.mlp.fc1.weight" in header:
        layers += 1
    return {
        "hidden_size": hidden,
        "patch_size": patch,
        "image_size": patch * math.isqrt(positions - 1),
        "num_hidden_layers": layers,
        "intermediate_size": header.shape(prefix + "encoder.layers.0.mlp.fc1.weight")[0],
        "num_attention_heads": VISION_HEADS,
        "projection_dim": header.shape("visual_projection.weight")[0],
        "hidden_act": "gelu",  # OpenCLIP's; OpenAI's ViT-L uses quick_gelu
        "layer_norm_eps": 1e-5,
    }


def _load_strict(model: Any, path: Path) -> None:
    from diffusers.models.model_loading_utils import load_state_dict

    state = load_state_dict(str(path))
    state.pop("vision_model.embeddings.position_ids", None)  # a buffer older files keep
    problems = model.load_state_dict(state, strict=False)
    if problems.missing_keys or problems.unexpected_keys:
        raise BadModelFile(
            f"{path.name} is not a complete CLIP vision encoder ({len(problems.missing_keys)} "
            f"tensors missing, {len(problems.unexpected_keys)} unexpected). Download it again."
        )
