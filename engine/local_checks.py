"""Local checks: the files a request names are there. Made by the engine, where the files are.

A request's own checks (`Request.validate()`) are pure: data only, safe on any thread
and on another machine, so the GUI can run them on every move of a control. Whether a
model, a LoRA, a VAE or an embedding is on disk is asked here instead, by the runtime
on its lane thread right after validate() (and by the command line up front, before
torch is imported), with the same sentences the user always got.
"""

from __future__ import annotations

from pathlib import Path

from engine.api.catalogue import bundled_models, is_resampler, model_path
from engine.api.errors import BadInput, BadModelFile
from engine.api.families import title_of
from engine.api.image_parts import LATENT_UPSCALER
from engine.api.kinds import Family
from engine.api.parts import ModelRef
from engine.api.requests import ModelRequest, Request, Txt2ImgRequest, XyzPlotRequest
from engine.api.requests.xyz import plot_of


def check_local(request: Request) -> None:
    """Raise BadModelFile (a model) or BadInput (an image), with a sentence, for the first
    file the request names that is not there."""
    if isinstance(request, ModelRequest):
        check_model(request.model)
    if isinstance(request, Txt2ImgRequest):
        _check_sd_files(request)
    if isinstance(request, XyzPlotRequest):  # every checkpoint and VAE, before any cell
        distinct = {(cell.model.id, cell.vae): cell for cell in plot_of(request).cells}
        for cell in distinct.values():
            check_local(cell)


def check_model(ref: ModelRef) -> None:
    """Refuse a model whose file or folder is not there (a resampler, and hires fix's
    latent upscaler, have none)."""
    if is_resampler(ref) or not ref.id.strip() or _is_latent_upscaler(ref):
        return
    path = model_path(ref)
    if path.exists():
        return
    if ref.family is Family.SD:
        raise BadModelFile(_missing_sd_model(ref.id, path))
    if _looks_like_a_name(ref.id):
        names = ", ".join(e.ref.id for e in bundled_models()) or "none"
        raise BadModelFile(
            f"There is no bundled model called {ref.id!r} (bundled: {names}), and no "
            "file of that name here. Give a bundled name or the path of a model file."
        )
    raise BadModelFile(
        f"The {title_of(ref.family)} model file {path} does not exist. Check the path, "
        "or choose one of the bundled models."
    )


def _is_latent_upscaler(ref: ModelRef) -> bool:
    return ref.family is Family.UPSCALE and ref.id == LATENT_UPSCALER


def _check_sd_files(request: Txt2ImgRequest) -> None:
    for lora in request.loras:
        if not _is_file(lora.path):
            raise BadModelFile(f"The LoRA {lora.path} does not exist. Check the model folders.")
    if request.vae and not _is_file(request.vae):
        raise BadModelFile(f"The VAE {request.vae} does not exist. Choose another, or none.")
    for path in request.embeddings:
        if not _is_file(path):
            raise BadModelFile(f"The embedding {path} does not exist. Check the model folders.")
    for unit in request.control:
        check_model(unit.model)
    if request.hires is not None and not request.hires.in_latent_space:
        check_model(request.hires.upscaler)  # "latent" resizes the latents: no file
    _check_images(request)


def _check_images(request: Txt2ImgRequest) -> None:
    """The source, the mask and the control images are files here (a recipe made on
    another machine, or a source moved since, is named, never silently replaced)."""
    named = [("source image", request.source), ("mask", request.mask)]
    named += [("control image", unit) for unit in request.control]
    for what, part in named:
        path = part.image.path.strip() if part is not None else ""
        # A relative path is the gallery's to resolve (the runner knows the gallery root).
        if path and Path(path).expanduser().is_absolute() and not _is_file(path):
            raise BadInput(f"The {what} {path} does not exist. Choose the image again.")


def _is_file(path: str) -> bool:
    return Path(path).expanduser().is_file()


def _missing_sd_model(model: str, path: Path) -> str:
    if _looks_like_a_name(model):
        return (
            f"There is no Stable Diffusion model called {model!r} in your model folders "
            "(Settings → Models folders), and no file or folder of that name here. Give a "
            "checkpoint file, a diffusers folder, or the name of a model in those folders."
        )
    return (
        f"The model {path} does not exist: there is no such file or folder. Check the path, "
        "or choose a model from Settings → Models folders."
    )


def _looks_like_a_name(model_id: str) -> bool:
    """ "vae-faces" (a bundled name mistyped), not "models/x.safetensors" (a path)."""
    return "/" not in model_id and "\\" not in model_id and "." not in model_id
